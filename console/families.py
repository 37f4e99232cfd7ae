"""学员 (families): a student's guardians (unbinding one), a new bind code, the families' data
export (JSON or xlsx) and the erasure of a student's data (super admins), on the student's page.
The same services as the admin API's routes (admin/families.py, admin/family.py,
admin/people.py), audited by them."""

import json

from flask import Response, current_app, request

from school_points.office import erasure, family_export
from school_points.office.tabular_writer import XLSX_MIME
from school_points.people import guardianships, students
from school_points.platform.clock import local_today
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from staffkit.schemas import AdjustmentIn, EraseIn, FamilyExportQuery
from webkit.downloads import content_disposition

from . import bp
from .errors import error_page
from .forms import Form
from .kit import done
from .session import staff_page
from .students import detail_page


@bp.post("/students/<int:student_id>/guardians/<int:user_id>/unbind")
@staff_page
def unbind_guardian(staff, student_id, user_id):
    student = students.get_student(student_id, staff.scope)
    guardianships.unbind_guardian(student.id, user_id, scope=staff.scope, actor=staff.actor)
    db.session.commit()
    return done("已解除该家长的绑定；家长可用绑定码重新绑定", "console.student_detail", student_id=student.id)


@bp.post("/students/<int:student_id>/bind-code")
@staff_page
def new_bind_code(staff, student_id):
    student = students.regenerate_bind_code(student_id, scope=staff.scope, actor=staff.actor)
    db.session.commit()
    message = f"新的绑定码：{student.bind_code}（旧绑定码已失效，已绑定的家长不受影响）"
    return done(message, "console.student_detail", student_id=student.id)


@bp.get("/students/<int:student_id>/export")
@staff_page
def export_family_data(staff, student_id):
    query = Form(FamilyExportQuery, request.args, load=True)
    if not query.valid:
        return error_page(400, "导出格式只能是 JSON 或 Excel（xlsx）。")
    base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root.rstrip("/")
    document = family_export.export_student(student_id, scope=staff.scope, actor=staff.actor, base=base)
    if query.data["format"] == "json":
        body = json.dumps(family_export.as_json(document), ensure_ascii=False, indent=2).encode()
        mimetype, extension = "application/json", "json"
    else:
        body, mimetype, extension = family_export.workbook(document), XLSX_MIME, "xlsx"
    db.session.commit()  # the audit entry; the file was built first, so a failure leaves none
    day = local_today().strftime("%Y%m%d")
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(
        f"学员数据-{student_id}-{day}.{extension}", f"student-{student_id}-{day}.{extension}"
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/students/<int:student_id>/erase")
@staff_page(super_only=True)
def erase_student(staff, student_id):
    student = students.get_student(student_id, staff.scope)
    form = Form(EraseIn)
    if form.valid:
        try:
            erased, changed = erasure.erase_student(
                student.id, scope=staff.scope, actor=staff.actor, confirm=form.data["confirm"]
            )
        except DomainError as exc:
            db.session.rollback()
            form.fail_with(exc)
        else:
            db.session.commit()
            message = "该学员的个人数据已删除，积分流水与订单保留" if changed else "该学员的数据此前已删除"
            return done(message, "console.student_detail", student_id=erased.id)
    student = students.get_student(student_id, staff.scope)
    return detail_page(staff, student, Form(AdjustmentIn, load=False), status=422, erase_form=form)
