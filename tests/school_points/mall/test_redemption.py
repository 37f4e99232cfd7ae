"""Redemption: spending points on goods, handing them out, cancelling with a refund (docs/PRODUCT.md)."""

import pytest
from sqlalchemy import func, select

from school_points.accounts.reconcile import find_differences
from school_points.mall import redemption
from school_points.models import AuditLog, Goods, Notification, Redemption
from school_points.platform.errors import (
    AlreadyIssued,
    DomainError,
    Forbidden,
    LimitReached,
    OrderNotPending,
    OutOfStock,
    RateLimited,
    WrongVerifyCode,
)
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from tests.conftest import requires_pg, run_concurrently
from tests.school_points.domain_helpers import account_of, entries, ledger_sum, outcome

ADMIN = Actor.admin(1)


def redeem(student, goods, quantity=1, key="k1", actor=None):
    order = redemption.redeem(student.id, goods.id, quantity, key=key, actor=actor or Actor.user(1))
    db.session.commit()
    return order


def stock_of(goods):
    db.session.expire_all()
    return db.session.get(Goods, goods.id).stock


def test_redeem_charges_points_takes_stock_and_snapshots_the_goods(make_student, make_goods, make_guardian):
    student = make_student(balance=100)
    make_guardian(student)
    goods = make_goods(name="铅笔", points=30, stock=5)
    order = redeem(student, goods, quantity=2)
    assert (order.status, order.quantity, order.points_each, order.total_points) == ("pending", 2, 30, 60)
    assert order.goods_name == "铅笔" and len(order.pickup_code) == 12
    assert account_of(student.id) == (40, 100)
    assert stock_of(goods) == 3
    assert [e.delta for e in entries(student.id, "redemption")] == [-60]
    assert db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "redeemed")) == 1
    goods.name, goods.points = "新铅笔", 99
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Redemption, order.id)
    assert (stored.goods_name, stored.points_each) == ("铅笔", 30)
    assert find_differences() == []


def test_same_idempotency_key_returns_the_first_order(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30)
    first = redeem(student, goods, key="same")
    again = redeem(student, goods, key="same")
    assert again.id == first.id
    assert account_of(student.id)[0] == 70 and stock_of(goods) == 9


def test_the_same_key_from_two_students_makes_two_orders(make_student, make_goods):
    a, b, goods = make_student(balance=100), make_student(balance=100), make_goods(points=30)
    assert redeem(a, goods, key="same").id != redeem(b, goods, key="same").id


@pytest.mark.parametrize(
    "setup, expected",
    [
        (dict(balance=10), "insufficient_points"),
        (dict(stock=0), "out_of_stock"),
        (dict(on_shelf=False), "goods_unavailable"),
        (dict(other_campus=True), "goods_unavailable"),
        (dict(quantity=0), "validation_error"),
    ],
)
def test_a_failed_check_changes_nothing(make_student, make_goods, make_campus, setup, expected):
    student = make_student(balance=setup.get("balance", 100))
    campus_id = make_campus().id if setup.get("other_campus") else None
    goods = make_goods(
        points=30, stock=setup.get("stock", 5), on_shelf=setup.get("on_shelf", True), campus_id=campus_id
    )
    before = (account_of(student.id), stock_of(goods))
    quantity = setup.get("quantity", 1)
    assert outcome(redemption.redeem, student.id, goods.id, quantity, key="k", actor=Actor.user(1)) == expected
    assert (account_of(student.id), stock_of(goods)) == before
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert find_differences() == []


def test_out_of_stock_after_the_debit_leaves_no_trace_even_if_the_caller_commits(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30, stock=1)
    with pytest.raises(OutOfStock):
        redemption.redeem(student.id, goods.id, 2, key="k", actor=Actor.user(1))
    db.session.commit()  # a careless caller: the savepoint already undid the debit
    assert account_of(student.id)[0] == 100 and entries(student.id, "redemption") == []
    assert find_differences() == []


def test_closed_mall_refuses_redemption(make_student, make_goods, rules):
    student, goods = make_student(balance=100), make_goods()
    rules({"mall": {"open": False}})
    assert outcome(redemption.redeem, student.id, goods.id, 1, key="k", actor=Actor.user(1)) == "mall_closed"


def test_limit_counts_every_non_cancelled_order_ever(make_student, make_goods):
    student, goods = make_student(balance=500), make_goods(points=10, limit_per_student=2)
    first = redeem(student, goods, key="a")
    redeem(student, goods, key="b")
    with pytest.raises(LimitReached):
        redemption.redeem(student.id, goods.id, 1, key="c", actor=Actor.user(1))
    db.session.rollback()
    redemption.cancel(first, actor=Actor.user(1))
    db.session.commit()
    assert redeem(student, goods, key="d").status == "pending"  # a cancelled order frees its unit


def test_limit_counts_quantity(make_student, make_goods):
    student, goods = make_student(balance=500), make_goods(points=10, limit_per_student=2)
    assert outcome(redemption.redeem, student.id, goods.id, 3, key="a", actor=Actor.user(1)) == "limit_reached"


def test_teacher_issues_by_pickup_code_at_own_campus(make_student, make_goods, make_teacher):
    student, goods, teacher = make_student(balance=100), make_goods(), make_teacher()
    order = redeem(student, goods)
    issued = redemption.issue_by_pickup_code(teacher, order.pickup_code.lower())
    db.session.commit()
    assert (issued.status, issued.issue_method, issued.issued_by_type, issued.issued_by_id) == (
        "issued",
        "pickup_code",
        "teacher",
        teacher.id,
    )
    assert issued.issued_at is not None
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "redemption.issue")).one()
    assert (audit.actor_type, audit.actor_id, audit.target_id) == ("teacher", teacher.id, str(order.id))
    with pytest.raises(AlreadyIssued):
        redemption.issue_by_pickup_code(teacher, order.pickup_code)


def test_teacher_of_another_campus_cannot_issue(make_student, make_goods, make_teacher, make_campus):
    student, goods = make_student(balance=100), make_goods()
    teacher = make_teacher(campus_id=make_campus().id)
    order = redeem(student, goods)
    with pytest.raises(Forbidden):
        redemption.issue_by_pickup_code(teacher, order.pickup_code)
    assert outcome(redemption.issue_by_pickup_code, teacher, "NOSUCHCODE12") == "not_found"


def test_verify_code_issues_the_order(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(verify_code="8888")
    order = redeem(student, goods)
    assert outcome(redemption.confirm_with_verify_code, order, "1234", actor=Actor.user(1)) == "wrong_verify_code"
    issued = redemption.confirm_with_verify_code(order, " 8888 ", actor=Actor.user(1))
    assert (issued.status, issued.issue_method) == ("issued", "verify_code")


def test_wrong_verify_codes_are_rate_limited_per_order(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(verify_code="8888")
    order = redeem(student, goods)
    for _ in range(redemption.VERIFY_ATTEMPTS):
        with pytest.raises(WrongVerifyCode):
            redemption.confirm_with_verify_code(order, "0000", actor=Actor.user(1))
    with pytest.raises(RateLimited):
        redemption.confirm_with_verify_code(order, "8888", actor=Actor.user(1))
    db.session.rollback()
    assert db.session.get(Redemption, order.id).status == "pending"


def test_goods_without_a_verify_code_cannot_be_confirmed_with_an_empty_code(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(verify_code="")
    order = redeem(student, goods)
    assert outcome(redemption.confirm_with_verify_code, order, "", actor=Actor.user(1)) == "wrong_verify_code"


def test_admin_issue_is_audited(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods()
    order = redeem(student, goods)
    redemption.issue_by_admin(order, actor=ADMIN)
    db.session.commit()
    assert db.session.get(Redemption, order.id).issue_method == "admin"
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.actor_type == "admin")).all()
    assert actions == ["redemption.issue"]


def test_cancel_refunds_and_restocks_exactly_once(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30, stock=5)
    order = redeem(student, goods, quantity=2)
    cancelled = redemption.cancel(order, actor=ADMIN, reason="家长不要了")
    db.session.commit()
    assert (cancelled.status, cancelled.cancel_reason, cancelled.cancelled_by_type) == (
        "cancelled",
        "家长不要了",
        "admin",
    )
    assert account_of(student.id)[0] == 100 and stock_of(goods) == 5
    assert [e.delta for e in entries(student.id, "redemption_refund")] == [60]
    with pytest.raises(OrderNotPending):
        redemption.cancel(order, actor=ADMIN)
    db.session.rollback()
    assert account_of(student.id)[0] == 100 and stock_of(goods) == 5
    assert find_differences() == []


def test_issued_and_cancelled_orders_cannot_change_again(make_student, make_goods):
    student, goods = make_student(balance=100), make_goods()
    issued, cancelled = redeem(student, goods, key="a"), redeem(student, goods, key="b")
    redemption.issue_by_admin(issued, actor=ADMIN)
    redemption.cancel(cancelled, actor=ADMIN)
    db.session.commit()
    assert outcome(redemption.cancel, issued, actor=ADMIN) == "order_not_pending"
    assert outcome(redemption.issue_by_admin, cancelled, actor=ADMIN) == "order_not_pending"
    assert outcome(redemption.issue_by_admin, issued, actor=ADMIN) == "already_issued"
    assert account_of(student.id)[0] == 70


def test_refund_restores_the_lots_the_order_spent(make_student, make_goods, rules):
    rules({"expiry": {"policy": "rolling", "months": 12}})
    student, goods = make_student(), make_goods(points=30)
    from school_points.accounts import ledger
    from school_points.models import PointsLot

    account = ledger.lock(student.id)
    ledger.credit(account, 20, "evaluation", key="e1")
    ledger.credit(account, 20, "evaluation", key="e2")
    db.session.commit()
    order = redeem(student, goods)
    lots = lambda: [lot.remaining for lot in db.session.scalars(select(PointsLot).order_by(PointsLot.id))]  # noqa: E731
    db.session.expire_all()
    assert lots() == [0, 10]
    redemption.cancel(order, actor=Actor.user(1))
    db.session.commit()
    db.session.expire_all()
    assert lots() == [20, 20]
    assert ledger_sum(student.id) == account_of(student.id)[0] == 40


# ------------------------------------------------------------- real concurrent transactions


def redeem_or_error(student_id, goods_id, key, quantity=1):
    """One parent's request in its own session: the order status, or the error code."""
    order = redemption.redeem(student_id, goods_id, quantity, key=key, actor=Actor.user(1))
    db.session.commit()
    return order.status


def codes(results):
    return sorted(r if isinstance(r, str) else r.code if isinstance(r, DomainError) else repr(r) for r in results)


@requires_pg
def test_fifty_parents_racing_for_ten_items_never_oversell(app, make_student, make_goods):
    goods = make_goods(points=30, stock=10)
    students = [make_student(name=f"学生{i}", balance=100) for i in range(50)]
    args = [(s.id, goods.id, f"k{s.id}") for s in students]
    results = run_concurrently(app, lambda a: redeem_or_error(*a), args)
    assert codes(results) == ["out_of_stock"] * 40 + ["pending"] * 10
    assert stock_of(goods) == 0
    balances = sorted(account_of(s.id)[0] for s in students)
    assert balances == [70] * 10 + [100] * 40  # each paid at most once, losers untouched
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 10
    assert find_differences() == []


@requires_pg
def test_ten_concurrent_redemptions_of_thirty_from_one_hundred_points_succeed_three_times(
    app, make_student, make_goods
):
    student, goods = make_student(balance=100), make_goods(points=30, stock=50)
    student_id, goods_id = student.id, goods.id  # threads must not touch the main session's objects
    results = run_concurrently(app, lambda i: redeem_or_error(student_id, goods_id, f"k{i}"), list(range(10)))
    assert codes(results) == ["insufficient_points"] * 7 + ["pending"] * 3
    assert account_of(student.id)[0] == 10 and stock_of(goods) == 47
    assert find_differences() == []


@requires_pg
def test_a_doubled_request_with_one_key_makes_one_order(app, make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30)
    student_id, goods_id = student.id, goods.id
    results = run_concurrently(app, lambda _: redeem_or_error(student_id, goods_id, "same"), list(range(5)))
    assert codes(results) == ["pending"] * 5
    assert account_of(student.id)[0] == 70 and stock_of(goods) == 9


@requires_pg
def test_concurrent_cancels_refund_once(app, make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30, stock=5)
    order_id = redeem(student, goods).id

    def cancel(_):
        redemption.cancel(db.session.get(Redemption, order_id), actor=Actor.user(1))
        db.session.commit()
        return "cancelled"

    results = run_concurrently(app, cancel, list(range(6)))
    assert codes(results) == ["cancelled"] + ["order_not_pending"] * 5
    assert account_of(student.id)[0] == 100 and stock_of(goods) == 5
    assert find_differences() == []


@requires_pg
def test_issue_racing_cancel_does_exactly_one(app, make_student, make_goods):
    student, goods = make_student(balance=100), make_goods(points=30)
    order_id = redeem(student, goods).id

    def act(which):
        order = db.session.get(Redemption, order_id)
        if which == "issue":
            redemption.issue_by_admin(order, actor=ADMIN)
        else:
            redemption.cancel(order, actor=ADMIN)
        db.session.commit()
        return which

    results = codes(run_concurrently(app, act, ["issue", "cancel"]))
    db.session.expire_all()
    status = db.session.get(Redemption, order_id).status
    assert results == sorted([status.replace("issued", "issue").replace("cancelled", "cancel"), "order_not_pending"])
    assert account_of(student.id)[0] == (70 if status == "issued" else 100)
    assert find_differences() == []
