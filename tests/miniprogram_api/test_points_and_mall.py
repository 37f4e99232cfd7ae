"""Balances, history, sign-in, the mall and a family's orders, over HTTP."""

from sqlalchemy import func, select

from school_points.models import Redemption
from school_points.platform.extensions import db
from school_points.school.settings import update_settings
from tests.conftest import balance_of


def test_points_show_balance_lifetime_and_expiring(family):
    mp, student = family(balance=70)
    assert mp.get(f"/students/{student.id}/points").json == {
        "balance": 70,
        "lifetime_points": 70,
        "level": None,  # levels are switched off by default
        "expiring": [],
    }


def test_history_is_newest_first_and_pages_with_a_cursor(family):
    mp, student = family(balance=10)
    for _ in range(3):
        mp.post(f"/students/{student.id}/signin")  # only the first of today's sign-ins counts
    mp.post("/redemptions", json={"student_id": student.id, "goods_id": _goods(points=5).id})
    first = mp.get(f"/students/{student.id}/points/history", limit=2).json
    assert [e["kind"] for e in first["items"]] == ["redemption", "signin"]
    assert first["next_cursor"]
    second = mp.get(f"/students/{student.id}/points/history", limit=2, cursor=first["next_cursor"]).json
    assert [e["kind"] for e in second["items"]] == ["adjustment"]
    assert second["next_cursor"] is None
    assert "+08:00" in second["items"][0]["created_at"]


def test_bad_cursor_or_limit_is_422(family):
    mp, student = family()
    assert mp.get(f"/students/{student.id}/points/history", cursor="@@").status_code == 422
    assert mp.get(f"/students/{student.id}/points/history", limit=0).status_code == 422
    assert mp.get(f"/students/{student.id}/points/history", limit="x").status_code == 422


def test_signin_twice_a_day_is_409_already_signed_in(family):
    mp, student = family(balance=0)
    first = mp.post(f"/students/{student.id}/signin")
    assert first.status_code == 200
    assert first.json == {"awarded": 1, "streak": 1, "balance": 1}
    again = mp.post(f"/students/{student.id}/signin")
    assert again.status_code == 409 and again.json["error"]["code"] == "already_signed_in"


def _goods(**kwargs):
    from school_points.models import Goods

    defaults = dict(name="铅笔", points=30, stock=10, stock_received=10, verify_code="8888")
    defaults.update(kwargs)
    goods = Goods(**defaults)
    db.session.add(goods)
    db.session.commit()
    return goods


def test_mall_lists_goods_for_the_students_campus_with_redeemed_count(family, make_campus):
    mp, student = family(balance=100)
    pencil = _goods(name="铅笔", points=30, limit_per_student=2)
    _goods(name="别校区的书", campus_id=make_campus("分校").id)
    mp.post("/redemptions", json={"student_id": student.id, "goods_id": pencil.id})
    body = mp.get("/mall", student_id=student.id).json
    assert body["open"] is True
    assert [g["name"] for g in body["goods"]] == ["铅笔"]
    assert body["goods"][0] == {
        "id": pencil.id,
        "name": "铅笔",
        "description": "",
        "image_url": "",
        "points": 30,
        "stock": 9,
        "limit_per_student": 2,
        "redeemed_by_student": 1,
        "min_level": None,
        "locked": False,
    }
    assert mp.get(f"/mall/goods/{pencil.id}").json["redeemed_by_student"] == 1


def test_redeeming_creates_a_pending_order_with_pickup_code(family):
    mp, student = family(balance=100)
    goods = _goods(points=30)
    response = mp.post("/redemptions", json={"student_id": student.id, "goods_id": goods.id, "quantity": 2})
    assert response.status_code == 201
    order = response.json
    assert (order["status"], order["total_points"], order["quantity"]) == ("pending", 60, 2)
    assert order["pickup_code"]
    assert balance_of(student.id) == 40
    detail = mp.get(f"/redemptions/{order['id']}").json
    assert detail["pickup_code"] == order["pickup_code"]
    listed = mp.get("/redemptions", student_id=student.id, status="pending").json
    assert [o["id"] for o in listed["items"]] == [order["id"]]
    assert listed["items"][0]["pickup_code"] is None  # the code is shown on the order page only


def test_redemption_refusals_are_409_with_their_codes_and_change_nothing(family):
    mp, student = family(balance=50)
    costly, empty, limited = _goods(points=60), _goods(stock=0, stock_received=0), _goods(points=1, limit_per_student=1)
    mp.post("/redemptions", json={"student_id": student.id, "goods_id": limited.id})
    for goods, code in ((costly, "insufficient_points"), (empty, "out_of_stock"), (limited, "limit_reached")):
        response = mp.post("/redemptions", json={"student_id": student.id, "goods_id": goods.id})
        assert (response.status_code, response.json["error"]["code"]) == (409, code)
    assert balance_of(student.id) == 49
    update_settings({"mall": {"open": False}})
    db.session.commit()
    closed = mp.post("/redemptions", json={"student_id": student.id, "goods_id": costly.id})
    assert closed.json["error"]["code"] == "mall_closed"
    assert mp.get("/mall").json["goods"] == []


def test_same_idempotency_key_replays_the_first_order(family):
    mp, student = family(balance=100)
    goods = _goods(points=30)
    body = {"student_id": student.id, "goods_id": goods.id}
    first = mp.post("/redemptions", json=body, key="k-1")
    again = mp.post("/redemptions", json=body, key="k-1")
    assert again.status_code == 201 and again.json == first.json
    assert balance_of(student.id) == 70
    reused = mp.post("/redemptions", json={**body, "quantity": 2}, key="k-1")
    assert (reused.status_code, reused.json["error"]["code"]) == (422, "idempotency_key_reused")


def test_cancel_refunds_and_restores_stock(family):
    mp, student = family(balance=100)
    goods = _goods(points=30, stock=5, stock_received=5)
    order = mp.post("/redemptions", json={"student_id": student.id, "goods_id": goods.id}).json
    response = mp.post(f"/redemptions/{order['id']}/cancel", json={"reason": "不想要了"})
    assert response.status_code == 200 and response.json["status"] == "cancelled"
    assert balance_of(student.id) == 100
    db.session.refresh(goods)
    assert goods.stock == 5
    assert mp.post(f"/redemptions/{order['id']}/cancel").json["error"]["code"] == "order_not_pending"


def test_confirm_with_the_verify_code_issues_the_order(family):
    mp, student = family(balance=100)
    order = mp.post("/redemptions", json={"student_id": student.id, "goods_id": _goods(verify_code="2468").id}).json
    wrong = mp.post(f"/redemptions/{order['id']}/confirm", json={"verify_code": "1111"})
    assert (wrong.status_code, wrong.json["error"]["code"]) == (409, "wrong_verify_code")
    right = mp.post(f"/redemptions/{order['id']}/confirm", json={"verify_code": "2468"})
    assert right.status_code == 200
    assert (right.json["status"], right.json["issue_method"]) == ("issued", "verify_code")


def test_wrong_verify_codes_are_rate_limited(family):
    mp, student = family(balance=100)
    order = mp.post("/redemptions", json={"student_id": student.id, "goods_id": _goods().id}).json
    statuses = [
        mp.post(f"/redemptions/{order['id']}/confirm", json={"verify_code": f"00{i}"}).status_code for i in range(6)
    ]
    assert statuses == [409] * 5 + [429]
    assert mp.post(f"/redemptions/{order['id']}/confirm", json={"verify_code": "8888"}).status_code == 429


def test_redeem_for_someone_elses_student_is_404_and_changes_nothing(family, make_student):
    mp, _ = family()
    stranger = make_student(name="别人家", balance=100)
    response = mp.post("/redemptions", json={"student_id": stranger.id, "goods_id": _goods().id})
    assert response.status_code == 404
    assert balance_of(stranger.id) == 100
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0


def test_invalid_bodies_are_422_naming_fields(family):
    mp, student = family()
    response = mp.post("/redemptions", json={"student_id": "1", "goods_id": 2**40, "quantity": 0, "extra": 1})
    assert response.status_code == 422
    assert set(response.json["error"]["details"]) == {"student_id", "goods_id", "quantity", "extra"}
    assert mp.post("/redemptions", data="{not json", content_type="application/json").status_code == 400
