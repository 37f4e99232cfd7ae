"""商品: the mall's goods as staff manage them. A list (filters: campus, on shelf) and a form to
create or edit goods with every field of the admin API's goods body, an image upload (the API's
upload service and checks), the shelf switch and the sort order. Stock edits go through the same
service as the API (`mall.goods.update_goods`, under the goods row's lock)."""

import uuid

from flask import current_app, render_template, request
from sqlalchemy import select

from school_points.mall import goods as goods_service
from school_points.media import uploads
from school_points.models import Campus, Goods
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.school import audit
from staffkit.schemas import GoodsIn, GoodsPatch, GoodsQuery

from . import bp, formkeys
from .forms import Form
from .kit import done, paged
from .session import staff_page

SHELF_CHOICES = [("true", "已上架"), ("false", "已下架")]


def campus_names(scope):
    """{id: name} of the campuses the admin may see (a school has a handful)."""
    return dict(db.session.execute(scope.filter(select(Campus.id, Campus.name), Campus.id)).all())


@bp.app_template_filter("goods_image")
def goods_image(url):
    """Where the console shows a goods image from: our own uploads by their path on this host
    (the Content-Security-Policy allows images from here only); anything else is not shown."""
    shown = uploads.shown_media([url], "") if url else []
    return shown[0] if shown else ""


@bp.get("/goods")
@staff_page
def goods_list(staff):
    filters = Form(GoodsQuery, request.args, load=True)
    page = None
    if filters.valid:
        wanted = {k: v for k, v in filters.data.items() if k not in ("limit", "cursor")}
        if "on_shelf" in wanted:
            wanted["on_shelf"] = wanted["on_shelf"] == "true"
        page = paged(goods_service.list_goods_query(staff.scope, **wanted), Goods.id)
    return render_template(
        "console/goods/list.html",
        filters=filters,
        page=page,
        campuses=campus_names(staff.scope),
        shelf_choices=SHELF_CHOICES,
    )


@bp.get("/goods/new")
@staff_page
def goods_new(staff):
    form = Form(GoodsIn, load=False, initial={"on_shelf": True, "sort": 0, "stock": 0})
    return _form_page(staff, form, None)


@bp.post("/goods/new")
@staff_page
def goods_create(staff):
    form_key = request.form.get("form_key", "")
    if (outcome := formkeys.replayed(staff, form_key, "goods.create")) is not None:
        return done(outcome["message"], "console.goods_edit", goods_id=outcome["goods_id"])
    form, image_error = _submitted(staff)
    if form.valid and not image_error:
        claim = formkeys.claim(staff, form_key, "goods.create")
        if claim.replay is not None:
            return done(claim.replay["message"], "console.goods_edit", goods_id=claim.replay["goods_id"])
        try:
            goods = goods_service.create_goods(form.data, scope=staff.scope, actor=staff.actor)
        except DomainError as exc:
            db.session.rollback()
            form.fail_with(exc)
        else:
            message = f"已新建商品「{goods.name}」"
            claim.remember({"message": message, "goods_id": goods.id})
            db.session.commit()
            return done(message, "console.goods_edit", goods_id=goods.id)
    return _form_page(staff, form, None, status=422)


@bp.get("/goods/<int:goods_id>")
@staff_page
def goods_edit(staff, goods_id):
    goods = goods_service.get_goods(goods_id, staff.scope)
    initial = {field: getattr(goods, field) for field in (*goods_service.EDITABLE, "stock", "campus_id")}
    return _form_page(staff, Form(GoodsIn, load=False, initial=initial), goods)


@bp.post("/goods/<int:goods_id>")
@staff_page
def goods_update(staff, goods_id):
    goods = goods_service.get_goods(goods_id, staff.scope)
    form, image_error = _submitted(staff)
    if form.valid and not image_error:
        data = dict(form.data)
        data.setdefault("limit_per_student", None)  # an emptied box: no limit
        data.setdefault("min_level", None)  # an emptied box: every level
        if staff.is_super:
            data.setdefault("campus_id", None)  # 全部校区
        else:
            data.pop("campus_id", None)
        seen = _int(request.form.get("stock_seen"))
        if "stock" in data and data["stock"] == seen:
            del data["stock"]  # left as it was: never undo the orders placed while the form was open
        try:
            goods = goods_service.update_goods(
                goods.id, data, scope=staff.scope, actor=staff.actor, expected_stock=seen
            )
        except DomainError as exc:
            db.session.rollback()
            if exc.kind in ("forbidden", "not_found"):
                raise
            form.fail_with(exc)
        else:
            db.session.commit()
            return done(f"已保存商品「{goods.name}」", "console.goods_edit", goods_id=goods.id)
    db.session.refresh(goods)
    return _form_page(staff, form, goods, status=422)


@bp.post("/goods/<int:goods_id>/shelf")
@staff_page
def goods_shelf(staff, goods_id):
    goods = goods_service.get_goods(goods_id, staff.scope)
    form = Form(GoodsPatch, only=("on_shelf",), partial=True)
    goods = goods_service.update_goods(goods.id, form.data, scope=staff.scope, actor=staff.actor)
    db.session.commit()
    return done(f"「{goods.name}」已{'上架' if goods.on_shelf else '下架'}", "console.goods_list")


def _submitted(staff):
    """The posted form loaded through GoodsIn, after storing an attached image (its own unit of
    work, as the API's upload is: the form sent again keeps it). Returns (form, image error)."""
    formdata = request.form.copy()
    if formdata.get("remove_image"):
        formdata["image_url"] = ""
    image_error = ""
    file = request.files.get("image")
    if file is not None and file.filename:
        try:
            stored = uploads.store_admin_upload(staff.admin.id, file.stream)
        except DomainError as exc:
            db.session.rollback()
            image_error = (exc.details.get("file") or [exc.message])[0]
        else:
            audit.record(staff.actor, "upload.create", "upload", stored.name, campus_id=staff.scope.campus_id)
            db.session.commit()
            base = current_app.config.get("PUBLIC_BASE_URL") or request.url_root.rstrip("/")
            formdata["image_url"] = uploads.upload_url(stored.name, base)
    form = Form(GoodsIn, formdata)
    if image_error:
        form.fail(image_error, "image")
    return form, image_error


def _form_page(staff, form, goods, status=200):
    return render_template(
        "console/goods/form.html",
        form=form,
        goods=goods,
        campuses=campus_names(staff.scope),
        form_key=uuid.uuid4().hex,
    ), status if form.errors else 200


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
