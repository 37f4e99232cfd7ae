"""Member levels: bonus entries beside awards, birthday doubles, and one level_up notice per level."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from school_points.accounts import ledger
from school_points.accounts.levels import level_view, levels_config
from school_points.accounts.reconcile import find_differences
from school_points.models import LedgerEntry, Notification, PointsAccount, WechatUser
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.points import adjustments, evaluation, growth, level_rewards, signin
from school_points.school.actors import SYSTEM, Actor
from school_points.school.settings import get_settings
from tests.conftest import requires_pg, run_concurrently
from tests.school_points.domain_helpers import account_of, entries

TIERS = [
    {"level": 1, "name": "新芽", "min_lifetime": 0},
    {"level": 2, "name": "小树", "min_lifetime": 100},
    {"level": 3, "name": "大树", "min_lifetime": 300},
    {"level": 4, "name": "森林", "min_lifetime": 1000},
]
LEVELS = {"enabled": True, "tiers": TIERS, "earn_bonus_pct": {"1": 0, "2": 10, "3": 50, "4": 100}}


@pytest.fixture
def levels_on(rules):
    rules({"levels": LEVELS, "checkin": {"points": 20}})


@pytest.fixture
def family(make_student, make_guardian):
    student = make_student()
    return student, make_guardian(student)


def seed(student_id, points):
    """Lifetime (and balance) points from a staff adjustment: no bonus, no notice."""
    account = ledger.lock(student_id)
    ledger.credit(account, points, "adjustment", key=f"seed:{uuid.uuid4().hex}", actor=SYSTEM, note="测试")
    db.session.commit()


def post(user, student):
    record, awarded = growth.post_record(user, student.id, "练琴", [], key=uuid.uuid4().hex)
    db.session.commit()
    return record, awarded


def kinds(student_id):
    return [(e.kind, e.delta) for e in entries(student_id)]


def level_ups(student_id=None):
    query = select(Notification).where(Notification.kind == "level_up")
    if student_id is not None:
        query = query.where(Notification.student_id == student_id)
    return list(db.session.scalars(query.order_by(Notification.id)))


# ------------------------------------------------------------------ the level itself


def test_level_is_the_highest_tier_reached_with_the_points_still_to_go(app, levels_on):
    config = levels_config()
    assert level_view(0, config) == {
        "level": 1,
        "name": "新芽",
        "next": {"level": 2, "name": "小树", "min_lifetime": 100, "points_to_go": 100},
    }
    assert level_view(299, config)["level"] == 2
    assert level_view(300, config)["next"]["points_to_go"] == 700
    assert level_view(5000, config) == {"level": 4, "name": "森林", "next": None}


def test_with_levels_switched_off_nobody_has_a_level(app):
    assert get_settings()["levels"]["enabled"] is False
    assert levels_config() is None and level_view(10_000) is None


# ------------------------------------------------------------------ bonuses


def test_a_checkin_at_level_3_earns_a_level_bonus_entry_right_after_the_award(family, levels_on):
    student, parent = family
    seed(student.id, 300)
    record, awarded = post(parent, student)
    assert awarded == 30  # 20 + floor(20 × 50 %)
    assert kinds(student.id)[-2:] == [("checkin", 20), ("level_bonus", 10)]
    bonus = entries(student.id, "level_bonus")[0]
    assert bonus.idempotency_key == f"level_bonus:checkin:rec:{record.id}"
    assert (bonus.ref_type, bonus.ref_id) == ("growth_record", str(record.id))
    assert bonus.note == "大树等级加成"
    assert account_of(student.id) == (330, 330)  # bonuses are earned points: lifetime grows
    assert find_differences() == []


def test_the_bonus_is_rounded_down_and_uses_the_level_before_the_award(family, levels_on, rules):
    student, parent = family
    rules({"checkin": {"points": 15}})
    seed(student.id, 90)  # level 1 (0 %); this check-in takes the student to level 2
    assert post(parent, student)[1] == 15
    rules({"checkin": {"daily_count": 2}})
    assert post(parent, student)[1] == 16  # 15 + floor(1.5)
    assert kinds(student.id)[-1] == ("level_bonus", 1)


def test_a_repeated_checkin_reports_the_award_with_its_bonus(family, levels_on):
    student, parent = family
    seed(student.id, 1000)
    first = growth.post_record(parent, student.id, "练琴", [], key="same")
    db.session.commit()
    again = growth.post_record(parent, student.id, "练琴", [], key="same")
    assert first[1] == again[1] == 40


def test_like_caps_count_the_award_without_the_bonus(family, levels_on, rules, make_user, make_student):
    rules({"like": {"points": 1, "daily_cap": 3}})
    student, parent = family
    seed(student.id, 1000)  # level 4: +100 %
    record, _ = post(parent, student)
    awarded = [growth.like_record(make_user(), record.id)[2] for _ in range(4)]
    db.session.commit()
    assert awarded == [2, 2, 2, 0]
    assert len(entries(student.id, "like")) == 3 and len(entries(student.id, "level_bonus")) == 4  # 3 likes + check-in


def test_shares_and_signins_earn_bonuses_evaluations_and_adjustments_do_not(
    family, levels_on, rules, make_teacher, make_class
):
    student, parent = family
    rules({"share": {"points": 4}, "evaluation": {"teacher_daily_budget": 10_000}})
    seed(student.id, 1000)
    record, _ = post(parent, student)
    assert growth.share_record(parent, record.id, key="s1") == 8
    assert signin.sign_in(student.id, actor=Actor.user(parent.id))[0] == 2  # day 1: 1 point + 1
    teacher = make_teacher()
    make_class(teachers=[teacher], students=[student])
    evaluation.evaluate(teacher, [student.id], points=5, key="e1")
    adjustments.adjust(student.id, 7, "补录", actor=Actor.admin(1), key="a1")
    db.session.commit()
    bonus_keys = {b.idempotency_key.removeprefix("level_bonus:") for b in entries(student.id, "level_bonus")}
    bonused = [e.kind for e in entries(student.id) if e.idempotency_key in bonus_keys]
    assert sorted(bonused) == ["checkin", "share", "signin"]
    assert find_differences() == []


def test_birthday_doubles_checkins_as_a_birthday_bonus_entry(family, rules):
    student, parent = family
    rules({"birthday": {"double_on_birthday": True}})
    student.birthday = local_today().replace(year=2016)  # 2016: a leap year holds every date
    db.session.commit()
    assert post(parent, student)[1] == 10
    assert kinds(student.id) == [("checkin", 5), ("birthday_bonus", 5)]
    assert find_differences() == []


def test_no_double_on_another_day_or_with_the_switch_off(family, make_student, make_guardian, rules):
    student, parent = family
    student.birthday = (local_today() - timedelta(days=1)).replace(year=2016)
    db.session.commit()
    rules({"birthday": {"double_on_birthday": True}})
    assert post(parent, student)[1] == 5
    other = make_student(name="李四", birthday=local_today().replace(year=2016))
    other_parent = make_guardian(other)
    rules({"birthday": {"double_on_birthday": False}})
    assert post(other_parent, other)[1] == 5


def test_leap_day_birthdays_are_doubled_on_28_february_of_a_common_year():
    from datetime import date

    assert level_rewards.is_birthday(date(2016, 2, 29), date(2027, 2, 28))
    assert not level_rewards.is_birthday(date(2016, 2, 29), date(2028, 2, 28))
    assert level_rewards.is_birthday(date(2016, 2, 29), date(2028, 2, 29))


def test_birthday_and_level_bonuses_add_up_on_a_signin(family, levels_on, rules):
    student, parent = family
    rules({"birthday": {"double_on_birthday": True}, "signin": {"streak_points": [10]}})
    student.birthday = local_today().replace(year=2016)
    db.session.commit()
    seed(student.id, 300)  # level 3: +50 %
    assert signin.sign_in(student.id, actor=Actor.user(parent.id))[0] == 25
    db.session.commit()
    assert kinds(student.id)[-3:] == [("signin", 10), ("level_bonus", 5), ("birthday_bonus", 10)]


def test_deleting_todays_record_reverses_its_bonuses_too(family, levels_on, rules):
    student, parent = family
    rules({"birthday": {"double_on_birthday": True}})
    student.birthday = local_today().replace(year=2016)
    db.session.commit()
    seed(student.id, 300)
    record, awarded = post(parent, student)
    assert awarded == 50  # 20 + 10 + 20
    growth.delete_record(parent, record.id)
    db.session.commit()
    assert account_of(student.id) == (300, 350)
    reversals = entries(student.id, "reversal")
    assert sorted(e.delta for e in reversals) == [-20, -20, -10]
    assert find_differences() == []


def test_levels_off_means_no_level_bonus(family, rules):
    student, parent = family
    rules({"levels": {**LEVELS, "enabled": False}, "checkin": {"points": 20}})
    seed(student.id, 1000)
    assert post(parent, student)[1] == 20
    assert entries(student.id, "level_bonus") == []


# ------------------------------------------------------------------ level_up notices


def test_crossing_a_tier_notifies_each_guardian_once(family, levels_on, make_guardian):
    student, parent = family
    make_guardian(student, relation="爸爸")
    seed(student.id, 90)
    post(parent, student)  # 90 → 110: level 2
    notices = level_ups(student.id)
    assert len(notices) == 2
    assert notices[0].values["level"] == "小树" and notices[0].values["points"] == 110
    assert notices[0].dedupe_key.startswith(f"level_up:s{student.id}:l2:")
    assert db.session.get(PointsAccount, student.id).level_notified == 2


def test_two_tiers_crossed_by_one_award_give_one_notice_for_the_higher(
    family, levels_on, rules, make_teacher, make_class
):
    student, parent = family
    teacher = make_teacher()
    make_class(teachers=[teacher], students=[student])
    rules({"evaluation": {"max_custom_points": 1000, "teacher_daily_budget": 10_000}})
    evaluation.evaluate(teacher, [student.id], points=400, key="big")  # 0 → 400: levels 2 and 3
    db.session.commit()
    assert [n.values["level"] for n in level_ups(student.id)] == ["大树"]
    seed(student.id, 1)
    post(parent, student)  # no tier crossed: nothing more
    assert len(level_ups(student.id)) == 1


def test_settings_changes_notify_nobody_and_rewrite_nothing(family, rules):
    student, parent = family
    seed(student.id, 500)
    before = kinds(student.id)
    rules({"levels": LEVELS})  # switched on: the student is at level 3 at once
    rules({"levels": {"tiers": [*TIERS[:3], {"level": 4, "name": "森林", "min_lifetime": 400}]}})
    assert level_ups() == [] and kinds(student.id) == before
    post(parent, student)  # 500 → 505: still level 4 under today's tiers, no tier crossed
    assert level_ups() == []


def test_a_level_is_notified_once_even_when_tiers_move_and_it_is_crossed_again(family, levels_on, rules):
    student, parent = family
    rules({"checkin": {"daily_count": 5}})
    seed(student.id, 95)
    post(parent, student)  # crosses 100: level 2 notified
    rules({"levels": {"tiers": [TIERS[0], {**TIERS[1], "min_lifetime": 130}, *TIERS[2:]]}})
    post(parent, student)  # 135 crosses the moved tier 2 again: already told
    assert len(level_ups(student.id)) == 1


def test_no_notice_with_levels_off(family, rules):
    student, parent = family
    seed(student.id, 95)
    post(parent, student)
    assert level_ups() == []


@requires_pg
def test_twenty_concurrent_awards_crossing_a_tier_notify_once(app, family, levels_on, rules):
    student, parent = family
    rules({"checkin": {"points": 1, "daily_count": 50}, "levels": {"earn_bonus_pct": {"1": 0, "2": 0}}})
    seed(student.id, 90)
    student_id, parent_id = student.id, parent.id

    def award(i):
        user = db.session.get(WechatUser, parent_id)
        growth.post_record(user, student_id, f"练琴{i}", [], key=f"burst-{i}")
        db.session.commit()
        return "ok"

    assert run_concurrently(app, award, range(20)) == ["ok"] * 20
    db.session.expire_all()
    assert account_of(student.id) == (110, 110)
    notices = level_ups(student.id)
    assert [(n.values["level"], n.values["points"]) for n in notices] == [("小树", 100)]
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "checkin")) == 20
    assert find_differences() == []


def test_a_level_up_notice_maps_to_the_template_keywords(family, levels_on, rules):
    from school_points.wechat.delivery import template_data

    student, parent = family
    rules({"notifications": {"level_up": {"enabled": True, "template_id": "TPL-L"}}})
    seed(student.id, 95)
    post(parent, student)
    [notice] = level_ups(student.id)
    assert notice.template_id == "TPL-L"  # delivered (here: skipped, no WeChat credentials) as any kind
    data = template_data("level_up", notice.values)
    assert data["thing1"]["value"] == "王小明" and data["thing2"]["value"] == "小树"
    assert data["number3"]["value"] == "115" and data["thing5"]["value"] == "升级为 Lv2 小树"


def test_points_check_reports_a_bonus_without_its_award(family):
    student, _ = family
    account = ledger.lock(student.id)
    ledger.credit(account, 3, "level_bonus", key="level_bonus:nothing", actor=SYSTEM, note="测试")
    db.session.commit()
    assert [line for line in find_differences() if "level_bonus entry" in line]


def test_points_check_reports_a_birthday_bonus_unequal_to_its_award(family):
    student, parent = family
    record, _ = post(parent, student)
    account = ledger.lock(student.id)
    key = f"birthday_bonus:checkin:rec:{record.id}"  # beside the check-in (5), but not equal to it
    ledger.credit(account, 4, "birthday_bonus", key=key, actor=SYSTEM, note="测试")
    db.session.commit()
    assert [line for line in find_differences() if "birthday_bonus" in line]
