"""deliver(notification_id): send one outbox notification to WeChat and store the outcome."""
import logging

from .. import delivery
from ..extensions import db
from ..models import Notification
from ..settings import forget_cached_settings
from ..wechat_clients import WechatUnavailable

log = logging.getLogger(__name__)


def deliver(notification_id):
    """Send a due notification once; returns its status afterwards (or None if not ours to send).

    The claim is committed before the HTTP call, so no database lock is held while WeChat answers
    and a second worker given the same id does nothing.
    """
    forget_cached_settings()
    if not delivery.claim(notification_id):
        db.session.rollback()
        return None
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
        _attempt(notification, target)
    db.session.commit()
    return notification.status


def deliver_claimed(notification_id, target):
    """Send a notification its creator recorded already claimed (`sending`, with the lease) and
    committed, to a known `target`: the check-in result, sent by the job that awarded it without
    a second claim. Returns its status afterwards."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.status != "sending":
        db.session.rollback()
        return None
    _attempt(notification, target, keep_client_msg_id=False)
    db.session.commit()
    return notification.status


def _attempt(notification, target, keep_client_msg_id=True):
    body = delivery.payload(notification, target)
    if keep_client_msg_id:
        db.session.commit()  # keep client_msg_id even if this process dies during the call
    notification.attempts += 1
    try:
        msgid = delivery.send(target, body)
    except WechatUnavailable as exc:
        log.info("notification %s: attempt %s failed: %s", notification.id, notification.attempts, exc)
        delivery.mark_error(notification, target, exc)
        return
    delivery.mark_sent(notification, target, msgid)
