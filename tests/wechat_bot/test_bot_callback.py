"""The callback as WeChat calls it: verification, signatures, safe mode, bad input, retries."""

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from school_points.models import LedgerEntry, ProcessedWechatMessage, WechatUser
from school_points.platform.extensions import db
from tests.conftest import balance_of
from tests.wechat_bot.officialaccount import TOKEN, OfficialAccount, sign, text_xml


def test_url_verification_echoes_echostr(client, oa_config):
    ts, nonce = str(int(time.time())), "n1"
    response = client.get(
        "/wechat",
        query_string={"timestamp": ts, "nonce": nonce, "echostr": "hello-42", "signature": sign(TOKEN, ts, nonce)},
    )
    assert response.status_code == 200 and response.get_data(as_text=True) == "hello-42"


def test_url_verification_with_bad_signature_is_refused(client, oa_config):
    response = client.get("/wechat", query_string={"timestamp": "1", "nonce": "n", "echostr": "x", "signature": "bad"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "bad_signature"


def test_callback_without_token_configured_is_unavailable_not_500(client):
    response = client.get("/wechat", query_string={"timestamp": "1", "nonce": "n", "signature": "x"})
    assert response.status_code == 503


def test_plaintext_message_gets_plaintext_reply(oa, parent):
    reply = oa.reply_of(oa.post(text_xml("oa-parent-1", "积分")))
    assert reply["ToUserName"] == "oa-parent-1" and reply["MsgType"] == "text"
    assert "王小明：可用 100 积分" in reply["Content"]


def test_safe_mode_message_is_decrypted_and_reply_encrypted(oa_safe, parent):
    response = oa_safe.post(text_xml("oa-parent-1", "积分"))
    assert "<Encrypt>" in response.get_data(as_text=True)
    assert "王小明" not in response.get_data(as_text=True)
    assert "王小明：可用 100 积分" in oa_safe.reply_of(response)["Content"]


def test_message_with_bad_signature_is_refused_and_changes_nothing(oa, parent):
    response = oa.post(text_xml("oa-parent-1", "签到"), signature="0" * 40)
    assert response.status_code == 403
    assert balance_of(parent[2].id) == 100


def test_safe_mode_message_with_bad_msg_signature_is_refused(oa_safe, parent):
    response = oa_safe.post(text_xml("oa-parent-1", "签到"), query={"msg_signature": "f" * 40})
    assert response.status_code == 403
    assert balance_of(parent[2].id) == 100


def test_safe_mode_message_that_does_not_decrypt_is_refused(oa_safe, parent):
    ts, nonce, garbage = str(int(time.time())), "n", "bm90IHJlYWxseSBlbmNyeXB0ZWQ="
    query = {"encrypt_type": "aes", "msg_signature": sign(TOKEN, ts, nonce, garbage)}
    response = oa_safe.post(
        f"<xml><Encrypt><![CDATA[{garbage}]]></Encrypt></xml>", safe=False, timestamp=ts, nonce=nonce, query=query
    )
    assert response.status_code == 400


def test_malformed_xml_is_refused(oa):
    response = oa.post("<xml><FromUserName>oops</xml")
    assert response.status_code == 400 and response.json["error"]["code"] == "malformed_xml"


def test_xml_without_message_fields_is_refused(oa):
    assert oa.post("<xml><Foo>1</Foo></xml>").status_code == 400


def test_entity_expansion_is_refused_quickly(oa):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(f'<!ENTITY lol{i} "{"&lol{};".format(i - 1 if i > 1 else "") * 10}">' for i in range(1, 10))
        + "]><xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType>"
        "<Content>&lol9;</Content></xml>"
    )
    started = time.monotonic()
    response = oa.post(bomb)
    assert response.status_code == 400 and response.json["error"]["code"] == "xml_forbidden"
    assert time.monotonic() - started < 1


def test_external_entity_is_refused(oa):
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        "<xml><FromUserName>b</FromUserName><MsgType>text</MsgType><Content>&e;</Content></xml>"
    )
    assert oa.post(xxe).status_code == 400


def test_oversized_body_is_refused(oa):
    response = oa.post(text_xml("oa-parent-1", "打卡 " + "长" * 40000))
    assert response.status_code == 413


def test_retried_message_has_one_effect_and_the_same_reply(oa, parent):
    first = oa.say("oa-parent-1", "签到", msg_id=777001)
    again = oa.say("oa-parent-1", "签到", msg_id=777001)
    assert "签到成功" in first and again == first
    assert _entries("signin") == 1


def test_retried_message_has_one_effect_when_every_cache_is_gone(oa, parent, app):
    from school_points.platform.redis_conn import get_redis

    oa.say("oa-parent-1", "打卡 练琴 30 分钟", msg_id=777002)
    db.session.execute(ProcessedWechatMessage.__table__.delete())
    db.session.commit()
    if get_redis() is not None:
        get_redis().flushdb()
    oa.say("oa-parent-1", "打卡 练琴 30 分钟", msg_id=777002)
    assert _entries("checkin") == 1
    assert balance_of(parent[2].id) == 105


def test_retried_event_has_one_effect(oa):
    for _ in range(2):
        oa.event("oa-new-1", "subscribe", create_time=1700000000)
    assert db.session.scalar(select(func.count(ProcessedWechatMessage.id))) == 1
    assert db.session.scalar(select(func.count(WechatUser.id))) == 1


def test_refused_command_answers_the_same_on_retry(oa, parent):
    oa.say("oa-parent-1", "签到")
    first = oa.say("oa-parent-1", "绑定 NOPE2345", msg_id=777003)
    assert "绑定码无效" in first
    assert oa.say("oa-parent-1", "绑定 NOPE2345", msg_id=777003) == first


def test_concurrent_retries_have_one_effect(app, oa_config, parent, is_pg):
    """WeChat's retry can arrive while the first delivery is still being handled."""
    from tests.conftest import run_concurrently

    def deliver(_):
        return OfficialAccount(app.test_client()).say("oa-parent-1", "打卡 钢琴", msg_id=777004)

    replies = run_concurrently(app, deliver, range(4))
    assert all(isinstance(r, str) and "打卡成功" in r for r in replies), replies
    assert _entries("checkin") == 1


def _entries(kind):
    db.session.expire_all()
    return db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == kind))


def test_overlong_sender_is_refused(oa):
    assert oa.post(text_xml("o" * 65, "积分")).status_code == 400


def test_overlong_check_in_is_explained_not_refused(oa, parent):
    assert "打卡内容最多 2000 字" in oa.say(parent[0], "打卡 " + "练" * 2001)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", "ignore")),
        st.builds(
            lambda mt, frm, extra: (
                f"<xml><FromUserName>{frm}</FromUserName><MsgType>{mt}</MsgType>{extra}</xml>"
            ).encode("utf-8", "ignore"),
            st.sampled_from(["text", "image", "event", "voice", "link", "x", ""]),
            st.text(alphabet="abc-_1&<>;", max_size=70),
            st.sampled_from(
                [
                    "",
                    "<Event>subscribe</Event>",
                    "<Event>CLICK</Event><EventKey></EventKey>",
                    "<Content></Content>",
                    "<MsgId>abc</MsgId><Content>签到</Content>",
                    "<CreateTime>soon</CreateTime><Event>SCAN</Event><EventKey>bind_</EventKey>",
                    "<Event>TEMPLATESENDJOBFINISH</Event>",
                    "<MediaId></MediaId>",
                ]
            ),
        ),
    )
)
def test_any_signed_body_gets_an_answer_or_a_4xx_never_a_500(oa, body):
    response = oa.post(body)
    assert response.status_code in (200, 400, 413), (response.status_code, body)
