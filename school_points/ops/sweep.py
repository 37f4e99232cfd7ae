"""The outbox sweep: re-enqueue work that was stored but never done (Redis down, worker died).

`sweep_outbox` runs on the scheduler every minute; `recover_owed_work` is the same sweep run by
the worker itself when it starts and when Redis comes back, so a killed and restarted worker
picks up what it owed in seconds.
"""

from datetime import timedelta

from sqlalchemy import delete, or_, select

from school_points.media.wechat_media import fetch_record_media, records_missing_media
from school_points.models import Notification, ProcessedWechatMessage
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from school_points.platform.queue import enqueue
from school_points.points import oa_checkins
from school_points.wechat.notify import deliver

# A notification younger than this is probably still in the queue: leave it to its job.
GRACE = timedelta(seconds=60)
BATCH = 500
# WeChat retries a message within seconds; after this its dedupe record is no longer needed
# (the ledger's idempotency keys still stop any later replay).
PROCESSED_MESSAGE_RETENTION = timedelta(days=3)


def due_notification_ids(now=None, *, starting=False) -> list[int]:
    """Notifications waiting to be sent: never picked up, due for a retry, claimed by a worker
    that has not sent them within its lease, or interrupted mid-send (deliver applies the rule).
    `starting`: the worker's startup sweep, which takes no grace period and re-queues every
    claimed row at once (taking a claim over is safe: delivery.claim)."""
    now = now or utcnow()
    grace = timedelta(0) if starting else GRACE
    never_tried = (Notification.next_attempt_at.is_(None)) & (Notification.created_at <= now - grace)
    due = or_(never_tried, Notification.next_attempt_at <= now)
    if starting:
        due = or_(due, Notification.status == "claimed")
    query = (
        select(Notification.id)
        .where(Notification.status.in_(("pending", "claimed", "sending")), due)
        .order_by(Notification.id)
        .limit(BATCH)
    )
    ids = list(db.session.scalars(query))
    db.session.rollback()
    return ids


def sweep_outbox(now=None) -> int:
    """The outbox/inbox sweep: enqueue delivery of every due notification, and a drain of the
    check-ins acknowledged but not awarded whose drain is gone; returns how many jobs it queued."""
    ids = due_notification_ids(now)
    for notification_id in ids:
        enqueue(deliver, notification_id)
    return len(ids) + sweep_checkins(now)


def sweep_checkins(now=None, grace=oa_checkins.GRACE) -> int:
    """Queue a drain when acknowledged check-ins are owed past their grace period (their drain
    was lost with Redis, or failed); returns 1 when it queued one, 0 otherwise."""
    if not oa_checkins.overdue(now, grace=grace):
        return 0
    return 1 if oa_checkins.wake_drainer(trust_memo=False) == "queued" else 0


def recover_owed_work(now=None) -> int:
    """The worker's startup sweep (run when it starts and whenever Redis comes back): re-queue,
    without waiting for the scheduler or any grace period, the notifications owed (never sent,
    due, or claimed by a worker that died) and a drain of the check-ins acknowledged but not
    awarded; returns how many jobs it queued. In-flight sends are left to their lease: another
    worker may be in the middle of one."""
    ids = due_notification_ids(now, starting=True)
    for notification_id in ids:
        enqueue(deliver, notification_id)
    return len(ids) + sweep_checkins(now, grace=timedelta(0))


def sweep_media(now=None) -> int:
    """Enqueue the photo fetch of recent check-ins that still miss their image; returns how many."""
    now = now or utcnow()
    ids = records_missing_media(now)
    db.session.rollback()
    for record_id in ids:
        enqueue(fetch_record_media, record_id)
    return len(ids)


def prune_processed_messages(now=None) -> int:
    """Forget callback dedupe records older than the retention; returns how many."""
    cutoff = (now or utcnow()) - PROCESSED_MESSAGE_RETENTION
    result = db.session.execute(delete(ProcessedWechatMessage).where(ProcessedWechatMessage.created_at < cutoff))
    db.session.commit()
    return result.rowcount
