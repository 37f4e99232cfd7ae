"""The outbox sweep: re-enqueue work that was stored but never done (Redis down, worker died)."""
from datetime import timedelta

from sqlalchemy import delete, or_, select

from ..clock import utcnow
from ..extensions import db
from ..models import Notification, ProcessedWechatMessage
from .media import fetch_record_media, records_missing_media
from . import oa_checkins
from .notify import deliver
from .queue import enqueue

# A notification younger than this is probably still in the queue: leave it to its job.
GRACE = timedelta(seconds=60)
BATCH = 500
# WeChat retries a message within seconds; after this its dedupe record is no longer needed
# (the ledger's idempotency keys still stop any later replay).
PROCESSED_MESSAGE_RETENTION = timedelta(days=3)


def due_notification_ids(now=None):
    """Notifications waiting to be sent: never picked up, due for a retry, or left mid-send."""
    now = now or utcnow()
    never_tried = (Notification.next_attempt_at.is_(None)) & (Notification.created_at <= now - GRACE)
    query = (
        select(Notification.id)
        .where(Notification.status.in_(("pending", "sending")),
               or_(never_tried, Notification.next_attempt_at <= now))
        .order_by(Notification.id).limit(BATCH)
    )
    ids = list(db.session.scalars(query))
    db.session.rollback()
    return ids


def sweep_outbox(now=None):
    """The outbox/inbox sweep: enqueue delivery of every due notification, and a drain of the
    check-ins acknowledged but not awarded whose drain is gone; returns how many jobs it queued."""
    ids = due_notification_ids(now)
    for notification_id in ids:
        enqueue(deliver, notification_id)
    return len(ids) + sweep_checkins(now)


def sweep_checkins(now=None):
    """Queue a drain when acknowledged check-ins are owed past their grace period (their drain
    was lost with Redis, or failed); returns 1 when it queued one, 0 otherwise."""
    if not oa_checkins.overdue(now):
        return 0
    return 1 if oa_checkins.wake_drainer(trust_memo=False) == "queued" else 0


def sweep_media(now=None):
    """Enqueue the photo fetch of recent check-ins that still miss their image; returns how many."""
    now = now or utcnow()
    ids = records_missing_media(now)
    db.session.rollback()
    for record_id in ids:
        enqueue(fetch_record_media, record_id)
    return len(ids)


def prune_processed_messages(now=None):
    """Forget callback dedupe records older than the retention; returns how many."""
    cutoff = (now or utcnow()) - PROCESSED_MESSAGE_RETENTION
    result = db.session.execute(delete(ProcessedWechatMessage).where(ProcessedWechatMessage.created_at < cutoff))
    db.session.commit()
    return result.rowcount
