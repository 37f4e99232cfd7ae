"""The deploy kit's nginx site (deploy/nginx/school-points.conf) in front of the project's gunicorn.

Debian's nginx runs the shipped site file, rendered with test values (tests/deploy/stack.py), on
free loopback ports with a self-signed certificate; behind it runs gunicorn with gunicorn.conf.py
and TRUSTED_PROXY_COUNT=1 on this run's database. Requests go through nginx as a parent's phone
would, from 127.0.0.2 or 127.0.0.3 when the client's address matters.
"""

import io
import json
import os
import uuid

import pytest
from PIL import Image
from sqlalchemy import select

from school_points.models import AuditLog
from school_points.people.admins import create_admin
from school_points.platform.config import load_config
from school_points.platform.extensions import db
from tests.deploy import stack

PASSWORD = "correct-horse-9"
# The test gunicorn: 1 process x 4 threads, so rate limits held in process memory (the SQLite run
# has no Redis) are one count, and 4 slow clients are enough to hold every thread.
WORKERS, THREADS = 1, 4


def services_required() -> bool:
    """As scripts/test.sh decides: REQUIRE_SERVICES, else CI, makes a missing service a failure."""
    value = os.environ.get("REQUIRE_SERVICES") or os.environ.get("CI") or ""
    return value.strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def site(_app, database_url, tmp_path_factory):
    """nginx with the deploy kit's site in front of gunicorn; both stopped after the module."""
    if not stack.NGINX.exists():
        message = f"{stack.NGINX} is not installed (Debian package nginx; .ci/run installs it)"
        if services_required():
            pytest.fail(message + " and REQUIRE_SERVICES/CI says this run needs it")
        pytest.skip(message)
    workdir = tmp_path_factory.mktemp("deploy")
    upstream = stack.free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "APP_ENV": "development",
        "SECRET_KEY": "deploy-test-secret",
        "DATABASE_URL": database_url,
        "TRUSTED_PROXY_COUNT": "1",
        "UPLOAD_DIR": str(workdir / "uploads"),
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
    }
    if os.environ.get("TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["TEST_REDIS_URL"]
    for passed in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE"):
        if passed in os.environ:
            env[passed] = os.environ[passed]
    gunicorn = stack.start_gunicorn(upstream, env, workdir / "gunicorn.log", workers=WORKERS, threads=THREADS)
    nginx = stack.Nginx(workdir / "nginx", upstream)
    try:
        nginx.start()
        nginx.upstream_port = upstream
        nginx.gunicorn_log = workdir / "gunicorn.log"
        yield nginx
    finally:
        nginx.stop()
        stack.stop_process(gunicorn)


def call(connection, method, path, body=None, headers=None):
    """(status, headers as a list of pairs, body bytes) of one request on `connection`."""
    headers = dict(headers or {})
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def header_values(headers, name):
    return [value for key, value in headers if key.lower() == name.lower()]


def png_bytes():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def multipart(parts):
    """A multipart/form-data body of file parts: [(field, filename, content type, bytes)]."""
    boundary = uuid.uuid4().hex
    chunks = []
    for field, filename, content_type, data in parts:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def parent_token(site, name):
    status, _, body = call(site.https(), "POST", "/api/v1/auth/login", {"code": f"dev:{name}"})
    assert status == 200, body
    return json.loads(body)["token"]


# ---------------------------------------------------------------- the client's address


def test_the_address_nginx_saw_is_the_one_rate_limited_and_a_forged_x_forwarded_for_is_not(app, site):
    create_admin("deploy-boss", PASSWORD)
    db.session.commit()

    def wrong_password(source, forged):
        return call(
            site.https(source=source),
            "POST",
            "/api/admin/v1/auth/login",
            {"username": "deploy-boss", "password": "wrong"},
            {"X-Forwarded-For": forged},
        )[0]

    # A different forged address each time: were any believed, each attempt would count apart.
    codes = [wrong_password("127.0.0.2", f"198.51.100.{n}") for n in range(6)]
    assert codes == [401] * 5 + [429]
    # The same username from another address is not locked out.
    assert wrong_password("127.0.0.3", "127.0.0.2") == 401


def test_the_audit_log_records_the_address_nginx_saw(app, site):
    create_admin("deploy-auditor", PASSWORD)
    db.session.commit()
    status, _, body = call(
        site.https(source="127.0.0.3"),
        "POST",
        "/api/admin/v1/auth/login",
        {"username": "deploy-auditor", "password": PASSWORD},
    )
    assert status == 200, body
    token = json.loads(body)["token"]
    status, _, body = call(
        site.https(source="127.0.0.3"),
        "POST",
        "/api/admin/v1/campuses",
        {"name": "部署校区"},
        {"Authorization": f"Bearer {token}", "X-Forwarded-For": "192.0.2.66", "Idempotency-Key": uuid.uuid4().hex},
    )
    assert status == 201, body
    db.session.rollback()  # a new transaction: see what gunicorn committed
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "campus.create")).one()
    assert entry.client_address == "127.0.0.3"


# ---------------------------------------------------------------- HTTPS as the app sees it


def test_upload_urls_are_https_on_the_public_name_and_hsts_is_sent_once(app, site):
    token = parent_token(site, "deploy-parent")
    body, content_type = multipart([("file", "a.png", "image/png", png_bytes())])
    status, headers, answer = call(
        site.https(),
        "POST",
        "/api/v1/uploads",
        body,
        {"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    assert status == 201, answer
    url = json.loads(answer)["url"]
    assert url.startswith(f"https://{stack.SERVER_NAME}/api/v1/uploads/")
    assert header_values(headers, "Strict-Transport-Security") == ["max-age=31536000"]
    served = call(site.https(), "GET", url.removeprefix(f"https://{stack.SERVER_NAME}"))
    assert served[0] == 200 and header_values(served[1], "Content-Type") == ["image/png"]


def test_plain_http_is_redirected_to_https_without_reaching_the_app(site):
    status, headers, _ = call(site.http(), "GET", "/api/v1/goods?x=1", headers={"Host": stack.SERVER_NAME})
    assert status == 301
    assert header_values(headers, "Location") == [f"https://{stack.SERVER_NAME}/api/v1/goods?x=1"]
    assert header_values(headers, "Strict-Transport-Security") == []


def test_a_request_for_another_host_name_is_dropped(site):
    import http.client

    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        call(site.http(), "GET", "/healthz", headers={"Host": "evil.example"})
    with pytest.raises((http.client.RemoteDisconnected, ConnectionResetError)):
        call(site.https(), "GET", "/healthz", headers={"Host": "evil.example"})


# ---------------------------------------------------------------- what nginx answers itself


def test_a_body_over_the_apps_limit_is_413_in_the_error_shape_and_one_under_it_gets_through(app, site):
    limit = load_config("/nonexistent")["MAX_CONTENT_LENGTH"]
    headers = {"Authorization": f"Bearer {parent_token(site, 'deploy-big')}"}

    def upload_of_size(size):
        image = png_bytes()
        probe, _ = multipart([("file", "a.png", "image/png", image), ("pad", "p.bin", "application/octet-stream", b"")])
        body, content_type = multipart(
            [
                ("file", "a.png", "image/png", image),
                ("pad", "p.bin", "application/octet-stream", b"\0" * (size - len(probe))),
            ]
        )
        assert len(body) == size  # the boundary is random but of fixed length
        return call(site.https(), "POST", "/api/v1/uploads", body, {**headers, "Content-Type": content_type})

    status, _, answer = upload_of_size(limit - 1)
    assert status == 201, answer[:300]
    # Exactly the limit passes nginx; werkzeug under gunicorn refuses it (its stream cannot tell a
    # body of exactly the limit from a longer one), in the same shape.
    status, _, answer = upload_of_size(limit)
    assert (status, json.loads(answer)["error"]["code"]) == (413, "payload_too_large")

    connection = site.https()
    connection.putrequest("POST", "/api/v1/uploads")
    for name, value in {**headers, "Content-Type": "image/png", "Content-Length": str(limit + 1)}.items():
        connection.putheader(name, value)
    connection.endheaders()  # nginx refuses on the declared length, before any of the body
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    assert response.status == 413
    assert json.loads(answer)["error"]["code"] == "payload_too_large"
    assert header_values(response.getheaders(), "Content-Type") == ["application/json"]


def test_wechats_verification_file_is_served_at_the_root_over_http_and_https(site):
    (site.verify_dir / "MP_verify_Ab12Cd34.txt").write_text("Ab12Cd34")
    for connection in (site.https(), site.http()):
        status, headers, body = call(connection, "GET", "/MP_verify_Ab12Cd34.txt", headers={"Host": stack.SERVER_NAME})
        assert (status, body) == (200, b"Ab12Cd34")
        assert header_values(headers, "Content-Type") == ["text/plain"]


def test_metrics_are_not_served_through_the_public_site(site):
    for path in ("/metrics", "/metrics?x=1", "//metrics", "/%6detrics"):
        status, _, body = call(site.https(), "GET", path)
        assert status == 404, path
        assert b"# TYPE" not in body


# ---------------------------------------------------------------- slow clients


def test_fifty_slow_clients_do_not_stall_healthz_through_nginx_but_stall_gunicorn_alone(site, capsys):
    """gunicorn's gthread worker gives a connection a thread as soon as its first byte arrives and
    keeps it until the whole request is read, so WEB_CONCURRENCY x WEB_THREADS slow clients (4 here,
    12 with the Procfile's 4 x 3) hold every thread and /healthz waits behind them. nginx reads whole
    requests first, holding the slow ones itself. Figures: bench/bench_slow_clients.py."""
    count = 50

    def through_nginx(timeout):
        return site.https(timeout=timeout)

    def direct(timeout):
        return stack.LoopbackHTTP(site.upstream_port, timeout=timeout)

    def direct_socket():
        import socket

        return socket.create_connection(("127.0.0.1", site.upstream_port), timeout=10)

    slow = stack.SlowClients(count, lambda: _tls_socket(site)).start()
    try:
        via_nginx = stack.healthz_seconds(through_nginx, timeout=30)  # generous: a loaded CI machine
    finally:
        slow.stop()
    assert not slow.errors, slow.errors[:3]
    assert via_nginx is not None, "/healthz did not answer through nginx while 50 clients were slow"

    slow = stack.SlowClients(count, direct_socket).start()
    try:
        alone = stack.healthz_seconds(direct, timeout=3)
    finally:
        slow.stop()
    after = stack.healthz_seconds(direct, timeout=30)
    with capsys.disabled():
        print(
            f"\n/healthz with {count} slow clients: through nginx {via_nginx * 1000:.0f} ms; gunicorn alone "
            f"({WORKERS}x{THREADS} threads) {'no answer in 3 s' if alone is None else f'{alone * 1000:.0f} ms'}; "
            f"gunicorn once they left {after * 1000:.0f} ms"
        )
    assert alone is None, "gunicorn alone answered although every thread should be held by a slow client"
    assert after is not None


def _tls_socket(site):
    """A TLS socket to nginx's HTTPS port (SNI: the server name), for a slow client to write to."""
    import socket

    raw = socket.create_connection(("127.0.0.1", site.https_port), timeout=10)
    return site.tls_context().wrap_socket(raw, server_hostname=stack.SERVER_NAME)
