"""Redemption orders as admins handle them: list within the campus scope, hand out, cancel.

The order rules themselves (pending only, refund exactly once, notifications, the audit entry
for staff actions) live in `redemption`; this module keeps the admin inside its campus scope.
"""

from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from school_points.mall import redemption
from school_points.models import Redemption
from school_points.platform.clock import day_end, day_start
from school_points.platform.errors import NotFound
from school_points.platform.extensions import db
from school_points.school.scoping import get_in_scope


def list_orders_query(
    scope, *, status=None, campus_id=None, student_id=None, goods_id=None, first_day=None, last_day=None
) -> Select:
    """Orders inside the scope, filtered, with their students loaded up front; `first_day` and
    `last_day` bound the order's day in the school's timezone."""
    query = scope.filter(select(Redemption).options(selectinload(Redemption.student)), Redemption.campus_id, campus_id)
    for column, value in (
        (Redemption.status, status),
        (Redemption.student_id, student_id),
        (Redemption.goods_id, goods_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if first_day is not None:
        query = query.where(Redemption.created_at >= day_start(first_day))
    if last_day is not None:
        query = query.where(Redemption.created_at < day_end(last_day))
    return query


def get_order(order_id, scope) -> Redemption:
    """An order inside the scope, or NotFound."""
    return get_in_scope(Redemption, order_id, scope, message="订单不存在", code="order_not_found")


def find_by_pickup_code(pickup_code, scope) -> Redemption:
    """The order a pickup code names, inside the scope (spaces and letter case forgiven), or
    NotFound: another campus's order answers as if the code did not exist."""
    code = "".join(pickup_code.split()).upper() if isinstance(pickup_code, str) else ""
    order = None
    if 0 < len(code) <= 32:
        order = db.session.scalars(
            scope.filter(select(Redemption).options(selectinload(Redemption.student)), Redemption.campus_id).where(
                Redemption.pickup_code == code
            )
        ).first()
    if order is None:
        raise NotFound("没有找到该取货码的订单，请核对后重试", code="order_not_found")
    return order


def issue_order(order_id, *, scope, actor) -> Redemption:
    """Mark a pending order handed out by the admin (409 already_issued / order_not_pending)."""
    return redemption.issue_by_admin(get_order(order_id, scope), actor=actor)


def cancel_order(order_id, reason, *, scope, actor) -> Redemption:
    """Cancel a pending order: points come back and stock is restored, exactly once."""
    return redemption.cancel(get_order(order_id, scope), actor=actor, reason=reason)
