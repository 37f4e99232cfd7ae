"""班级 and 校区: classes by campus with their counts; creating, editing (name, campus, teachers)
and deleting a class (its students keep their points); creating and renaming campuses (super
admins); a class's printable bind sheet. The same services as the admin API (admin/school.py,
admin/structure.py, admin/sheets.py), audited by them."""

from flask import Response, redirect, render_template, request, url_for
from sqlalchemy import select

from school_points.models import Campus, SchoolClass, Teacher
from school_points.office import sheets
from school_points.people import classes
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.school import campuses
from staffkit.schemas import CampusFilter, CampusIn, ClassIn, ClassPatch
from staffkit.staff_schemas import CampusPatch
from webkit.security_headers import policy_allowing_styles

from . import bp
from .errors import error_page
from .forms import Form
from .kit import done, paged
from .session import staff_page

CLASS_FIELDS = ("name", "campus_id", "teacher_ids")


def campus_choices(staff) -> list[tuple[int, str]]:
    """(id, name) of the campuses the admin may see."""
    rows = db.session.execute(campuses.list_campuses_query(staff.scope).with_only_columns(Campus.id, Campus.name))
    return [(row.id, row.name) for row in rows]


def teacher_choices(staff) -> list[tuple[int, str]]:
    """(id, "name（campus）") of the active teachers inside the scope, for a class's teachers."""
    query = staff.scope.filter(
        select(Teacher.id, Teacher.name, Campus.name.label("campus"))
        .join(Campus, Campus.id == Teacher.campus_id)
        .where(Teacher.active.is_(True)),
        Teacher.campus_id,
    )
    return [(row.id, f"{row.name}（{row.campus}）") for row in db.session.execute(query.order_by(Teacher.id))]


def sheet_response(rendered) -> Response:
    """A printable sheet as the admin API serves it: its one inline <style> allowed by its digest,
    no script, never cached (bind and invite codes are secrets)."""
    response = Response(rendered.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy_allowing_styles(rendered.style_sha256)
    response.headers["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------ the list and campuses


@bp.get("/classes")
@staff_page
def class_list(staff):
    filters = Form(CampusFilter, request.args, load=True)
    page, members = None, {}
    if filters.valid:
        page = paged(classes.class_rows_query(staff.scope, campus_id=filters.data.get("campus_id")), SchoolClass.id)
        members = classes.member_summary(klass.id for klass in page.rows)
    return _list_page(staff, filters, page, members)


def _list_page(staff, filters=None, page=None, members=None, campus_form=None, rename=None, status=200):
    if page is None and filters is None:
        filters = Form(CampusFilter, {}, load=True)
        page = paged(classes.class_rows_query(staff.scope), SchoolClass.id)
        members = classes.member_summary(klass.id for klass in page.rows)
    return render_template(
        "console/classes/list.html",
        filters=filters,
        page=page,
        members=members or {},
        campuses=campus_choices(staff),
        campus_form=campus_form or Form(CampusIn, load=False),
        rename=rename or {},
    ), status


@bp.post("/campuses")
@staff_page(super_only=True)
def create_campus(staff):
    form = Form(CampusIn)
    if form.valid:
        try:
            campus = campuses.create_campus(form.data["name"], scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            db.session.rollback()
            if exc.code == "campus_name_taken":
                form.fail(exc.message, "name")
            else:
                form.fail_with(exc)
        else:
            db.session.commit()
            return done(f"已新建校区「{campus.name}」", "console.class_list")
    return _list_page(staff, campus_form=form, status=422)


@bp.post("/campuses/<int:campus_id>")
@staff_page(super_only=True)
def rename_campus(staff, campus_id):
    form = Form(CampusPatch, partial=True)
    if form.valid:
        try:
            campus = campuses.update_campus(campus_id, form.data, scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            if exc.kind == "not_found":
                raise
            db.session.rollback()
            form.fail(exc.message, "name")
        else:
            db.session.commit()
            return done(f"校区已改名为「{campus.name}」", "console.class_list")
    return _list_page(staff, rename={campus_id: form}, status=422)


# ------------------------------------------------------------------ one class


@bp.route("/classes/new", methods=["GET", "POST"])
@staff_page
def create_class(staff):
    form = Form(ClassIn, only=CLASS_FIELDS)
    if form.valid:
        try:
            klass = classes.create_class(form.data, scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            db.session.rollback()
            form.fail_with(exc)
        else:
            db.session.commit()
            return done(f"已新建班级「{klass.name}」", "console.class_list")
    return _form_page(staff, form, None)


@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
@staff_page
def edit_class(staff, class_id):
    klass = classes.get_class(class_id, staff.scope)
    initial = {"name": klass.name, "campus_id": klass.campus_id, "teacher_ids": [t.id for t in klass.teachers]}
    form = Form(ClassPatch, only=CLASS_FIELDS, partial=True, initial=initial)
    if form.valid:
        try:
            klass = classes.update_class(klass.id, form.data, scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            db.session.rollback()
            form.fail_with(exc)
        else:
            db.session.commit()
            return done(f"已保存班级「{klass.name}」", "console.class_list")
    return _form_page(staff, form, classes.get_class(class_id, staff.scope))


def _form_page(staff, form, klass):
    return render_template(
        "console/classes/form.html",
        form=form,
        klass=klass,
        campuses=campus_choices(staff),
        teachers=teacher_choices(staff),
    ), 422 if form.errors else 200


@bp.post("/classes/<int:class_id>/delete")
@staff_page
def delete_class(staff, class_id):
    name = classes.get_class(class_id, staff.scope).name
    classes.delete_class(class_id, scope=staff.scope, actor=staff.actor)
    db.session.commit()
    return done(f"已删除班级「{name}」，学员和积分保留", "console.class_list")


@bp.get("/classes/<int:class_id>/bind-sheet")
@staff_page
def class_bind_sheet(staff, class_id):
    return sheet_response(sheets.class_bind_sheet(class_id, staff.scope, actor=staff.actor))


@bp.get("/classes/bind-sheet")
@staff_page
def bind_sheet_for(staff):
    """The 学员 list's 打印绑定码 form: the chosen class's sheet."""
    class_id = request.args.get("class_id", "")
    if not class_id.isdigit():
        return error_page(400, "请选择要打印绑定码的班级。")
    return redirect(url_for("console.class_bind_sheet", class_id=int(class_id)))
