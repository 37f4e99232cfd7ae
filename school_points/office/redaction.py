"""Finding and blanking every stored copy of one child's personal data (used by erasure.py).

A child's name, student number, bind code, birthday and growth-record text are copied into places
that were never meant to hold them for long: notification payloads rendered with the name, audit
entries that snapshot a student, the official account's processed messages (check-in text, replies
naming the child), stored responses of idempotent POSTs, ledger notes, Redis's bot reply cache.

A `Redactor` holds the child's strings and what each becomes. A row is *tied* to the child when
we know it is about them (an audit entry whose target is the student, a notification to the
family, a message from a guardian's openid); any other row is searched for the *distinctive*
strings only (the full name when it has two characters or more, the student number, the bind
code, longer growth texts, upload names), so a short given name or a birthday shared with a
classmate never blanks another child's rows. In a row that matches, every string of the child is
replaced. JSON columns are searched in their stored text, where json.dumps wrote non-ASCII as
\\uXXXX escapes, so each string is looked for in both forms.
"""

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import String, cast, or_, select

from school_points.platform.extensions import db
from school_points.platform.redis_conn import get_redis

log = logging.getLogger(__name__)

# The official account's reply cache (wechat_bot/inbox.py writes `wechat:reply:<dedupe key>`).
REPLY_CACHE_PATTERN = "wechat:reply:*"
# Growth texts shorter than this ("打卡", "练琴") are only blanked in rows tied to the child.
MIN_DISTINCTIVE_TEXT = 6


@dataclass
class Redactor:
    """The child's strings (longest first) with their replacements; `distinctive` are searched everywhere."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    distinctive: list[str] = field(default_factory=list)

    def add(self, text, replacement="", *, distinctive=False) -> None:
        """Another string of the child's; empty and duplicate strings are ignored."""
        text = (text or "").strip()
        if not text or any(text == known for known, _ in self.pairs):
            return
        self.pairs.append((text, replacement))
        self.pairs.sort(key=lambda pair: -len(pair[0]))
        if distinctive:
            self.distinctive.append(text)

    def text(self, value) -> str:
        """`value` with every string of the child's replaced."""
        for known, replacement in self.pairs:
            if known in value:
                value = value.replace(known, replacement)
        return value

    def value(self, value) -> Any:
        """A JSON value with every string (keys included) redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(key): self.value(item) for key, item in value.items()}
        return value

    def mentions(self, column) -> list:
        """SQL conditions true where `column`'s stored text holds a distinctive string (raw or
        as JSON escapes)."""
        text = cast(column, String)
        conditions = []
        for known in self.distinctive:
            for form in {known, json.dumps(known)[1:-1]}:
                conditions.append(text.contains(form, autoescape=True))
        return conditions

    def mentioned_in(self, raw) -> bool:
        """Whether a stored string (e.g. a cached reply) holds any distinctive string."""
        return any(known in raw or json.dumps(known)[1:-1] in raw for known in self.distinctive)


def scrub_rows(model, columns, redactor, tied=None) -> int:
    """Redact `columns` of every row of `model` tied to the child or mentioning them; returns how
    many rows changed. JSON columns are walked, text columns replaced."""
    conditions = [condition for column in columns for condition in redactor.mentions(column)]
    if tied is not None:
        conditions.append(tied)
    if not conditions:
        return 0
    changed = 0
    for row in db.session.scalars(select(model).where(or_(*conditions)).order_by(model.id)):
        touched = False
        for column in columns:
            old = getattr(row, column.key)
            if old is None:
                continue
            new = redactor.value(old)
            if new != old:
                setattr(row, column.key, new)
                touched = True
        changed += touched
    db.session.flush()
    return changed


def forget_cached_replies(redactor, openids) -> int:
    """Delete the bot's cached replies that hold the child's strings or went to the family's
    openids (a unit-of-work effect: after the commit). With Redis down a warning is logged: the
    cache expires by itself within minutes (wechat_bot/inbox.py keeps replies ten minutes)."""
    client = get_redis()
    if client is None:
        return 0
    removed = 0
    try:
        for key in client.scan_iter(match=REPLY_CACHE_PATTERN, count=500):
            raw = client.get(key)
            text = raw.decode("utf-8", "replace") if raw is not None else ""
            if redactor.mentioned_in(text) or any(openid in text for openid in openids):
                removed += client.delete(key)
    except redis.RedisError as exc:
        log.warning("erasure: cached bot replies not searched, Redis unavailable: %s", exc)
    return removed
