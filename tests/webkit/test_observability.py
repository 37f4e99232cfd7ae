"""Request ids, the JSON request log, request metrics and who may read /metrics."""

import json
import logging

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from school_points.models import Notification
from school_points.people import tokens
from school_points.people.admins import create_admin
from school_points.platform.config import ConfigError, load_config
from school_points.platform.extensions import db
from school_points.platform.jsonlog import JsonFormatter
from webkit.observability import SANE_REQUEST_ID

OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def request_lines(caplog, monkeypatch):
    """The request log's records of this test. The logger is switched back on first: a logging
    configuration run earlier in this process by another test (a `fileConfig` without
    disable_existing_loggers=False) disables every logger that existed then."""
    monkeypatch.setattr(logging.getLogger("request"), "disabled", False)
    caplog.set_level(logging.INFO, logger="request")
    return lambda: [r for r in caplog.records if r.name == "request"]


def fields(record):
    return json.loads(JsonFormatter().format(record))


# --- X-Request-ID ---


def test_a_sane_request_id_is_kept_and_returned(client):
    response = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a:01.B_c"})
    assert response.headers["X-Request-ID"] == "edge-7f3a:01.B_c"


def test_without_a_request_id_one_is_made(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert SANE_REQUEST_ID.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


@pytest.mark.parametrize(
    "hostile",
    ["x" * 65, "a" * 100_000, "id with spaces", "id\"quoted'", "<script>", "ok;rm -rf", "\t", "naïve", ""],
)
def test_an_insane_request_id_is_replaced_never_echoed(client, request_lines, hostile):
    response = client.get("/healthz", headers={"X-Request-ID": hostile})
    assert response.status_code == 200
    made = response.headers["X-Request-ID"]
    assert made != hostile and SANE_REQUEST_ID.fullmatch(made)
    assert fields(request_lines()[-1])["request_id"] == made


def test_error_responses_carry_the_request_id(client):
    for response in (
        client.get("/no/such/page", headers={"X-Request-ID": "r-404"}),
        client.get("/api/v1/me", headers={"X-Request-ID": "r-401"}),
        client.post("/api/v1/auth/login", data="{", content_type="application/json", headers={"X-Request-ID": "r-400"}),
        client.delete("/healthz", headers={"X-Request-ID": "r-405"}),
    ):
        rid = response.headers["X-Request-ID"]
        assert rid == f"r-{response.status_code}"
        assert set(response.json["error"]) == {"code", "message", "details"}


def test_an_unexpected_error_still_answers_with_the_request_id(app, client, request_lines):
    def boom():
        raise RuntimeError("bug")

    app.view_functions["healthz"], saved = boom, app.view_functions["healthz"]
    try:
        response = client.get("/healthz", headers={"X-Request-ID": "r-500"})
    finally:
        app.view_functions["healthz"] = saved
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "r-500"
    assert fields(request_lines()[-1])["status"] == 500


# --- the request log ---


def test_one_json_line_per_request_with_the_route_not_the_path(client, request_lines, make_student, make_user):
    user = make_user()
    token, _ = tokens.issue("user", user.id)
    client.get("/api/v1/students/987654/points", headers={"Authorization": f"Bearer {token}", "X-Request-ID": "r1"})
    [record] = request_lines()
    line = fields(record)
    assert line["time"].endswith("Z") and line["level"] == "info" and line["logger"] == "request"
    assert line["request_id"] == "r1"
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/students/<int:sid>/points"
    assert line["status"] == 404
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert (line["actor_type"], line["actor_id"]) == ("user", user.id)
    assert line["client"] == "127.0.0.1"
    assert "987654" not in JsonFormatter().format(record)
    assert user.mp_openid not in JsonFormatter().format(record)


def test_the_log_names_a_teacher_and_an_admin_by_id(app, client, request_lines, make_user, make_teacher):
    user = make_user()
    teacher = make_teacher(user=user)
    token, _ = tokens.issue("user", user.id)
    client.get("/api/v1/teacher/classes", headers={"Authorization": f"Bearer {token}"})
    admin = create_admin("obs-admin", "a-long-password-1")
    db.session.commit()
    admin_token, _ = tokens.issue("admin", admin.id)
    app.test_client().get("/api/admin/v1/goods", headers={"Authorization": f"Bearer {admin_token}"})
    teacher_line, admin_line = (fields(r) for r in request_lines())
    assert (teacher_line["actor_type"], teacher_line["actor_id"], teacher_line["status"]) == (
        "teacher",
        teacher.id,
        200,
    )
    assert (admin_line["actor_type"], admin_line["actor_id"], admin_line["status"]) == ("admin", admin.id, 200)
    assert "obs-admin" not in json.dumps(admin_line)


def test_an_unknown_path_is_logged_without_its_path(client, request_lines):
    client.get("/wp-admin/setup.php?openid=secret-openid")
    line = fields(request_lines()[-1])
    assert line["route"] is None and line["status"] == 404
    assert "wp-admin" not in json.dumps(line) and "secret-openid" not in json.dumps(line)


def test_the_client_is_the_address_the_trusted_proxy_saw(app, client, request_lines, monkeypatch):
    from wsgi import create_app

    behind = create_app({**app.config, "TRUSTED_PROXY_COUNT": 1})
    behind.test_client().get(
        "/healthz", headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.20"}, environ_base={"REMOTE_ADDR": "10.0.0.1"}
    )
    assert fields(request_lines()[-1])["client"] == "198.51.100.20"


def test_request_log_can_be_turned_off(app, client, request_lines, monkeypatch):
    from wsgi import create_app

    quiet = create_app({**app.config, "REQUEST_LOG": False})
    response = quiet.test_client().get("/healthz", headers={"X-Request-ID": "still-here"})
    assert response.headers["X-Request-ID"] == "still-here"
    assert request_lines() == []


def test_a_log_format_other_than_json_or_text_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(ConfigError, match="LOG_FORMAT"):
        load_config(str(tmp_path))


def test_extra_fields_and_tracebacks_stay_on_one_json_line():
    try:
        raise ValueError("line one\nline two")
    except ValueError:
        record = logging.getLogger("x").makeRecord("x", logging.ERROR, "f", 1, "failed %s", ("job",), True)
        import sys

        record.exc_info = sys.exc_info()
    record.job = "deliver"
    text = JsonFormatter().format(record)
    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "failed job" and line["job"] == "deliver" and "line two" in line["exc"]


# --- request metrics ---


def requests_counted(route, status, method="GET"):
    labels = {"route": route, "method": method, "status": str(status)}
    return REGISTRY.get_sample_value("school_points_http_requests_total", labels) or 0


def test_requests_are_counted_by_route_and_status(client):
    before = requests_counted("/healthz", 200), requests_counted("<unmatched>", 404)
    latency_before = (
        REGISTRY.get_sample_value(
            "school_points_http_request_duration_seconds_count", {"route": "/healthz", "method": "GET"}
        )
        or 0
    )
    for _ in range(3):
        client.get("/healthz")
    client.get("/nothing/here/42")
    assert requests_counted("/healthz", 200) - before[0] == 3
    assert requests_counted("<unmatched>", 404) - before[1] == 1
    latency = REGISTRY.get_sample_value(
        "school_points_http_request_duration_seconds_count", {"route": "/healthz", "method": "GET"}
    )
    assert latency - latency_before == 3


def test_a_made_up_method_is_counted_as_other(client):
    before = requests_counted("<unmatched>", 405, method="OTHER")
    client.open("/healthz", method="BREW")
    assert requests_counted("<unmatched>", 405, method="OTHER") - before == 1


# --- /metrics: who may read it ---


def scrape(app, client, **kwargs):
    for collector in app.extensions["metrics_collectors"]:
        getattr(collector, "forget", lambda: None)()
    return client.get("/metrics", **kwargs)


def test_without_a_token_loopback_reads_the_metrics(app, client):
    response = scrape(app, client)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    assert "school_points_http_requests_total" in response.text


def test_without_a_token_nobody_else_sees_the_metrics(app, client):
    outside = scrape(app, client, environ_base=OUTSIDE)
    assert outside.status_code == 404 and outside.json["error"]["code"] == "not_found"
    # nginx on the same machine connects from 127.0.0.1 but says who its client was
    proxied = scrape(app, client, headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        "Bearer ",
        "Basic czNjcjN0",
        "Bearer " + "s3cr3t-metrics" * 1000,
        "Bearer s3cr3t-metricz",
    ],
)
def test_with_a_token_only_the_right_bearer_reads_the_metrics(app, client, monkeypatch, authorization):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cr3t-metrics")
    headers = {"Authorization": authorization} if authorization else {}
    response = scrape(app, client, headers=headers)  # from loopback too: the token is required
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "s3cr3t" not in response.text


def test_the_right_token_reads_the_metrics_from_anywhere(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cr3t-metrics")
    response = scrape(app, client, headers={"Authorization": "Bearer s3cr3t-metrics"}, environ_base=OUTSIDE)
    assert response.status_code == 200


def test_metrics_off_means_no_endpoint(app):
    from wsgi import create_app

    off = create_app({**app.config, "METRICS_ENABLED": False})
    assert off.test_client().get("/metrics").status_code == 404


# --- what the database says ---


def samples(text, name):
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                yield tuple(sorted(sample.labels.items())), sample.value


def test_outbox_rows_and_ledger_entries_are_counted_from_the_database(app, client, make_student):
    make_student(balance=100)
    make_student(balance=50)
    for i, (kind, status) in enumerate([("redeemed", "sent"), ("redeemed", "sent"), ("issued", "failed")]):
        db.session.add(Notification(kind=kind, status=status, dedupe_key=f"obs-{i}"))
    db.session.commit()
    text = scrape(app, client).text
    outbox = dict(samples(text, "school_points_notifications"))
    assert outbox == {
        (("kind", "issued"), ("status", "failed")): 2 - 1,
        (("kind", "redeemed"), ("status", "sent")): 2,
    }
    assert dict(samples(text, "school_points_ledger_entries")) == {(("kind", "adjustment"),): 2}
    assert dict(samples(text, "school_points_data_up")) == {(): 1}


def test_the_database_figures_are_cached_for_a_moment(app, client, make_student):
    make_student(balance=100)
    scrape(app, client)
    make_student(balance=100)
    text = client.get("/metrics").text  # no forget(): within the cache's lifetime
    assert dict(samples(text, "school_points_ledger_entries")) == {(("kind", "adjustment"),): 1}
