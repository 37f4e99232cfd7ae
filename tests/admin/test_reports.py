"""The summary report and the audit log."""

from datetime import timedelta

from school_points.accounts import ledger
from school_points.mall.redemption import cancel, redeem
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.school.actors import Actor


def earn(student, points, kind):
    account = ledger.lock(student.id)
    ledger.credit(account, points, kind, key=f"{kind}:{student.id}:{points}")
    db.session.commit()


def spend(student, goods, key):
    order = redeem(student.id, goods.id, 1, key=key, actor=Actor.system())
    db.session.commit()
    return order


def school_with_activity(make_student, make_goods, campus, other_campus):
    a = make_student(name="甲", balance=100)  # adjustment +100
    b = make_student(name="乙", balance=40, campus_id=other_campus.id)  # adjustment +40
    earn(a, 5, "checkin")
    earn(a, 2, "evaluation")
    earn(b, 20, "birthday")
    goods = make_goods(points=30)
    spend(a, goods, "o1")
    spend(b, goods, "o2")
    cancel(spend(a, goods, "o3"), actor=Actor.system(), reason="测试")
    account = ledger.lock(a.id)
    ledger.debit(account, 7, "expiry", key="expiry:test")
    db.session.commit()


def test_summary_counts_points_and_orders(api, make_student, make_goods, campus, other_campus):
    school_with_activity(make_student, make_goods, campus, other_campus)
    api.patch("/settings", {"point_value_fen": 5})
    today = local_today().isoformat()
    report = api.get("/reports/summary", **{"from": today, "to": today}).json
    by_kind = report["issued"]["by_kind"]
    assert (by_kind["adjustment"], by_kind["checkin"], by_kind["evaluation"], by_kind["birthday"]) == (140, 5, 2, 20)
    assert by_kind["like"] == 0
    assert report["issued"]["total"] == 167
    assert (report["spent"], report["refunded"], report["expired"]) == (60, 30, 7)
    assert report["outstanding"] == {"points": 100, "value_fen": 500, "value_yuan": "5.00"}
    assert report["orders"] == {
        "pending": {"count": 2, "points": 60},
        "issued": {"count": 0, "points": 0},
        "cancelled": {"count": 1, "points": 30},
    }


def test_summary_for_one_campus(api, make_student, make_goods, campus, other_campus):
    school_with_activity(make_student, make_goods, campus, other_campus)
    report = api.get("/reports/summary", campus_id=campus.id).json
    assert report["campus_id"] == campus.id
    assert report["issued"]["total"] == 107
    assert (report["spent"], report["expired"]) == (30, 7)
    assert report["outstanding"] == {"points": 70, "value_fen": 70, "value_yuan": "0.70"}
    assert report["orders"]["pending"] == {"count": 1, "points": 30}


def test_days_outside_the_range_count_nothing_but_outstanding_stays(
    api, make_student, make_goods, campus, other_campus
):
    school_with_activity(make_student, make_goods, campus, other_campus)
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    report = api.get("/reports/summary", **{"from": "2020-01-01", "to": yesterday}).json
    assert report["issued"]["total"] == 0 and report["spent"] == 0
    assert report["orders"]["pending"]["count"] == 0
    assert report["outstanding"]["points"] == 100


def test_default_range_is_this_month(api):
    report = api.get("/reports/summary").json
    today = local_today()
    assert (report["from"], report["to"]) == (today.replace(day=1).isoformat(), today.isoformat())


def test_bad_report_queries_are_422(api):
    assert api.get("/reports/summary", **{"from": "2024-02-30"}).status_code == 422
    response = api.get("/reports/summary", **{"from": "2024-03-01", "to": "2024-02-01"})
    assert response.status_code == 422 and "from" in response.json["error"]["details"]
    assert api.get("/reports/summary", campus="1").status_code == 422
    for edge in ({"from": "9999-12-31"}, {"from": "0001-01-01", "to": "0001-01-02"}, {"to": "1999-12-31"}):
        assert api.get("/reports/summary", **edge).status_code == 422, edge
    assert api.get("/reports/summary", campus_id=999).status_code == 404


def test_campus_admin_reports_on_its_own_campus_only(campus_api, make_student, make_goods, campus, other_campus):
    school_with_activity(make_student, make_goods, campus, other_campus)
    report = campus_api.get("/reports/summary").json
    assert report["campus_id"] == campus.id and report["outstanding"]["points"] == 70
    assert campus_api.get("/reports/summary", campus_id=other_campus.id).status_code == 404


def test_summary_is_a_handful_of_queries_however_big_the_school(api, make_student, count_queries):
    for i in range(30):
        earn(make_student(name=f"学员{i}", balance=3), 2, "checkin")
    with count_queries() as counter:
        report = api.get("/reports/summary").json
    assert report["issued"]["total"] == 150
    # The ledger's sums: the valid per-day totals, then the ledger for the other days; on
    # PostgreSQL the first read of the month also rolls up its closed days (6 statements a month).
    rolling_up = 6 if db.engine.dialect.name == "postgresql" else 0
    assert counter.count <= 8 + rolling_up


# ------------------------------------------------------------------ audit log


def test_audit_log_lists_who_changed_what_newest_first(api, make_student):
    student = make_student(balance=10)
    api.post(f"/students/{student.id}/adjustments", {"delta": 5, "reason": "奖励"})
    api.patch("/settings", {"like": {"points": 2}})
    items = api.get("/audit-log").json["items"]
    assert [e["action"] for e in items] == ["settings.update", "points.adjust"]
    assert items[1]["actor"]["type"] == "admin"
    assert items[1]["target_id"] == str(student.id)
    assert items[1]["changes"]["reason"] == "奖励"
    assert items[0]["created_at"].endswith("+08:00")
    only = api.get("/audit-log", action="points.adjust").json["items"]
    assert [e["action"] for e in only] == ["points.adjust"]
    assert api.get("/audit-log", actor="me").status_code == 422
    actor_id = items[1]["actor"]["id"]
    by_actor = api.get("/audit-log", actor_type="admin", actor_id=actor_id).json["items"]
    assert len(by_actor) == 2 and api.get("/audit-log", actor_type="teacher").json["items"] == []
    today = items[0]["created_at"][:10]
    assert len(api.get("/audit-log", **{"from": today, "to": today}).json["items"]) == 2
    assert api.get("/audit-log", **{"from": "2099-01-01"}).json["items"] == []
    backwards = api.get("/audit-log", **{"from": "2026-02-01", "to": "2026-01-01"})
    assert backwards.status_code == 422 and "from" in backwards.json["error"]["details"]


def test_campus_admin_sees_only_its_campus_audit_entries(api, campus_api, make_student, other_campus):
    mine, theirs = make_student(name="本校"), make_student(name="他校", campus_id=other_campus.id)
    api.post(f"/students/{mine.id}/adjustments", {"delta": 5, "reason": "本校"})
    api.post(f"/students/{theirs.id}/adjustments", {"delta": 5, "reason": "他校"})
    items = campus_api.get("/audit-log").json["items"]
    assert [e["changes"]["reason"] for e in items] == ["本校"]
