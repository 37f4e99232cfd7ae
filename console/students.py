"""学员: the reference screen (docs/CONSOLE.md shows how it is built). A list with search and
filters, and a student's page with balance, guardians, ledger and a manual adjustment."""

import re
import uuid

from flask import render_template, request

from school_points.accounts.levels import level_view
from school_points.models import LedgerEntry, Student
from school_points.people import classes, guardianships, students
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.points import adjustments
from staffkit.schemas import AdjustmentIn, EraseIn, StudentQuery

from . import bp
from .forms import Form
from .kit import done, paged
from .session import staff_page

FORM_KEY = re.compile(r"[0-9a-f]{32}")


@bp.get("/students")
@staff_page
def student_list(staff):
    filters = Form(StudentQuery, request.args, load=True)
    page = None
    if filters.valid:
        wanted = {k: v for k, v in filters.data.items() if k not in ("limit", "cursor")}
        page = paged(students.list_students_query(staff.scope, **wanted), Student.id)
    class_choices = classes.class_choices(staff.scope)  # two columns, not every class's members
    return render_template("console/students/list.html", filters=filters, page=page, class_choices=class_choices)


@bp.get("/students/<int:student_id>")
@staff_page
def student_detail(staff, student_id):
    return detail_page(staff, students.get_student(student_id, staff.scope), Form(AdjustmentIn, load=False))


@bp.post("/students/<int:student_id>/adjustments")
@staff_page
def adjust_points(staff, student_id):
    student = students.get_student(student_id, staff.scope)
    form = Form(AdjustmentIn)
    if form.valid:
        # The form's one-time key makes a double click (or a re-sent POST) one adjustment.
        raw_key = request.form.get("form_key", "")
        key = f"console:{raw_key}" if FORM_KEY.fullmatch(raw_key) else uuid.uuid4().hex
        try:
            entry = adjustments.adjust(
                student.id, form.data["delta"], form.data["reason"], actor=staff.actor, key=key, scope=staff.scope
            )
        except DomainError as exc:
            db.session.rollback()
            form.fail_with(exc)
        else:
            db.session.commit()
            message = f"已为 {student.name} 调整 {entry.delta:+d} 积分，当前余额 {entry.balance_after}"
            return done(message, "console.student_detail", student_id=student.id)
    return detail_page(staff, student, form, status=422 if form.errors else 200)


def detail_page(staff, student, form, status=200, erase_form=None):
    """The student's page; `erase_form` carries a refused erasure's errors (console/families.py)."""
    history = paged(students.points_history_query(student.id, staff.scope), LedgerEntry.id)
    return render_template(
        "console/students/detail.html",
        student=student,
        level=level_view(student.account.lifetime if student.account else 0),  # None with levels off
        guardians=guardianships.guardians_of(student.id, staff.scope),
        history=history,
        form=form,
        form_key=uuid.uuid4().hex,
        erase_form=erase_form or Form(EraseIn, load=False),
    ), status
