"""deliver(notification_id) against the fake WeChat API (docs/WECHAT.md): every outcome is stored."""

import pytest

from school_points.models import Notification
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from school_points.school.settings import update_settings
from school_points.wechat import delivery
from school_points.wechat.clients import oa_client
from school_points.wechat.notify import deliver
from tests.fakewechat import DELAY, HTTP

TEMPLATE_SEND = "/cgi-bin/message/template/send"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"


def _reload(notification):
    db.session.expire_all()
    return db.session.get(Notification, notification.id)


def test_follower_gets_a_template_message_with_mapped_keywords(fake_wechat, notifications_on, follower, notify):
    n = notify(follower[1])
    assert deliver(n.id) == "sent"
    body = fake_wechat.calls(TEMPLATE_SEND)[0].json
    assert body["touser"] == "oa-parent" and body["template_id"] == "TPL-REDEEMED"
    assert body["data"]["thing1"] == {"value": "王小明"} and body["data"]["thing2"] == {"value": "铅笔"}
    assert body["data"]["number3"] == {"value": "30"} and body["client_msg_id"] == f"sp-n{n.id}"
    n = _reload(n)
    assert n.channel == "oa_template" and n.wechat_msgid and n.sent_at is not None and n.attempts == 1


def test_field_mapping_comes_from_the_settings(fake_wechat, notifications_on, follower, notify):
    update_settings({"notifications": {"redeemed": {"fields": {"goods": "thing9", "points": "amount2"}}}})
    db.session.commit()
    deliver(notify(follower[1]).id)
    data = fake_wechat.calls(TEMPLATE_SEND)[0].json["data"]
    assert data["thing9"] == {"value": "铅笔"} and data["amount2"] == {"value": "30"}
    assert "thing2" not in data and "number3" not in data


def test_parent_not_following_gets_a_mini_program_subscribe_message(fake_wechat, notifications_on, follower, notify):
    follower[0].oa_subscribed = False
    db.session.commit()
    n = notify(follower[1])
    assert deliver(n.id) == "sent"
    assert fake_wechat.count(TEMPLATE_SEND) == 0
    assert fake_wechat.calls(SUBSCRIBE_SEND)[0].json["touser"] == "mp-parent"
    assert _reload(n).channel == "mp_subscribe"


def test_without_credentials_notifications_are_skipped_with_the_reason(app, notifications_on, follower, notify):
    n = notify(follower[1])
    assert deliver(n.id) == "skipped"
    assert _reload(n).last_error == "未配置微信凭证"


def test_disabled_kind_is_stored_as_skipped(fake_wechat, follower, notify):
    n = notify(follower[1])
    assert n.status == "skipped" and n.last_error
    assert deliver(n.id) is None and fake_wechat.count(TEMPLATE_SEND) == 0


@pytest.mark.parametrize("errcode", [43004, 43101, 40003, 40037, 47003])
def test_refusals_fail_without_retry(fake_wechat, notifications_on, follower, notify, errcode):
    fake_wechat.script(TEMPLATE_SEND, errcode)
    n = notify(follower[1])
    assert deliver(n.id) == "failed"
    n = _reload(n)
    assert n.last_error_code == errcode and n.next_attempt_at is None
    assert fake_wechat.count(TEMPLATE_SEND) == 1


@pytest.mark.parametrize("outcome,code", [(-1, -1), (HTTP(500), 500), (HTTP(503), 503)])
def test_transient_errors_are_retried_later_with_backoff(
    fake_wechat, notifications_on, follower, notify, outcome, code
):
    fake_wechat.script(TEMPLATE_SEND, outcome)
    n = notify(follower[1])
    assert deliver(n.id) == "pending"
    n = _reload(n)
    assert n.last_error_code == code and n.attempts == 1
    assert 25 <= (n.next_attempt_at - utcnow()).total_seconds() <= 31
    assert deliver(n.id) is None  # not due yet: nothing is sent
    assert fake_wechat.count(TEMPLATE_SEND) == 1


def test_timeout_is_retried_later(fake_wechat, notifications_on, follower, notify):
    oa_client().timeout = 0.3
    fake_wechat.script(TEMPLATE_SEND, DELAY(1))
    n = notify(follower[1])
    assert deliver(n.id) == "pending"
    assert "Timeout" in _reload(n).last_error


def test_retry_after_backoff_sends_once(fake_wechat, notifications_on, follower, notify):
    fake_wechat.script(TEMPLATE_SEND, -1)
    n = notify(follower[1])
    deliver(n.id)
    _make_due(n)
    assert deliver(n.id) == "sent"
    assert len(fake_wechat.delivered) == 1 and _reload(n).attempts == 2


def test_retries_are_bounded(fake_wechat, notifications_on, follower, notify):
    fake_wechat.script(TEMPLATE_SEND, *([-1] * 10))
    n = notify(follower[1])
    statuses = []
    for _ in range(delivery.MAX_ATTEMPTS + 2):
        statuses.append(deliver(n.id))
        _make_due(n)
    assert statuses[: delivery.MAX_ATTEMPTS] == ["pending"] * (delivery.MAX_ATTEMPTS - 1) + ["failed"]
    assert fake_wechat.count(TEMPLATE_SEND) == delivery.MAX_ATTEMPTS
    assert _reload(n).status == "failed"


@pytest.mark.parametrize("errcode", [40001, 42001, 40014])
def test_token_error_refreshes_once_and_sends(fake_wechat, notifications_on, follower, notify, errcode):
    fake_wechat.script(TEMPLATE_SEND, errcode)
    n = notify(follower[1])
    assert deliver(n.id) == "sent"
    assert fake_wechat.count(TEMPLATE_SEND) == 2 and fake_wechat.count("/cgi-bin/stable_token") == 2


def test_persistent_token_error_is_retried_later_not_in_a_loop(fake_wechat, notifications_on, follower, notify):
    fake_wechat.script(TEMPLATE_SEND, 40001, 40001, 40001)
    n = notify(follower[1])
    assert deliver(n.id) == "pending"
    assert fake_wechat.count(TEMPLATE_SEND) == 2


def test_mini_program_channel_handles_errors_the_same_way(fake_wechat, notifications_on, follower, notify):
    follower[0].oa_subscribed = False
    db.session.commit()
    fake_wechat.script(SUBSCRIBE_SEND, 43101)
    n = notify(follower[1])
    assert deliver(n.id) == "failed" and _reload(n).last_error_code == 43101
    assert fake_wechat.count(SUBSCRIBE_SEND) == 1 and _reload(n).channel == "mp_subscribe"  # the mini-program's
    assert fake_wechat.count(TEMPLATE_SEND) == 0


def test_sent_notification_is_not_sent_again(fake_wechat, notifications_on, follower, notify):
    n = notify(follower[1])
    deliver(n.id)
    assert deliver(n.id) is None
    assert fake_wechat.count(TEMPLATE_SEND) == 1


def test_resend_after_a_crash_mid_send_is_not_delivered_twice(fake_wechat, notifications_on, follower, notify):
    """The worker died after WeChat accepted the message but before we stored it: the same
    client_msg_id makes WeChat drop the resend."""
    n = notify(follower[1])
    deliver(n.id)
    row = _reload(n)
    row.status, row.next_attempt_at, row.wechat_msgid = "sending", utcnow(), None  # as left by the crash
    db.session.commit()
    assert deliver(n.id) == "sent"
    assert fake_wechat.count(TEMPLATE_SEND) == 2 and len(fake_wechat.delivered) == 1


def test_template_without_id_is_skipped(fake_wechat, follower, notify):
    update_settings({"notifications": {"redeemed": {"enabled": True, "template_id": ""}}})
    db.session.commit()
    n = notify(follower[1])
    assert deliver(n.id) == "skipped" and _reload(n).last_error == "该通知未配置模板"


def test_long_values_are_cut_to_wechat_limits(fake_wechat, notifications_on, follower, notify):
    deliver(notify(follower[1], goods="超长的商品名称" * 5).id)
    value = fake_wechat.calls(TEMPLATE_SEND)[0].json["data"]["thing2"]["value"]
    assert len(value) == 20 and value.endswith("…")


def _make_due(notification):
    row = _reload(notification)
    if row.next_attempt_at is not None:
        row.next_attempt_at = utcnow()
        db.session.commit()
