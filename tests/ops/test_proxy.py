"""TRUSTED_PROXY_COUNT: the client's address, scheme and host are the ones the
outermost trusted proxy saw; addresses a client writes into X-Forwarded-For itself never count."""

import pytest
from flask import Flask, request, url_for

from school_points.platform.config import ConfigError, load_config
from wsgi import trust_proxies


@pytest.fixture
def echo():
    """A client of a bare app wrapped by wsgi.trust_proxies that answers what Flask believes."""

    def make(count):
        tiny = Flask("echo")
        tiny.config["TRUSTED_PROXY_COUNT"] = count

        @tiny.get("/where")
        def where():
            return {"addr": request.remote_addr, "secure": request.is_secure, "url": url_for("where", _external=True)}

        trust_proxies(tiny)
        return tiny.test_client()

    return make


def ask(client, **headers):
    return client.get("/where", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.1"}).json


def test_behind_one_proxy_the_client_is_the_address_nginx_saw(echo):
    seen = ask(
        echo(1),
        **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "points.school.example"},
    )
    assert seen == {"addr": "203.0.113.7", "secure": True, "url": "https://points.school.example/where"}


def test_behind_two_proxies_the_client_is_the_address_the_outer_one_saw(echo):
    # load balancer saw 203.0.113.7 and appended it; nginx appended the balancer's 10.0.0.2
    seen = ask(echo(2), **{"X-Forwarded-For": "203.0.113.7, 10.0.0.2", "X-Forwarded-Proto": "https, http"})
    assert seen["addr"] == "203.0.113.7"
    assert seen["secure"] is True  # the outermost proxy took HTTPS from the client


def test_addresses_a_client_prepends_itself_do_not_count(echo):
    forged = {"X-Forwarded-For": "1.2.3.4, 5.6.7.8, 203.0.113.7", "X-Forwarded-Proto": "https, http"}
    seen = ask(echo(1), **forged)
    assert seen["addr"] == "203.0.113.7"
    assert seen["secure"] is False  # the client's own "https" is not what nginx saw


def test_with_no_trusted_proxy_forwarded_headers_are_ignored(echo):
    seen = ask(
        echo(0), **{"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example"}
    )
    assert seen == {"addr": "10.0.0.1", "secure": False, "url": "http://localhost/where"}


def test_proxy_count_is_read_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "2")
    assert load_config(str(tmp_path))["TRUSTED_PROXY_COUNT"] == 2
    monkeypatch.delenv("TRUSTED_PROXY_COUNT")
    assert load_config(str(tmp_path))["TRUSTED_PROXY_COUNT"] == 0


@pytest.mark.parametrize("value", ["-1", "one", "99"])
def test_a_nonsense_proxy_count_stops_the_start_with_a_clear_message(tmp_path, monkeypatch, value):
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", value)
    with pytest.raises(ConfigError, match="TRUSTED_PROXY_COUNT"):
        load_config(str(tmp_path))


def test_mp_login_rate_is_read_as_attempts_per_seconds(tmp_path, monkeypatch):
    assert load_config(str(tmp_path))["MP_LOGIN_RATE_LIMIT"] == (120, 60)
    monkeypatch.setenv("MP_LOGIN_RATE_LIMIT", "300/60")
    assert load_config(str(tmp_path))["MP_LOGIN_RATE_LIMIT"] == (300, 60)
    monkeypatch.setenv("MP_LOGIN_RATE_LIMIT", "lots")
    with pytest.raises(ConfigError, match="MP_LOGIN_RATE_LIMIT"):
        load_config(str(tmp_path))
