"""The points mall (积分商城): what a student may see and buy."""

from typing import Any

from sqlalchemy import func, or_, select

from school_points.accounts.levels import level_number, levels_config
from school_points.models import Goods, PointsAccount, Redemption
from school_points.platform.errors import GoodsUnavailable, MallClosed, NotFound
from school_points.platform.extensions import db
from school_points.school.settings import get_settings


def mall_view(student=None) -> dict[str, Any]:
    """The mall page: open flag, poster, notice and the goods on sale for the student's campus."""
    config = get_settings()["mall"]
    view = {
        "open": bool(config["open"]),
        "poster_url": config.get("poster_url", ""),
        "notice": config.get("notice", ""),
        "goods": [],
    }
    if not view["open"]:
        return view  # a closed mall lists nothing (docs/PRODUCT.md)
    goods = db.session.scalars(_on_sale(student).order_by(Goods.sort, Goods.id)).all()
    redeemed = units_redeemed(student.id, [g.id for g in goods]) if student is not None else {}
    level = student_level(student) if any(g.min_level is not None for g in goods) else None
    view["goods"] = [goods_item(g, redeemed.get(g.id, 0), level) for g in goods]
    return view


def student_level(student) -> int | None:
    """The student's member level now (None with levels switched off); level 1 without a student."""
    config = levels_config()
    if config is None:
        return None
    lifetime = 0
    if student is not None:
        lifetime = db.session.scalar(select(PointsAccount.lifetime).where(PointsAccount.student_id == student.id)) or 0
    return level_number(lifetime, config)


def is_locked(goods, level) -> bool:
    """Goods above the student's level are locked; with levels switched off (level None) none are."""
    return goods.min_level is not None and level is not None and level < goods.min_level


def get_goods_for_student(goods_id, student) -> Goods:
    """Goods detail for a student: MallClosed when closed, NotFound when gone, GoodsUnavailable off sale."""
    return get_goods_for_sale(goods_id, student, deleted_error=NotFound)


def get_goods_for_sale(goods_id, student, *, deleted_error=GoodsUnavailable) -> Goods:
    """Goods the student may redeem now; MallClosed, NotFound (no such id) or GoodsUnavailable otherwise."""
    if not get_settings()["mall"]["open"]:
        raise MallClosed()
    goods = db.session.get(Goods, goods_id) if isinstance(goods_id, int) and not isinstance(goods_id, bool) else None
    if goods is None:
        raise NotFound("商品不存在")
    if goods.deleted:
        raise deleted_error("商品不存在" if deleted_error is NotFound else None)
    if not goods.on_shelf or not _for_campus(goods, student):
        raise GoodsUnavailable()
    return goods


def units_redeemed(student_id, goods_ids) -> dict[int, int]:
    """Units of each goods in the student's non-cancelled orders, ever (the per-student limit counts these)."""
    if not goods_ids:
        return {}
    rows = db.session.execute(
        select(Redemption.goods_id, func.sum(Redemption.quantity))
        .where(
            Redemption.student_id == student_id, Redemption.goods_id.in_(goods_ids), Redemption.status != "cancelled"
        )
        .group_by(Redemption.goods_id)
    ).all()
    return {goods_id: int(units) for goods_id, units in rows}


def goods_item(goods, redeemed_by_student=0, level=None) -> dict[str, Any]:
    """One goods as the mall lists it; `locked` when the student's `level` is below its min_level."""
    return {
        "id": goods.id,
        "name": goods.name,
        "description": goods.description,
        "image_url": goods.image_url,
        "points": goods.points,
        "stock": goods.stock,
        "limit_per_student": goods.limit_per_student,
        "campus_id": goods.campus_id,
        "redeemed_by_student": redeemed_by_student,
        "min_level": goods.min_level,
        "locked": is_locked(goods, level),
    }


def _on_sale(student):
    query = select(Goods).where(Goods.deleted.is_(False), Goods.on_shelf.is_(True))
    if student is None:
        return query.where(Goods.campus_id.is_(None))
    return query.where(or_(Goods.campus_id.is_(None), Goods.campus_id == student.campus_id))


def _for_campus(goods, student):
    return goods.campus_id is None or (student is not None and goods.campus_id == student.campus_id)
