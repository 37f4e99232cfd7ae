"""deliver(notification_id): send one outbox notification to WeChat and store the outcome."""

import logging

from school_points.models import Notification
from school_points.platform.extensions import db
from school_points.wechat import delivery
from school_points.wechat.clients import WechatUnavailable

log = logging.getLogger(__name__)


def deliver(notification_id) -> str | None:
    """Send a due notification once; returns its status afterwards (or None if not ours to send).

    The claim is committed before anything else, so no database lock is held while WeChat answers
    and a second worker given the same id takes the claim over or does nothing; an interrupted
    send that cannot be repeated safely is settled as failed instead (delivery.py's rule).
    """
    token = delivery.new_claim_token()
    if not delivery.claim(notification_id, token):
        settled = delivery.settle_interrupted(notification_id)
        db.session.commit()
        if settled:
            log.warning("notification %s: send interrupted, outcome unknown; not resent", notification_id)
        return "failed" if settled else None
    db.session.commit()
    notification = db.session.get(Notification, notification_id)
    if not notification.client_msg_id:
        notification.client_msg_id = f"sp-n{notification.id}"
    target = delivery.route(notification)
    if target.skip_reason:
        delivery.mark_skipped(notification, target.skip_reason)
    elif target.needs_template and not target.template_id:
        delivery.mark_skipped(notification, "该通知未配置模板")
    else:
        return _attempt(notification, target, token)
    db.session.commit()
    return notification.status


def deliver_claimed(notification_id, target, token) -> str | None:
    """Send a notification its creator recorded already claimed under `token` and committed, to a
    known `target`: the check-in result, sent by the job that awarded it without a second claim.
    Returns its status afterwards, or None when another worker took it over meanwhile."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.status != "claimed":
        db.session.rollback()
        return None
    return _attempt(notification, target, token)


def _attempt(notification, target, token):
    """One send under our claim: `sending` is committed before the HTTP call, the outcome after."""
    body = delivery.payload(notification, target)
    if not delivery.begin_send(notification, token, target.channel):
        return None  # another worker took the claim over before we sent anything: it sends
    try:
        msgid = delivery.send(target, body)
    except WechatUnavailable as exc:
        log.info("notification %s: attempt %s failed: %s", notification.id, notification.attempts, exc)
        delivery.mark_error(notification, target, exc)
    else:
        delivery.mark_sent(notification, target, msgid)
    db.session.commit()
    return notification.status
