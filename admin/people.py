"""Students (with bind codes, adjustments and points history) and teachers (with invite codes)."""
import uuid

from flask import g, request

from school_points.models import LedgerEntry, Student, Teacher
from school_points.people import students, teachers
from school_points.points import adjustments
from webkit.idempotency import idempotent
from webkit.responses import respond

from . import bp
from .helpers import body, listing, query
from .schemas import (
    AdjustmentIn,
    CampusFilter,
    LedgerEntryOut,
    StudentDetailOut,
    StudentIn,
    StudentOut,
    StudentPatch,
    StudentQuery,
    TeacherIn,
    TeacherOut,
    TeacherPatch,
)


@bp.get("/students")
def list_students():
    filters = query(StudentQuery())
    return listing(students.list_students_query(g.scope, **filters), Student.id, StudentOut())


@bp.post("/students")
@idempotent
def create_student():
    student = students.create_student(body(StudentIn()), scope=g.scope, actor=g.actor)
    return respond(StudentDetailOut().dump(student), 201)


@bp.get("/students/<int:student_id>")
def get_student(student_id):
    return respond(StudentDetailOut().dump(students.get_student(student_id, g.scope)))


@bp.patch("/students/<int:student_id>")
def update_student(student_id):
    student = students.update_student(student_id, body(StudentPatch(), partial=True), scope=g.scope, actor=g.actor)
    return respond(StudentDetailOut().dump(student))


@bp.post("/students/<int:student_id>/bind-code")
@idempotent
def new_bind_code(student_id):
    student = students.regenerate_bind_code(student_id, scope=g.scope, actor=g.actor)
    return respond({"student_id": student.id, "bind_code": student.bind_code}, 201)


@bp.post("/students/<int:student_id>/adjustments")
@idempotent
def adjust_points(student_id):
    data = body(AdjustmentIn())
    key = request.headers.get("Idempotency-Key", "").strip() or uuid.uuid4().hex
    entry = adjustments.adjust(student_id, data["delta"], data["reason"], actor=g.actor, key=key, scope=g.scope)
    return respond({"entry": LedgerEntryOut().dump(entry), "balance": entry.balance_after}, 201)


@bp.get("/students/<int:student_id>/points/history")
def points_history(student_id):
    return listing(students.points_history_query(student_id, g.scope), LedgerEntry.id, LedgerEntryOut())


@bp.get("/teachers")
def list_teachers():
    filters = query(CampusFilter())
    return listing(teachers.list_teachers_query(g.scope, **filters), Teacher.id, TeacherOut())


@bp.post("/teachers")
@idempotent
def create_teacher():
    teacher = teachers.create_teacher(body(TeacherIn()), scope=g.scope, actor=g.actor)
    return respond(TeacherOut().dump(teacher), 201)


@bp.get("/teachers/<int:teacher_id>")
def get_teacher(teacher_id):
    return respond(TeacherOut().dump(teachers.get_teacher(teacher_id, g.scope)))


@bp.patch("/teachers/<int:teacher_id>")
def update_teacher(teacher_id):
    teacher = teachers.update_teacher(teacher_id, body(TeacherPatch(), partial=True), scope=g.scope, actor=g.actor)
    return respond(TeacherOut().dump(teacher))


@bp.post("/teachers/<int:teacher_id>/invite-code")
@idempotent
def new_invite_code(teacher_id):
    teacher = teachers.regenerate_invite_code(teacher_id, scope=g.scope, actor=g.actor)
    return respond(TeacherOut().dump(teacher), 201)
