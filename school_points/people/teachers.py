"""Teachers (老师): created by admins with a one-time invite code a WeChat user redeems."""

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from school_points.models import SchoolClass, Teacher
from school_points.people.classes import members_of_campus, move_with_classes
from school_points.platform.codes import new_code
from school_points.platform.errors import DomainError, NotFound
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.actors import Actor
from school_points.school.scoping import campus_for_write, get_in_scope


class AlreadyTeacher(DomainError):
    code, message = "already_teacher", "该微信账号已绑定为其他老师"


def list_teachers_query(scope, *, campus_id=None) -> Select:
    """Teachers inside the scope, classes loaded up front."""
    return scope.filter(select(Teacher).options(selectinload(Teacher.classes)), Teacher.campus_id, campus_id)


def get_teacher(teacher_id, scope) -> Teacher:
    """A teacher inside the scope, or NotFound."""
    return get_in_scope(Teacher, teacher_id, scope, message="老师不存在", code="teacher_not_found")


def create_teacher(data, *, scope, actor) -> Teacher:
    """A teacher at one campus with a fresh invite code (returned to the admin to pass on)."""
    campus_id = campus_for_write(scope, data.get("campus_id"))
    classes = members_of_campus(SchoolClass, data.get("class_ids", []), campus_id, "class_ids")
    teacher = Teacher(name=data["name"], campus_id=campus_id, active=True, invite_code=_unused_invite_code())
    db.session.add(teacher)
    teacher.classes = classes
    db.session.flush()
    audit.record(actor, "teacher.create", "teacher", teacher.id, campus_id=campus_id, changes=_snapshot(teacher))
    return teacher


def update_teacher(teacher_id, data, *, scope, actor) -> Teacher:
    """Change name, campus, classes or active flag; classes stay of the teacher's campus."""
    teacher = get_teacher(teacher_id, scope)
    before = _snapshot(teacher)
    for field in ("name", "active"):
        if field in data:
            setattr(teacher, field, data[field])
    move_with_classes(teacher, data, scope)
    db.session.flush()
    audit.record(
        actor,
        "teacher.update",
        "teacher",
        teacher.id,
        campus_id=teacher.campus_id,
        changes={"old": before, "new": _snapshot(teacher)},
    )
    return teacher


def regenerate_invite_code(teacher_id, *, scope, actor) -> Teacher:
    """A new invite code; the WeChat account bound so far (e.g. a lost phone) is unbound."""
    teacher = get_teacher(teacher_id, scope)
    teacher.invite_code = _unused_invite_code()
    teacher.user_id = None
    db.session.flush()
    audit.record(actor, "teacher.invite_code", "teacher", teacher.id, campus_id=teacher.campus_id)
    return teacher


def accept_invite(user, invite_code) -> Teacher:
    """Make `user` the teacher the invite code names; each code works once."""
    code = (invite_code or "").strip().upper()
    teacher = None
    if code and len(code) <= 16:
        teacher = db.session.scalars(
            select(Teacher).where(Teacher.invite_code == code, Teacher.active.is_(True)).with_for_update()
        ).first()
    if teacher is None:
        raise NotFound("邀请码无效或已被使用", code="invite_code_not_found")
    current = db.session.scalars(select(Teacher).where(Teacher.user_id == user.id)).first()
    if current is not None:
        raise AlreadyTeacher(details={"teacher_id": current.id})
    try:
        with db.session.begin_nested():  # the same user accepting two invites at once
            teacher.user_id = user.id
            teacher.invite_code = None
    except IntegrityError:
        raise AlreadyTeacher() from None
    audit.record(Actor.user(user.id), "teacher.accept_invite", "teacher", teacher.id, campus_id=teacher.campus_id)
    return teacher


def _unused_invite_code():
    while True:
        code = new_code(8)
        if db.session.scalars(select(Teacher.id).where(Teacher.invite_code == code)).first() is None:
            return code


def _snapshot(teacher):
    return {
        "name": teacher.name,
        "campus_id": teacher.campus_id,
        "active": teacher.active,
        "class_ids": [c.id for c in teacher.classes],
    }
