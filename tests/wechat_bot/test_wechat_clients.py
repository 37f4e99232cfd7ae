"""The WeChat API clients: code2session, shared tokens, token-error retry, QR codes."""

import pytest

from school_points.wechat import clients
from school_points.wechat.clients import InvalidCode, WechatNotConfigured, WechatUnavailable, call, oa_client
from tests.conftest import REDIS_URL, requires_redis
from tests.fakewechat import HTTP


def test_code2session_returns_openid_and_unionid(fake_wechat):
    fake_wechat.add_code("good", openid="mp-1", unionid="union-1")
    session = clients.mp_code2session("good")
    assert session == {"openid": "mp-1", "unionid": "union-1", "session_key": "fake-session-key"}
    call = fake_wechat.calls("/sns/jscode2session")[0]
    assert call.params["appid"] == "wx-mp-test" and "access_token" not in call.params


def test_code2session_omits_unionid_when_wechat_gives_none(fake_wechat):
    fake_wechat.add_code("good", openid="mp-1")
    assert "unionid" not in clients.mp_code2session("good")


@pytest.mark.parametrize("errcode", [40029, 40163, 40226])
def test_code2session_bad_code_is_invalid_code(fake_wechat, errcode):
    fake_wechat.script("/sns/jscode2session", errcode)
    with pytest.raises(InvalidCode) as info:
        clients.mp_code2session("whatever")
    assert info.value.code == "invalid_code" and info.value.kind == "unauthorized"


@pytest.mark.parametrize("outcome", [-1, HTTP(500), HTTP(502)])
def test_code2session_wechat_failure_is_unavailable(fake_wechat, outcome):
    fake_wechat.script("/sns/jscode2session", outcome)
    with pytest.raises(WechatUnavailable) as info:
        clients.mp_code2session("whatever")
    assert info.value.code == "wechat_unavailable" and info.value.kind == "bad_gateway"


def test_code2session_unreachable_wechat_is_unavailable(app):
    app.config.update(WECHAT_MP_APP_ID="wx", WECHAT_MP_APP_SECRET="s", WECHAT_API_BASE_URL="http://127.0.0.1:9")
    try:
        with pytest.raises(WechatUnavailable) as info:
            clients.mp_code2session("code")
        assert info.value.code == "wechat_unavailable"
    finally:
        app.config.update(WECHAT_MP_APP_ID="", WECHAT_MP_APP_SECRET="")
        app.extensions.pop("wechat_clients", None)


def test_empty_code_is_invalid_without_calling_wechat(fake_wechat):
    with pytest.raises(InvalidCode):
        clients.mp_code2session("  ")
    assert fake_wechat.count("/sns/jscode2session") == 0


def test_clients_without_credentials_say_not_configured(app):
    with pytest.raises(WechatNotConfigured):
        oa_client()


def test_token_is_fetched_once_and_reused(fake_wechat):
    for _ in range(3):
        call(oa_client(), lambda c: c.menu.delete())
    assert fake_wechat.count("/cgi-bin/stable_token") == 1
    assert fake_wechat.count("/cgi-bin/menu/delete") == 3


@pytest.mark.parametrize("errcode", [40001, 42001, 40014])
def test_token_error_refreshes_once_and_retries_once(fake_wechat, errcode):
    call(oa_client(), lambda c: c.menu.delete())
    fake_wechat.script("/cgi-bin/menu/delete", errcode)
    call(oa_client(), lambda c: c.menu.delete())
    assert fake_wechat.count("/cgi-bin/menu/delete") == 3
    token_calls = fake_wechat.calls("/cgi-bin/stable_token")
    assert len(token_calls) == 2 and token_calls[1].json["force_refresh"] is True


def test_persistent_token_error_gives_up_after_one_retry(fake_wechat):
    fake_wechat.script("/cgi-bin/menu/delete", 40001, 40001, 40001)
    with pytest.raises(WechatUnavailable) as info:
        call(oa_client(), lambda c: c.menu.delete())
    assert info.value.errcode == 40001
    assert fake_wechat.count("/cgi-bin/menu/delete") == 2


def test_expired_token_is_replaced(fake_wechat):
    call(oa_client(), lambda c: c.menu.delete())
    fake_wechat.expire_tokens()
    call(oa_client(), lambda c: c.menu.delete())
    assert fake_wechat.count("/cgi-bin/stable_token") == 2


def test_all_api_urls_go_to_the_configured_base(fake_wechat):
    # wechatpy hard-codes https://api.weixin.qq.com in some wrappers; they must reach the fake too.
    content = call(oa_client(), lambda c: c.media.download("media-1"))
    assert content.content == fake_wechat.media_bytes
    assert fake_wechat.calls("/cgi-bin/media/get")[0].params["media_id"] == "media-1"


def test_qrcode_returns_image_url_ticket_and_expiry(fake_wechat):
    qr = clients.oa_qrcode("ref_ABC", expire_seconds=600)
    assert qr["ticket"] == "ticket-ref_ABC"
    assert qr["url"].endswith("ticket=ticket-ref_ABC") and qr["expires_at"] is not None
    body = fake_wechat.calls("/cgi-bin/qrcode/create")[0].json
    assert body["action_name"] == "QR_STR_SCENE" and body["action_info"]["scene"]["scene_str"] == "ref_ABC"


@requires_redis
def test_token_is_shared_through_redis_by_separate_clients(fake_wechat, app):
    first = clients.SchoolWeChatClient("wx-oa-test", "s", base_url=fake_wechat.base_url, redis_client=_redis())
    second = clients.SchoolWeChatClient("wx-oa-test", "s", base_url=fake_wechat.base_url, redis_client=_redis())
    assert first.access_token == second.access_token
    assert fake_wechat.count("/cgi-bin/stable_token") == 1


@requires_redis
def test_concurrent_token_errors_refresh_once(fake_wechat, app):
    """Eight workers see 40001 at once: one refresh, not a storm that keeps invalidating tokens."""
    import threading

    oa_clients = [
        clients.SchoolWeChatClient("wx-oa-test", "s", base_url=fake_wechat.base_url, redis_client=_redis())
        for _ in range(8)
    ]
    _ = oa_clients[0].access_token  # the first client holds a token before they all see it expire
    fake_wechat.expire_tokens()
    barrier, errors = threading.Barrier(8), []

    def work(client):
        barrier.wait()
        try:
            call(client, lambda c: c.menu.delete())
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in oa_clients]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    assert errors == []
    assert fake_wechat.count("/cgi-bin/stable_token") == 2


def _redis():
    import redis

    return redis.Redis.from_url(REDIS_URL)


def test_token_store_falls_back_to_a_local_token_when_redis_is_down(fake_wechat):
    import socket

    import redis

    with socket.socket() as held:  # bound, never listening: refused, and no parallel test's server can take it
        held.bind(("127.0.0.1", 0))
        down = redis.Redis.from_url(f"redis://127.0.0.1:{held.getsockname()[1]}/0", socket_connect_timeout=0.2)
        client = clients.SchoolWeChatClient("wx-oa-test", "s", base_url=fake_wechat.base_url, redis_client=down)
        assert client.access_token == client.access_token
        call(client, lambda c: c.menu.delete())
    assert fake_wechat.count("/cgi-bin/stable_token") == 1
