"""The office's downloads (ledger, orders, roster, reports as xlsx or CSV), the daily report, and
goods-image uploads (docs/EXPORTS.md).

A download is checked (422 for bad dates, ranges or formats; 404 for a campus or class outside
the admin's scope), audited and committed before any row is read, so a refused request writes
nothing and every file that left has its audit entry. Then the file streams (office.tabular_writer):
xlsx and CSV alike are written while the rows are read, a batch at a time, in flat memory.
"""

from datetime import timedelta

from flask import current_app, g, request

from school_points.media import uploads
from school_points.models import Campus, SchoolClass
from school_points.office import daily_report, exports
from school_points.office.tabular_writer import XLSX_MIME
from school_points.platform.clock import local_today
from school_points.platform.errors import ValidationFailed
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.scoping import campus_filter_id, get_in_scope
from staffkit.downloads import download
from staffkit.office_schemas import (
    DailyOut,
    DailyQuery,
    LedgerExportQuery,
    RedemptionExportQuery,
    RosterExportQuery,
    UploadIn,
    UploadOut,
)
from webkit.api import load_query
from webkit.errors import ApiError
from webkit.responses import respond

from . import bp
from .kit import api

FILES = (XLSX_MIME, "text/csv")
CAMPUS_NOT_FOUND = {404: ["campus_not_found"]}
DOWNLOAD_NOTE = (
    "`format=xlsx`（默认）或 `csv`（UTF-8 带 BOM，Excel/WPS 直接打开不乱码）。文件名含日期；"
    "列说明见 docs/EXPORTS.md。每次导出都记入操作日志（谁、导出了什么范围），日志不含学员信息。"
)


# ------------------------------------------------------------------ ranges and files


def month_range(args):
    """The summary's default range: `to` defaults to today, `from` to the first of to's month."""
    last_day = args.get("to") or local_today()
    first_day = args.get("from_") or min(last_day, local_today()).replace(day=1)
    return first_day, max(first_day, last_day)


def daily_range(args):
    """The daily report's range: the 30 days up to `to` (today) unless given; at most a year."""
    last_day = args.get("to") or local_today()
    first_day = args.get("from_") or last_day - timedelta(days=29)
    last_day = max(first_day, last_day)
    if (last_day - first_day).days + 1 > daily_report.MAX_DAYS:
        raise ValidationFailed(details={"from": [f"时间范围不能超过 {daily_report.MAX_DAYS} 天"]})
    return first_day, last_day


def audited(what, file_format, campus_id, **details):
    """Record the download in the audit log and commit, before any row is read."""
    exports.record_export(g.actor, what, campus_id=campus_id, format=file_format, **details)
    db.session.commit()


def _span(first_day, last_day):
    return f"{first_day.isoformat()}_{last_day.isoformat()}"


# ------------------------------------------------------------------ downloads


@bp.get("/ledger/export")
@api(
    "导出积分流水（按学校时区的日期范围，默认本月）",
    query=LedgerExportQuery,
    files=FILES,
    tags=["导出与报表"],
    errors=CAMPUS_NOT_FOUND,
    description=DOWNLOAD_NOTE + "百万行也只占用固定内存：按流水号分批读取。",
)
def export_ledger():
    args = load_query(LedgerExportQuery)
    first_day, last_day = month_range(args)
    campus_id = campus_filter_id(g.scope, args.get("campus_id"))
    audited("ledger", args["format"], campus_id, **{"from": first_day, "to": last_day})
    sheet = exports.ledger_sheet(first_day, last_day, campus_id=campus_id)
    span = _span(first_day, last_day)
    return download([sheet], args["format"], f"积分流水_{span}", f"ledger_{span}")


@bp.get("/redemptions/export")
@api(
    "导出兑换订单（筛选条件同订单列表，另可按下单日期 from/to）",
    query=RedemptionExportQuery,
    files=FILES,
    tags=["导出与报表"],
    errors=CAMPUS_NOT_FOUND,
    description=DOWNLOAD_NOTE,
)
def export_redemptions():
    args = load_query(RedemptionExportQuery)
    file_format = args.pop("format")
    first_day, last_day = args.pop("from_", None), args.pop("to", None)
    campus_id = args.pop("campus_id", None)
    if campus_id is not None:
        campus_filter_id(g.scope, campus_id)
    scope_campus = campus_id if campus_id is not None else g.scope.campus_id
    audited("redemptions", file_format, scope_campus, **{"from": first_day, "to": last_day}, **args)
    sheet = exports.order_sheet(g.scope, campus_id=campus_id, first_day=first_day, last_day=last_day, **args)
    today = local_today()
    span = _span(first_day or today, last_day or today) if first_day or last_day else today.isoformat()
    return download([sheet], file_format, f"兑换订单_{span}", f"redemptions_{span}")


@bp.get("/students/export")
@api(
    "导出学员名单（绑定码须 include_bind_codes=true，另记操作日志）",
    query=RosterExportQuery,
    files=FILES,
    tags=["导出与报表"],
    errors={404: ["campus_not_found", "class_not_found"]},
    description=DOWNLOAD_NOTE + "前五列（姓名、学号、校区、班级、生日）与名单导入的表头相同，可修改后再导入。",
)
def export_students():
    args = load_query(RosterExportQuery)
    campus_id = campus_filter_id(g.scope, args.get("campus_id"))
    class_id = args.get("class_id")
    if class_id is not None:
        get_in_scope(SchoolClass, class_id, g.scope, message="班级不存在", code="class_not_found")
    with_codes = args["include_bind_codes"] == "true"
    audited(
        "students",
        args["format"],
        campus_id,
        class_id=class_id,
        status=args.get("status"),
        include_bind_codes=with_codes,
    )
    sheet = exports.roster_sheet(
        g.scope, campus_id=campus_id, class_id=class_id, status=args.get("status"), include_bind_codes=with_codes
    )
    today = local_today().isoformat()
    return download([sheet], args["format"], f"学员名单_{today}", f"students_{today}")


# ------------------------------------------------------------------ reports


def summary_workbook(report, campus_id):
    """The summary report as an xlsx download (admin/reporting.py answers JSON itself)."""
    first_day, last_day = report["from"], report["to"]
    audited("report_summary", "xlsx", campus_id, **{"from": first_day, "to": last_day})
    campus = db.session.get(Campus, campus_id).name if campus_id is not None else "全部校区"
    span = f"{first_day}_{last_day}"
    return download(daily_report.summary_sheets(report, campus), "xlsx", f"积分汇总_{span}", f"summary_{span}")


@bp.get("/reports/daily")
@api(
    "每日积分报表（图表数据；默认最近 30 天，最多 366 天）",
    query=DailyQuery,
    out=DailyOut,
    files=FILES,
    tags=["报表"],
    errors=CAMPUS_NOT_FOUND,
    description="按学校时区的自然日，范围内每天都有一项（没有流水的日子为 0）。issued 按类型列出发放积分，"
    "spent = 兑换扣除 − 取消退回，与 /reports/summary 的口径相同。`format=xlsx` 或 `csv` 下载同样的数据。",
)
def daily_points():
    args = load_query(DailyQuery)
    first_day, last_day = daily_range(args)
    campus_id = campus_filter_id(g.scope, args.get("campus_id"))
    report = daily_report.daily(first_day, last_day, campus_id=campus_id)
    if args["format"] == "json":
        return respond(report)
    audited("report_daily", args["format"], campus_id, **{"from": first_day, "to": last_day})
    span = _span(first_day, last_day)
    return download([daily_report.daily_sheet(report)], args["format"], f"每日积分_{span}", f"daily_{span}")


# ------------------------------------------------------------------ goods images


@bp.post("/uploads")
@api(
    "上传商品图片（JPEG/PNG/WebP，≤ 5 MB，须能完整解码；去除元数据后重新编码保存；每个管理员每天有上限）",
    body=UploadIn,
    out=UploadOut,
    status=201,
    content_type="multipart/form-data",
    tags=["商品"],
    description="返回的 url 可填入商品的 image_url。超过每日上限（默认 50 张或 100 MB）时 429。",
    errors={
        413: ["image_too_large", "payload_too_large"],
        422: ["unsupported_image", "invalid_image", "image_too_many_pixels"],
        429: ["upload_quota_exceeded"],
    },
)
def upload_goods_image():
    file = request.files.get("file")
    if file is None:
        raise ValidationFailed(details={"file": ["请选择要上传的图片"]})
    try:
        stored = uploads.store_admin_upload(g.admin.id, file.stream)
    except uploads.ImageTooLarge as exc:
        raise ApiError(413, exc.code, exc.message, exc.details) from None
    audit.record(g.actor, "upload.create", "upload", stored.name, campus_id=g.scope.campus_id)
    base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root.rstrip("/")
    return respond({"url": uploads.upload_url(stored.name, base)}, 201)
