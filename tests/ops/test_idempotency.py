"""One Idempotency-Key sent ten times at once has one effect, and every caller sees it."""

from sqlalchemy import func, select

from school_points.accounts.reconcile import find_differences
from school_points.models import LedgerEntry, Redemption
from school_points.people import tokens
from school_points.platform.extensions import db
from tests.conftest import balance_of, requires_pg, run_concurrently


@requires_pg
def test_one_key_sent_ten_times_at_once_redeems_once(app, make_student, make_guardian, make_goods):
    student = make_student(balance=100)
    token, _ = tokens.issue("user", make_guardian(student).id)
    goods = make_goods(points=30, stock=10)
    student_id, goods_id = student.id, goods.id

    def redeem(_):
        response = app.test_client().post(
            "/api/v1/redemptions",
            json={"student_id": student_id, "goods_id": goods_id},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "tap-once"},
        )
        return response.status_code, response.json.get("id")

    results = run_concurrently(app, redeem, range(10))
    assert {status for status, _ in results} == {201}
    assert len({order_id for _, order_id in results}) == 1
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 1
    assert balance_of(student_id) == 70
    assert find_differences() == []


@requires_pg
def test_one_key_sent_ten_times_at_once_adjusts_once(app, make_student):
    from school_points.people.admins import create_admin

    create_admin("boss", "boss-password")
    db.session.commit()
    student_id = make_student().id
    login = app.test_client().post("/api/admin/v1/auth/login", json={"username": "boss", "password": "boss-password"})
    headers = {"Authorization": f"Bearer {login.json['token']}", "Idempotency-Key": "click-once"}

    def adjust(_):
        response = app.test_client().post(
            f"/api/admin/v1/students/{student_id}/adjustments",
            json={"delta": 25, "reason": "表现优秀"},
            headers=headers,
        )
        return response.status_code, response.json.get("balance")

    results = run_concurrently(app, adjust, range(10))
    assert results == [(201, 25)] * 10
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "adjustment")) == 1
    assert balance_of(student_id) == 25
