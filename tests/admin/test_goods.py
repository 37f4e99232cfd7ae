"""Goods in the points mall as admins manage them."""

import pytest
from sqlalchemy import func, select

from school_points.accounts.reconcile import find_differences
from school_points.mall.redemption import redeem
from school_points.models import AuditLog, Goods, Redemption
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from tests.admin.admin_testkit import AdminApi
from tests.conftest import requires_pg, run_concurrently

NEW_GOODS = {
    "name": "卡通橡皮",
    "description": "可爱的橡皮",
    "image_url": "https://img.example/eraser.png",
    "points": 30,
    "stock": 10,
    "limit_per_student": 2,
    "on_shelf": True,
    "sort": 5,
    "verify_code": "8866",
}


def goods_row(goods_id):
    db.session.expire_all()
    return db.session.get(Goods, goods_id)


def order(student, goods, quantity=1):
    placed = redeem(
        student.id, goods.id, quantity, key=f"test-{student.id}-{goods.id}-{quantity}", actor=Actor.system()
    )
    db.session.commit()
    return placed


def test_create_goods_with_every_field(api, campus):
    response = api.post("/goods", {**NEW_GOODS, "campus_id": campus.id})
    assert response.status_code == 201
    body = response.json
    assert {k: body[k] for k in NEW_GOODS} == NEW_GOODS
    assert (body["campus_id"], body["stock_received"]) == (campus.id, 10)
    assert api.get(f"/goods/{body['id']}").json == body


def test_super_admin_may_sell_to_every_campus(api):
    response = api.post("/goods", NEW_GOODS)
    assert response.status_code == 201 and response.json["campus_id"] is None


def test_verify_code_is_required(api):
    response = api.post("/goods", {k: v for k, v in NEW_GOODS.items() if k != "verify_code"})
    assert response.status_code == 422
    assert "verify_code" in response.json["error"]["details"]
    assert db.session.scalar(select(func.count()).select_from(Goods)) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"points": 0},
        {"points": 10**12},
        {"points": "30"},
        {"stock": -1},
        {"stock": 10**12},
        {"limit_per_student": 0},
        {"name": ""},
        {"name": "名" * 65},
        {"description": "长" * 2001},
        {"image_url": "javascript:alert(1)"},
        {"verify_code": "12"},
        {"verify_code": "88 66"},
        {"on_shelf": 1},
        {"sort": 1.5},
        {"campus_id": 999},
        {"price": 3},
    ],
)
def test_bad_goods_are_422_and_nothing_is_stored(api, change):
    response = api.post("/goods", {**NEW_GOODS, **change})
    assert response.status_code == 422, response.json
    assert set(change) <= set(response.json["error"]["details"])
    assert db.session.scalar(select(func.count()).select_from(Goods)) == 0


def test_patch_changes_fields_and_is_audited(api, make_goods):
    goods = make_goods()
    response = api.patch(f"/goods/{goods.id}", {"name": "自动铅笔", "points": 40, "on_shelf": False})
    assert response.status_code == 200
    assert (response.json["name"], response.json["points"], response.json["on_shelf"]) == ("自动铅笔", 40, False)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "goods.update")).one()
    assert entry.changes["points"] == [30, 40]
    assert "stock" not in entry.changes


def test_restocking_moves_stock_received_by_the_same_amount(api, make_goods, make_student):
    goods = make_goods(points=10, stock=5)
    order(make_student(balance=100), goods, quantity=2)  # stock 3, received 5
    response = api.patch(f"/goods/{goods.id}", {"stock": 10})
    assert (response.json["stock"], response.json["stock_received"]) == (10, 12)
    response = api.patch(f"/goods/{goods.id}", {"stock": 0})
    assert (response.json["stock"], response.json["stock_received"]) == (0, 2)
    assert find_differences() == []


def test_bad_patch_changes_nothing(api, make_goods):
    goods = make_goods(stock=5)
    response = api.patch(f"/goods/{goods.id}", {"stock": -1, "name": "新名字"})
    assert response.status_code == 422
    row = goods_row(goods.id)
    assert (row.stock, row.stock_received, row.name) == (5, 5, "铅笔")


def test_delete_takes_goods_off_the_shelf_and_out_of_lists(api, make_goods):
    goods = make_goods()
    response = api.delete(f"/goods/{goods.id}")
    assert response.status_code == 200
    row = goods_row(goods.id)
    assert (row.deleted, row.on_shelf) == (True, False)
    assert api.get("/goods").json["items"] == []
    assert api.get(f"/goods/{goods.id}").status_code == 404
    assert api.delete(f"/goods/{goods.id}").status_code == 404
    assert db.session.scalars(select(AuditLog).where(AuditLog.action == "goods.delete")).one()


def test_list_filters(api, make_goods, campus, other_campus):
    a = make_goods(name="甲", campus_id=campus.id)
    b = make_goods(name="乙", campus_id=other_campus.id, on_shelf=False)
    assert [g["id"] for g in api.get("/goods").json["items"]] == [b.id, a.id]
    assert [g["id"] for g in api.get("/goods", campus_id=campus.id).json["items"]] == [a.id]
    assert [g["id"] for g in api.get("/goods", on_shelf="false").json["items"]] == [b.id]
    assert api.get("/goods", on_shelf="maybe").status_code == 422


def test_campus_admin_and_goods(campus_api, campus, other_campus, make_goods):
    mine = make_goods(name="本校", campus_id=campus.id)
    everyone = make_goods(name="全校", campus_id=None)
    theirs = make_goods(name="他校", campus_id=other_campus.id)
    assert sorted(g["id"] for g in campus_api.get("/goods").json["items"]) == sorted([mine.id, everyone.id])
    assert campus_api.get(f"/goods/{theirs.id}").status_code == 404
    assert campus_api.patch(f"/goods/{theirs.id}", {"stock": 0}).status_code == 404
    assert campus_api.delete(f"/goods/{theirs.id}").status_code == 404
    # All-campus goods are listed (their students buy them) but only a super admin edits them.
    assert campus_api.patch(f"/goods/{everyone.id}", {"stock": 0}).status_code == 403
    assert campus_api.patch(f"/goods/{mine.id}", {"stock": 3}).status_code == 200
    created = campus_api.post("/goods", NEW_GOODS)
    assert created.status_code == 201 and created.json["campus_id"] == campus.id
    assert campus_api.post("/goods", {**NEW_GOODS, "campus_id": other_campus.id}).status_code == 422
    assert (goods_row(theirs.id).stock, goods_row(everyone.id).stock) == (10, 10)


def test_create_goods_with_idempotency_key(api):
    headers = {"Idempotency-Key": "goods-1"}
    first = api.post("/goods", NEW_GOODS, headers=headers)
    again = api.post("/goods", NEW_GOODS, headers=headers)
    assert first.status_code == again.status_code == 201 and again.json == first.json
    assert db.session.scalar(select(func.count()).select_from(Goods)) == 1


@requires_pg
def test_restock_racing_redemptions_keeps_stock_consistent(app, api, make_goods, make_student):
    goods_id = make_goods(points=1, stock=3).id
    student_ids = [make_student(name=f"学员{i}", balance=10).id for i in range(4)]

    def act(who):
        if who == "admin":
            return AdminApi(app.test_client(), api.token).patch(f"/goods/{goods_id}", {"stock": 2}).status_code
        try:
            redeem(who, goods_id, 1, key=f"race-{who}", actor=Actor.system())
            db.session.commit()
            return "pending"
        except Exception as exc:  # noqa: BLE001 - the domain error's code is the outcome
            db.session.rollback()
            return getattr(exc, "code", repr(exc))

    outcomes = run_concurrently(app, act, ["admin", *student_ids])
    assert outcomes[0] == 200
    assert set(outcomes[1:]) <= {"pending", "out_of_stock"} and "pending" in outcomes[1:]
    orders = db.session.scalar(select(func.count()).select_from(Redemption).where(Redemption.goods_id == goods_id))
    assert orders == outcomes.count("pending")  # a refused redemption left no order behind
    assert find_differences() == []  # stock == received - sold, whichever order the admin came in
    assert goods_row(goods_id).stock >= 0
