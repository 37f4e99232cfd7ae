"""A student's guardians as the school office sees them: who is bound, since when, how each can be
reached, and unbinding one (docs/ADMIN_API.md, "Guardians")."""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from school_points.models import Guardian, Student
from school_points.people.guardians import unbind_student
from school_points.platform.errors import NotFound
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.scoping import MAX_ID, get_in_scope


class GuardianLink(NamedTuple):
    """One guardian of a student: no openid, no nickname, only what staff need to help a family."""

    user_id: int
    relation: str
    since: datetime  # when the family bound the student
    official_account: bool
    mini_program: bool


def reachable_on_official_account(user) -> bool:
    """Whether template messages can reach the user: a follower of the official account whose
    openid we know (delivery.py sends there first)."""
    return bool(user.oa_openid) and user.oa_subscribed and not user.disabled


def guardians_of(student_id, scope) -> list[GuardianLink]:
    """The guardians of a student inside the scope, in the order they bound; NotFound otherwise."""
    student = _student(student_id, scope)
    rows = db.session.scalars(
        select(Guardian)
        .options(joinedload(Guardian.user))
        .where(Guardian.student_id == student.id)
        .order_by(Guardian.id)
    )
    return [
        GuardianLink(
            user_id=row.user_id,
            relation=row.relation,
            since=row.created_at,
            official_account=reachable_on_official_account(row.user),
            mini_program=row.user.mp_openid is not None,
        )
        for row in rows
    ]


def unbind_guardian(student_id, user_id, *, scope, actor) -> None:
    """Unbind one guardian from a student (the family binds again with the bind code); audited.
    NotFound when the student is outside the scope or the user is not bound to it."""
    student = _student(student_id, scope)
    guardian = None
    if isinstance(user_id, int) and 0 < user_id <= MAX_ID:
        guardian = db.session.scalars(
            select(Guardian)
            .options(joinedload(Guardian.user))
            .where(Guardian.student_id == student.id, Guardian.user_id == user_id)
        ).first()
    if guardian is None:
        raise NotFound("该用户未绑定此学员", code="guardian_not_found")
    relation = guardian.relation
    unbind_student(guardian.user, student.id)
    audit.record(
        actor,
        "guardian.unbind",
        "student",
        student.id,
        campus_id=student.campus_id,
        changes={"user_id": user_id, "relation": relation},
    )


def _student(student_id, scope):
    return get_in_scope(Student, student_id, scope, message="学员不存在", code="student_not_found")
