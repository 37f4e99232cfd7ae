"""The summary report and the audit log."""
from flask import g

from school_points.models import AuditLog
from school_points.office import reports
from school_points.platform.clock import local_today
from school_points.school.audit_trail import audit_log_query
from school_points.school.scoping import campus_filter_id
from webkit.responses import respond

from . import bp
from .helpers import listing, query
from .schemas import AuditLogOut, AuditQuery, ReportQuery


@bp.get("/reports/summary")
def summary_report():
    args = query(ReportQuery())
    last_day = args.get("to") or local_today()
    first_day = args.get("from_") or min(last_day, local_today()).replace(day=1)
    if first_day > last_day:  # only `from` given, later than today
        last_day = first_day
    campus_id = campus_filter_id(g.scope, args.get("campus_id"))
    return respond(reports.summary(first_day, last_day, campus_id=campus_id))


@bp.get("/audit-log")
def audit_log():
    filters = query(AuditQuery())
    return listing(audit_log_query(g.scope, **filters), AuditLog.id, AuditLogOut())
