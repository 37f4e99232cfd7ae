"""Errors go to Sentry only when SENTRY_DSN is set, without personal data or secrets.

Sentry is a tiny HTTP server here that keeps the envelopes the SDK posts to it.
"""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk

from school_points.platform.queue import enqueue
from tests.jobs.conftest import run_worker, throwaway_redis  # noqa: F401 - fixtures
from tests.jobs.test_job_observability import explode
from wsgi import create_app

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"


class FakeSentry(ThreadingHTTPServer):
    """Keeps every envelope posted to it (decompressed text)."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.envelopes = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self):
        return f"http://public-key@127.0.0.1:{self.server_address[1]}/42"

    def events(self):
        """The event items of every envelope, as dicts."""
        found = []
        for envelope in self.envelopes:
            lines = envelope.splitlines()
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.envelopes.append(body.decode())
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    server = FakeSentry()
    try:
        yield server
    finally:
        client = sentry_sdk.get_client()
        if client.is_active():
            client.close(timeout=2)
        sentry_sdk.init()  # no DSN: an inactive client for whatever runs next in this process
        server.shutdown()
        server.server_close()


def app_with_a_failing_route(app, **overrides):
    failing = create_app({**app.config, **overrides})

    @failing.get("/boom")
    def boom():
        # what a failed call to WeChat's API looks like: its URL, with the query string
        raise RuntimeError(f"GET https://api.weixin.qq.com/sns/userinfo?openid={OPENID}&access_token=abc123 failed")

    return failing


def test_without_a_dsn_nothing_is_sent(app, fake_sentry):
    failing = app_with_a_failing_route(app, SENTRY_DSN="")
    response = failing.test_client().get("/boom")
    assert response.status_code == 500
    assert not sentry_sdk.get_client().is_active()
    sentry_sdk.flush(timeout=2)
    assert fake_sentry.envelopes == []


def test_an_error_in_a_route_is_reported_without_secrets_or_personal_data(app, fake_sentry):
    failing = app_with_a_failing_route(app, SENTRY_DSN=fake_sentry.dsn)
    response = failing.test_client().get(
        f"/boom?openid={OPENID}&signature=sig-4711&page=2",
        headers={"Authorization": "Bearer tok-secret-99", "X-Request-ID": "req-sentry-1", "Cookie": "a=b"},
        environ_base={"REMOTE_ADDR": "198.51.100.77"},
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=5)
    [event] = fake_sentry.events()
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["request_id"] == "req-sentry-1"
    sent = "".join(fake_sentry.envelopes)
    for secret in (OPENID, "sig-4711", "tok-secret-99", "abc123", "198.51.100.77"):
        assert secret not in sent
    assert "page=2" in sent  # what is not secret stays, to help find the bug


def test_an_error_in_a_job_is_reported(app, fake_sentry, throwaway_redis, run_worker):
    create_app({**app.config, "SENTRY_DSN": fake_sentry.dsn})  # what `flask worker` does at start
    enqueue(explode)
    run_worker()
    sentry_sdk.flush(timeout=5)
    messages = json.dumps(fake_sentry.events())
    assert "a job that fails" in messages and "RuntimeError" in messages
