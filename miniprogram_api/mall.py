"""The points mall and a family's redemption orders."""

from flask import g
from sqlalchemy import select

from school_points.mall import catalogue, redemption
from school_points.models import Redemption
from school_points.people import guardians
from school_points.platform.extensions import db
from webkit.pagination import page
from webkit.responses import respond

from . import bp, schemas
from .kit import api, load_body, load_query, request_key
from .presenters import goods_out, redemption_out
from .queries import family_redemptions_page

REDEEM_ERRORS = [
    "insufficient_points",
    "out_of_stock",
    "limit_reached",
    "mall_closed",
    "goods_unavailable",
    "level_too_low",
]


def _student_for_mall(student_id):
    """The student whose campus and limits the mall shows: the one asked for, else the default."""
    if student_id is not None:
        return guardians.guardian_student(g.user, student_id)
    return guardians.default_student(g.user)


@bp.get("/mall")
@api(
    "积分商城：开放状态、海报、公告、本校区在售商品",
    query=schemas.MallQuery,
    out=schemas.MallOut,
    tags=["商城"],
    description="不传 student_id 时使用默认学员；商城关闭时 goods 为空。",
)
def mall_page():
    args = load_query(schemas.MallQuery)
    view = catalogue.mall_view(_student_for_mall(args["student_id"]))
    return respond({**view, "goods": [goods_out(item) for item in view["goods"]]})


@bp.get("/mall/goods/<int:gid>")
@api(
    "商品详情",
    query=schemas.MallQuery,
    out=schemas.GoodsOut,
    tags=["商城"],
    errors={409: ["mall_closed", "goods_unavailable"]},
)
def goods_detail(gid):
    args = load_query(schemas.MallQuery)
    student = _student_for_mall(args["student_id"])
    goods = catalogue.get_goods_for_student(gid, student)
    redeemed = catalogue.units_redeemed(student.id, [goods.id]).get(goods.id, 0) if student else 0
    level = catalogue.student_level(student) if goods.min_level is not None else None
    return respond(goods_out(catalogue.goods_item(goods, redeemed, level)))


@bp.post("/redemptions")
@api(
    "兑换商品",
    auth="token",
    body=schemas.RedeemIn,
    out=schemas.RedemptionOut,
    status=201,
    idempotent=True,
    tags=["商城"],
    errors={409: REDEEM_ERRORS},
)
def create_redemption():
    data = load_body(schemas.RedeemIn)
    order = redemption.redeem(
        data["student_id"],
        data["goods_id"],
        data["quantity"],
        key=request_key(),
        actor=g.actor,
        guardian_id=g.user_id,
        standalone=True,
    )
    return respond(redemption_out(order), 201)


@bp.get("/redemptions")
@api("兑换记录", query=schemas.RedemptionQuery, out=schemas.RedemptionPage, tags=["商城"])
def list_redemptions():
    args = load_query(schemas.RedemptionQuery)
    if args["student_id"] is not None:
        guardians.guardian_student(g.user, args["student_id"])
    orders, next_cursor = family_redemptions_page(
        g.user, args["student_id"], args["status"], args["limit"], args["cursor"]
    )
    return respond(page([redemption_out(o, with_pickup_code=False) for o in orders], next_cursor))


def family_order(order_id, *, lock=False):
    """An order of one of the user's students; NotFound for anyone else's (docs/PRODUCT.md)."""
    query = select(Redemption).where(Redemption.id == order_id)
    if lock:
        query = query.with_for_update()
    order = db.session.scalars(query).first()
    if order is None or not guardians.is_guardian(g.user.id, order.student_id):
        from school_points.platform.errors import NotFound

        raise NotFound("订单不存在")
    return order


@bp.get("/redemptions/<int:rid>")
@api("订单详情（待发放时含提货码 pickup_code）", out=schemas.RedemptionOut, tags=["商城"])
def redemption_detail(rid):
    return respond(redemption_out(family_order(rid)))


@bp.post("/redemptions/<int:rid>/cancel")
@api(
    "取消待发放订单，积分退回",
    body=schemas.CancelIn,
    out=schemas.RedemptionOut,
    tags=["商城"],
    errors={409: ["order_not_pending"]},
)
def cancel_redemption(rid):
    data = load_body(schemas.CancelIn)
    order = redemption.cancel(family_order(rid), actor=g.actor, reason=data["reason"])
    return respond(redemption_out(order))


@bp.post("/redemptions/<int:rid>/confirm")
@api(
    "老师在家长手机上输入核销码发放",
    body=schemas.VerifyCodeIn,
    out=schemas.RedemptionOut,
    idempotent=True,
    tags=["商城"],
    errors={409: ["wrong_verify_code", "order_not_pending", "already_issued"], 429: ["rate_limited"]},
    description="错误的核销码会被限流（每个订单 10 分钟内 5 次）。",
)
def confirm_redemption(rid):
    data = load_body(schemas.VerifyCodeIn)
    order = redemption.confirm_with_verify_code(family_order(rid), data["verify_code"], actor=g.actor)
    return respond(redemption_out(order))
