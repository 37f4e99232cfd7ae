"""The points ledger: the only module that writes ledger entries, balances and lots.

Every operation works on an account the caller has locked with `lock`/`lock_many` in the same
transaction (row lock on PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE), so checks
made under the lock (caps, balance, limits) cannot be raced. Callers commit.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from school_points.models import LedgerEntry, LotUse, PointsAccount, PointsLot
from school_points.platform.clock import day_start, local_today, utcnow
from school_points.platform.db_setup import insert_or_skip
from school_points.platform.errors import InsufficientPoints, ValidationFailed
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM
from school_points.school.settings import get_settings

EARNING_KINDS = frozenset(
    {"evaluation", "checkin", "like", "share", "referral", "welcome", "signin", "birthday"}
    # Bonuses beside an award (points/level_rewards.py) are earned points too: they grow lifetime.
    | {"level_bonus", "birthday_bonus"}
)
# What a positive entry of these kinds adds also grows lifetime points (reports call it "issued").
LIFETIME_KINDS = EARNING_KINDS | frozenset({"adjustment"})
ALL_KINDS = LIFETIME_KINDS | frozenset({"redemption", "redemption_refund", "reversal", "expiry"})


def counts_as_earning(kind, delta) -> bool:
    """Earning kinds (and positive manual adjustments) grow lifetime points."""
    return delta > 0 and kind in LIFETIME_KINDS


def lock(student_id) -> PointsAccount:
    """Lock one student's points account for this transaction, creating it if missing."""
    return lock_many([student_id])[student_id]


def lock_many(student_ids) -> dict[int, PointsAccount]:
    """Lock several accounts in ascending student id order (the one lock order everywhere)."""
    ids = sorted(set(student_ids))
    if not ids:
        return {}
    accounts = _select_for_update(ids)
    missing = [sid for sid in ids if sid not in accounts]
    if missing:
        ensure_accounts(missing)
        accounts = _select_for_update(ids)
    return accounts


def _select_for_update(ids):
    query = (
        select(PointsAccount)
        .where(PointsAccount.student_id.in_(ids))
        .order_by(PointsAccount.student_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {account.student_id: account for account in db.session.scalars(query)}


def ensure_accounts(student_ids) -> None:
    """Create zero accounts for students that have none (safe under concurrency)."""
    rows = [{"student_id": sid, "balance": 0, "lifetime": 0, "updated_at": utcnow()} for sid in student_ids]
    db.session.execute(insert_or_skip(PointsAccount.__table__, ["student_id"]).values(rows))


def find_entry(key) -> LedgerEntry | None:
    """The ledger entry written under an idempotency key, if any."""
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).first()


def redact_notes(account, redact) -> int:
    """Rewrite the notes of a locked account's entries through `redact(text) -> text` when a
    child's data is erased (a note may name the child); amounts, kinds and keys never change.
    Returns how many notes changed."""
    changed = 0
    for entry in db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.student_id == account.student_id, LedgerEntry.note != "")
    ):
        note = redact(entry.note)
        if note != entry.note:
            entry.note = note[:255]
            changed += 1
    db.session.flush()
    return changed


@dataclass(frozen=True)
class Ref:
    """What caused an entry: a type name and an id."""

    type: str
    id: object

    def as_columns(self) -> dict[str, str | None]:
        return {"ref_type": self.type, "ref_id": None if self.id is None else str(self.id)}


def credit(account, points, kind, *, key, ref=None, actor=SYSTEM, note="") -> LedgerEntry:
    """Add points to a locked account; earning kinds open an expiring lot under an expiry policy."""
    _require_positive(points)
    entry = _post(account, points, kind, key=key, ref=ref, actor=actor, note=note)
    if counts_as_earning(kind, points):
        expires_at = expiry_for_new_points()
        if expires_at is not None:
            db.session.add(
                PointsLot(
                    student_id=account.student_id, entry=entry, points=points, remaining=points, expires_at=expires_at
                )
            )
    return entry


def debit(account, points, kind, *, key, ref=None, actor=SYSTEM, note="", prefer_lot=None) -> LedgerEntry:
    """Take points from a locked account, oldest-expiring first; raises InsufficientPoints."""
    _require_positive(points)
    if account.balance < points:
        raise InsufficientPoints(details={"balance": account.balance, "required": points})
    entry = _post(account, -points, kind, key=key, ref=ref, actor=actor, note=note)
    _consume_lots(account.student_id, entry, points, prefer_lot)
    return entry


def refund(account, spent_entry, kind, *, key, ref=None, actor=SYSTEM, note="") -> LedgerEntry:
    """Give back exactly what `spent_entry` took, into the same lots it took them from."""
    points = -spent_entry.delta
    entry = _post(account, points, kind, key=key, ref=ref, actor=actor, note=note)
    uses = db.session.scalars(
        select(LotUse).where(LotUse.entry_id == spent_entry.id).options(joinedload(LotUse.lot))
    ).all()
    for use in uses:
        use.lot.remaining = min(use.lot.points, use.lot.remaining + use.points)
    return entry


def reverse(account, earned_entry, *, key, actor=SYSTEM, note="") -> LedgerEntry | None:
    """Take back an earning entry, as much as the balance still holds; None if nothing is left."""
    points = min(earned_entry.delta, account.balance)
    if points <= 0:
        return None
    lot = db.session.scalars(select(PointsLot).where(PointsLot.entry_id == earned_entry.id)).first()
    entry = debit(
        account,
        points,
        "reversal",
        key=key,
        ref=Ref("ledger_entry", earned_entry.id),
        actor=actor,
        note=note,
        prefer_lot=lot,
    )
    entry.reverses_id = earned_entry.id
    return entry


def mark_level_reached(account, level) -> bool:
    """Raise a locked account's notified level to `level`; False when it was there already
    (the notice of that level, or a higher one, was recorded before)."""
    if level <= account.level_notified:
        return False
    account.level_notified = level
    return True


def expiry_key(lot_id) -> str:
    """The idempotency key of a lot's expiry entry: a lot expires once."""
    return f"expiry:lot:{lot_id}"


def expire_lot(account, lot) -> LedgerEntry | None:
    """Expire what is left of a lot (an `expiry` entry); None when nothing is left."""
    points = min(lot.remaining, account.balance)
    if points <= 0:
        return None
    return debit(
        account,
        points,
        "expiry",
        key=expiry_key(lot.id),
        ref=Ref("points_lot", lot.id),
        note="积分过期",
        prefer_lot=lot,
    )


def expiry_for_new_points(now=None) -> datetime | None:
    """When points earned now expire under the school's policy, or None when they never do."""
    policy = get_settings()["expiry"]
    today = local_today(now)
    if policy["policy"] == "rolling":
        return day_start(today + relativedelta(months=int(policy["months"])))
    if policy["policy"] == "year_end":
        return day_start(today.replace(year=today.year + 2, month=1, day=1))
    return None


def expiring_points(student_id, before=None) -> list[dict[str, Any]]:
    """A student's points that carry an expiry date, grouped by date, soonest first."""
    query = (
        select(PointsLot.expires_at, func.sum(PointsLot.remaining))
        .where(PointsLot.student_id == student_id, PointsLot.remaining > 0)
        .group_by(PointsLot.expires_at)
        .order_by(PointsLot.expires_at)
    )
    if before is not None:
        query = query.where(PointsLot.expires_at <= before)
    return [{"points": int(points), "expires_at": expires_at} for expires_at, points in db.session.execute(query)]


def _post(account, delta, kind, *, key, ref, actor, note):
    if kind not in ALL_KINDS:
        raise ValueError(f"unknown ledger kind {kind!r}")
    account.balance += delta
    if counts_as_earning(kind, delta):
        account.lifetime += delta
    account.updated_at = utcnow()
    entry = LedgerEntry(
        student_id=account.student_id,
        delta=delta,
        balance_after=account.balance,
        kind=kind,
        idempotency_key=key,
        actor_type=actor.type,
        actor_id=actor.id,
        note=(note or "")[:255],
        local_day=local_today(),
        created_at=utcnow(),
        **(ref.as_columns() if ref else {}),
    )
    db.session.add(entry)
    return entry


def _consume_lots(student_id, entry, points, prefer_lot):
    lots = []
    if prefer_lot is not None and prefer_lot.remaining > 0:
        lots.append(prefer_lot)
    others = select(PointsLot).where(PointsLot.student_id == student_id, PointsLot.remaining > 0)
    if prefer_lot is not None:
        others = others.where(PointsLot.id != prefer_lot.id)
    lots.extend(db.session.scalars(others.order_by(PointsLot.expires_at, PointsLot.id)))
    left = points
    for lot in lots:
        if left == 0:
            break
        used = min(lot.remaining, left)
        lot.remaining -= used
        left -= used
        db.session.add(LotUse(entry=entry, lot=lot, points=used))
    # Whatever is left came from points that never expire (earned while the policy was `none`).


def _require_positive(points):
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise ValidationFailed("积分必须是正整数", details={"points": points})
