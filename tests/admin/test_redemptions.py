"""Redemption orders at the admin desk: list, filter, hand out, cancel."""

from sqlalchemy import select

from school_points.accounts.reconcile import find_differences
from school_points.mall.redemption import redeem
from school_points.models import AuditLog, Goods, Redemption
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from tests.admin.admin_testkit import db_state
from tests.conftest import balance_of


def place(student, goods, quantity=1, key=None):
    order = redeem(student.id, goods.id, quantity, key=key or f"o-{student.id}-{goods.id}", actor=Actor.system())
    db.session.commit()
    return order


def status_of(order_id):
    db.session.expire_all()
    return db.session.get(Redemption, order_id).status


def test_list_and_filter_orders(api, make_student, make_goods, campus, other_campus):
    pen, book = make_goods(name="笔", points=10), make_goods(name="书", points=20)
    a, b = make_student(name="甲", balance=100), make_student(name="乙", balance=100, campus_id=other_campus.id)
    o1, o2, o3 = place(a, pen), place(a, book), place(b, pen)
    api.post(f"/redemptions/{o2.id}/issue")
    items = api.get("/redemptions").json["items"]
    assert [o["id"] for o in items] == [o3.id, o2.id, o1.id]
    assert items[2]["student"] == {"id": a.id, "name": "甲"}
    assert (items[2]["goods_name"], items[2]["total_points"], items[2]["status"]) == ("笔", 10, "pending")
    assert "pickup_code" not in items[2]
    assert [o["id"] for o in api.get("/redemptions", status="pending").json["items"]] == [o3.id, o1.id]
    assert [o["id"] for o in api.get("/redemptions", campus_id=other_campus.id).json["items"]] == [o3.id]
    assert [o["id"] for o in api.get("/redemptions", student_id=a.id, status="issued").json["items"]] == [o2.id]
    assert api.get("/redemptions", status="lost").status_code == 422
    assert api.get("/redemptions", student_id="abc").status_code == 422


def test_issue_marks_the_order_handed_out_by_the_admin(api, make_student, make_goods):
    order = place(make_student(balance=50), make_goods(points=30))
    response = api.post(f"/redemptions/{order.id}/issue")
    assert response.status_code == 200
    body = response.json
    assert (body["status"], body["issue_method"]) == ("issued", "admin")
    assert body["issued_by"]["type"] == "admin" and body["issued_at"].endswith("+08:00")
    again = api.post(f"/redemptions/{order.id}/issue")
    assert again.status_code == 409 and again.json["error"]["code"] == "already_issued"
    assert db.session.scalars(select(AuditLog).where(AuditLog.action == "redemption.issue")).one()


def test_cancel_refunds_points_and_restores_stock_once(api, make_student, make_goods):
    student, goods = make_student(balance=50), make_goods(points=30, stock=5)
    order = place(student, goods)
    response = api.post(f"/redemptions/{order.id}/cancel", {"reason": "家长要求"})
    assert response.status_code == 200
    assert (response.json["status"], response.json["cancel_reason"]) == ("cancelled", "家长要求")
    assert balance_of(student.id) == 50
    assert db.session.get(Goods, goods.id).stock == 5
    again = api.post(f"/redemptions/{order.id}/cancel", {"reason": "再来一次"})
    assert again.status_code == 409
    assert balance_of(student.id) == 50
    assert find_differences() == []
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "redemption.cancel")).one()
    assert entry.changes["reason"] == "家长要求"


def test_issued_orders_cannot_be_cancelled(api, make_student, make_goods):
    student = make_student(balance=50)
    order = place(student, make_goods(points=30))
    api.post(f"/redemptions/{order.id}/issue")
    before = db_state()
    assert api.post(f"/redemptions/{order.id}/cancel", {}).status_code == 409
    assert db_state() == before and status_of(order.id) == "issued"


def test_bad_cancel_bodies_change_nothing(api, make_student, make_goods):
    order = place(make_student(balance=50), make_goods(points=30))
    for bad in ({"reason": 5}, {"reason": "长" * 256}, {"why": "x"}):
        assert api.post(f"/redemptions/{order.id}/cancel", bad).status_code == 422
    assert api.post(f"/redemptions/{order.id}/issue", {"method": "x"}).status_code == 422
    assert status_of(order.id) == "pending"


def test_campus_admin_cannot_touch_another_campus_orders(campus_api, make_student, make_goods, other_campus):
    theirs = place(make_student(balance=50, campus_id=other_campus.id), make_goods(points=30))
    before = db_state()
    assert campus_api.get("/redemptions").json["items"] == []
    assert campus_api.get(f"/redemptions/{theirs.id}").status_code == 404
    assert campus_api.post(f"/redemptions/{theirs.id}/issue").status_code == 404
    assert campus_api.post(f"/redemptions/{theirs.id}/cancel", {"reason": "x"}).status_code == 404
    assert campus_api.get("/redemptions", campus_id=other_campus.id).status_code == 404
    assert db_state() == before and status_of(theirs.id) == "pending"


def test_campus_admin_handles_its_own_orders(campus_api, make_student, make_goods):
    order = place(make_student(balance=50), make_goods(points=30))
    assert campus_api.post(f"/redemptions/{order.id}/issue").status_code == 200


def test_unknown_order_is_404(api):
    assert api.post("/redemptions/12345/issue").status_code == 404
    assert api.post("/redemptions/99999999999999/cancel", {}).status_code == 404


def test_listing_fifty_orders_takes_a_fixed_number_of_queries(api, make_student, make_goods, count_queries):
    goods = make_goods(points=1, stock=100)
    for i in range(50):
        place(make_student(name=f"学员{i}", balance=5), goods, key=f"k{i}")
    with count_queries() as counter:
        items = api.get("/redemptions", limit=50).json["items"]
    assert len(items) == 50 and items[0]["student"]["name"] == "学员49"
    assert counter.count <= 5
