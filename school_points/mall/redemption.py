"""Redemption (兑换): spending points on goods, handing the goods out, cancelling with a refund.

Lock order (docs/ARCHITECTURE.md): the student's points account, then the goods row (a guarded
UPDATE taken last). Status changes are guarded UPDATEs (`... WHERE status = 'pending'`), so an
order is issued or cancelled exactly once however many requests race.
"""

import hmac

from sqlalchemy import select, update

from school_points.accounts import ledger
from school_points.accounts.levels import level_number, levels_config
from school_points.mall import redemption_pg
from school_points.mall.catalogue import get_goods_for_sale, units_redeemed
from school_points.models import Goods, Redemption
from school_points.people import guardians
from school_points.people.students import active_student
from school_points.people.users import active_user
from school_points.platform import ratelimit
from school_points.platform.clock import utcnow
from school_points.platform.codes import key_digest, new_pickup_code
from school_points.platform.errors import (
    AlreadyIssued,
    Forbidden,
    LevelTooLow,
    LimitReached,
    NotFound,
    OrderNotPending,
    OutOfStock,
    UserDisabled,
    ValidationFailed,
    WrongVerifyCode,
)
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.actors import Actor
from school_points.wechat.notifications import notify_student

MAX_QUANTITY = 99
VERIFY_ATTEMPTS, VERIFY_WINDOW_SECONDS = 5, 600


def redeem(student_id, goods_id, quantity, *, key, actor, guardian_id=None, standalone=False) -> Redemption:
    """Spend a student's points on goods; raises a DomainError subclass on any rule, changing nothing.

    With `guardian_id` (a WeChat user's id) that user must be enabled (UserDisabled otherwise) and
    bound to the student (NotFound otherwise). On PostgreSQL the whole operation is one call of the
    `redeem_goods` function (redemption_pg); elsewhere the steps below. `standalone`: the caller
    commits nothing else with the order (see redemption_pg.redeem).
    """
    _check_quantity(quantity)
    order_key = f"s{student_id}:{key_digest(key)}"
    if db.session.get_bind().dialect.name == "postgresql":
        return redemption_pg.redeem(
            student_id, goods_id, quantity, order_key, actor=actor, guardian_id=guardian_id, standalone=standalone
        )
    if guardian_id is not None:
        _ensure_guardian(guardian_id, student_id)
    if (done := find_by_key(order_key)) is not None:
        return done
    student = active_student(student_id)
    goods = get_goods_for_sale(goods_id, student)
    account = ledger.lock(student.id)
    if (done := find_by_key(order_key)) is not None:  # a concurrent repeat committed while we waited
        return done
    _ensure_level(account, goods)
    _ensure_within_limit(student.id, goods, quantity)
    with db.session.begin_nested():  # a failure below undoes the debit even if a caller commits
        ledger.debit(
            account,
            goods.points * quantity,
            "redemption",
            key=f"redeem:{order_key}",
            ref=ledger.Ref("goods", goods.id),
            actor=actor,
            note=f"兑换 {goods.name} × {quantity}",
        )
        order = _add_order(student, goods, quantity, order_key, actor)
        _record_action(actor, "redemption.create", order, {"goods_id": goods.id, "quantity": quantity})
        notify_student(
            "redeemed",
            student.id,
            {"goods": order.goods_name, "points": order.total_points, "balance": account.balance},
            key=f"redeemed:{order.id}",
        )
        # Last: every redemption of these goods queues on this row until the commit, so it is
        # locked only after all other work is done (a flash sale's throughput depends on it).
        _take_stock(goods, quantity)
    return order


def find_by_key(order_key) -> Redemption | None:
    """The order created under an idempotency key, if any."""
    return db.session.scalars(select(Redemption).where(Redemption.idempotency_key == order_key)).first()


def issue_by_pickup_code(teacher, pickup_code) -> Redemption:
    """A teacher scans an order's pickup code: pending → issued, only at the teacher's campus."""
    code = pickup_code.strip().upper() if isinstance(pickup_code, str) else ""
    order = db.session.scalars(select(Redemption).where(Redemption.pickup_code == code)).first() if code else None
    if order is None:
        raise NotFound("提货码无效")
    if not teacher.active or order.campus_id != teacher.campus_id:
        raise Forbidden("该订单不属于本校区")
    return _issue(order, Actor.teacher(teacher.id), "pickup_code")


def confirm_with_verify_code(order, verify_code, *, actor) -> Redemption:
    """The teacher types the goods' verify code on the parent's phone; wrong codes are rate limited."""
    _ensure_pending(order)
    ratelimit.hit("verify_code", order.id, limit=VERIFY_ATTEMPTS, window_seconds=VERIFY_WINDOW_SECONDS)
    expected = (db.session.get(Goods, order.goods_id).verify_code or "").strip()
    given = verify_code.strip() if isinstance(verify_code, str) else ""
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise WrongVerifyCode()
    return _issue(order, actor, "verify_code")


def issue_by_admin(order, *, actor) -> Redemption:
    """An admin marks a pending order as handed out."""
    return _issue(order, actor, "admin")


def cancel(order, *, actor, reason="") -> Redemption:
    """Cancel a pending order: points refunded and stock restored, exactly once."""
    reason = (reason or "").strip()[:255] if isinstance(reason, str) else ""
    account = ledger.lock(order.student_id)
    _transition(
        order,
        "cancelled",
        refused=OrderNotPending,
        cancelled_at=utcnow(),
        cancelled_by_type=actor.type,
        cancelled_by_id=actor.id,
        cancel_reason=reason,
    )
    spent = ledger.find_entry(f"redeem:{order.idempotency_key}")
    ledger.refund(
        account,
        spent,
        "redemption_refund",
        key=f"redemption_refund:{order.idempotency_key}",
        ref=ledger.Ref("redemption", order.id),
        actor=actor,
        note=f"取消兑换 {order.goods_name}",
    )
    db.session.execute(
        update(Goods)
        .where(Goods.id == order.goods_id, Goods.stock + order.quantity <= Goods.stock_received)
        .values(stock=Goods.stock + order.quantity)
    )
    _record_action(actor, "redemption.cancel", order, {"reason": reason, "refund": order.total_points})
    notify_student(
        "cancelled",
        order.student_id,
        {"goods": order.goods_name, "points": order.total_points, "remark": reason or "订单已取消，积分已退回"},
        key=f"cancelled:{order.id}",
    )
    return order


def _issue(order, actor, method):
    _transition(
        order, "issued", issued_at=utcnow(), issued_by_type=actor.type, issued_by_id=actor.id, issue_method=method
    )
    _record_action(actor, "redemption.issue", order, {"method": method})
    notify_student(
        "issued", order.student_id, {"goods": order.goods_name, "status": "已发放"}, key=f"issued:{order.id}"
    )
    return order


def _transition(order, status, *, refused=None, **changes):
    """Guarded status change: only a pending order moves, and only one request moves it."""
    result = db.session.execute(
        update(Redemption)
        .where(Redemption.id == order.id, Redemption.status == "pending")
        .values(status=status, **changes)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(order)
    if result.rowcount != 1:
        if refused is not None:
            raise refused()
        _ensure_pending(order)


def _ensure_pending(order):
    if order.status == "issued":
        raise AlreadyIssued()
    if order.status != "pending":
        raise OrderNotPending()


def _ensure_level(account, goods):
    """The student's level (from lifetime points, read under the account lock) reaches the goods'
    min_level; with levels switched off min_level is not enforced."""
    config = levels_config()
    if goods.min_level is None or config is None:
        return
    level = level_number(account.lifetime, config)
    if level < goods.min_level:
        raise LevelTooLow(details={"required_level": goods.min_level, "student_level": level})


def _ensure_within_limit(student_id, goods, quantity):
    if goods.limit_per_student is None:
        return
    used = units_redeemed(student_id, [goods.id]).get(goods.id, 0)
    if used + quantity > goods.limit_per_student:
        raise LimitReached(details={"limit": goods.limit_per_student, "redeemed": used})


def _take_stock(goods, quantity):
    """Guarded decrement, taken last and briefly: it never oversells under any concurrency."""
    result = db.session.execute(
        update(Goods)
        .where(Goods.id == goods.id, Goods.stock >= quantity)
        .values(stock=Goods.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise OutOfStock()
    db.session.expire(goods, ["stock", "updated_at"])  # the UPDATE bypassed the object: reload on next read


def _add_order(student, goods, quantity, order_key, actor):
    order = Redemption(
        student_id=student.id,
        goods_id=goods.id,
        campus_id=student.campus_id,
        quantity=quantity,
        points_each=goods.points,
        total_points=goods.points * quantity,
        goods_name=goods.name,
        goods_image_url=goods.image_url or "",
        status="pending",
        pickup_code=_free_pickup_code(),
        idempotency_key=order_key,
        created_by_type=actor.type,
        created_by_id=actor.id,
        created_at=utcnow(),
    )
    db.session.add(order)
    db.session.flush()
    return order


def _free_pickup_code():
    for _ in range(5):
        code = new_pickup_code()
        if db.session.scalars(select(Redemption.id).where(Redemption.pickup_code == code)).first() is None:
            return code
    raise RuntimeError("no free pickup code after 5 tries")


def _record_action(actor, action, order, changes):
    """Teacher and admin actions on orders are audited; parents' own actions are in the order itself."""
    if actor.type in ("teacher", "admin"):
        audit.record(
            actor,
            action,
            "redemption",
            order.id,
            campus_id=order.campus_id,
            changes={"student_id": order.student_id, "status": order.status, **changes},
        )


def _ensure_guardian(user_id, student_id):
    user = active_user(user_id)
    if user is None:
        raise UserDisabled()
    guardians.guardian_student(user, student_id)


def _check_quantity(quantity):
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise ValidationFailed(details={"quantity": [f"数量必须在 1 到 {MAX_QUANTITY} 之间"]})
