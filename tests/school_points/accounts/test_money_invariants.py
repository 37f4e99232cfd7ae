"""Random sequences of earning, spending, cancelling, adjusting and expiring never break the books."""

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from school_points.accounts import ledger
from school_points.accounts.reconcile import find_differences
from school_points.mall import redemption
from school_points.models import Goods, Redemption, Teacher
from school_points.platform.clock import utcnow
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.points import evaluation, expiry
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
    ),
    min_size=3,
    max_size=30,
)
policies = st.sampled_from([{"policy": "none"}, {"policy": "rolling", "months": 1}, {"policy": "year_end"}])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=policies, plan=steps)
def test_balance_always_equals_the_ledger(app, make_student, make_teacher, make_class, make_goods, policy, plan):
    update_settings({"expiry": policy, "evaluation": {"teacher_daily_budget": 10**9}})
    db.session.commit()
    student = make_student(name="随机")
    teacher = make_teacher()
    make_class(teachers=[teacher], students=[student])
    goods = [make_goods(points=7, stock=3), make_goods(points=15, stock=5)]
    ids = {"student": student.id, "teacher": teacher.id, "goods": [g.id for g in goods]}
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
    else:
        expiry.expire_due(now=utcnow() + timedelta(days=args[0]))


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
