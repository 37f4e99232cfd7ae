"""Handling each WeChat message or event once, however often WeChat retries it (docs/WECHAT.md).

WeChat retries a message (same MsgId) or event (same sender, CreateTime and event) when we are
slow. Three layers make the effect happen once (check-ins acknowledged at once and awarded by a
job use the same record and keys: wechat_bot/deferred.py):
1. Redis remembers each answered message's reply for a while (fast path, optional), once the
   handling transaction has committed (a unit-of-work effect: a reply is never cached for work
   that rolled back).
2. `ProcessedWechatMessage` is inserted first in the handling transaction, unique on the dedupe
   key: a concurrent retry waits on that index and then replays the stored reply.
3. The services' ledger idempotency keys are derived from the same key, the last line if both
   caches are gone.
"""

import logging
import time

import redis
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from school_points.models import ProcessedWechatMessage
from school_points.platform import uow
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.platform.logsafe import log_id
from school_points.platform.queue import enqueue
from school_points.platform.redis_conn import get_redis

log = logging.getLogger(__name__)

CACHE_SECONDS = 600
# After a Redis error, skip Redis for a while: every message must still answer well inside 5 s.
REDIS_BACKOFF_SECONDS = 30
_redis_skip_until = 0.0


def dedupe_key(message):
    """The key naming one message (MsgId) or one event (sender + CreateTime + event)."""
    data = message._data
    msg_id = str(data.get("MsgId") or data.get("MsgID") or "").strip()
    if msg_id and data.get("MsgType") != "event":
        return f"msg:{msg_id}"[:200]
    event = str(data.get("Event") or data.get("MsgType") or "").lower()
    return f"evt:{data.get('FromUserName', '')}:{data.get('CreateTime', '')}:{event}"[:200]


def loggable_key(key):
    """A dedupe key fit for a log line: `msg:<MsgId>` as is, an event's key (which holds the
    sender's openid) as a keyed digest."""
    return key if key.startswith("msg:") else f"evt:{log_id(key)}"


def handle_once(message, handler, *, defer=None):
    """The reply to `message`, running `handler(message, key)` only the first time it arrives.

    `handler` returns an Outcome (reply text renderer + jobs); it may raise DomainError, whose
    message becomes the reply. The handler's changes and the processed record commit together.
    `defer(message, key)`, when given, may answer first: a reply when it took the message over
    (a check-in acknowledged and left to a job; its stored row answers retries, so the Redis
    reply cache is not used for it), None to let `handler` do it here and now.
    """
    key = dedupe_key(message)
    deferred = defer(message, key) if defer is not None else None
    if deferred is not None:
        return deferred
    cached = _recall(key)
    if cached is not None:
        return cached
    return _process(message, key, handler)


def redis_usable():
    """Whether Redis is configured and has not just failed (see REDIS_BACKOFF_SECONDS)."""
    return _client() is not None


def redis_failed(exc):
    """Note a Redis failure seen outside this module: skip Redis for a while."""
    _redis_failed(exc)


def stored_reply(key):
    """The reply stored with a handled message, or None."""
    return _stored_reply(key)


def _process(message, key, handler):
    # The insert is the check: a retry of a handled message fails on the unique key at once, and
    # a concurrent retry waits on the first one's uncommitted row, then fails the same way.
    record = ProcessedWechatMessage(dedupe_key=key, reply="")
    db.session.add(record)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return _stored_and_remembered(key) or ""
    try:
        outcome = handler(message, key)
    except DomainError as exc:
        db.session.rollback()  # drops what the handler registered to run after a commit
        return _store_refusal(key, message, exc)
    record.reply = outcome.reply_xml
    uow.after_commit(db.session, _remember, key, outcome.reply_xml)
    for job in outcome.jobs:
        uow.after_commit(db.session, enqueue, job[0], *job[1:])
    db.session.commit()
    return outcome.reply_xml


def _store_refusal(key, message, exc):
    """A refused command answers with the refusal, also on retries."""
    from .replies import text_reply

    reply = text_reply(message, exc.message)
    try:
        with db.session.begin_nested():
            db.session.add(ProcessedWechatMessage(dedupe_key=key, reply=reply))
        uow.after_commit(db.session, _remember, key, reply)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return _stored_and_remembered(key) or reply
    return reply


def _stored_and_remembered(key):
    """The reply a concurrent handling of the same message committed, cached for the next retries."""
    reply = _stored_reply(key)
    if reply is not None:
        _remember(key, reply)
    return reply


def _stored_reply(key):
    row = db.session.scalars(select(ProcessedWechatMessage).where(ProcessedWechatMessage.dedupe_key == key)).first()
    return row.reply if row is not None else None


def _client():
    if time.monotonic() < _redis_skip_until:
        return None
    return get_redis()


def _redis_failed(exc):
    global _redis_skip_until
    _redis_skip_until = time.monotonic() + REDIS_BACKOFF_SECONDS
    current_app.logger.warning("wechat inbox: Redis unavailable, using the database only: %s", exc)


def _recall(key):
    client = _client()
    if client is None:
        return None
    try:
        value = client.get(f"wechat:reply:{key}")
    except redis.RedisError as exc:
        _redis_failed(exc)
        return None
    return value.decode() if value is not None else None


def _remember(key, reply):
    client = _client()
    if client is None:
        return
    try:
        client.set(f"wechat:reply:{key}", reply, ex=CACHE_SECONDS)
    except redis.RedisError as exc:
        _redis_failed(exc)
