"""Logs without secrets: what an operator's log holds after real callbacks.

Whoever reads the logs (a log shipper, a support chat, an attacker with a file) must not find a
signature, a nonce, the callback token or AES key, a parent's openid, a child's name or a bind code.
"""

import logging
import re
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from school_points.platform.logsafe import SecretScrubber, log_id, scrub, scrub_handlers
from tests.wechat_bot.officialaccount import (
    AES_KEY,
    TOKEN,
    OfficialAccount,
    event_xml,
    image_xml,
    now_timestamp,
    sign,
    text_xml,
)

ROOT = Path(__file__).resolve().parents[2]
NONCE = "nonce-4711-secret"


@pytest.fixture
def live_loggers(monkeypatch):
    """Every logger enabled: alembic's fileConfig (the migration tests) disables the loggers that
    exist when it runs, which would make a test of what gets logged pass for the wrong reason."""
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.disabled:
            monkeypatch.setattr(logger, "disabled", False)


def leaks(text, secrets):
    """The secrets (and anything shaped like a SHA-1 signature) that appear in `text`."""
    found = [secret for secret in secrets if secret and secret in text]
    return found + re.findall(r"\b[0-9a-f]{40}\b", text)


def test_real_callbacks_log_no_signature_nonce_token_openid_or_childs_name(
    app, client, oa_config, parent, fake_wechat, caplog, live_loggers
):
    caplog.set_level(logging.DEBUG)
    scrub_handlers()  # what create_app does for the log handlers it finds (here: the capture's)
    openid, _, student = parent
    oa, safe = OfficialAccount(client), OfficialAccount(client, safe=True)
    post = lambda account, xml, **kw: account.post(xml, nonce=NONCE, **kw)  # noqa: E731

    post(oa, text_xml(openid, "积分"))
    post(oa, text_xml(openid, "签到"))
    post(oa, text_xml(openid, "打卡 练琴三十分钟"))
    post(oa, image_xml(openid, "media-secret-1"))
    post(oa, text_xml("oa-newcomer-77", "绑定 ZZZZ2345"))
    post(oa, event_xml("oa-newcomer-78", "subscribe", key="qrscene_bind_WRONG234"))  # a refused scene
    post(oa, event_xml(openid, "SCAN", key=f"bind_{student.bind_code}"))  # already bound: refused too
    post(oa, text_xml(openid, "签到"), timestamp=now_timestamp() - 86400)  # stale: refused
    ts = str(now_timestamp())
    client.get(
        "/wechat",
        query_string={"timestamp": ts, "nonce": NONCE, "echostr": "echo-secret-9", "signature": sign(TOKEN, ts, NONCE)},
    )
    app.config["WECHAT_OA_AES_KEY"] = AES_KEY
    post(oa, text_xml(openid, "积分"))  # plaintext while safe mode is configured: refused
    post(safe, text_xml(openid, "签到"))

    assert any(record.name == "wechat_bot.events" for record in caplog.records)  # the refused scenes were logged
    secrets = [
        TOKEN,
        AES_KEY,
        NONCE,
        openid,
        "oa-newcomer-77",
        "oa-newcomer-78",
        "王小明",
        student.bind_code,
        "WRONG234",
        "ZZZZ2345",
        "练琴",
        "echo-secret-9",
        app.config["SECRET_KEY"],
    ]
    assert leaks(caplog.text, secrets) == []


def test_an_events_dedupe_key_is_logged_as_a_digest_and_a_messages_as_is(app):
    from wechat_bot.inbox import loggable_key

    with app.app_context():
        assert loggable_key("msg:20001") == "msg:20001"
        logged = loggable_key("evt:oa-parent-1:1700000000:subscribe")
        assert "oa-parent-1" not in logged and logged == loggable_key("evt:oa-parent-1:1700000000:subscribe")


def test_log_digest_is_keyed_and_stable(app):
    with app.app_context():
        digest = log_id("oa-parent-1")
        assert digest == log_id("oa-parent-1") and digest != log_id("oa-parent-2")
        saved, app.config["SECRET_KEY"] = app.config["SECRET_KEY"], "another-deployment"
        try:
            assert log_id("oa-parent-1") != digest  # no table of openid digests fits two schools
        finally:
            app.config["SECRET_KEY"] = saved


def test_query_strings_library_lines_print_are_scrubbed():
    line = (
        '127.0.0.1:80 "GET /cgi-bin/user/info?access_token=AT-123&openid=o6_bm&lang=zh_CN HTTP/1.1" 200 | '
        "/wechat?signature=abc&timestamp=1&nonce=n1&openid=o7&encrypt_type=aes&msg_signature=def"
    )
    cleaned = scrub(line)
    for secret in ("AT-123", "o6_bm", "abc", "n1", "o7", "def"):
        assert f"={secret}" not in cleaned
    assert "lang=zh_CN" in cleaned and "encrypt_type=aes" in cleaned and "timestamp=1" in cleaned


def test_the_app_puts_the_scrubber_on_the_log_handlers(app):
    from wsgi import create_app

    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
        assert any(isinstance(f, SecretScrubber) for f in handler.filters)
    finally:
        logging.getLogger().removeHandler(handler)


def gunicorn_logger(tmp_path):
    """gunicorn's logger configured from gunicorn.conf.py, as `gunicorn --config` would, writing to files."""
    from gunicorn.config import Config

    cfg = Config()
    for name, value in runpy.run_path(str(ROOT / "gunicorn.conf.py")).items():
        if name in cfg.settings:
            cfg.set(name, value)
    cfg.set("accesslog", str(tmp_path / "access.log"))
    cfg.set("errorlog", str(tmp_path / "error.log"))
    return cfg.logger_class(cfg)


def test_gunicorn_access_log_shows_the_path_without_the_query_string(tmp_path):
    query = "signature=0a1b2c&timestamp=1700000000&nonce=n-99&openid=oa-parent-1"
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/wechat?{query}",
        "PATH_INFO": "/wechat",
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.1.2.3",
        "HTTP_USER_AGENT": "Mozilla/4.0",
    }
    response = SimpleNamespace(status="200 OK", sent=7, headers=[])
    request = SimpleNamespace(headers=[("USER-AGENT", "Mozilla/4.0")])
    logger = gunicorn_logger(tmp_path)
    logger.access(response, request, environ, timedelta(milliseconds=12))
    logger.exception("Error handling request %s %s", "POST", f"/wechat?{query}")  # gunicorn's own words

    line = (tmp_path / "access.log").read_text()
    assert '"POST /wechat HTTP/1.1" 200 7 12ms' in line and line.startswith("10.1.2.3 ")
    for secret in ("0a1b2c", "n-99", "oa-parent-1", "signature", "openid"):
        assert secret not in line
    errors = (tmp_path / "error.log").read_text()
    assert "Error handling request POST /wechat" in errors
    assert "0a1b2c" not in errors and "n-99" not in errors and "oa-parent-1" not in errors
