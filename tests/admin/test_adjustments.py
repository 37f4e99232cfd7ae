"""Manual adjustments and the points history an admin reads."""

import pytest
from sqlalchemy import select

from school_points.accounts.reconcile import find_differences
from school_points.models import AuditLog, LedgerEntry
from school_points.platform.extensions import db
from tests.admin.admin_testkit import AdminApi, db_state
from tests.conftest import balance_of, requires_pg, run_concurrently


def test_adding_points_writes_an_adjustment_entry_with_the_reason(api, make_student):
    student = make_student(balance=10)
    response = api.post(f"/students/{student.id}/adjustments", {"delta": 15, "reason": "比赛获奖"})
    assert response.status_code == 201
    assert response.json["balance"] == 25
    entry = response.json["entry"]
    assert (entry["delta"], entry["kind"], entry["note"], entry["actor_type"]) == (
        15,
        "adjustment",
        "比赛获奖",
        "admin",
    )
    assert balance_of(student.id) == 25
    assert find_differences() == []


def test_taking_points_below_zero_is_409_and_changes_nothing(api, make_student):
    student = make_student(balance=10)
    before = db_state()
    response = api.post(f"/students/{student.id}/adjustments", {"delta": -11, "reason": "纠正"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "insufficient_points"
    assert db_state() == before
    assert balance_of(student.id) == 10


def test_taking_points_leaves_lifetime_points_alone(api, make_student):
    student = make_student(balance=30)
    api.post(f"/students/{student.id}/adjustments", {"delta": -30, "reason": "重复发放，收回"})
    detail = api.get(f"/students/{student.id}").json
    assert (detail["balance"], detail["lifetime_points"]) == (0, 30)


def test_every_adjustment_is_audit_logged(api, make_student):
    student = make_student(balance=5)
    api.post(f"/students/{student.id}/adjustments", {"delta": -5, "reason": "纠正"})
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "points.adjust")).one()
    assert entry.target_id == str(student.id)
    assert entry.campus_id == student.campus_id
    assert entry.changes["delta"] == -5 and entry.changes["reason"] == "纠正"
    assert (entry.changes["balance_before"], entry.changes["balance_after"]) == (5, 0)


@pytest.mark.parametrize(
    "body",
    [
        {"delta": 0, "reason": "零"},
        {"delta": 10**12, "reason": "太多"},
        {"delta": -(10**12), "reason": "太多"},
        {"delta": 1.5, "reason": "小数"},
        {"delta": "10", "reason": "字符串"},
        {"delta": True, "reason": "布尔"},
        {"delta": 10},
        {"delta": 10, "reason": ""},
        {"delta": 10, "reason": "长" * 256},
        {"delta": 10, "reason": "x", "kind": "birthday"},
    ],
)
def test_bad_adjustments_are_422_and_change_nothing(api, make_student, body):
    student = make_student(balance=10)
    before = db_state()
    response = api.post(f"/students/{student.id}/adjustments", body)
    assert response.status_code == 422
    assert set(response.json["error"]["details"]) & {"delta", "reason", "kind"}
    assert db_state() == before


def test_a_repeated_adjustment_with_the_same_key_counts_once(api, make_student):
    student = make_student(balance=0)
    headers = {"Idempotency-Key": "bonus-2024-06"}
    first = api.post(f"/students/{student.id}/adjustments", {"delta": 20, "reason": "奖励"}, headers=headers)
    second = api.post(f"/students/{student.id}/adjustments", {"delta": 20, "reason": "奖励"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json == first.json
    assert balance_of(student.id) == 20
    reused = api.post(f"/students/{student.id}/adjustments", {"delta": 30, "reason": "奖励"}, headers=headers)
    assert reused.status_code == 422
    assert balance_of(student.id) == 20


def test_without_a_key_two_adjustments_are_two(api, make_student):
    student = make_student()
    for _ in range(2):
        api.post(f"/students/{student.id}/adjustments", {"delta": 5, "reason": "奖励"})
    assert balance_of(student.id) == 10


def test_history_is_newest_first_and_pages(api, make_student):
    student = make_student(balance=1)
    for delta in (2, 3, 4):
        api.post(f"/students/{student.id}/adjustments", {"delta": delta, "reason": f"第{delta}次"})
    first = api.get(f"/students/{student.id}/points/history", limit=3).json
    assert [e["delta"] for e in first["items"]] == [4, 3, 2]
    assert [e["balance_after"] for e in first["items"]] == [10, 6, 3]
    rest = api.get(f"/students/{student.id}/points/history", limit=3, cursor=first["next_cursor"]).json
    assert [e["delta"] for e in rest["items"]] == [1]
    assert rest["next_cursor"] is None
    assert first["items"][0]["created_at"].endswith("+08:00")


def test_history_shows_only_that_student(api, make_student):
    a, b = make_student(balance=5), make_student(balance=7)
    items = api.get(f"/students/{a.id}/points/history").json["items"]
    assert [e["delta"] for e in items] == [5]
    assert db.session.scalars(select(LedgerEntry).where(LedgerEntry.student_id == b.id)).one().delta == 7


@requires_pg
def test_concurrent_deductions_never_drive_a_balance_below_zero(app, api, make_student):
    student_id = make_student(balance=100).id

    def deduct(n):
        response = AdminApi(app.test_client(), api.token).post(
            f"/students/{student_id}/adjustments", {"delta": -60, "reason": f"扣{n}"}
        )
        return response.status_code

    outcomes = run_concurrently(app, deduct, [1, 2, 3])
    assert sorted(outcomes) == [201, 409, 409]
    assert balance_of(student_id) == 40
    assert find_differences() == []


@requires_pg
def test_concurrent_repeats_of_one_keyed_adjustment_count_once(app, api, make_student):
    student_id = make_student().id

    def add(_):
        response = AdminApi(app.test_client(), api.token).post(
            f"/students/{student_id}/adjustments",
            {"delta": 50, "reason": "奖励"},
            headers={"Idempotency-Key": "same-click"},
        )
        return response.status_code, response.json["balance"]

    outcomes = run_concurrently(app, add, range(4))
    assert outcomes == [(201, 50)] * 4
    assert balance_of(student_id) == 50
