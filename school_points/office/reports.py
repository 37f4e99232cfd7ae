"""The admin's summary report: points issued, spent and expired over school-local days, what is
still outstanding (and what it would cost the school in yuan), and orders by status.

Every figure is an aggregate query; nothing loops over rows. The ledger's sums come from
office.report_rollup: per-day totals where they are valid, the ledger itself for the other days
(exactly the ledger's sums either way). Orders are counted live: a year of a school's orders is a
few milliseconds, and their statuses change long after the day.
"""

from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from school_points.accounts.ledger import LIFETIME_KINDS
from school_points.accounts.levels import levels_config
from school_points.models import ORDER_STATUSES, PointsAccount, Redemption, Student
from school_points.office.report_rollup import ledger_sums_by_kind
from school_points.platform.clock import day_end, day_start
from school_points.platform.extensions import db
from school_points.school.settings import get_settings

ISSUING_KINDS = sorted(LIFETIME_KINDS)


def summary(first_day, last_day, *, campus_id=None) -> dict[str, Any]:
    """Figures for school-local days first_day..last_day (inclusive), for one campus or all."""
    flows = _ledger_flows(first_day, last_day, campus_id)
    outstanding = _outstanding(campus_id)
    value_fen = outstanding * int(get_settings()["point_value_fen"])
    return {
        "from": first_day.isoformat(),
        "to": last_day.isoformat(),
        "campus_id": campus_id,
        "issued": {"total": sum(flows["issued"].values()), "by_kind": flows["issued"]},
        "spent": flows["spent"],
        "refunded": flows["refunded"],
        "expired": flows["expired"],
        "reversed": flows["reversed"],
        "adjusted_down": flows["adjusted_down"],
        "outstanding": {
            "points": outstanding,
            "value_fen": value_fen,
            "value_yuan": str((Decimal(value_fen) / 100).quantize(Decimal("0.01"))),
        },
        "orders": _orders(first_day, last_day, campus_id),
        "students_by_level": students_by_level(campus_id),
    }


def students_by_level(campus_id=None) -> list[dict[str, Any]] | None:
    """Active students at each level now (by lifetime points and today's tiers, not the report's
    dates), every level listed even when empty; None while levels are switched off."""
    config = levels_config()
    if config is None:
        return None
    lifetime = func.coalesce(PointsAccount.lifetime, 0)
    tiers = config["tiers"]
    band = case(
        *((lifetime >= int(tier["min_lifetime"]), int(tier["level"])) for tier in reversed(tiers[1:])),
        else_=int(tiers[0]["level"]),
    )
    query = (
        select(band, func.count())
        .select_from(Student)
        .outerjoin(PointsAccount, PointsAccount.student_id == Student.id)
        .where(Student.status == "active")
        .group_by(band)
    )
    if campus_id is not None:
        query = query.where(Student.campus_id == campus_id)
    counts = {int(level): int(count) for level, count in db.session.execute(query)}
    return [
        {
            "level": int(tier["level"]),
            "name": str(tier["name"]),
            "min_lifetime": int(tier["min_lifetime"]),
            "students": counts.get(int(tier["level"]), 0),
        }
        for tier in tiers
    ]


def _ledger_flows(first_day, last_day, campus_id):
    gained: dict[str, int] = {}
    lost: dict[str, int] = {}
    for kind, (plus, minus) in ledger_sums_by_kind(first_day, last_day, campus_id=campus_id).items():
        gained[kind], lost[kind] = plus, minus
    return {
        "issued": {kind: gained.get(kind, 0) for kind in ISSUING_KINDS},
        # What orders really cost: redemption debits less the refunds of cancelled orders.
        "spent": lost.get("redemption", 0) - gained.get("redemption_refund", 0),
        "refunded": gained.get("redemption_refund", 0),
        "expired": lost.get("expiry", 0),
        "reversed": lost.get("reversal", 0),
        "adjusted_down": lost.get("adjustment", 0),
    }


def _outstanding(campus_id):
    query = select(func.coalesce(func.sum(PointsAccount.balance), 0))
    if campus_id is not None:
        query = query.join(Student, Student.id == PointsAccount.student_id).where(Student.campus_id == campus_id)
    return int(db.session.scalar(query))


def _orders(first_day, last_day, campus_id):
    query = (
        select(Redemption.status, func.count(), func.coalesce(func.sum(Redemption.total_points), 0))
        .where(Redemption.created_at >= day_start(first_day), Redemption.created_at < day_end(last_day))
        .group_by(Redemption.status)
    )
    if campus_id is not None:
        query = query.where(Redemption.campus_id == campus_id)
    counts = {status: {"count": 0, "points": 0} for status in ORDER_STATUSES}
    for status, count, points in db.session.execute(query):
        counts[status] = {"count": int(count), "points": int(points)}
    return counts
