"""Goods in the points mall, as admins manage them: add, edit, restock, take off the shelf.

Stock edits lock the goods row (the last lock in the house order) and keep
`stock_received` consistent: every unit put on sale or taken away moves it too, so
`points check` (stock == stock_received - units in live orders) keeps holding.
"""

from sqlalchemy import Select, or_, select

from school_points.models import Goods
from school_points.platform.clock import utcnow
from school_points.platform.errors import DomainError, Forbidden, NotFound, ValidationFailed
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.scoping import MAX_ID, campus_filter_id, campus_for_write


class StockChanged(DomainError):
    code, message = "stock_changed", "库存已变化，请核对后重新填写"


EDITABLE = ("name", "description", "image_url", "points", "limit_per_student", "on_shelf", "sort", "verify_code")
EDITABLE += ("min_level",)  # the member level needed to redeem (docs/PRODUCT.md, member levels)


def list_goods_query(scope, *, campus_id=None, on_shelf=None) -> Select:
    """Goods the admin may see: its campus's and the all-campus goods; deleted ones never."""
    query = select(Goods).where(Goods.deleted.is_(False))
    if not scope.is_super:
        query = query.where(or_(Goods.campus_id == scope.campus_id, Goods.campus_id.is_(None)))
    if campus_id is not None:
        campus_filter_id(scope, campus_id)
        query = query.where(Goods.campus_id == campus_id)
    if on_shelf is not None:
        query = query.where(Goods.on_shelf.is_(on_shelf))
    return query


def get_goods(goods_id, scope, *, lock=False) -> Goods:
    """Goods the admin may see (as listed) by id, or NotFound."""
    if not isinstance(goods_id, int) or not 0 < goods_id <= MAX_ID:
        raise NotFound("商品不存在", code="goods_not_found")
    query = list_goods_query(scope).where(Goods.id == goods_id)
    if lock:  # fresh values under the lock, not what this session may have cached
        query = query.with_for_update().execution_options(populate_existing=True)
    goods = db.session.scalars(query).first()
    if goods is None:
        raise NotFound("商品不存在", code="goods_not_found")
    return goods


def create_goods(data, *, scope, actor) -> Goods:
    """Put new goods in the mall; the verify code is required, stock counts as received."""
    if not data.get("verify_code"):
        raise ValidationFailed(details={"verify_code": ["缺少必填字段"]})
    goods = Goods(campus_id=campus_for_write(scope, data.get("campus_id"), allow_all=True))
    for field in EDITABLE:
        if field in data:
            setattr(goods, field, data[field])
    goods.stock = goods.stock_received = data.get("stock", 0)
    db.session.add(goods)
    db.session.flush()
    audit.record(actor, "goods.create", "goods", goods.id, campus_id=goods.campus_id, changes=_snapshot(goods))
    return goods


def update_goods(goods_id, data, *, scope, actor, expected_stock=None) -> Goods:
    """Edit goods; a new stock figure moves stock_received by the same amount, under the row lock.

    `expected_stock`: the stock the editor saw when they typed a new figure (a form); if orders
    or a cancellation changed it since, nothing is changed (StockChanged), so their edit never
    silently undoes those units."""
    goods = get_goods(goods_id, scope, lock=True)
    _require_own(goods, scope)
    if "stock" in data and expected_stock is not None and goods.stock != expected_stock:
        raise StockChanged(details={"stock": [f"库存已变为 {goods.stock}（期间有兑换或取消），请核对后重新填写"]})
    before = _snapshot(goods)
    for field in EDITABLE:
        if field in data:
            setattr(goods, field, data[field])
    if "campus_id" in data:
        goods.campus_id = campus_for_write(scope, data["campus_id"], allow_all=True)
    if "stock" in data:
        goods.stock_received += data["stock"] - goods.stock
        goods.stock = data["stock"]
    goods.updated_at = utcnow()
    db.session.flush()
    after = _snapshot(goods)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    audit.record(actor, "goods.update", "goods", goods.id, campus_id=goods.campus_id, changes=changed)
    return goods


def delete_goods(goods_id, *, scope, actor) -> Goods:
    """Soft delete: off the shelf and out of every list; orders keep their snapshot."""
    goods = get_goods(goods_id, scope, lock=True)
    _require_own(goods, scope)
    goods.deleted = True
    goods.on_shelf = False
    goods.updated_at = utcnow()
    db.session.flush()
    audit.record(actor, "goods.delete", "goods", goods.id, campus_id=goods.campus_id)
    return goods


def _require_own(goods, scope):
    # All-campus goods are listed to campus admins (their students buy them) but belong to the school.
    if goods.campus_id is None and not scope.is_super:
        raise Forbidden("全校区商品只能由总管理员修改", code="super_admin_required")


def _snapshot(goods):
    return {field: getattr(goods, field) for field in (*EDITABLE, "stock", "stock_received", "campus_id")}
