"""Points expiry (docs/PRODUCT.md): the nightly job that expires due lots and reminds parents beforehand.

Both are jobs: they commit, one short transaction per lot (expiry) or per reminder, so a long
run never holds many accounts locked and a crash loses nothing already done.
"""

from datetime import timedelta

from sqlalchemy import select

from school_points.accounts import ledger
from school_points.models import PointsLot
from school_points.platform.clock import isoformat, utcnow
from school_points.platform.extensions import db
from school_points.school.settings import get_settings
from school_points.wechat.notifications import notify_student


def expire_due(now=None) -> tuple[int, int]:
    """Expire every lot whose expiry time has passed; returns (lots expired, points expired)."""
    now = now or utcnow()
    due = db.session.execute(
        select(PointsLot.id, PointsLot.student_id)
        .where(PointsLot.expires_at <= now, PointsLot.remaining > 0)
        .order_by(PointsLot.expires_at, PointsLot.id)
    ).all()
    db.session.commit()
    lots = points = 0
    for lot_id, student_id in due:
        expired = _expire_one(lot_id, student_id)
        db.session.commit()
        if expired:
            lots, points = lots + 1, points + expired
    return lots, points


def _expire_one(lot_id, student_id):
    """Expire one lot under its student's account lock; 0 when already expired or spent meanwhile."""
    account = ledger.lock(student_id)
    lot = db.session.scalars(
        select(PointsLot).where(PointsLot.id == lot_id).execution_options(populate_existing=True)
    ).one()
    if lot.remaining <= 0 or ledger.find_entry(ledger.expiry_key(lot.id)) is not None:
        return 0
    entry = ledger.expire_lot(account, lot)
    return -entry.delta if entry is not None else 0


def remind_expiring(now=None) -> int:
    """Record one `expiring` notification per student and expiry time, `remind_days` ahead; returns how many.

    Each lot is reminded once (PointsLot.reminded_at); lots of one student that expire at the same
    moment share one reminder with their total.
    """
    now = now or utcnow()
    horizon = now + timedelta(days=int(get_settings()["expiry"]["remind_days"]))
    groups = db.session.execute(
        select(PointsLot.student_id, PointsLot.expires_at)
        .where(
            PointsLot.reminded_at.is_(None),
            PointsLot.remaining > 0,
            PointsLot.expires_at > now,
            PointsLot.expires_at <= horizon,
        )
        .group_by(PointsLot.student_id, PointsLot.expires_at)
        .order_by(PointsLot.expires_at, PointsLot.student_id)
    ).all()
    db.session.commit()
    reminders = 0
    for student_id, expires_at in groups:
        reminders += _remind_group(student_id, expires_at, now)
        db.session.commit()
    return reminders


def _remind_group(student_id, expires_at, now):
    ledger.lock(student_id)  # serialise with spending, which changes `remaining`
    lots = db.session.scalars(
        select(PointsLot)
        .where(
            PointsLot.student_id == student_id,
            PointsLot.expires_at == expires_at,
            PointsLot.reminded_at.is_(None),
            PointsLot.remaining > 0,
        )
        .order_by(PointsLot.id)
        .execution_options(populate_existing=True)
    ).all()
    if not lots:
        return 0
    points = sum(lot.remaining for lot in lots)
    notify_student(
        "expiring",
        student_id,
        {"points": points, "time": isoformat(expires_at), "remark": "积分即将过期，请尽快兑换"},
        key=f"expiring:s{student_id}:lot{lots[0].id}",
    )
    for lot in lots:
        lot.reminded_at = now
    return 1
