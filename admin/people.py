"""Students (with bind codes, adjustments and points history) and teachers (with invite codes)."""

import uuid

from flask import g, request

from school_points.models import LedgerEntry, Student, Teacher
from school_points.people import students, teachers
from school_points.points import adjustments
from staffkit.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    BindCodeOut,
    CampusFilter,
    LedgerEntryOut,
    LedgerEntryPage,
    StudentDetailOut,
    StudentIn,
    StudentOut,
    StudentPage,
    StudentPatch,
    StudentQuery,
    TeacherIn,
    TeacherOut,
    TeacherPage,
    TeacherPatch,
)
from webkit.api import dump, load_body
from webkit.fields import PageQuery
from webkit.responses import respond

from . import bp
from .kit import api, filters, listing

STUDENT_NOT_FOUND = {404: ["student_not_found"]}
STUDENT_CHANGE = {**STUDENT_NOT_FOUND, 409: ["student_erased"]}  # an erased student stays erased
TEACHER_NOT_FOUND = {404: ["teacher_not_found"]}


@bp.get("/students")
@api(
    "学员列表（q 按姓名包含查找）",
    query=StudentQuery,
    out=StudentPage,
    tags=["学员"],
    errors={404: ["campus_not_found"]},
)
def list_students():
    return listing(students.list_students_query(g.scope, **filters(StudentQuery)), Student.id, StudentOut())


@bp.post("/students")
@api(
    "新建学员（返回绑定码）",
    body=StudentIn,
    out=StudentDetailOut,
    status=201,
    idempotent=True,
    tags=["学员"],
    errors={409: ["student_no_taken"]},
)
def create_student():
    student = students.create_student(load_body(StudentIn), scope=g.scope, actor=g.actor)
    return respond(dump(StudentDetailOut, student), 201)


@bp.get("/students/<int:student_id>")
@api("学员详情（含绑定码）", out=StudentDetailOut, tags=["学员"], errors=STUDENT_NOT_FOUND)
def get_student(student_id):
    return respond(dump(StudentDetailOut, students.get_student(student_id, g.scope)))


@bp.patch("/students/<int:student_id>")
@api(
    "修改学员",
    body=StudentPatch,
    out=StudentDetailOut,
    tags=["学员"],
    errors={**STUDENT_NOT_FOUND, 409: ["student_erased", "student_no_taken"]},
)
def update_student(student_id):
    data = load_body(StudentPatch, partial=True)
    return respond(dump(StudentDetailOut, students.update_student(student_id, data, scope=g.scope, actor=g.actor)))


@bp.post("/students/<int:student_id>/bind-code")
@api("重新生成绑定码（旧码失效）", out=BindCodeOut, status=201, idempotent=True, tags=["学员"], errors=STUDENT_CHANGE)
def new_bind_code(student_id):
    student = students.regenerate_bind_code(student_id, scope=g.scope, actor=g.actor)
    return respond({"student_id": student.id, "bind_code": student.bind_code}, 201)


@bp.post("/students/<int:student_id>/adjustments")
@api(
    "调整积分（正数增加，负数扣减）",
    body=AdjustmentIn,
    out=AdjustmentOut,
    status=201,
    idempotent=True,
    tags=["学员"],
    errors={**STUDENT_NOT_FOUND, 409: ["insufficient_points", "student_erased"]},
)
def adjust_points(student_id):
    data = load_body(AdjustmentIn)
    key = request.headers.get("Idempotency-Key", "").strip() or uuid.uuid4().hex
    entry = adjustments.adjust(student_id, data["delta"], data["reason"], actor=g.actor, key=key, scope=g.scope)
    return respond({"entry": dump(LedgerEntryOut, entry), "balance": entry.balance_after}, 201)


@bp.get("/students/<int:student_id>/points/history")
@api("学员积分流水（新的在前）", query=PageQuery, out=LedgerEntryPage, tags=["学员"], errors=STUDENT_NOT_FOUND)
def points_history(student_id):
    filters(PageQuery)
    return listing(students.points_history_query(student_id, g.scope), LedgerEntry.id, LedgerEntryOut())


@bp.get("/teachers")
@api("老师列表", query=CampusFilter, out=TeacherPage, tags=["老师"], errors={404: ["campus_not_found"]})
def list_teachers():
    return listing(teachers.list_teachers_query(g.scope, **filters(CampusFilter)), Teacher.id, TeacherOut())


@bp.post("/teachers")
@api("新建老师（返回邀请码）", body=TeacherIn, out=TeacherOut, status=201, idempotent=True, tags=["老师"])
def create_teacher():
    teacher = teachers.create_teacher(load_body(TeacherIn), scope=g.scope, actor=g.actor)
    return respond(dump(TeacherOut, teacher), 201)


@bp.get("/teachers/<int:teacher_id>")
@api("老师详情", out=TeacherOut, tags=["老师"], errors=TEACHER_NOT_FOUND)
def get_teacher(teacher_id):
    return respond(dump(TeacherOut, teachers.get_teacher(teacher_id, g.scope)))


@bp.patch("/teachers/<int:teacher_id>")
@api("修改老师", body=TeacherPatch, out=TeacherOut, tags=["老师"], errors=TEACHER_NOT_FOUND)
def update_teacher(teacher_id):
    data = load_body(TeacherPatch, partial=True)
    return respond(dump(TeacherOut, teachers.update_teacher(teacher_id, data, scope=g.scope, actor=g.actor)))


@bp.post("/teachers/<int:teacher_id>/invite-code")
@api(
    "重新生成邀请码（解除已绑定的微信用户）",
    out=TeacherOut,
    status=201,
    idempotent=True,
    tags=["老师"],
    errors=TEACHER_NOT_FOUND,
)
def new_invite_code(teacher_id):
    teacher = teachers.regenerate_invite_code(teacher_id, scope=g.scope, actor=g.actor)
    return respond(dump(TeacherOut, teacher), 201)
