"""Guardians (家长): binding WeChat users to students and choosing the default student."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from school_points.models import Guardian, Student
from school_points.platform.errors import NotFound, ValidationFailed
from school_points.platform.extensions import db

MAX_RELATION_LENGTH = 16


def bind_student(user, bind_code, relation="家长") -> Guardian:
    """Bind a user to the student holding `bind_code`; binding twice returns the first binding.

    The binding alone: a family binding a child may also earn a referral reward, so adapters call
    points.referral.bind_and_reward, which calls this and then pays it.
    """
    relation = _clean_relation(relation)
    student = _student_by_bind_code(bind_code)
    guardian = _find(user.id, student.id)
    if guardian is None:
        guardian = _insert(user.id, student.id, relation)
    if user.default_student_id is None:
        user.default_student_id = student.id
    db.session.flush()
    return guardian


def unbind_student(user, student_id) -> None:
    """Remove the user's binding to a student; the default moves to another bound student."""
    guardian = _find(user.id, student_id)
    if guardian is None:
        raise NotFound("未绑定该学员")
    db.session.delete(guardian)
    db.session.flush()
    if user.default_student_id == student_id:
        remaining = students_of(user)
        user.default_student_id = remaining[0].id if remaining else None
        db.session.flush()


def set_default_student(user, student_id) -> Student:
    """Make one of the user's students the default (used by the official account)."""
    student = guardian_student(user, student_id)
    user.default_student_id = student.id
    db.session.flush()
    return student


def guardian_student(user, student_id) -> Student:
    """The student if `user` is one of its guardians; NotFound otherwise (a wrong id looks absent)."""
    if not isinstance(student_id, int) or isinstance(student_id, bool):
        raise NotFound("学员不存在")
    student = db.session.scalars(
        select(Student)
        .join(Guardian, Guardian.student_id == Student.id)
        .where(Guardian.user_id == user.id, Student.id == student_id)
    ).first()
    if student is None:
        raise NotFound("学员不存在")
    return student


def is_guardian(user_id, student_id) -> bool:
    """Whether the user is bound to the student."""
    return _find(user_id, student_id) is not None


def students_of(user, *, with_accounts=False) -> list[Student]:
    """The user's students in the order they were bound (with their points accounts, in one more
    query, when asked)."""
    query = (
        select(Student)
        .join(Guardian, Guardian.student_id == Student.id)
        .where(Guardian.user_id == user.id)
        .order_by(Guardian.id)
    )
    if with_accounts:
        query = query.options(selectinload(Student.account))
    return list(db.session.scalars(query))


def default_student(user) -> Student | None:
    """The user's default student, falling back to the first bound one; None without students."""
    return default_among(user, students_of(user))


def default_among(user, students) -> Student | None:
    """Of the user's students (already loaded), the default one; the first, or None, otherwise."""
    for student in students:
        if student.id == user.default_student_id:
            return student
    return students[0] if students else None


def _student_by_bind_code(bind_code):
    code = (bind_code or "").strip().upper() if isinstance(bind_code, str) else ""
    student = None
    if code:
        student = db.session.scalars(select(Student).where(Student.bind_code == code)).first()
    if student is None or student.status != "active":
        raise NotFound("绑定码无效，请向老师确认", code="bind_code_not_found")
    return student


def _clean_relation(relation):
    relation = (relation or "家长").strip() if isinstance(relation, str) else None
    if not relation or len(relation) > MAX_RELATION_LENGTH:
        raise ValidationFailed(details={"relation": [f"请填写 1 到 {MAX_RELATION_LENGTH} 个字的称呼"]})
    return relation


def _find(user_id, student_id):
    return db.session.scalars(
        select(Guardian).where(Guardian.user_id == user_id, Guardian.student_id == student_id)
    ).first()


def _insert(user_id, student_id, relation):
    """Insert the binding; a concurrent identical bind loses on the unique index and reuses the winner's."""
    guardian = Guardian(user_id=user_id, student_id=student_id, relation=relation)
    try:
        with db.session.begin_nested():
            db.session.add(guardian)
    except IntegrityError:
        return _find(user_id, student_id)
    return guardian
