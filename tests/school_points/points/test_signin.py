"""Daily sign-in: streak points cycling, a missed day restarts, days in the school's timezone."""

from datetime import timedelta

import pytest

from school_points.models import Signin, Student
from school_points.platform.clock import local_today
from school_points.platform.errors import AlreadySignedIn, DomainError
from school_points.platform.extensions import db
from school_points.points import signin
from school_points.school.actors import Actor
from tests.conftest import requires_pg, run_concurrently
from tests.school_points.domain_helpers import account_of, outcome

PARENT = Actor.user(1)


def signed_in_before(student, days_ago, streak):
    """A sign-in on an earlier day, as if the student had signed in then."""
    db.session.add(
        Signin(student_id=student.id, local_day=local_today() - timedelta(days=days_ago), streak=streak, points=0)
    )
    db.session.commit()


def sign(student):
    result = signin.sign_in(student.id, actor=PARENT)
    db.session.commit()
    return result


def test_the_first_signin_starts_a_streak(make_student):
    student = make_student()
    assert sign(student) == (1, 1, 1)


def test_twice_a_day_is_refused(make_student):
    student = make_student()
    sign(student)
    with pytest.raises(AlreadySignedIn):
        signin.sign_in(student.id, actor=PARENT)
    db.session.rollback()
    assert account_of(student.id)[0] == 1


def test_signing_in_the_day_after_continues_the_streak(make_student):
    student = make_student()
    signed_in_before(student, 1, streak=4)
    assert sign(student) == (3, 5, 3)  # day 5 of [1,1,2,2,3,3,5]


def test_missing_a_day_restarts_the_streak(make_student):
    student = make_student()
    signed_in_before(student, 2, streak=6)
    assert sign(student)[:2] == (1, 1)


def test_the_streak_points_cycle_after_the_last_day(make_student):
    student = make_student()
    signed_in_before(student, 1, streak=7)
    assert sign(student)[:2] == (1, 8)


def test_the_configured_cycle_is_used(make_student, rules):
    rules({"signin": {"streak_points": [10, 20]}})
    student = make_student()
    signed_in_before(student, 1, streak=1)
    assert sign(student)[:2] == (20, 2)


def test_days_change_at_school_midnight_not_utc_midnight(make_student, frozen_now):
    student = make_student()
    frozen_now("2024-05-01T15:30:00+00:00")  # 23:30 on 1 May in Shanghai
    assert sign(student)[:2] == (1, 1)
    frozen_now("2024-05-01T16:30:00+00:00")  # 00:30 on 2 May in Shanghai, still 1 May in UTC
    assert sign(student)[:2] == (1, 2)
    frozen_now("2024-05-02T15:00:00+00:00")  # 23:00 on 2 May in Shanghai
    assert outcome(signin.sign_in, student.id, actor=PARENT) == "already_signed_in"


def test_archived_students_cannot_sign_in(make_student):
    student = make_student()
    db.session.get(Student, student.id).status = "archived"
    db.session.commit()
    assert outcome(signin.sign_in, student.id, actor=PARENT) == "not_found"


@requires_pg
def test_concurrent_signins_count_once(app, make_student):
    student_id = make_student().id

    def sign_once(_):
        signin.sign_in(student_id, actor=PARENT)
        db.session.commit()
        return "ok"

    results = run_concurrently(app, sign_once, list(range(8)))
    codes = sorted(r if isinstance(r, str) else r.code if isinstance(r, DomainError) else repr(r) for r in results)
    assert codes == ["already_signed_in"] * 7 + ["ok"]
    assert account_of(student_id)[0] == 1
