"""`points check`: every balance against its ledger, every lot against its balance, stock against
orders, every level or birthday bonus against the award it belongs to."""

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import aliased

from school_points.accounts.ledger import LIFETIME_KINDS
from school_points.accounts.levels import BONUS_KINDS, BONUSED_KINDS
from school_points.models import Goods, LedgerEntry, PointsAccount, PointsLot, Redemption
from school_points.platform.extensions import db


def find_differences(session=None) -> list[str]:
    """Human-readable lines, one per difference; empty when everything agrees.

    `session`: another database's session (a restored backup is checked this way); the app's by default.
    """
    session = session if session is not None else db.session
    return _balances(session) + _lots(session) + _stock(session) + _bonuses(session)


def _balances(session):
    earning = (LedgerEntry.delta > 0) & (LedgerEntry.kind.in_(sorted(LIFETIME_KINDS)))
    sums = (
        select(
            LedgerEntry.student_id.label("student_id"),
            func.sum(LedgerEntry.delta).label("total"),
            func.sum(case((earning, LedgerEntry.delta), else_=0)).label("earned"),
        )
        .group_by(LedgerEntry.student_id)
        .subquery()
    )
    rows = session.execute(
        select(
            PointsAccount.student_id, PointsAccount.balance, PointsAccount.lifetime, sums.c.total, sums.c.earned
        ).outerjoin(sums, sums.c.student_id == PointsAccount.student_id)
    ).all()
    out = []
    for student_id, balance, lifetime, total, earned in rows:
        total, earned = int(total or 0), int(earned or 0)
        if balance != total:
            out.append(f"student {student_id}: balance {balance} but ledger sums to {total}")
        if lifetime != earned:
            out.append(f"student {student_id}: lifetime {lifetime} but earnings sum to {earned}")
        if balance < 0:
            out.append(f"student {student_id}: negative balance {balance}")
    orphans = (
        session.execute(
            select(LedgerEntry.student_id)
            .where(~LedgerEntry.student_id.in_(select(PointsAccount.student_id)))
            .distinct()
        )
        .scalars()
        .all()
    )
    out += [f"student {sid}: ledger entries but no points account" for sid in orphans]
    last = (
        select(LedgerEntry.student_id, func.max(LedgerEntry.id).label("last_id"))
        .group_by(LedgerEntry.student_id)
        .subquery()
    )
    chain = session.execute(
        select(PointsAccount.student_id, PointsAccount.balance, LedgerEntry.balance_after)
        .join(last, last.c.student_id == PointsAccount.student_id)
        .join(LedgerEntry, LedgerEntry.id == last.c.last_id)
        .where(LedgerEntry.balance_after != PointsAccount.balance)
    ).all()
    out += [f"student {sid}: balance {bal} but last entry says {after}" for sid, bal, after in chain]
    return out


def _bonuses(session):
    """Every level or birthday bonus sits beside an award of its own student that earns bonuses
    (the award's key is the bonus's key without its `<kind>:` prefix), is no larger than the award
    (at most 100 %), and a birthday bonus equals its award."""
    award = aliased(LedgerEntry)
    bonus = LedgerEntry
    wrong = or_(
        award.id.is_(None),
        award.student_id != bonus.student_id,
        award.kind.not_in(sorted(BONUSED_KINDS)),
        bonus.delta > award.delta,
        and_(bonus.kind == "birthday_bonus", bonus.delta != award.delta),
    )
    rows = session.execute(
        select(bonus.id, bonus.student_id, bonus.kind)
        .outerjoin(award, award.idempotency_key == func.substr(bonus.idempotency_key, func.length(bonus.kind) + 2))
        .where(bonus.kind.in_(BONUS_KINDS), wrong)
        .order_by(bonus.id)
    ).all()
    return [f"student {sid}: {kind} entry {eid} has no matching award beside it" for eid, sid, kind in rows]


def _lots(session):
    rows = session.execute(
        select(PointsLot.student_id, func.sum(PointsLot.remaining), PointsAccount.balance)
        .join(PointsAccount, PointsAccount.student_id == PointsLot.student_id)
        .group_by(PointsLot.student_id, PointsAccount.balance)
        .having(func.sum(PointsLot.remaining) > PointsAccount.balance)
    ).all()
    return [f"student {sid}: {lots} expiring points in lots but balance is {bal}" for sid, lots, bal in rows]


def _stock(session):
    live = (
        select(Redemption.goods_id, func.sum(Redemption.quantity).label("units"))
        .where(Redemption.status != "cancelled")
        .group_by(Redemption.goods_id)
        .subquery()
    )
    rows = session.execute(
        select(Goods.id, Goods.stock, Goods.stock_received, func.coalesce(live.c.units, 0)).outerjoin(
            live, live.c.goods_id == Goods.id
        )
    ).all()
    out = []
    for goods_id, stock, received, units in rows:
        if stock != received - int(units):
            out.append(
                f"goods {goods_id}: stock {stock} but received {received} - ordered {int(units)}"
                f" = {received - int(units)}"
            )
        if stock < 0:
            out.append(f"goods {goods_id}: negative stock {stock}")
    return out
