"""Check-ins sent to the official account ("打卡 …" or a photo) and what the parent is told.

With Redis the callback only records the message (`record_deferred`, one INSERT), wakes the
drainer (`wake_drainer`) and answers at once; `drain_checkins`, a job, awards every recorded
check-in still owed (`award_checkin_message`) and tells each parent the result in a
customer-service message (客服消息). Without Redis, or while it is down, the callback calls
`check_in` itself and answers with the same text. Every path derives the growth record's and the
ledger's idempotency keys from the message's dedupe key, so a message is awarded once whichever
path, and however many times, it takes.

Waking is a `SET ... NX EX` of a flag: only the message that finds no drain pending queues one.
A drain first waits for a lull (no message stored for LULL_SECONDS, at most MAX_WAIT_SECONDS), so
a burst's answers get the CPU before its awards do; then it clears the flag and looks for owed
check-ins, so a message stored after it looked sets the flag again and queues the next drain, and
one stored before is found by this one. Several drains may run at once (`SKIP LOCKED` shares the
rows out). A burst of a hundred messages thus costs the worker a few jobs instead of a hundred.

Nor does each message pay a Redis round trip (in-process, the SET cost as much CPU as the rest of
the callback's check-in work together). A web process that saw a drain pending, at time t, skips
the SET for the messages it stores until t + WAKE_MEMO_SECONDS. That drain cleared the flag after
t, and keeps looking for owed check-ins until LINGER_SECONDS after clearing it; its last look
starts after t + LINGER_SECONDS > t + WAKE_MEMO_SECONDS, so it finds every message committed
before the memo ran out. Only the durations matter, so this holds across processes and hosts.
"""

import contextlib
import functools
import logging
from dataclasses import dataclass
from datetime import timedelta

import redis
from psycopg.types.json import Json
from rq import Retry
from sqlalchemy import func, select

from school_points.media.wechat_media import fetch_record_media, media_placeholder
from school_points.models import ProcessedWechatMessage
from school_points.people import oa_users
from school_points.platform import uow
from school_points.platform.autocommit import own_transaction, session_in_transaction
from school_points.platform.clock import acting_at, monotonic, sleep, utcnow
from school_points.platform.db_setup import insert_or_skip
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.platform.queue import enqueue
from school_points.platform.redis_conn import get_redis
from school_points.points import growth
from school_points.wechat import delivery
from school_points.wechat.notify import deliver_claimed

log = logging.getLogger(__name__)

ACKNOWLEDGED = "收到打卡！正在记录积分，稍后通知你结果。"
PHOTO_ACKNOWLEDGED = "照片已收到！正在记录打卡积分，稍后通知你结果。"
NO_STUDENT = "您还没有绑定孩子。请发送“绑定 绑定码”（绑定码请向老师索取），例如：绑定 AB23CD45"
CHECKED_IN = "打卡成功！{name} +{awarded} 积分，当前积分 {balance}。"
CHECKED_IN_NO_POINTS = "打卡已记录！{name} 今天的打卡积分已领取，当前积分 {balance}。"
PHOTO_CHECKED_IN = "照片已收到，打卡成功！{name} +{awarded} 积分，当前积分 {balance}。"
PHOTO_CHECKED_IN_NO_POINTS = "照片已收到，打卡已记录！{name} 今天的打卡积分已领取，当前积分 {balance}。"

# Younger owed check-ins probably still have a drain coming; older than a day, the parent has
# long been told nothing, and the drains and the sweep stop trying (the row stays, for an operator).
GRACE = timedelta(seconds=60)
SWEEP_WINDOW = timedelta(days=1)
# Set while a drain is queued and has not started: the messages meanwhile need not queue another.
# It expires in case its job is lost between the SET and the queue (the sweep covers the rest).
DRAIN_FLAG = "school_points:checkin-drain"
DRAIN_FLAG_SECONDS = 60
# A drain waits until no message was stored for LULL_SECONDS (the burst is over), or
# MAX_WAIT_SECONDS at most (the parent is told within a couple of seconds however busy).
LULL_SECONDS = 0.1
MAX_WAIT_SECONDS = 2.0
# A process that saw a drain pending skips the SET for this long; every drain goes on looking for
# owed check-ins until LINGER_SECONDS after it cleared the flag, which must be longer (module doc).
WAKE_MEMO_SECONDS = 0.5
LINGER_SECONDS = 1.0
# A drain stops after this long (so it never meets RQ's job timeout) and queues its successor.
DRAIN_SECONDS = 60
DRAIN_JOB_TIMEOUT = 300
# A drain that raised (the database went away) is retried this often by RQ.
JOB_RETRIES = 2


@dataclass(frozen=True)
class Told:
    """The result text for the parent, the sender's user row, and a record whose photo is to fetch."""

    text: str
    user: object
    photo_record_id: int | None = None


def sent_of(content="", media_id="") -> dict[str, str]:
    """What a check-in message carries, as stored with a deferred check-in."""
    return {"content": content or "", "media_id": (media_id or "")[:128]}


def acknowledgement(sent) -> str:
    """What the callback answers at once for a deferred check-in."""
    return PHOTO_ACKNOWLEDGED if sent.get("media_id") else ACKNOWLEDGED


def check_in(openid, sent, *, key) -> Told:
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


def record_deferred(key, openid, sent, reply) -> tuple[bool, str | None]:
    """Store a check-in to award later, with its acknowledgement as the stored reply.

    One INSERT ... ON CONFLICT DO NOTHING. Returns (True, None) when the message is new; for a
    retry (or a message handled before), (False, the reply stored with it), or (False, None) when
    that reply is not to hand: the caller reads it (`inbox.stored_reply`). On PostgreSQL, when no
    transaction is open yet, the statement is its own transaction (autocommit.own_transaction: no
    BEGIN and COMMIT round trips, no session work) and also brings back the stored reply, so a
    burst of WeChat's retries costs no more than the first messages did; otherwise it joins the
    session's transaction, which the caller commits.
    """
    values = dict(dedupe_key=key, reply=reply, openid=openid, checkin=sent, created_at=utcnow())
    dialect = db.engine.dialect.name
    if dialect == "postgresql" and not session_in_transaction():
        with own_transaction() as cursor:
            cursor.execute(_PG_DEFERRED_INSERT, {**values, "checkin": Json(sent)})
            row = cursor.fetchone()
        # no row: the conflicting row committed while this statement waited, after its snapshot
        return (True, None) if row is not None and row[0] else (False, row[1] if row else None)
    inserted = db.session.connection().execute(_deferred_insert(dialect), values).first() is not None
    return inserted, None


# The stored row of a conflict is read in the same statement (its snapshot predates the INSERT).
_PG_DEFERRED_INSERT = (
    "WITH new AS (INSERT INTO processed_wechat_message (dedupe_key, reply, openid, checkin, created_at) "
    "VALUES (%(dedupe_key)s, %(reply)s, %(openid)s, %(checkin)s, %(created_at)s) "
    "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id) "
    "SELECT true, NULL FROM new "
    "UNION ALL SELECT false, reply FROM processed_wechat_message "
    "WHERE dedupe_key = %(dedupe_key)s AND NOT EXISTS (SELECT FROM new)"
)


@functools.cache
def _deferred_insert(dialect):
    """The INSERT ... ON CONFLICT DO NOTHING RETURNING id, built once (in a transaction, or SQLite)."""
    table = ProcessedWechatMessage.__table__
    return insert_or_skip(table, ["dedupe_key"], dialect).returning(table.c.id)


def wake_drainer(*, trust_memo=True) -> str | None:
    """Have a drain award the check-ins recorded so far; call after the commit that stored one.

    'queued' when this call queued a drain, 'pending' when one is queued and has not started or
    this process saw one so a moment ago (it will find the message), None when Redis refused: the
    caller should award the check-in itself. Without Redis the drain runs here and now. The sweep
    passes `trust_memo=False`: it wakes a drain because check-ins are overdue, so it asks Redis.
    """
    global _drain_pending_since
    client = get_redis()
    if client is None:
        enqueue(drain_checkins)
        return "queued"
    asked = monotonic()  # the flag is seen (or set) after this moment
    if trust_memo and asked - _drain_pending_since < WAKE_MEMO_SECONDS:
        return "pending"  # the drain this process saw pending lingers long enough to find the message
    try:
        woken = (
            "pending"
            if not client.set(DRAIN_FLAG, "1", nx=True, ex=DRAIN_FLAG_SECONDS)
            else ("queued" if _queue_drain() is not None else None)
        )
    except redis.RedisError as exc:
        log.warning("check-in drain not woken: %s", exc)
        return None
    if woken is not None:
        _drain_pending_since = asked
    return woken


# When this process last saw a drain pending (clock.monotonic(); see WAKE_MEMO_SECONDS).
_drain_pending_since = float("-inf")


def _queue_drain():
    job = enqueue(drain_checkins, retry=Retry(max=JOB_RETRIES), job_timeout=DRAIN_JOB_TIMEOUT)
    if job is None:  # Redis refused the job after taking the flag: let the next message try again
        with contextlib.suppress(redis.RedisError):  # the flag expires by itself
            get_redis().delete(DRAIN_FLAG)
    return job


def drain_checkins() -> int:
    """Job: award every acknowledged check-in still owed, oldest first; returns how many it did.

    It waits for a lull in arriving check-ins first, then clears the flag: a message stored from
    then on queues the next drain, unless its process saw this drain pending a moment ago; this
    drain looks for such messages until LINGER_SECONDS after clearing the flag (and, finding one
    after it had caught up, waits for a lull again before awarding it). Each check-in is taken
    with `FOR UPDATE SKIP LOCKED`, so concurrent drains share the rows, and is awarded and
    committed on its own; one that raises is logged, left owed for the sweep and skipped.
    """
    client, linger_until = get_redis(), float("-inf")
    if client is not None:
        _wait_for_a_lull()
        try:
            client.delete(DRAIN_FLAG)
        except redis.RedisError as exc:
            log.warning("check-in drain flag not cleared: %s", exc)
        linger_until = monotonic() + LINGER_SECONDS  # the flag is cleared by now
    deadline, done, failed, caught_up = monotonic() + DRAIN_SECONDS, 0, [], False
    while monotonic() < deadline:
        looked = monotonic()
        key = _next_owed(failed)
        if key is None:
            if looked >= linger_until:
                return done
            caught_up = True
            sleep(max(0.0, min(LULL_SECONDS, linger_until - monotonic())))
            continue
        if caught_up:  # found while lingering: perhaps the next burst; its answers go first again
            db.session.rollback()  # not holding the row meanwhile
            _wait_for_a_lull()
            caught_up = False
            continue
        try:
            award_checkin_message(key)
        except Exception:  # noqa: BLE001 - one message must not hold up everyone else's
            db.session.rollback()
            log.exception("check-in %s not awarded; left for the sweep", key)
            failed.append(key)
            continue
        done += 1
    db.session.rollback()
    if client is not None:
        _queue_drain()  # out of time with more owed, perhaps: the next drain goes on
    return done


def _wait_for_a_lull():
    """Return once no message was stored for LULL_SECONDS, or after MAX_WAIT_SECONDS.

    While a burst of messages arrives, its acknowledgements are what the parents wait for; the
    awards, told later by message anyway, go after them instead of taking the same CPU. The newest
    stored message's id (the primary key's last entry) tells whether any arrived meanwhile.
    """
    deadline = monotonic() + MAX_WAIT_SECONDS
    seen = _newest_message_id()
    while monotonic() < deadline:
        sleep(LULL_SECONDS)
        newest = _newest_message_id()
        if newest == seen:
            return
        seen = newest


def _newest_message_id():
    newest = db.session.scalar(select(func.max(ProcessedWechatMessage.id)))
    db.session.rollback()  # hold no snapshot or transaction while waiting
    return newest


def _next_owed(skip):
    """The dedupe key of the oldest owed check-in no other drain holds, locked; None when none is left."""
    query = (
        select(ProcessedWechatMessage.dedupe_key)
        .where(
            ProcessedWechatMessage.done_at.is_(None),
            ProcessedWechatMessage.checkin.is_not(None),
            ProcessedWechatMessage.created_at >= utcnow() - SWEEP_WINDOW,
        )
        .order_by(ProcessedWechatMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if skip:
        query = query.where(ProcessedWechatMessage.dedupe_key.not_in(skip))
    key = db.session.scalars(query).first()
    if key is None:
        db.session.rollback()
    return key


def award_checkin_message(key) -> str | None:
    """Award a check-in the callback acknowledged and tell the parent; returns the text.

    The stored message is locked first (the drain that picked it holds the lock already), so a
    second run for the same message waits and then finds it done. The result message is an outbox
    row committed with the award (already claimed by this job), then sent at once; the sweep
    retries a send that failed for a transient reason, and a worker's startup sweep sends one this
    job never started (a send it started and never finished is not repeated: delivery.py).
    """
    message = _owed(key)
    if message is None:
        db.session.rollback()
        return None
    told = _check_in_or_refusal(message, key)
    if told is None:  # another run finished it while this one was refused
        db.session.rollback()
        return None
    openid, photo_record_id = message.openid, told.photo_record_id
    result = delivery.record_custom_message(told.user.id, told.text, key=f"oa-reply:{key}")
    notification_id, token = result.id, result.claim_token
    message.done_at = utcnow()  # still locked by this transaction (re-locked after a refusal)
    if photo_record_id is not None:
        uow.after_commit(db.session, enqueue, fetch_record_media, photo_record_id)
    uow.after_commit(db.session, deliver_claimed, notification_id, delivery.custom_route(openid), token)
    db.session.commit()
    return told.text


def award_in_request(key, render) -> Told | None:
    """The callback's fallback when the job cannot be queued: award now, store `render(text)` as
    the reply; a Told, or None when a job or a retry did it first. The caller commits."""
    message = _owed(key)
    if message is None:
        return None
    told = _check_in_or_refusal(message, key)
    if told is not None:
        message.done_at, message.reply = utcnow(), render(told.text)
    return told


def overdue(now=None, grace=GRACE) -> bool:
    """Whether a check-in acknowledged less than a day ago is still owed past its grace period
    (a worker starting up passes no grace: whatever is owed then, it drains)."""
    now = now or utcnow()
    found = db.session.scalar(
        select(ProcessedWechatMessage.id)
        .where(
            ProcessedWechatMessage.done_at.is_(None),
            ProcessedWechatMessage.checkin.is_not(None),
            ProcessedWechatMessage.created_at >= now - SWEEP_WINDOW,
            ProcessedWechatMessage.created_at <= now - grace,
        )
        .limit(1)
    )
    db.session.rollback()
    return found is not None


def _owed(key):
    """The stored check-in of `key`, locked, if it is still owed."""
    return db.session.scalars(
        select(ProcessedWechatMessage)
        .where(
            ProcessedWechatMessage.dedupe_key == key,
            ProcessedWechatMessage.done_at.is_(None),
            ProcessedWechatMessage.checkin.is_not(None),
        )
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
        if _owed(key) is None:
            return None
        user, _ = oa_users.find_or_create_oa_user(openid)
        return Told(exc.message, user)
