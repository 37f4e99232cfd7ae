from school_points.accounts import ledger
from school_points.accounts.reconcile import find_differences


def test_health_endpoints_answer(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json["database"] == "ok"


def test_seeded_student_balance_matches_ledger(make_student):
    student = make_student(balance=100)
    assert ledger.lock(student.id).balance == 100
    assert find_differences() == []


def test_no_cookie_session_is_opened_or_set(app, client):
    """Callers sign in with tokens and WeChat signatures: no request gets a session cookie, and
    `flask.session` is Flask's read-only null session (writing to it is a bug, and says so)."""
    import flask
    import pytest

    with app.test_request_context("/healthz", headers={"Cookie": "session=forged"}):
        app.preprocess_request()
        assert isinstance(flask.session._get_current_object(), flask.sessions.NullSession)
        with pytest.raises(RuntimeError):
            flask.session["user"] = "x"
    response = client.get("/readyz", headers={"Cookie": "session=forged"})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers


def test_gunicorn_workers_freeze_what_they_loaded():
    """The Procfile's web command reads gunicorn.conf.py, whose post_worker_init moves the loaded
    app out of reach of full garbage collections (100 ms stalls under load otherwise)."""
    import gc
    import runpy
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    web = next(line for line in (root / "Procfile").read_text().splitlines() if line.startswith("web:"))
    assert "--config gunicorn.conf.py" in web
    hooks = runpy.run_path(str(root / "gunicorn.conf.py"))
    frozen_before = gc.get_freeze_count()
    try:
        hooks["post_worker_init"](worker=None)
        assert gc.get_freeze_count() > frozen_before
    finally:
        gc.unfreeze()
