"""老师: the teachers with their classes and whether they joined; creating and editing one (name,
campus, classes, active); the invite code (shown, regenerated) and the printable invite sheet.
The same services as the admin API (admin/people.py, admin/sheets.py), audited by them."""

from flask import render_template, request
from sqlalchemy import select

from school_points.models import Campus, SchoolClass, Teacher
from school_points.office import sheets
from school_points.people import teachers
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from staffkit.schemas import CampusFilter, InviteSheetQuery, TeacherIn, TeacherPatch

from . import bp
from .classes import campus_choices, sheet_response
from .errors import error_page
from .forms import Form
from .kit import done, paged
from .session import staff_page

CREATE_FIELDS = ("name", "campus_id", "class_ids")
EDIT_FIELDS = (*CREATE_FIELDS, "active")


def class_choices(staff) -> list[tuple[int, str]]:
    """(id, "name（campus）") of the classes inside the scope, for a teacher's classes."""
    query = staff.scope.filter(
        select(SchoolClass.id, SchoolClass.name, Campus.name.label("campus")).join(
            Campus, Campus.id == SchoolClass.campus_id
        ),
        SchoolClass.campus_id,
    )
    return [(row.id, f"{row.name}（{row.campus}）") for row in db.session.execute(query.order_by(SchoolClass.id))]


@bp.get("/teachers")
@staff_page
def teacher_list(staff):
    filters = Form(CampusFilter, request.args, load=True)
    page = None
    if filters.valid:
        page = paged(teachers.list_teachers_query(staff.scope, campus_id=filters.data.get("campus_id")), Teacher.id)
    return render_template(
        "console/teachers/list.html", filters=filters, page=page, campuses=dict(campus_choices(staff))
    )


@bp.route("/teachers/new", methods=["GET", "POST"])
@staff_page
def create_teacher(staff):
    form = Form(TeacherIn, only=CREATE_FIELDS)
    if form.valid:
        try:
            teacher = teachers.create_teacher(form.data, scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            db.session.rollback()
            form.fail_with(exc)
        else:
            db.session.commit()
            message = f"已添加老师「{teacher.name}」，邀请码 {teacher.invite_code}"
            return done(message, "console.edit_teacher", teacher_id=teacher.id)
    return _form_page(staff, form, None)


@bp.route("/teachers/<int:teacher_id>/edit", methods=["GET", "POST"])
@staff_page
def edit_teacher(staff, teacher_id):
    teacher = teachers.get_teacher(teacher_id, staff.scope)
    initial = {
        "name": teacher.name,
        "campus_id": teacher.campus_id,
        "class_ids": [c.id for c in teacher.classes],
        "active": teacher.active,
    }
    form = Form(TeacherPatch, only=EDIT_FIELDS, partial=True, initial=initial)
    if form.valid:
        try:
            teacher = teachers.update_teacher(teacher.id, form.data, scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            db.session.rollback()
            form.fail_with(exc)
        else:
            db.session.commit()
            return done(f"已保存老师「{teacher.name}」", "console.teacher_list")
    return _form_page(staff, form, teachers.get_teacher(teacher_id, staff.scope))


def _form_page(staff, form, teacher):
    return render_template(
        "console/teachers/form.html",
        form=form,
        teacher=teacher,
        campuses=campus_choices(staff),
        classes=class_choices(staff),
    ), 422 if form.errors else 200


@bp.post("/teachers/<int:teacher_id>/invite-code")
@staff_page
def new_invite_code(staff, teacher_id):
    teacher = teachers.regenerate_invite_code(teacher_id, scope=staff.scope, actor=staff.actor)
    db.session.commit()
    message = f"新的邀请码：{teacher.invite_code}（旧邀请码已失效，原来绑定的微信账号已解除）"
    return done(message, "console.edit_teacher", teacher_id=teacher.id)


@bp.get("/teachers/invite-sheet")
@staff_page
def teacher_invite_sheet(staff):
    query = Form(InviteSheetQuery, request.args, load=True)
    if not query.valid:
        return error_page(400, "校区选择有误，请返回老师列表重新选择。")
    rendered = sheets.teacher_invite_sheet(staff.scope, campus_id=query.data.get("campus_id"), actor=staff.actor)
    return sheet_response(rendered)
