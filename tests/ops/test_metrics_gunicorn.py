"""/metrics under real gunicorn with four worker processes: whichever process answers the scrape,
the counts are every process's, exactly; and each request wrote one JSON line."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from prometheus_client.parser import text_string_to_metric_families

from school_points.models import Notification
from school_points.platform.extensions import db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-token-for-the-test"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn(app, database_url, tmp_path):
    """The app under gunicorn as the Procfile runs it (its config file), 4 processes × 2 threads."""
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"stale counts of an earlier server")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "SECRET_KEY": "test-secret",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - the server's, for its lifetime
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--config",
            "gunicorn.conf.py",
            "wsgi:create_app()",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "4",
            "--threads",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/healthz", server)
        _wait_for_every_process(base, metrics_dir, 4)
        yield base, metrics_dir, tmp_path / "gunicorn.log"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        log.close()


def _wait_for(url, server, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError("gunicorn exited at start")
        try:
            with urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def _wait_for_every_process(base, metrics_dir, processes, seconds=90):
    """Until each worker has loaded the app and served a request (each has a counter file): on a
    busy machine the first worker up would otherwise serve them all."""
    deadline = time.monotonic() + seconds
    with ThreadPoolExecutor(processes * 2) as pool:
        while time.monotonic() < deadline:
            if len(set(metrics_dir.glob("counter_*.db"))) >= processes:
                return
            list(pool.map(lambda _: get(base + "/healthz"), range(processes * 4)))
            time.sleep(0.2)
    raise AssertionError(f"not every one of the {processes} processes answered within {seconds} s")


def get(url, headers=None):
    """Status of one request on a connection of its own (so the requests spread over the processes)."""
    try:
        with urlopen(Request(url, headers=headers or {}), timeout=20) as response:
            return response.status
    except HTTPError as error:
        return error.code


def scrape(base):
    with urlopen(Request(base + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"}), timeout=20) as response:
        return response.read().decode()


def before_healthz(before):
    return before.get((("method", "GET"), ("route", "/healthz"), ("status", "200")), 0)


def values(text, name):
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_counts_from_four_processes_add_up_exactly(app, make_student, gunicorn):
    base, metrics_dir, log_path = gunicorn
    make_student(balance=10)
    make_student(balance=20)
    db.session.add(Notification(kind="redeemed", status="pending", dedupe_key="gunicorn-1"))
    db.session.commit()
    before = values(scrape(base), "school_points_http_requests_total")  # the start's own /healthz polls
    plan = ["/healthz"] * 120 + ["/api/v1/me"] * 40 + ["/nothing/7"] * 30 + ["/readyz"] * 10
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: get(base + plan[i], {"X-Request-ID": f"plan-{i}"}), range(len(plan))))
    assert statuses.count(200) == 130 and statuses.count(401) == 40 and statuses.count(404) == 30
    assert get(base + "/metrics", {"Authorization": "Bearer wrong"}) == 401

    # every process wrote its own file (the stale one of an "earlier server" was removed at start)
    pids = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("counter_*.db")}
    assert "999999" not in pids
    assert len(pids) >= 2, "the requests all went to one process: the test proves nothing"

    text = scrape(base)
    requests = values(text, "school_points_http_requests_total")

    def count(route, status):
        labels = (("method", "GET"), ("route", route), ("status", str(status)))
        return requests.get(labels, 0) - before.get(labels, 0)

    assert count("/healthz", 200) == 120
    assert count("/api/v1/me", 401) == 40
    assert count("<unmatched>", 404) == 30
    assert count("/readyz", 200) == 10
    assert count("/metrics", 401) == 1
    latency = values(text, "school_points_http_request_duration_seconds_count")
    assert latency[(("method", "GET"), ("route", "/healthz"))] == count("/healthz", 200) + before_healthz(before)
    buckets = values(text, "school_points_http_request_duration_seconds_bucket")
    assert (
        buckets[(("le", "+Inf"), ("method", "GET"), ("route", "/healthz"))]
        == latency[(("method", "GET"), ("route", "/healthz"))]
    )
    assert values(text, "school_points_ledger_entries") == {(("kind", "adjustment"),): 2}
    assert values(text, "school_points_notifications") == {(("kind", "redeemed"), ("status", "pending")): 1}

    # a second scrape counts the two before it
    again = values(scrape(base), "school_points_http_requests_total")
    assert again[(("method", "GET"), ("route", "/metrics"), ("status", "200"))] == 2

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    planned = sorted(int(line["request_id"][5:]) for line in lines if str(line["request_id"]).startswith("plan-"))
    assert planned == list(range(len(plan)))  # one line per request
    assert {line["logger"] for line in lines if str(line["request_id"]).startswith("plan-")} == {"request"}
    assert all(line["client"] == "127.0.0.1" for line in lines if line["logger"] == "request")
    assert not [line for line in log_path.read_text().splitlines() if '"GET /healthz HTTP/1.1"' in line]


def test_a_huge_request_id_is_replaced_or_refused_by_gunicorn_never_a_500(gunicorn):
    base, _, _ = gunicorn
    with urlopen(Request(base + "/healthz", headers={"X-Request-ID": "x" * 6000}), timeout=20) as response:
        assert response.status == 200
        assert len(response.headers["X-Request-ID"]) == 32
    # past gunicorn's 8 KB header limit: gunicorn refuses it itself (431), the app never sees it
    assert get(base + "/healthz", {"X-Request-ID": "x" * 20_000}) in (400, 431)


def test_the_server_hooks_start_the_metrics_afresh_and_forget_dead_workers(tmp_path, monkeypatch):
    import runpy
    from types import SimpleNamespace

    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    given = tmp_path / "metrics"
    given.mkdir()
    for name in ("counter_41.db", "histogram_41.db", "gauge_livesum_41.db", "gauge_livesum_42.db"):
        (given / name).write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(given))
    hooks["on_starting"](server=None)
    assert list(given.iterdir()) == []  # an earlier server's counts are not added to ours
    (given / "gauge_livesum_42.db").write_bytes(b"")
    (given / "counter_42.db").write_bytes(b"")
    hooks["child_exit"](server=None, worker=SimpleNamespace(pid=42))
    assert [path.name for path in given.iterdir()] == ["counter_42.db"]  # its counts stay in the sums

    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    hooks["on_starting"](server=None)
    made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert made.is_dir() and made != given
    hooks["on_exit"](server=None)
    assert not made.exists()
