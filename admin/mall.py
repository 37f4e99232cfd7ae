"""Goods and redemption orders."""
from flask import g

from school_points.mall import goods as goods_service
from school_points.mall import order_desk
from school_points.models import Goods, Redemption
from webkit.idempotency import idempotent
from webkit.responses import respond

from . import bp
from .helpers import body, listing, query
from .schemas import CancelIn, EmptyIn, GoodsIn, GoodsOut, GoodsQuery, RedemptionOut, RedemptionQuery


@bp.get("/goods")
def list_goods():
    filters = query(GoodsQuery())
    if "on_shelf" in filters:
        filters["on_shelf"] = filters["on_shelf"] == "true"
    return listing(goods_service.list_goods_query(g.scope, **filters), Goods.id, GoodsOut())


@bp.post("/goods")
@idempotent
def create_goods():
    goods = goods_service.create_goods(body(GoodsIn()), scope=g.scope, actor=g.actor)
    return respond(GoodsOut().dump(goods), 201)


@bp.get("/goods/<int:goods_id>")
def get_goods(goods_id):
    return respond(GoodsOut().dump(goods_service.get_goods(goods_id, g.scope)))


@bp.patch("/goods/<int:goods_id>")
def update_goods(goods_id):
    goods = goods_service.update_goods(goods_id, body(GoodsIn(), partial=True), scope=g.scope, actor=g.actor)
    return respond(GoodsOut().dump(goods))


@bp.delete("/goods/<int:goods_id>")
def delete_goods(goods_id):
    goods_service.delete_goods(goods_id, scope=g.scope, actor=g.actor)
    return respond({"id": goods_id, "deleted": True})


@bp.get("/redemptions")
def list_redemptions():
    filters = query(RedemptionQuery())
    return listing(order_desk.list_orders_query(g.scope, **filters), Redemption.id, RedemptionOut())


@bp.get("/redemptions/<int:order_id>")
def get_redemption(order_id):
    return respond(RedemptionOut().dump(order_desk.get_order(order_id, g.scope)))


@bp.post("/redemptions/<int:order_id>/issue")
@idempotent
def issue_redemption(order_id):
    body(EmptyIn())
    order = order_desk.issue_order(order_id, scope=g.scope, actor=g.actor)
    return respond(RedemptionOut().dump(order))


@bp.post("/redemptions/<int:order_id>/cancel")
@idempotent
def cancel_redemption(order_id):
    data = body(CancelIn())
    order = order_desk.cancel_order(order_id, data["reason"], scope=g.scope, actor=g.actor)
    return respond(RedemptionOut().dump(order))
