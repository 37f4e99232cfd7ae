"""Goods and redemption orders."""

from flask import g

from school_points.mall import goods as goods_service
from school_points.mall import order_desk
from school_points.models import Goods, Redemption
from staffkit.schemas import (
    CancelIn,
    DeletedOut,
    EmptyIn,
    GoodsIn,
    GoodsOut,
    GoodsPage,
    GoodsPatch,
    GoodsQuery,
    RedemptionOut,
    RedemptionPage,
    RedemptionQuery,
)
from webkit.api import dump, load_body
from webkit.responses import respond

from . import bp
from .kit import api, filters, listing

GOODS_NOT_FOUND = {404: ["goods_not_found"]}
# All-campus goods belong to the school: only a super admin edits or deletes them.
SCHOOL_GOODS = {403: ["super_admin_required"], **GOODS_NOT_FOUND}
ORDER_NOT_FOUND = {404: ["order_not_found"]}


@bp.get("/goods")
@api("商品列表", query=GoodsQuery, out=GoodsPage, tags=["商品"], errors={404: ["campus_not_found"]})
def list_goods():
    args = filters(GoodsQuery)
    if "on_shelf" in args:
        args["on_shelf"] = args["on_shelf"] == "true"
    return listing(goods_service.list_goods_query(g.scope, **args), Goods.id, GoodsOut())


@bp.post("/goods")
@api("新建商品（不填校区：全部校区）", body=GoodsIn, out=GoodsOut, status=201, idempotent=True, tags=["商品"])
def create_goods():
    goods = goods_service.create_goods(load_body(GoodsIn), scope=g.scope, actor=g.actor)
    return respond(dump(GoodsOut, goods), 201)


@bp.get("/goods/<int:goods_id>")
@api("商品详情", out=GoodsOut, tags=["商品"], errors=GOODS_NOT_FOUND)
def get_goods(goods_id):
    return respond(dump(GoodsOut, goods_service.get_goods(goods_id, g.scope)))


@bp.patch("/goods/<int:goods_id>")
@api("修改商品（库存改动同步入库总数）", body=GoodsPatch, out=GoodsOut, tags=["商品"], errors=SCHOOL_GOODS)
def update_goods(goods_id):
    data = load_body(GoodsPatch, partial=True)
    return respond(dump(GoodsOut, goods_service.update_goods(goods_id, data, scope=g.scope, actor=g.actor)))


@bp.delete("/goods/<int:goods_id>")
@api("删除商品（下架并从列表中移除；订单保留快照）", out=DeletedOut, tags=["商品"], errors=SCHOOL_GOODS)
def delete_goods(goods_id):
    goods_service.delete_goods(goods_id, scope=g.scope, actor=g.actor)
    return respond({"id": goods_id, "deleted": True})


@bp.get("/redemptions")
@api("兑换订单列表", query=RedemptionQuery, out=RedemptionPage, tags=["兑换订单"], errors={404: ["campus_not_found"]})
def list_redemptions():
    args = filters(RedemptionQuery)
    return listing(order_desk.list_orders_query(g.scope, **args), Redemption.id, RedemptionOut())


@bp.get("/redemptions/<int:order_id>")
@api("兑换订单详情", out=RedemptionOut, tags=["兑换订单"], errors=ORDER_NOT_FOUND)
def get_redemption(order_id):
    return respond(dump(RedemptionOut, order_desk.get_order(order_id, g.scope)))


@bp.post("/redemptions/<int:order_id>/issue")
@api(
    "发放（管理员核销）",
    body=EmptyIn,
    out=RedemptionOut,
    idempotent=True,
    tags=["兑换订单"],
    errors={**ORDER_NOT_FOUND, 409: ["already_issued", "order_not_pending"]},
    description="请求体可以为空或 {}。",
)
def issue_redemption(order_id):
    load_body(EmptyIn)
    order = order_desk.issue_order(order_id, scope=g.scope, actor=g.actor)
    return respond(dump(RedemptionOut, order))


@bp.post("/redemptions/<int:order_id>/cancel")
@api(
    "取消订单（退回积分和库存）",
    body=CancelIn,
    out=RedemptionOut,
    idempotent=True,
    tags=["兑换订单"],
    errors={**ORDER_NOT_FOUND, 409: ["order_not_pending"]},
)
def cancel_redemption(order_id):
    data = load_body(CancelIn)
    order = order_desk.cancel_order(order_id, data["reason"], scope=g.scope, actor=g.actor)
    return respond(dump(RedemptionOut, order))
