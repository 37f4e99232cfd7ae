"""Families' data (docs/FAMILY_DATA.md): export everything about a student, erase a student's data."""

from urllib.parse import quote

from flask import Response, current_app, g, request

from school_points.office import erasure, family_export
from school_points.office.tabular_writer import XLSX_MIME
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from staffkit.schemas import OBJECT, EraseIn, FamilyExportQuery, StudentDetailOut
from webkit.api import dump, load_body, load_query
from webkit.responses import respond

from . import bp
from .kit import api

XLSX = XLSX_MIME


@bp.get("/students/<int:student_id>/export")
@api(
    "导出学员及其家长的全部数据（JSON，或 ?format=xlsx 工作簿）",
    query=FamilyExportQuery,
    out=OBJECT,
    files=[XLSX_MIME],  # ?format=xlsx: the workbook's bytes
    tags=["家庭数据"],
    errors={404: ["student_not_found"]},
    description="结构见 docs/FAMILY_DATA.md。`format=xlsx` 时返回 Excel 工作簿（每部分一张工作表）。"
    "导出会记入操作日志。",
)
def export_student(student_id):
    args = load_query(FamilyExportQuery)
    base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root.rstrip("/")
    document = family_export.export_student(student_id, scope=g.scope, actor=g.actor, base=base)
    if args["format"] == "json":
        return respond(family_export.as_json(document))
    content = family_export.workbook(document)
    db.session.commit()  # the audit entry; built first, so a failure leaves no entry for nothing
    day = local_today().strftime("%Y%m%d")
    fallback = f"student-{student_id}-{day}.xlsx"
    chinese = quote(f"学员数据-{student_id}-{day}.xlsx")
    response = Response(content, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{chinese}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/students/<int:student_id>/erase")
@api(
    "删除学员的个人数据（仅总管理员；确认内容须为学员当前姓名）",
    body=EraseIn,
    out=StudentDetailOut,
    idempotent=True,
    tags=["家庭数据"],
    errors={403: ["super_admin_required"], 404: ["student_not_found"], 422: ["confirm_mismatch"]},
    description="积分流水与订单保留（账目仍然平衡），姓名改为“已删除学员#<id>”。"
    "已删除的学员再次调用返回 200 和相同结果，不再记日志。校区管理员调用一律 403。",
)
def erase_student(student_id):
    data = load_body(EraseIn)
    student, _ = erasure.erase_student(student_id, scope=g.scope, actor=g.actor, confirm=data["confirm"])
    return respond(dump(StudentDetailOut, student))
