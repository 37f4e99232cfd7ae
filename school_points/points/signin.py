"""Daily sign-in (每日签到): points by streak day, cycling; missing a day restarts the streak."""

from datetime import timedelta

from sqlalchemy import select

from school_points.accounts import ledger
from school_points.models import Signin
from school_points.people.students import active_student
from school_points.platform.clock import local_today, utcnow
from school_points.platform.errors import AlreadySignedIn
from school_points.platform.extensions import db
from school_points.points import level_rewards
from school_points.school.settings import get_settings


def sign_in(student_id, *, actor) -> tuple[int, int, int]:
    """Sign a student in for today; returns (awarded, streak, balance). AlreadySignedIn the second time.

    `awarded` counts the streak day's points and their bonuses (level, birthday)."""
    student = active_student(student_id)
    account = ledger.lock(student.id)
    today = local_today()
    if _signin_on(student.id, today) is not None:
        raise AlreadySignedIn()
    yesterday = _signin_on(student.id, today - timedelta(days=1))
    streak = yesterday.streak + 1 if yesterday is not None else 1
    points = points_for_streak_day(streak)
    db.session.add(Signin(student_id=student.id, local_day=today, streak=streak, points=points, created_at=utcnow()))
    db.session.flush()
    awarded = 0
    if points > 0:
        awarded = level_rewards.credit_award(
            account,
            points,
            "signin",
            key=f"signin:s{student.id}:{today.isoformat()}",
            ref=ledger.Ref("signin", today.isoformat()),
            actor=actor,
            note=f"连续签到第 {streak} 天",
            student=student,
        ).total
    return awarded, streak, account.balance


def points_for_streak_day(streak) -> int:
    """The points for the n-th consecutive day: the configured list, cycling."""
    cycle = [int(p) for p in get_settings()["signin"]["streak_points"]]
    return max(0, cycle[(streak - 1) % len(cycle)]) if cycle else 0


def _signin_on(student_id, day):
    return db.session.scalars(select(Signin).where(Signin.student_id == student_id, Signin.local_day == day)).first()
