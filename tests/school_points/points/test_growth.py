"""Growth records: check-in points under the daily count, likes and shares under their caps."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from school_points.accounts.reconcile import find_differences
from school_points.models import GrowthRecord, Like
from school_points.platform.errors import DomainError, NotFound, RateLimited
from school_points.platform.extensions import db
from school_points.points import growth
from tests.conftest import requires_pg, run_concurrently
from tests.school_points.domain_helpers import account_of, entries, outcome


@pytest.fixture
def family(make_student, make_guardian):
    """A student and one guardian."""
    student = make_student()
    return student, make_guardian(student)


def post(user, student, content="练琴30分钟", key=None):
    record, awarded = growth.post_record(user, student.id, content, [], key=key)
    db.session.commit()
    return record, awarded


def test_the_first_checkin_of_the_day_earns_points_and_the_next_does_not(family):
    student, parent = family
    assert post(parent, student)[1] == 5
    assert post(parent, student)[1] == 0
    assert account_of(student.id) == (5, 5)


def test_daily_count_allows_several_counted_checkins(family, rules):
    rules({"checkin": {"points": 3, "daily_count": 2}})
    student, parent = family
    assert [post(parent, student)[1] for _ in range(3)] == [3, 3, 0]


def test_only_a_guardian_may_post_and_content_is_required(family, make_user):
    student, parent = family
    assert outcome(growth.post_record, make_user(), student.id, "hi", [], key="a") == "not_found"
    assert outcome(growth.post_record, parent, student.id, "  ", [], key="b") == "validation_error"
    assert outcome(growth.post_record, parent, student.id, "x" * 2001, [], key="c") == "validation_error"
    assert outcome(growth.post_record, parent, student.id, "", ["u"] * 10, key="d") == "validation_error"
    assert outcome(growth.post_record, parent, student.id, "", ["/uploads/a.jpg"], key="e") == "ok"


def test_a_repeated_post_returns_the_first_record(family):
    student, parent = family
    first, awarded = post(parent, student, key="same")
    again, awarded_again = post(parent, student, key="same")
    assert (again.id, awarded_again) == (first.id, awarded) == (first.id, 5)
    assert db.session.scalar(select(func.count()).select_from(GrowthRecord)) == 1


def test_deleting_todays_record_reverses_its_checkin_points(family):
    student, parent = family
    record, _ = post(parent, student)
    growth.delete_record(parent, record.id)
    db.session.commit()
    assert account_of(student.id) == (0, 5)  # lifetime never falls
    assert [e.delta for e in entries(student.id)] == [5, -5]
    with pytest.raises(NotFound):
        growth.get_record(record.id)
    assert post(parent, student)[1] == 0  # deleting and reposting earns nothing more today
    assert find_differences() == []


def test_deleting_an_older_record_keeps_its_points(family):
    student, parent = family
    record, _ = post(parent, student)
    db.session.get(GrowthRecord, record.id).local_day -= timedelta(days=1)
    db.session.commit()
    growth.delete_record(parent, record.id)
    db.session.commit()
    assert account_of(student.id)[0] == 5


def test_only_a_guardian_may_delete(family, make_user):
    student, parent = family
    record, _ = post(parent, student)
    assert outcome(growth.delete_record, make_user(), record.id) == "not_found"
    assert outcome(growth.delete_record, parent, record.id) == "ok"
    assert outcome(growth.delete_record, parent, record.id) == "not_found"


def like(user, record):
    result = growth.like_record(user, record.id)
    db.session.commit()
    return result


def test_a_friends_like_earns_a_point_once(family, make_user):
    student, parent = family
    record, _ = post(parent, student)
    friend = make_user()
    assert like(friend, record) == (True, 1, 1)
    assert like(friend, record) == (True, 1, 0)
    assert account_of(student.id)[0] == 6
    assert db.session.scalar(select(func.count()).select_from(Like)) == 1


def test_the_students_own_guardians_like_for_nothing(family, make_guardian):
    student, parent = family
    record, _ = post(parent, student)
    dad = make_guardian(student, relation="爸爸")
    assert like(parent, record) == (True, 1, 0)
    assert like(dad, record) == (True, 2, 0)
    assert account_of(student.id)[0] == 5


def test_like_points_stop_at_the_daily_cap_in_points(family, make_user, rules):
    rules({"like": {"points": 2, "daily_cap": 5}})
    student, parent = family
    record, _ = post(parent, student)
    awarded = [like(make_user(), record)[2] for _ in range(4)]
    assert awarded == [2, 2, 1, 0]
    assert db.session.get(GrowthRecord, record.id).like_count == 4
    assert [e.delta for e in entries(student.id, "like")] == [2, 2, 1]


def test_likes_are_rate_limited_per_user(family, make_user):
    student, parent = family
    friend = make_user()
    records = [post(parent, student)[0] for _ in range(growth.LIKES_PER_MINUTE + 1)]
    for record in records[:-1]:
        like(friend, record)
    with pytest.raises(RateLimited):
        growth.like_record(friend, records[-1].id)


def test_a_deleted_record_cannot_be_liked(family, make_user):
    student, parent = family
    record, _ = post(parent, student)
    growth.delete_record(parent, record.id)
    db.session.commit()
    assert outcome(growth.like_record, make_user(), record.id) == "not_found"


def test_shares_earn_nothing_by_default(family):
    student, parent = family
    record, _ = post(parent, student)
    assert growth.share_record(parent, record.id, key="s1") == 0
    db.session.commit()
    assert account_of(student.id)[0] == 5


def test_share_points_stop_after_the_daily_number_of_shares(family, rules, make_user):
    rules({"share": {"points": 2, "daily_cap": 2}})
    student, parent = family
    record, _ = post(parent, student)
    awarded = []
    for key in ("a", "b", "b", "c"):
        awarded.append(growth.share_record(parent, record.id, key=key))
        db.session.commit()
    assert awarded == [2, 2, 2, 0]  # the repeated key replays its first answer
    assert account_of(student.id)[0] == 9
    assert outcome(growth.share_record, make_user(), record.id, key="x") == "not_found"


@requires_pg
def test_twenty_concurrent_checkins_for_one_student_award_once(app, family):
    student, parent = family
    student_id, user_id = student.id, parent.id

    def check_in(i):
        from school_points.models import WechatUser

        _, awarded = growth.post_record(db.session.get(WechatUser, user_id), student_id, f"第{i}次", [], key=f"k{i}")
        db.session.commit()
        return awarded

    results = run_concurrently(app, check_in, list(range(20)))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(results) == [0] * 19 + [5]
    assert account_of(student_id)[0] == 5


@requires_pg
def test_concurrent_likes_respect_the_cap_and_count_every_like(app, family, make_user, rules):
    rules({"like": {"points": 1, "daily_cap": 5}})
    student, parent = family
    record_id = post(parent, student)[0].id
    user_ids = [make_user().id for _ in range(12)]

    def like_it(user_id):
        from school_points.models import WechatUser

        result = growth.like_record(db.session.get(WechatUser, user_id), record_id)
        db.session.commit()
        return result[2]

    results = run_concurrently(app, like_it, user_ids)
    assert not [r for r in results if isinstance(r, DomainError | Exception)]
    assert sum(results) == 5
    db.session.expire_all()
    assert db.session.get(GrowthRecord, record_id).like_count == 12
    assert account_of(student.id)[0] == 10


# ---------------------------------------------------------------- official-account check-ins


@pytest.fixture
def follower(make_student, make_user, make_guardian):
    """A student and a guardian who follows the official account (openid oa-f1)."""
    student = make_student(name="王小明")
    user = make_user(oa_openid="oa-f1")
    user.oa_subscribed = True
    make_guardian(student, user=user)
    return student, user


def oa_check_in(openid="oa-f1", content="练琴", key="msg:1"):
    result = growth.check_in_by_oa(openid, content, [], key=key)
    db.session.commit()
    return result


def test_official_account_check_in_costs_eight_statements(app, follower):
    """Sender + default student + guardianship in one query; lock; record; settings; today's count;
    entry; balance; record's entry id. (It was 12 before the lean path, the bot's own two aside.)"""
    from sqlalchemy import event

    db.session.commit()  # a new transaction reads the settings afresh (the unit of work's cache)
    statements = []

    def listener(conn, cursor, sql, *args):
        if not sql.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE; PostgreSQL's BEGIN is implicit
            statements.append(" ".join(sql.split()[:3]))

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        result = growth.check_in_by_oa("oa-f1", "练琴", [], key="msg:count")
        db.session.flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    db.session.commit()
    assert (result.awarded, result.balance) == (5, 5)
    assert len(statements) <= 8, statements


def test_official_account_check_in_goes_to_the_default_student(follower, make_student, make_guardian):
    first, user = follower
    sister = make_student(name="王小红")
    make_guardian(sister, user=user, default=False)
    user.default_student_id = sister.id
    db.session.commit()
    result = oa_check_in()
    assert (result.student.id, result.awarded, result.balance) == (sister.id, 5, 5)
    assert account_of(first.id)[0] == 0


def test_official_account_check_in_falls_back_to_the_first_bound_student(follower, make_student, make_guardian):
    first, user = follower
    make_guardian(make_student(name="王小红"), user=user, default=False)
    user.default_student_id = make_student(name="别人家的孩子").id  # no longer bound: not a guardian
    db.session.commit()
    assert oa_check_in().student.id == first.id


def test_official_account_check_in_of_a_stranger_creates_them_and_records_nothing(app):
    from school_points.models import WechatUser

    result = oa_check_in(openid="oa-stranger")
    assert result.student is None and result.record is None
    user = db.session.scalars(select(WechatUser).where(WechatUser.oa_openid == "oa-stranger")).one()
    assert user.oa_subscribed is True
    assert db.session.scalar(select(func.count()).select_from(GrowthRecord)) == 0


def test_official_account_check_in_repeated_returns_the_first_record(follower):
    first = oa_check_in(key="msg:9")
    again = oa_check_in(key="msg:9")
    assert (again.record.id, again.awarded) == (first.record.id, 5)
    assert account_of(follower[0].id)[0] == 5


@requires_pg
def test_concurrent_official_account_check_ins_respect_the_daily_count(app, follower):
    results = run_concurrently(app, lambda i: oa_check_in(content=f"第{i}次", key=f"msg:c{i}").awarded, range(12))
    assert sorted(results) == [0] * 11 + [5], results
    assert account_of(follower[0].id)[0] == 5


@requires_pg
def test_concurrent_repeats_of_one_official_account_check_in_make_one_record(app, follower):
    results = run_concurrently(app, lambda _: oa_check_in(key="msg:same").record.id, range(6))
    assert len(set(results)) == 1, results
    assert db.session.scalar(select(func.count()).select_from(GrowthRecord)) == 1
    assert account_of(follower[0].id)[0] == 5
