"""The summary report and the audit log."""

from flask import g

from school_points.models import AuditLog
from school_points.office import reports
from school_points.office.tabular_writer import XLSX_MIME
from school_points.platform.clock import local_today
from school_points.school.audit_trail import audit_log_query
from school_points.school.scoping import campus_filter_id
from staffkit.office_schemas import SummaryQuery
from staffkit.schemas import OBJECT, AuditLogOut, AuditLogPage, AuditQuery
from webkit.api import load_query
from webkit.responses import respond

from . import bp
from .exports import summary_workbook
from .kit import api, filters, listing


@bp.get("/reports/summary")
@api(
    "积分与兑换汇总（默认本月）",
    query=SummaryQuery,
    out=OBJECT,
    files=(XLSX_MIME,),
    tags=["报表"],
    errors={404: ["campus_not_found"]},
    description="结构见 docs/ADMIN_API.md（Summary）。`format=xlsx` 下载同样的数据（docs/EXPORTS.md）。",
)
def summary_report():
    args = load_query(SummaryQuery)
    last_day = args.get("to") or local_today()
    first_day = args.get("from_") or min(last_day, local_today()).replace(day=1)
    if first_day > last_day:  # only `from` given, later than today
        last_day = first_day
    campus_id = campus_filter_id(g.scope, args.get("campus_id"))
    report = reports.summary(first_day, last_day, campus_id=campus_id)
    if args["format"] == "xlsx":
        return summary_workbook(report, campus_id)
    return respond(report)


@bp.get("/audit-log")
@api("操作日志（校区管理员只看本校区）", query=AuditQuery, out=AuditLogPage, tags=["报表"])
def audit_log():
    return listing(audit_log_query(g.scope, **filters(AuditQuery)), AuditLog.id, AuditLogOut())
