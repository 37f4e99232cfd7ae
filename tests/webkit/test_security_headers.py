"""Security headers: every response `nosniff` and `Referrer-Policy`; HTML pages also
`X-Frame-Options: DENY` and a CSP without inline script; HSTS only over HTTPS."""

import io
import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy.exc import OperationalError

from school_points.people import tokens
from school_points.people.admins import create_admin
from school_points.platform import health
from school_points.platform.extensions import db
from tests.miniprogram_api.conftest import PNG
from tests.wechat_bot.officialaccount import OfficialAccount, oa_config, text_xml  # noqa: F401  (fixture)

HTTPS = {"wsgi.url_scheme": "https"}  # what ProxyFix makes of X-Forwarded-Proto from a trusted proxy


def assert_every_response_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def assert_html_headers(response):
    assert_every_response_headers(response)
    assert response.headers["X-Frame-Options"] == "DENY"
    policy = dict(
        (directive.split(" ", 1) + [""])[:2] for directive in response.headers["Content-Security-Policy"].split("; ")
    )
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"


def test_json_responses_carry_nosniff_and_referrer_policy_but_no_hsts_over_http(client, app):
    admin = create_admin("boss", "correct-horse-9")
    db.session.commit()
    for response in (
        client.get("/healthz"),
        client.get("/readyz"),
        client.get("/api/openapi.json"),
        client.get("/api/admin/v1/campuses", headers={"Authorization": f"Bearer {tokens.issue('admin', admin.id)[0]}"}),
        client.post("/api/admin/v1/auth/login", json={"username": "boss", "password": "correct-horse-9"}),
    ):
        assert response.status_code == 200, response.json
        assert_every_response_headers(response)
        assert "Strict-Transport-Security" not in response.headers


def test_error_responses_carry_the_headers_too(client, app, monkeypatch):
    responses = [
        client.get("/api/v1/me"),  # 401
        client.get("/api/v1/no-such-route"),  # 404
        client.delete("/healthz"),  # 405
        client.post("/api/admin/v1/auth/login", data=b"{", content_type="application/json"),  # 400
        client.post("/api/admin/v1/auth/login", json={}),  # 422
    ]
    monkeypatch.setattr(health, "readiness", lambda: 1 / 0)
    responses.append(client.get("/readyz"))  # 500: a bug, still with headers
    monkeypatch.setattr(health, "readiness", lambda: _raise(OperationalError("SELECT 1", {}, Exception("gone"))))
    responses.append(client.get("/readyz"))  # 503: the database is down
    assert [r.status_code for r in responses] == [401, 404, 405, 400, 422, 500, 503]
    for response in responses:
        assert_every_response_headers(response)
    for response in (client.get("/api/v1/me", environ_overrides=HTTPS), client.get("/nope", environ_overrides=HTTPS)):
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_wechat_callback_responses_carry_the_headers(client, oa_config):  # noqa: F811
    account = OfficialAccount(client)
    responses = [
        account.post(text_xml("oa-stranger", "帮助")),  # an XML reply (or "success")
        account.post(text_xml("oa-stranger", "帮助"), signature="forged"),  # 403
        client.get("/wechat", query_string={"echostr": "hello", "timestamp": "1", "nonce": "n", "signature": "x"}),
    ]
    assert [r.status_code for r in responses][1:] == [403, 403]
    assert responses[0].status_code in (200, 403)  # 403 when the freshness/plaintext rules refuse it
    for response in responses:
        assert_every_response_headers(response)


class _Resources(HTMLParser):
    """What a page loads or runs: script and stylesheet URLs, inline scripts, styles and handlers."""

    def __init__(self):
        super().__init__()
        self.scripts, self.stylesheets, self.inline = [], [], []
        self._in = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            (self.scripts if attrs.get("src") else self.inline).append(attrs.get("src") or "<script>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.stylesheets.append(attrs["href"])
        self.inline += [f"{tag} {name}=" for name in attrs if name == "style" or name.startswith("on")]
        self.inline += [f"{tag} {name}" for name, value in attrs.items() if (value or "").startswith("javascript:")]


def _same_origin(url):
    return url.startswith("/") and not url.startswith("//")


def test_docs_page_is_framed_by_nobody_and_loads_only_same_origin_styles_and_no_inline_code(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_html_headers(page)
    found = _Resources()
    found.feed(page.get_data(as_text=True))
    assert found.inline == []  # the CSP would block them: the page must not need them
    assert all(_same_origin(url) for url in found.scripts + found.stylesheets)
    assert found.stylesheets, "the page still has its styles"
    for url in found.stylesheets:
        sheet = client.get(url)
        assert sheet.status_code == 200 and sheet.mimetype == "text/css"
        assert_every_response_headers(sheet)
        assert ".op{" in sheet.get_data(as_text=True)  # the rules that were inline before


def test_html_over_https_gets_hsts(client):
    page = client.get("/api/docs", environ_overrides=HTTPS)
    assert_html_headers(page)
    assert re.fullmatch(r"max-age=\d+", page.headers["Strict-Transport-Security"])
    assert int(page.headers["Strict-Transport-Security"].split("=")[1]) >= 180 * 24 * 3600


@pytest.mark.parametrize("path", ["/healthz", "/api/docs"])
def test_hsts_can_be_switched_off(client, app, path):
    app.config["HSTS_MAX_AGE_SECONDS"] = 0
    try:
        assert "Strict-Transport-Security" not in client.get(path, environ_overrides=HTTPS).headers
    finally:
        app.config["HSTS_MAX_AGE_SECONDS"] = 365 * 24 * 3600


def test_uploaded_images_are_served_with_nosniff(client, make_user):
    token, _ = tokens.issue("user", make_user().id)
    upload = client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(PNG), "a.png")},
        headers={"Authorization": f"Bearer {token}"},
        content_type="multipart/form-data",
    )
    assert upload.status_code in (200, 201), upload.json
    image = client.get(urlsplit(upload.json["url"]).path)
    assert image.status_code == 200
    assert image.mimetype.startswith("image/")
    assert_every_response_headers(image)


def _raise(exc):
    raise exc
