"""商品: the goods list, the create and edit forms (image upload, shelf, sort), stock edits that
never undo concurrent orders, campus scope."""

import io

from sqlalchemy import func, select

from school_points.accounts.reconcile import find_differences
from school_points.mall.redemption import redeem
from school_points.models import AuditLog, Goods, Redemption, Upload
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from tests.conftest import requires_pg, run_concurrently
from tests.console.conftest import ConsoleClient
from tests.miniprogram_api.test_uploads import image_bytes

FORM_KEY = "b" * 32


def text(response):
    return response.get_data(as_text=True)


def goods_named(name):
    db.session.expire_all()
    return db.session.scalar(select(Goods).where(Goods.name == name))


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def new_goods(**changes):
    form = {"name": "贴纸", "points": "5", "stock": "20", "verify_code": "1234", "sort": "0", "on_shelf": "1"}
    form.update(changes)
    return form


def test_the_goods_list_shows_every_column_and_filters(boss, make_goods, make_campus):
    east = make_campus("东校区")
    make_goods("铅笔", points=30, stock=0, limit_per_student=2, campus_id=east.id)
    make_goods("橡皮", points=5, on_shelf=False)
    page = text(boss.get("/console/goods"))
    assert "铅笔" in page and "橡皮" in page and "东校区" in page and "全部校区" in page
    assert "0 缺货" in page and "不限" in page and "需核销码" in page and "已下架" in page
    off = text(boss.get("/console/goods?on_shelf=false"))
    assert "橡皮" in off and "铅笔" not in off
    in_east = text(boss.get(f"/console/goods?campus_id={east.id}"))
    assert "铅笔" in in_east and "橡皮" not in in_east
    assert "筛选条件有误" in text(boss.get("/console/goods?on_shelf=maybe"))


def test_creating_goods_with_an_image_stores_it_like_the_api(boss):
    form = new_goods(form_key=FORM_KEY, limit_per_student="3")
    form["image"] = (io.BytesIO(image_bytes("PNG", size=(64, 64))), "sticker.png")
    response = boss.post("/console/goods/new", form, content_type="multipart/form-data")
    assert response.status_code == 302, text(response)
    goods = goods_named("贴纸")
    assert (goods.points, goods.stock, goods.stock_received, goods.limit_per_student) == (5, 20, 20, 3)
    assert goods.on_shelf and goods.campus_id is None and goods.verify_code == "1234"
    upload = db.session.scalar(select(Upload))
    assert goods.image_url.endswith("/api/v1/uploads/" + upload.name) and upload.source == "admin"
    assert count(AuditLog, AuditLog.action == "goods.create") == 1
    assert count(AuditLog, AuditLog.action == "upload.create") == 1
    page = text(boss.get(response.headers["Location"]))
    assert "已新建商品「贴纸」" in page and f'src="/api/v1/uploads/{upload.name}"' in page


def test_a_create_form_sent_twice_creates_once(boss):
    first = boss.post("/console/goods/new", new_goods(form_key=FORM_KEY))
    again = boss.post("/console/goods/new", new_goods(form_key=FORM_KEY))
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert count(Goods) == 1


def test_a_hostile_file_is_a_field_error_and_nothing_is_created(boss):
    form = new_goods()
    form["image"] = (io.BytesIO(b"<html><script>alert(1)</script></html>"), "evil.png")
    response = boss.post("/console/goods/new", form, content_type="multipart/form-data")
    assert response.status_code == 422
    assert 'id="e-image">只能上传 JPEG、PNG 或 WebP 图片' in text(response)
    assert count(Goods) == 0 and count(Upload) == 0
    assert 'value="贴纸"' in text(response)  # what was typed stays


def test_invalid_goods_forms_show_errors_beside_fields(boss):
    response = boss.post("/console/goods/new", new_goods(name="", points="0", verify_code="12"))
    page = text(response)
    assert response.status_code == 422 and "必填" in page and "必须是 4 到 32 位字母或数字" in page
    assert 'id="e-points"' in page
    assert count(Goods) == 0


def test_editing_goods_changes_fields_and_clears_the_limit(boss, make_goods):
    goods = make_goods("铅笔", points=30, stock=10, limit_per_student=2)
    page = text(boss.get(f"/console/goods/{goods.id}"))
    assert 'value="铅笔"' in page and 'name="stock_seen" value="10"' in page
    form = new_goods(name="自动铅笔", points="35", stock="15", stock_seen="10", limit_per_student="", sort="-3")
    response = boss.post(f"/console/goods/{goods.id}", form)
    assert response.status_code == 302
    goods = goods_named("自动铅笔")
    assert (goods.points, goods.stock, goods.stock_received, goods.limit_per_student, goods.sort) == (
        35,
        15,
        15,
        None,
        -3,
    )
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "goods.update"))
    assert entry.changes["stock"] == [10, 15]


def test_an_unchanged_stock_box_never_undoes_orders_placed_meanwhile(boss, make_goods, make_student):
    goods = make_goods("铅笔", points=10, stock=10)
    boss.get(f"/console/goods/{goods.id}")  # the form shows stock 10
    student = make_student(balance=100)
    redeem(student.id, goods.id, 2, key="k1", actor=Actor.system())
    db.session.commit()
    kept = boss.post(f"/console/goods/{goods.id}", new_goods(name="铅笔", points="12", stock="10", stock_seen="10"))
    assert kept.status_code == 302
    goods = goods_named("铅笔")
    assert (goods.points, goods.stock, goods.stock_received) == (12, 8, 10)
    changed = boss.post(f"/console/goods/{goods.id}", new_goods(name="铅笔", points="12", stock="30", stock_seen="10"))
    assert changed.status_code == 422 and "库存已变为 8" in text(changed)
    assert 'name="stock_seen" value="8"' in text(changed)
    assert goods_named("铅笔").stock == 8


def test_the_shelf_switch(boss, make_goods):
    goods = make_goods("铅笔", on_shelf=True)
    boss.post(f"/console/goods/{goods.id}/shelf", {})
    assert goods_named("铅笔").on_shelf is False
    response = boss.post(f"/console/goods/{goods.id}/shelf", {"on_shelf": "1"})
    assert goods_named("铅笔").on_shelf is True
    assert "「铅笔」已上架" in text(boss.get(response.headers["Location"]))


def test_without_the_csrf_token_nothing_changes(boss, make_goods):
    goods = make_goods("铅笔", on_shelf=True)
    refused = boss.post(f"/console/goods/{goods.id}/shelf", {}, csrf=False)
    assert refused.status_code == 400 and goods_named("铅笔").on_shelf is True
    assert boss.post("/console/goods/new", new_goods(), csrf=False).status_code == 400
    assert count(Goods) == 1


def test_campus_admins_see_their_goods_and_the_schools_but_edit_only_theirs(app, make_admin, make_campus, make_goods):
    home, other = make_campus("东校区"), make_campus("西校区")
    ours, theirs, school = (
        make_goods("东区礼品", campus_id=home.id),
        make_goods("西区礼品", campus_id=other.id),
        make_goods("全校礼品"),
    )
    make_admin("local", campus_id=home.id)
    local = ConsoleClient(app.test_client())
    local.login("local")
    listed = text(local.get("/console/goods"))
    assert "东区礼品" in listed and "全校礼品" in listed and "西区礼品" not in listed and "西校区" not in listed
    assert local.get(f"/console/goods/{theirs.id}").status_code == 404
    assert local.post(f"/console/goods/{theirs.id}/shelf", {}).status_code == 404
    assert local.post(f"/console/goods/{school.id}/shelf", {}).status_code == 403
    assert goods_named("全校礼品").on_shelf is True
    created = local.post("/console/goods/new", new_goods(name="新礼品"))
    assert created.status_code == 302 and goods_named("新礼品").campus_id == home.id
    assert ours.id


def test_a_goods_name_with_markup_is_text(boss, make_goods):
    goods = make_goods("<script>alert(1)</script>")
    for path in ("/console/goods", f"/console/goods/{goods.id}"):
        page = text(boss.get(path))
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


@requires_pg
def test_a_stock_edit_racing_orders_never_oversells(app, boss, make_goods, make_student):
    goods = make_goods("铅笔", points=10, stock=5)
    goods_id = goods.id
    students = [make_student(f"学员{i}", balance=100).id for i in range(6)]
    boss.get(f"/console/goods/{goods_id}")

    def act(who):
        if who == "edit":
            form = new_goods(name="铅笔", points="10", stock="8", stock_seen="5")
            return boss.post(f"/console/goods/{goods_id}", form).status_code
        order = redeem(who, goods_id, 1, key=f"race-{who}", actor=Actor.system())
        db.session.commit()
        return order.id

    outcomes = run_concurrently(app, act, ["edit", *students])
    db.session.expire_all()
    goods = db.session.get(Goods, goods_id)
    live = db.session.scalar(
        select(func.coalesce(func.sum(Redemption.quantity), 0)).where(
            Redemption.goods_id == goods_id, Redemption.status != "cancelled"
        )
    )
    assert goods.stock >= 0 and goods.stock == goods.stock_received - live
    assert outcomes[0] in (302, 422)
    # The edit lands only if no order took a unit first (then all six fit); else it is refused.
    assert (goods.stock_received, live) == ((8, 6) if outcomes[0] == 302 else (5, 5))
    assert find_differences() == []
