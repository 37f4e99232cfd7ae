"""The figures on the front page of the staff console: today's and this month's points (the
summary report's definitions, office.reports), 30 days of points issued by kind against points
spent (office.daily_report), and what waits for staff: pending orders and failed notifications."""

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from school_points.models import Notification, Redemption
from school_points.office import daily_report, reports
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.wechat import outbox

CHART_DAYS = 30


def overview(scope, today=None) -> dict[str, Any]:
    """Everything the console's 概览 shows, for the admin's scope (a campus admin: their campus)."""
    today = today or local_today()
    campus_id = scope.campus_id
    month = reports.summary(today.replace(day=1), today, campus_id=campus_id)
    chart = daily_report.daily(today - timedelta(days=CHART_DAYS - 1), today, campus_id=campus_id)
    return {
        "today": _flows(reports.summary(today, today, campus_id=campus_id)),
        "month": _flows(month),
        "outstanding": month["outstanding"],
        "students_by_level": month["students_by_level"],  # None while member levels are off
        "chart": chart["days"],
        "pending_orders": _count(
            scope.filter(select(Redemption.id).where(Redemption.status == "pending"), Redemption.campus_id)
        ),
        "failed_notifications": _count(
            outbox.list_notifications_query(scope, status="failed").with_only_columns(Notification.id)
        ),
    }


def _flows(summary):
    return {"issued": summary["issued"]["total"], "spent": summary["spent"], "expired": summary["expired"]}


def _count(query):
    return int(db.session.scalar(select(func.count()).select_from(query.subquery())))
