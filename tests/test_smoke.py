from school_points import ledger
from school_points.reconcile import find_differences


def test_health_endpoints_answer(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["database"] == "ok"


def test_seeded_student_balance_matches_ledger(make_student):
    student = make_student(balance=100)
    assert ledger.lock(student.id).balance == 100
    assert find_differences() == []
