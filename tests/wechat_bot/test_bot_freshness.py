"""The callback's freshness window and plaintext refusal.

In plaintext mode WeChat signs only the timestamp and nonce, never the body: a signature seen
once would otherwise let anyone post any message as any parent, for ever. Old (or far-future)
timestamps are refused, and with an AES key configured plaintext is refused altogether.
"""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from school_points.models import GrowthRecord, LedgerEntry, ProcessedWechatMessage, WechatUser
from school_points.platform import clock
from school_points.platform.extensions import db
from tests.conftest import balance_of
from tests.wechat_bot.officialaccount import TOKEN, image_xml, now_timestamp, sign, text_xml

DAY = 24 * 3600


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def counts():
    return {model.__name__: count(model) for model in (LedgerEntry, GrowthRecord, ProcessedWechatMessage, WechatUser)}


@pytest.fixture
def parent(parent):
    """The bound parent, and what the database held before the test's messages."""
    return parent + (counts(),)


def nothing_happened(parent):
    """What 'no effect' means to the school: no points, no record, no stored message, no new follower."""
    return balance_of(parent[2].id) == 100 and counts() == parent[3]


def assert_refused(response, code):
    assert response.status_code == 403
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]  # a Chinese sentence for whoever reads it
    assert "<xml>" not in response.get_data(as_text=True)  # no reply reaches the sender


@pytest.mark.parametrize("age", [DAY, -DAY, 301, -301])
def test_signed_plaintext_message_a_day_or_five_minutes_old_or_early_is_refused_and_changes_nothing(oa, parent, age):
    response = oa.post(text_xml(parent[0], "签到"), timestamp=now_timestamp() - age)
    assert_refused(response, "stale_message")
    assert nothing_happened(parent)


def test_signed_plaintext_check_in_a_day_old_is_refused_and_changes_nothing(oa, parent):
    response = oa.post(image_xml(parent[0], "media-old"), timestamp=now_timestamp() - DAY)
    assert_refused(response, "stale_message")
    assert nothing_happened(parent)


def test_encrypted_message_a_day_old_is_refused_and_changes_nothing(oa_safe, parent):
    response = oa_safe.post(text_xml(parent[0], "签到"), timestamp=now_timestamp() - DAY)
    assert_refused(response, "stale_message")
    assert nothing_happened(parent)


def test_fresh_plaintext_message_works(oa, parent):
    assert "签到成功" in oa.say(parent[0], "签到")
    assert balance_of(parent[2].id) > 100


def test_fresh_encrypted_message_works(oa_safe, parent):
    assert "王小明：可用 100 积分" in oa_safe.say(parent[0], "积分")


def test_message_just_inside_the_window_works_and_just_outside_is_refused(oa, parent, monkeypatch):
    sent = now_timestamp()
    real = clock.utcnow
    monkeypatch.setattr(clock, "utcnow", lambda: real() + timedelta(seconds=300))
    assert oa.reply_of(oa.post(text_xml(parent[0], "积分"), timestamp=sent))  # 300 s late: still answered
    monkeypatch.setattr(clock, "utcnow", lambda: real() + timedelta(seconds=302))
    assert_refused(oa.post(text_xml(parent[0], "签到"), timestamp=sent), "stale_message")
    assert balance_of(parent[2].id) == 100


def test_wechat_retry_of_one_message_inside_the_window_has_one_effect(oa, parent, monkeypatch):
    first = oa.reply_of(oa.post(text_xml(parent[0], "签到", msg_id=770001)))["Content"]
    real = clock.utcnow
    monkeypatch.setattr(clock, "utcnow", lambda: real() + timedelta(seconds=15))  # WeChat retries, newly signed
    again = oa.reply_of(oa.post(text_xml(parent[0], "签到", msg_id=770001)))["Content"]
    assert again == first and "签到成功" in first
    assert count(LedgerEntry) == parent[3]["LedgerEntry"] + 1


def test_zero_max_age_turns_the_check_off(oa, parent, app):
    app.config["WECHAT_MAX_MESSAGE_AGE"] = 0
    response = oa.post(text_xml(parent[0], "积分"), timestamp=now_timestamp() - DAY)
    assert "王小明：可用 100 积分" in oa.reply_of(response)["Content"]


def test_unreadable_timestamp_is_refused(oa, parent):
    assert_refused(oa.post(text_xml(parent[0], "签到"), timestamp="yesterday"), "stale_message")
    assert nothing_happened(parent)


def test_plaintext_message_is_refused_when_an_aes_key_is_configured(oa_safe, parent):
    response = oa_safe.post(text_xml(parent[0], "签到"), safe=False)
    assert_refused(response, "plaintext_refused")
    assert nothing_happened(parent)


def test_plaintext_message_is_allowed_with_an_aes_key_when_the_operator_says_so(oa_safe, parent, app):
    app.config["WECHAT_OA_ALLOW_PLAINTEXT"] = True
    response = oa_safe.post(text_xml(parent[0], "积分"), safe=False)
    assert "王小明：可用 100 积分" in oa_safe.reply_of(response, safe=False)["Content"]


def test_url_verification_works_when_fresh_and_is_refused_when_a_day_old(client, oa_config):
    def verify(timestamp):
        ts, nonce = str(timestamp), "n1"
        return client.get(
            "/wechat",
            query_string={"timestamp": ts, "nonce": nonce, "echostr": "hello-42", "signature": sign(TOKEN, ts, nonce)},
        )

    fresh = verify(now_timestamp())
    assert fresh.status_code == 200 and fresh.get_data(as_text=True) == "hello-42"
    assert_refused(verify(now_timestamp() - DAY), "stale_message")


def test_url_verification_works_with_an_aes_key_configured(client, oa_safe):
    ts, nonce = str(now_timestamp()), "n2"
    response = client.get(
        "/wechat", query_string={"timestamp": ts, "nonce": nonce, "echostr": "e-7", "signature": sign(TOKEN, ts, nonce)}
    )
    assert response.status_code == 200 and response.get_data(as_text=True) == "e-7"


def test_freshness_settings_are_read_from_the_environment(monkeypatch, tmp_path):
    from school_points.platform.config import load_config

    monkeypatch.delenv("WECHAT_MAX_MESSAGE_AGE", raising=False)
    monkeypatch.delenv("WECHAT_OA_ALLOW_PLAINTEXT", raising=False)
    assert load_config(tmp_path)["WECHAT_MAX_MESSAGE_AGE"] == 300
    assert load_config(tmp_path)["WECHAT_OA_ALLOW_PLAINTEXT"] is False
    monkeypatch.setenv("WECHAT_MAX_MESSAGE_AGE", "0")
    monkeypatch.setenv("WECHAT_OA_ALLOW_PLAINTEXT", "1")
    config = load_config(tmp_path)
    assert config["WECHAT_MAX_MESSAGE_AGE"] == 0 and config["WECHAT_OA_ALLOW_PLAINTEXT"] is True


@pytest.mark.parametrize("value", ["five minutes", "-1"])
def test_an_unusable_max_age_stops_the_app_with_the_variable_named(monkeypatch, tmp_path, value):
    from school_points.platform.config import ConfigError, load_config

    monkeypatch.setenv("WECHAT_MAX_MESSAGE_AGE", value)
    with pytest.raises(ConfigError, match="WECHAT_MAX_MESSAGE_AGE"):
        load_config(tmp_path)
