"""Referrals (老带新): once per new person, never oneself, rewarded once on a new enrolment."""

from datetime import timedelta

from sqlalchemy import func, select

from school_points.accounts.reconcile import find_differences
from school_points.models import Referral, Student
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from school_points.points import referral
from tests.conftest import requires_pg, run_concurrently
from tests.school_points.domain_helpers import account_of, entries


def referrer_family(make_student, make_guardian):
    student = make_student(name="老学员")
    return student, make_guardian(student)


def refer(new_user, referrer):
    result = referral.record_referral(new_user, referrer.referral_code.lower(), known_before=False)
    db.session.commit()
    return result


def enrol_and_bind(make_student, user, name="新学员"):
    student = make_student(name=name)
    referral.bind_and_reward(user, student.bind_code)
    db.session.commit()
    return student


def test_binding_a_newly_enrolled_student_rewards_both_families(make_student, make_guardian, make_user):
    old_student, referrer = referrer_family(make_student, make_guardian)
    newcomer = make_user()
    refer(newcomer, referrer)
    new_student = enrol_and_bind(make_student, newcomer)
    assert account_of(old_student.id)[0] == 100
    assert account_of(new_student.id)[0] == 50
    assert [e.kind for e in entries(new_student.id)] == ["welcome"]
    row = db.session.scalars(select(Referral)).one()
    assert (row.status, row.student_id, row.referrer_student_id) == ("rewarded", new_student.id, old_student.id)
    assert referral.referral_summary(referrer) == {"code": referrer.referral_code, "referred": 1, "rewarded": 1}
    assert find_differences() == []


def test_the_reward_is_paid_once(make_student, make_guardian, make_user):
    old_student, referrer = referrer_family(make_student, make_guardian)
    newcomer = make_user()
    refer(newcomer, referrer)
    first = enrol_and_bind(make_student, newcomer, "新一")
    enrol_and_bind(make_student, newcomer, "新二")
    assert referral.reward_on_bind(newcomer, first) is None
    assert account_of(old_student.id)[0] == 100


def test_a_person_counts_once_for_the_first_referrer(make_student, make_guardian, make_user):
    _, first = referrer_family(make_student, make_guardian)
    _, second = referrer_family(make_student, make_guardian)
    newcomer = make_user()
    refer(newcomer, first)
    refer(newcomer, second)
    assert db.session.scalars(select(Referral.referrer_user_id)).all() == [first.id]


def test_nobody_refers_themselves(make_student, make_guardian, make_user):
    user = make_user()
    assert refer(user, user) is None
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


def test_people_the_school_knew_are_not_referrals(make_student, make_guardian, make_user):
    _, referrer = referrer_family(make_student, make_guardian)
    assert referral.record_referral(make_user(), referrer.referral_code, known_before=True) is None
    existing_parent = make_guardian(make_student(name="在读"))
    assert refer(existing_parent, referrer) is None
    assert referral.record_referral(make_user(), "NOSUCHCODE", known_before=False) is None
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


def test_a_student_enrolled_before_the_referral_earns_nothing(make_student, make_guardian, make_user):
    old_student, referrer = referrer_family(make_student, make_guardian)
    newcomer = make_user()
    existing = make_student(name="早就在读")
    db.session.get(Student, existing.id).created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    refer(newcomer, referrer)
    referral.bind_and_reward(newcomer, existing.bind_code)
    db.session.commit()
    assert account_of(old_student.id)[0] == 0
    assert db.session.scalars(select(Referral.status)).one() == "pending"


def test_binding_the_referrers_own_student_earns_nothing(make_student, make_guardian, make_user):
    newcomer = make_user()
    _, referrer = referrer_family(make_student, make_guardian)
    refer(newcomer, referrer)
    sibling = make_student(name="二宝")
    make_guardian(sibling, user=referrer, default=False)
    referral.bind_and_reward(newcomer, sibling.bind_code)
    db.session.commit()
    assert account_of(sibling.id)[0] == 0
    assert db.session.scalars(select(Referral.status)).one() == "pending"


def test_zero_point_rules_record_the_reward_without_entries(make_student, make_guardian, make_user, rules):
    rules({"referral": {"referrer_points": 0, "welcome_points": 0}})
    old_student, referrer = referrer_family(make_student, make_guardian)
    newcomer = make_user()
    refer(newcomer, referrer)
    enrol_and_bind(make_student, newcomer)
    assert entries(old_student.id) == []
    assert db.session.scalars(select(Referral.status)).one() == "rewarded"


@requires_pg
def test_concurrent_binds_of_two_new_students_reward_once(app, make_student, make_guardian, make_user):
    old_student, referrer = referrer_family(make_student, make_guardian)
    newcomer = make_user()
    refer(newcomer, referrer)
    codes = [make_student(name="新一").bind_code, make_student(name="新二").bind_code]
    user_id = newcomer.id

    def bind(code):
        from school_points.models import WechatUser

        referral.bind_and_reward(db.session.get(WechatUser, user_id), code)
        db.session.commit()
        return "ok"

    assert run_concurrently(app, bind, codes) == ["ok", "ok"]
    assert account_of(old_student.id)[0] == 100
    assert len(entries(old_student.id, "referral")) == 1
    assert find_differences() == []
