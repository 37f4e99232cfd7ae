"""Check-ins sent to the official account ("打卡 …" or a photo) and what the parent is told.

With Redis the callback only records the message (`record_deferred`, one INSERT) and answers at
once; `award_checkin_message`, a job, does the check-in and tells the parent the result in a
customer-service message (客服消息). Without Redis, or while it is down, the callback calls
`check_in` itself and answers with the same text. Every path derives the growth record's and the
ledger's idempotency keys from the message's dedupe key, so a message is awarded once whichever
path, and however many times, it takes.
"""
import functools
import re
from dataclasses import dataclass
from datetime import timedelta

from rq import Retry
from rq.exceptions import DuplicateJobError
from sqlalchemy import select

from .. import delivery, growth, oa_users
from ..clock import acting_at, utcnow
from ..errors import DomainError
from ..extensions import db
from ..models import ProcessedWechatMessage
from ..settings import forget_cached_settings
from .media import fetch_record_media, media_placeholder
from .notify import deliver_claimed
from .queue import enqueue, get_queue

ACKNOWLEDGED = "收到打卡！正在记录积分，稍后通知你结果。"
PHOTO_ACKNOWLEDGED = "照片已收到！正在记录打卡积分，稍后通知你结果。"
NO_STUDENT = "您还没有绑定孩子。请发送“绑定 绑定码”（绑定码请向老师索取），例如：绑定 AB23CD45"
CHECKED_IN = "打卡成功！{name} +{awarded} 积分，当前积分 {balance}。"
CHECKED_IN_NO_POINTS = "打卡已记录！{name} 今天的打卡积分已领取，当前积分 {balance}。"
PHOTO_CHECKED_IN = "照片已收到，打卡成功！{name} +{awarded} 积分，当前积分 {balance}。"
PHOTO_CHECKED_IN_NO_POINTS = "照片已收到，打卡已记录！{name} 今天的打卡积分已领取，当前积分 {balance}。"

# Younger owed check-ins probably still have their job in the queue; older than a day, the parent
# has long been told nothing, and the sweep stops trying (the row stays, for an operator to see).
GRACE = timedelta(seconds=60)
SWEEP_WINDOW = timedelta(days=1)
# A job that raised is retried this often by RQ, then stays in RQ's failed registry.
JOB_RETRIES = 2


@dataclass(frozen=True)
class Told:
    """The result text for the parent, the sender's user row, and a record whose photo is to fetch."""

    text: str
    user: object
    photo_record_id: int | None = None


def sent_of(content="", media_id=""):
    """What a check-in message carries, as stored with a deferred check-in."""
    return {"content": content or "", "media_id": (media_id or "")[:128]}


def acknowledgement(sent):
    """What the callback answers at once for a deferred check-in."""
    return PHOTO_ACKNOWLEDGED if sent.get("media_id") else ACKNOWLEDGED


def check_in(openid, sent, *, key):
    """Do the check-in now (the caller commits); returns what to tell the parent."""
    photo = bool(sent.get("media_id"))
    media = [media_placeholder(sent["media_id"])] if photo else []
    result = growth.check_in_by_oa(openid, sent.get("content", ""), media, key=f"wechat:{key}")
    if result.student is None:
        return Told(NO_STUDENT, result.user)
    if photo:
        template = PHOTO_CHECKED_IN if result.awarded else PHOTO_CHECKED_IN_NO_POINTS
    else:
        template = CHECKED_IN if result.awarded else CHECKED_IN_NO_POINTS
    text = template.format(name=result.student.name, awarded=result.awarded, balance=result.balance)
    return Told(text, result.user, result.record.id if photo else None)


def record_deferred(key, openid, sent, reply):
    """Store a check-in to award later, with its acknowledgement as the stored reply.

    One INSERT ... ON CONFLICT DO NOTHING: True when it is new, False for a retry (or a message
    handled before). The caller commits. On PostgreSQL, when no transaction is open yet, the
    statement runs in autocommit (it is the whole transaction): no BEGIN and COMMIT round trips.
    """
    values = dict(dedupe_key=key, reply=reply, openid=openid, checkin=sent, created_at=utcnow())
    dialect = db.session.get_bind().dialect.name
    autocommit = dialect == "postgresql" and not db.session().in_transaction()
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    connection = db.session.connection(execution_options=options)
    return connection.execute(_deferred_insert(dialect), values).first() is not None


@functools.cache
def _deferred_insert(dialect):
    """The INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once (this is the callback's hot path)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    table = ProcessedWechatMessage.__table__
    return insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(table.c.id)


def job_id(key):
    """The award job's id, derived from the message's dedupe key (RQ allows [A-Za-z0-9_-])."""
    return "oa-checkin-" + re.sub(r"[^A-Za-z0-9_-]", "-", key)


def enqueue_award(key):
    """Queue the award of a recorded check-in unless its job already exists; True when queued.

    Without Redis the award runs here and now. Call after the commit that stored the check-in.
    """
    if get_queue() is None:
        enqueue(award_checkin_message, key)
        return True
    try:
        job = enqueue(award_checkin_message, key, job_id=job_id(key), unique=True, retry=Retry(max=JOB_RETRIES))
    except DuplicateJobError:
        return False
    return job is not None


def award_checkin_message(key):
    """Job: award a check-in the callback acknowledged and tell the parent; returns the text.

    The stored message is locked first, so a second run of the same job (the sweep, a retry) waits
    and then finds it done. The result message is an outbox row committed with the award (already
    claimed by this job), then sent at once; the sweep retries a send that failed for a transient
    reason, or that this worker never finished.
    """
    forget_cached_settings()
    message = _owed(key)
    if message is None:
        db.session.rollback()
        return None
    told = _check_in_or_refusal(message, key)
    if told is None:  # another run finished it while this one was refused
        db.session.rollback()
        return None
    openid, photo_record_id = message.openid, told.photo_record_id
    notification_id = delivery.record_custom_message(told.user.id, told.text, key=f"oa-reply:{key}").id
    message.done_at = utcnow()  # still locked by this transaction (re-locked after a refusal)
    db.session.commit()
    if photo_record_id is not None:
        enqueue(fetch_record_media, photo_record_id)
    deliver_claimed(notification_id, delivery.custom_route(openid))
    return told.text


def award_in_request(key, render):
    """The callback's fallback when the job cannot be queued: award now, store `render(text)` as
    the reply; a Told, or None when a job or a retry did it first. The caller commits."""
    message = _owed(key)
    if message is None:
        return None
    told = _check_in_or_refusal(message, key)
    if told is not None:
        message.done_at, message.reply = utcnow(), render(told.text)
    return told


def owed_keys(now=None):
    """Dedupe keys of check-ins acknowledged but not awarded, past their grace period."""
    now = now or utcnow()
    keys = list(db.session.scalars(
        select(ProcessedWechatMessage.dedupe_key).where(
            ProcessedWechatMessage.done_at.is_(None), ProcessedWechatMessage.checkin.is_not(None),
            ProcessedWechatMessage.created_at >= now - SWEEP_WINDOW,
            ProcessedWechatMessage.created_at <= now - GRACE,
        ).order_by(ProcessedWechatMessage.id).limit(500)
    ))
    db.session.rollback()
    return keys


def _owed(key):
    """The stored check-in of `key`, locked, if it is still owed."""
    return db.session.scalars(
        select(ProcessedWechatMessage)
        .where(ProcessedWechatMessage.dedupe_key == key, ProcessedWechatMessage.done_at.is_(None),
               ProcessedWechatMessage.checkin.is_not(None))
        .with_for_update()
    ).first()


def _check_in_or_refusal(message, key):
    """The check-in's Told; a refusal (e.g. the student was archived) is told too, as its message."""
    openid, sent = message.openid, dict(message.checkin)
    try:
        with acting_at(message.created_at):  # the day the parent sent it, not the day the job ran
            return check_in(openid, sent, key=key)
    except DomainError as exc:
        db.session.rollback()
        forget_cached_settings()
        if _owed(key) is None:
            return None
        user, _ = oa_users.find_or_create_oa_user(openid)
        return Told(exc.message, user)
