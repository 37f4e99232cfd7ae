"""Random sequences of earning (with level and birthday bonuses), spending, cancelling, adjusting,
deleting check-ins and expiring never break the books."""

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from school_points.accounts import ledger
from school_points.accounts.reconcile import find_differences
from school_points.mall import redemption
from school_points.models import (
    Goods,
    GrowthRecord,
    Notification,
    PointsAccount,
    Redemption,
    Student,
    Teacher,
    WechatUser,
)
from school_points.platform.clock import local_today, utcnow
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.points import evaluation, expiry, growth, signin
from school_points.school.actors import Actor
from school_points.school.settings import update_settings
from tests.school_points.domain_helpers import account_of, ledger_sum

ADMIN = Actor.admin(1)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 10)),
        st.tuples(st.just("spend"), st.integers(0, 1), st.integers(1, 2)),
        st.tuples(st.just("cancel"), st.integers(0, 20)),
        st.tuples(st.just("issue"), st.integers(0, 20)),
        st.tuples(st.just("adjust"), st.integers(-25, 25).filter(bool)),
        st.tuples(st.just("expire"), st.integers(0, 120)),
        st.tuples(st.just("checkin"), st.integers(1, 40)),
        st.tuples(st.just("like"), st.integers(0, 20)),
        st.tuples(st.just("signin"), st.just(0)),
        st.tuples(st.just("delete"), st.integers(0, 20)),
        st.tuples(st.just("birthday"), st.booleans()),
    ),
    min_size=3,
    max_size=30,
)
policies = st.sampled_from([{"policy": "none"}, {"policy": "rolling", "months": 1}, {"policy": "year_end"}])
LEVELS = {
    "enabled": True,
    "tiers": [
        {"level": 1, "name": "新芽", "min_lifetime": 0},
        {"level": 2, "name": "小树", "min_lifetime": 20},
        {"level": 3, "name": "大树", "min_lifetime": 60},
        {"level": 4, "name": "森林", "min_lifetime": 150},
    ],
    "earn_bonus_pct": {"1": 0, "2": 10, "3": 50, "4": 100},
}
level_rules = st.sampled_from([{"enabled": False}, LEVELS])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, levels=level_rules, double=st.booleans(), plan=steps)
def test_balance_always_equals_the_ledger(
    app, make_student, make_teacher, make_class, make_goods, make_user, make_guardian, policy, levels, double, plan
):
    update_settings(
        {
            "expiry": policy,
            "evaluation": {"teacher_daily_budget": 10**9},
            "levels": levels,
            "birthday": {"double_on_birthday": double},
            "checkin": {"daily_count": 100},
            "like": {"daily_cap": 10},
        }
    )
    db.session.commit()
    student = make_student(name="随机")
    teacher = make_teacher()
    make_class(teachers=[teacher], students=[student])
    goods = [make_goods(points=7, stock=3), make_goods(points=15, stock=5)]
    parent = make_guardian(student)
    ids = {
        "student": student.id,
        "teacher": teacher.id,
        "goods": [g.id for g in goods],
        "parent": parent.id,
        "likers": [make_user().id for _ in range(3)],
    }
    lifetime = 0
    for step in plan:
        before = account_of(ids["student"])
        try:
            run_step(ids, step)
            db.session.commit()
        except DomainError:
            db.session.rollback()
            assert account_of(ids["student"]) == before  # a refused operation changes nothing
        balance, new_lifetime = account_of(ids["student"])
        assert balance == ledger_sum(ids["student"]) and balance >= 0
        assert new_lifetime >= lifetime
        lifetime = new_lifetime
        assert find_differences() == []
        assert_level_ups_once(ids["student"])


def run_step(ids, step):
    kind, *args = step
    sid = ids["student"]
    if kind == "earn":
        evaluation.evaluate(db.session.get(Teacher, ids["teacher"]), [sid], points=args[0], key=uuid.uuid4().hex)
    elif kind == "spend":
        redemption.redeem(sid, ids["goods"][args[0]], args[1], key=uuid.uuid4().hex, actor=Actor.user(1))
    elif kind in ("cancel", "issue"):
        order = nth_order(sid, args[0])
        if order is not None and kind == "cancel":
            redemption.cancel(order, actor=ADMIN)
        elif order is not None:
            redemption.issue_by_admin(order, actor=ADMIN)
    elif kind == "adjust":
        adjust(sid, args[0])
    elif kind == "expire":
        expiry.expire_due(now=utcnow() + timedelta(days=args[0]))
    elif kind == "checkin":
        growth.post_record(db.session.get(WechatUser, ids["parent"]), sid, "打卡" * args[0], [], key=uuid.uuid4().hex)
    elif kind in ("like", "delete"):
        record = nth_record(sid, args[0])
        if record is not None and kind == "like":
            growth.like_record(db.session.get(WechatUser, ids["likers"][args[0] % 3]), record.id)
        elif record is not None:
            growth.delete_record(db.session.get(WechatUser, ids["parent"]), record.id)
    elif kind == "signin":
        signin.sign_in(sid, actor=Actor.user(ids["parent"]))
    else:  # birthday today, or not
        student = db.session.get(Student, sid)
        today = local_today().replace(year=2016)  # a leap year holds every date
        student.birthday = today if args[0] else today - timedelta(days=1)


def nth_record(student_id, n):
    records = (
        db.session.query(GrowthRecord).filter_by(student_id=student_id, deleted_at=None).order_by(GrowthRecord.id).all()
    )
    return records[n % len(records)] if records else None


def assert_level_ups_once(student_id):
    """At most one level_up notice per level (one guardian), never above the level reached."""
    notices = db.session.query(Notification).filter_by(kind="level_up", student_id=student_id)
    levels = [n.dedupe_key.split(":")[2] for n in notices]
    assert len(levels) == len(set(levels))
    notified = db.session.get(PointsAccount, student_id).level_notified
    assert all(int(level[1:]) <= notified for level in levels)


def nth_order(student_id, n):
    orders = db.session.query(Redemption).filter_by(student_id=student_id).order_by(Redemption.id).all()
    return orders[n % len(orders)] if orders else None


def adjust(student_id, delta):
    """A manual adjustment written the way the admin service writes one: lock, then credit or debit."""
    account = ledger.lock(student_id)
    write = ledger.credit if delta > 0 else ledger.debit
    write(account, abs(delta), "adjustment", key=f"adj:{uuid.uuid4().hex}", actor=ADMIN, note="测试调整")


def test_goods_stock_is_checked_by_the_invariant(make_goods):
    """The reconciliation the property test relies on does notice a broken stock count."""
    goods = make_goods(stock=3)
    db.session.get(Goods, goods.id).stock = 2
    db.session.commit()
    assert find_differences() != []
