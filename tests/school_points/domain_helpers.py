"""Helpers shared by the domain tests (plain functions; fixtures live in conftest.py)."""

from sqlalchemy import func, select

from school_points.models import LedgerEntry, PointsAccount
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db


def outcome(fn, *args, **kwargs):
    """Run a service and commit: "ok" on success, the error code on a DomainError (rolled back)."""
    try:
        fn(*args, **kwargs)
    except DomainError as exc:
        db.session.rollback()
        return exc.code
    db.session.commit()
    return "ok"


def account_of(student_id):
    """A student's (balance, lifetime), read fresh."""
    db.session.expire_all()
    account = db.session.get(PointsAccount, student_id)
    return (account.balance, account.lifetime) if account else (0, 0)


def ledger_sum(student_id):
    """The sum of a student's ledger deltas."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.student_id == student_id)
        )
    )


def entries(student_id, kind=None):
    """A student's ledger entries, oldest first, optionally of one kind."""
    query = select(LedgerEntry).where(LedgerEntry.student_id == student_id)
    if kind:
        query = query.where(LedgerEntry.kind == kind)
    return list(db.session.scalars(query.order_by(LedgerEntry.id)))
