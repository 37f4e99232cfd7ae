"""The summary report and the audit log."""

from flask import g

from school_points.models import AuditLog
from school_points.office import reports
from school_points.platform.clock import local_today
from school_points.school.audit_trail import audit_log_query
from school_points.school.scoping import campus_filter_id
from webkit.api import load_query
from webkit.responses import respond

from . import bp
from .kit import api, filters, listing
from .schemas import OBJECT, AuditLogOut, AuditLogPage, AuditQuery, ReportQuery


@bp.get("/reports/summary")
@api(
    "积分与兑换汇总（默认本月）",
    query=ReportQuery,
    out=OBJECT,
    tags=["报表"],
    errors={404: ["campus_not_found"]},
    description="结构见 docs/ADMIN_API.md（Summary）。",
)
def summary_report():
    args = load_query(ReportQuery)
    last_day = args.get("to") or local_today()
    first_day = args.get("from_") or min(last_day, local_today()).replace(day=1)
    if first_day > last_day:  # only `from` given, later than today
        last_day = first_day
    campus_id = campus_filter_id(g.scope, args.get("campus_id"))
    return respond(reports.summary(first_day, last_day, campus_id=campus_id))


@bp.get("/audit-log")
@api("操作日志（校区管理员只看本校区）", query=AuditQuery, out=AuditLogPage, tags=["报表"])
def audit_log():
    return listing(audit_log_query(g.scope, **filters(AuditQuery)), AuditLog.id, AuditLogOut())
