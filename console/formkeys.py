"""A form's one-time key (`form_key`, a uuid4 hex rendered into the form): a double click or a
re-sent POST changes things once, and the repeat is answered with the first one's outcome.

For actions whose service takes no idempotency key (issuing or cancelling an order, creating
goods), the key is claimed in the action's own transaction, in the table the API's
Idempotency-Key uses (scope `console:<admin id>`): a concurrent repeat waits on the unique index
until the first commits, then finds its outcome (a message and where to go) and replays it.
"""

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from school_points.platform import clock
from school_points.platform.extensions import db
from school_points.platform.idempotency import IdempotencyRecord

FORM_KEY = re.compile(r"[0-9a-f]{32}")


def _scope(staff):
    return f"console:{staff.admin.id}"


def _find(staff, key):
    return db.session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.scope == _scope(staff), IdempotencyRecord.key == key)
    ).first()


def replayed(staff, raw_key, action) -> dict | None:
    """The committed outcome of an earlier POST of this form (same key and action), or None."""
    if not FORM_KEY.fullmatch(raw_key or ""):
        return None
    record = _find(staff, raw_key)
    if record is not None and record.request_hash == action and record.response is not None:
        return record.response
    return None


class Claim:
    """A form key claimed in the current transaction; `remember` stores the outcome with it."""

    def __init__(self, record=None, replay=None) -> None:
        self.record, self.replay = record, replay

    def remember(self, outcome) -> None:
        if self.record is not None:
            self.record.response = outcome
            self.record.status_code = 200
            db.session.flush()


def claim(staff, raw_key, action) -> Claim:
    """Claim `raw_key` for `action` in this transaction. `Claim.replay` is the earlier outcome
    when another request with the same key committed first (the caller then does nothing). A
    missing or malformed key claims nothing (the action still runs, once per POST)."""
    if not FORM_KEY.fullmatch(raw_key or ""):
        return Claim()
    for _ in range(50):
        existing = _find(staff, raw_key)
        if existing is None:
            record = IdempotencyRecord(scope=_scope(staff), key=raw_key, request_hash=action)
            try:
                with db.session.begin_nested():
                    db.session.add(record)
            except IntegrityError:
                continue  # a concurrent twin inserted it first: read its outcome
            return Claim(record)
        if existing.request_hash != action:
            return Claim()  # not this form's key after all: act without one
        if existing.response is not None:
            return Claim(replay=existing.response)
        db.session.rollback()  # the twin has not committed yet
        clock.sleep(0.1)
    return Claim(replay={"message": "相同的操作正在处理中，请刷新页面查看结果", "category": "warning"})
