"""Sending outbox notifications to WeChat (docs/WECHAT.md): channel, payload, outcome.

A notification goes as an official-account template message when its parent follows the
official account, else as a mini-program subscribe message. A template message carries a
client_msg_id derived from the notification id, so WeChat drops a resend of it for ten minutes
(the other message APIs have no such id: see the state machine below). Outcomes:
sent; retried later with backoff (-1, timeouts, 5xx, rate limits); failed at once (43004, 43101,
40003, 40037, 47003 and other refusals); skipped (no credentials, no reachable identity).

A customer-service message (客服消息, kind `checkin_result`: the result of a check-in sent to the
official account) goes the same way, as text to the sender's official-account openid; WeChat's
refusals of those (45015 outside the 48 h after the parent's message, 45047 over the limit,
48001 not authorised) are stored, not retried.

The send's state machine narrows the window in which a crash can send a message twice:

    pending --claim--> claimed --begin_send (commit)--> sending --HTTP, outcome (commit)--> sent |
                                                                             pending (retry) | failed

`claimed` means a worker holds the row but has sent nothing: any other worker may take it over
at any time (the claim token changes, and the old holder's `begin_send`, guarded on its token,
then fails, so it never sends). `sending` is committed right before the HTTP call and means WeChat
may have the message. A row still `sending` after SEND_LEASE_SECONDS (longer than any call can
take) was interrupted and is decided by one rule: an official-account template message is sent
again, with the same client_msg_id, while the first attempt is inside WeChat's dedupe window
(CLIENT_MSG_ID_WINDOW), because WeChat then drops the copy; anything else (customer-service and
mini-program subscribe messages have no dedupe id) is marked failed with INTERRUPTED and never
sent again: at most once. What remains is WeChat's side: a crash during the HTTP call or before
the outcome's commit loses such a message instead of doubling it, and a call that times out
after WeChat took it is retried like any timeout (docs/WECHAT.md, "What a crash can still do").
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, update

from school_points.models import Notification, WechatUser
from school_points.platform.clock import as_aware, school_tz, utcnow
from school_points.platform.extensions import db
from school_points.school.settings import get_settings
from school_points.wechat import clients

MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (30, 120, 600, 1800)
# A claimed row older than this lost its worker before it sent anything: the sweep re-queues it
# (taking over a claim is always safe, so this only avoids redundant jobs).
CLAIM_LEASE_SECONDS = 60
# Longer than any send can take (call(): two API requests of 5 s and a token fetch of 5 s, plus the
# token lock's wait): a row still `sending` after this was interrupted.
SEND_LEASE_SECONDS = 60
# WeChat drops a template message repeating an openid + client_msg_id for 10 minutes; margin kept.
CLIENT_MSG_ID_WINDOW = timedelta(minutes=8)
INTERRUPTED = "发送中断，无法确认微信是否已送达；为免重复不再重发"
NO_RETRY_ERRORS = frozenset({43004, 43101, 40003, 40037, 47003, 45015, 45047, 48001})
RETRY_ERRORS = frozenset({-1, 45009, 45011}) | clients.TOKEN_ERRORS
# WeChat's length limits by keyword type (the prefix of the template's keyword name).
CUSTOM_MESSAGE_KINDS = frozenset({"checkin_result"})
CUSTOM_CHANNEL = "oa_custom"
FIELD_LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "car_number": 8, "letter": 32}


@dataclass(frozen=True)
class Route:
    """Where a notification goes: channel, openid and template, or why it cannot go."""

    channel: str = ""
    openid: str = ""
    template_id: str = ""
    skip_reason: str = ""

    @property
    def needs_template(self) -> bool:
        """Template and subscribe messages need a template id; customer-service text does not."""
        return self.channel != CUSTOM_CHANNEL


def new_claim_token() -> str:
    """A token that identifies one claim of one worker."""
    return uuid.uuid4().hex


def claim(notification_id, token, now=None) -> bool:
    """Take a notification to send under `token`; False if it is not ours to send.

    Claimable: pending and due; claimed by anyone (its holder has sent nothing and, its token
    replaced, never will); or an interrupted send that WeChat's client_msg_id makes safe to repeat.
    """
    now = now or utcnow()
    due = (Notification.next_attempt_at.is_(None)) | (Notification.next_attempt_at <= now)
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            ((Notification.status == "pending") & due)
            | (Notification.status == "claimed")
            | (_interrupted(now) & _repeatable(now)),
        )
        .values(status="claimed", claim_token=token, next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_SECONDS))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def begin_send(notification, token, channel, now=None) -> bool:
    """Mark our claimed row `sending` and commit, right before the HTTP call; False (nothing
    changed) when another worker has taken the claim over meanwhile."""
    now = now or utcnow()
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification.id, Notification.status == "claimed", Notification.claim_token == token)
        .values(
            status="sending",
            channel=channel,
            attempts=Notification.attempts + 1,
            client_msg_id=notification.client_msg_id,
            attempt_started_at=func.coalesce(Notification.attempt_started_at, now),
            next_attempt_at=now + timedelta(seconds=SEND_LEASE_SECONDS),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    db.session.commit()
    db.session.refresh(notification)
    return True


def settle_interrupted(notification_id, now=None) -> bool:
    """An interrupted send that cannot be repeated safely becomes `failed` (INTERRUPTED), never
    resent; returns True when this call settled it. The caller commits."""
    now = now or utcnow()
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, _interrupted(now), ~_repeatable(now))
        .values(status="failed", last_error=INTERRUPTED, last_error_code=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _interrupted(now):
    return (Notification.status == "sending") & (Notification.next_attempt_at <= now)


def _repeatable(now):
    """WeChat drops a repeat: a template message with its client_msg_id, first tried inside the window."""
    return (
        (Notification.channel == "oa_template")
        & (Notification.client_msg_id != "")
        & Notification.attempt_started_at.is_not(None)
        & (Notification.attempt_started_at > now - CLIENT_MSG_ID_WINDOW)
    )


def record_custom_message(user_id, text, *, key, now=None) -> Notification:
    """Record (outbox) a check-in result for the parent's official-account chat, already claimed
    by the caller (the returned row's `claim_token`), who commits and then sends it
    (`wechat.notify.deliver_claimed`); if the caller dies first, any worker may take it over."""
    now = now or utcnow()
    notification = Notification(
        kind="checkin_result",
        dedupe_key=key[:200],
        user_id=user_id,
        channel=CUSTOM_CHANNEL,
        values={"text": text},
        status="claimed",
        created_at=now,
        claim_token=new_claim_token(),
        next_attempt_at=now + timedelta(seconds=CLAIM_LEASE_SECONDS),
    )
    db.session.add(notification)
    db.session.flush()
    return notification


def custom_route(openid) -> Route:
    """Where a customer-service message to `openid` goes (the official account's chat)."""
    return Route(CUSTOM_CHANNEL, openid)


def route(notification) -> Route:
    """The channel a notification takes for its recipient, given the configured credentials."""
    user = db.session.get(WechatUser, notification.user_id) if notification.user_id else None
    if notification.kind in CUSTOM_MESSAGE_KINDS:
        return _custom_route(user)
    config = get_settings()["notifications"].get(notification.kind, {})
    if user is None or user.disabled:
        return Route(skip_reason="接收人不存在")
    if user.oa_openid and user.oa_subscribed and clients.oa_configured():
        return Route("oa_template", user.oa_openid, notification.template_id or config.get("template_id", ""))
    if user.mp_openid and clients.mp_configured():
        template_id = config.get("mp_template_id") or notification.template_id or config.get("template_id", "")
        return Route("mp_subscribe", user.mp_openid, template_id)
    if not (clients.oa_configured() or clients.mp_configured()):
        return Route(skip_reason="未配置微信凭证")
    return Route(skip_reason="家长未关注公众号，也没有可用的小程序身份")


def _custom_route(user):
    if user is None or user.disabled or not user.oa_openid:
        return Route(skip_reason="接收人不存在")
    if not clients.oa_configured():
        return Route(skip_reason="未配置微信凭证")
    return custom_route(user.oa_openid)


def payload(notification, target) -> dict[str, Any]:
    """The JSON body WeChat expects for this notification on `target`'s channel."""
    if target.channel == CUSTOM_CHANNEL:
        text = (notification.values or {}).get("text", "")
        return {"touser": target.openid, "msgtype": "text", "text": {"content": text}}
    data = template_data(notification.kind, notification.values or {})
    if target.channel == "oa_template":
        body = {
            "touser": target.openid,
            "template_id": target.template_id,
            "data": data,
            "client_msg_id": notification.client_msg_id,
        }
        mp_appid = current_app.config.get("WECHAT_MP_APP_ID")
        if notification.page and mp_appid:
            body["miniprogram"] = {"appid": mp_appid, "pagepath": notification.page}
        return body
    body = {"touser": target.openid, "template_id": target.template_id, "data": data}
    if notification.page:
        body["page"] = notification.page
    return body


def send(target, body) -> str:
    """Send one message; returns WeChat's msgid. Raises WechatUnavailable with the errcode."""
    if target.channel == CUSTOM_CHANNEL:  # message/custom/send through wechatpy's wrapper
        clients.call(clients.oa_client(), lambda c: c.message.send_text(target.openid, body["text"]["content"]))
        return ""
    endpoint = "message/template/send" if target.channel == "oa_template" else "message/subscribe/send"
    client = clients.oa_client() if target.channel == "oa_template" else clients.mp_client()
    result = clients.call(client, lambda c: c.post(endpoint, data=body))
    return str(result.get("msgid") or "") if isinstance(result, dict) else ""


def template_data(kind, values) -> dict[str, Any]:
    """Our values under the template's keyword names, per the settings' fields mapping."""
    fields = get_settings()["notifications"].get(kind, {}).get("fields", {})
    data = {}
    for ours, keyword in fields.items():
        if keyword and ours in values and values[ours] is not None:
            data[keyword] = {"value": _format(keyword, values[ours])}
    return data


def _format(keyword, value):
    if isinstance(value, str) and keyword.startswith("time"):
        value = _local_time(value)
    text = str(value)
    for prefix, limit in FIELD_LIMITS.items():
        if keyword.startswith(prefix) and len(text) > limit:
            return text[: limit - 1] + "…"
    return text


def _local_time(value):
    try:
        moment = as_aware(datetime.fromisoformat(value))
    except ValueError:
        return value
    return moment.astimezone(school_tz()).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------- recording outcomes


def mark_sent(notification, target, msgid) -> None:
    """Sent: store the channel, WeChat's msgid and when."""
    notification.status, notification.channel, notification.wechat_msgid = "sent", target.channel, msgid or None
    notification.sent_at, notification.next_attempt_at = utcnow(), None
    notification.last_error_code, notification.last_error = None, ""


def mark_skipped(notification, reason) -> None:
    """Skipped: nothing could be sent, with the reason."""
    notification.status, notification.last_error, notification.next_attempt_at = "skipped", reason[:255], None


def mark_error(notification, target, error, now=None) -> None:
    """A failed attempt: retry later with backoff, or fail for good."""
    now = now or utcnow()
    notification.channel = target.channel
    notification.last_error_code = error.errcode if error.errcode is not None else error.http_status
    notification.last_error = str(error)[:255]
    if is_retryable(error) and notification.attempts < MAX_ATTEMPTS:
        delay = BACKOFF_SECONDS[min(notification.attempts, len(BACKOFF_SECONDS)) - 1]
        notification.status, notification.next_attempt_at = "pending", now + timedelta(seconds=delay)
    else:
        notification.status, notification.next_attempt_at = "failed", None


def is_retryable(error) -> bool:
    """Timeouts, 5xx, WeChat busy, rate limits and unresolved token errors are worth retrying."""
    if error.errcode in NO_RETRY_ERRORS:
        return False
    return error.transient or error.errcode in RETRY_ERRORS


def record_delivery_status(msgid, status) -> Notification | None:
    """TEMPLATESENDJOBFINISH: WeChat says how the template message with `msgid` ended."""
    notification = db.session.scalars(db.select(Notification).where(Notification.wechat_msgid == str(msgid))).first()
    if notification is not None:
        notification.delivery_status = (status or "")[:64]
        db.session.flush()
    return notification
