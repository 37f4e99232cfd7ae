"""Check-ins acknowledged at once and awarded by a job (with Redis; docs/WECHAT.md).

A synchronous check-in is 10 statements and a commit; a burst of a hundred parents would
wait for each other. So with Redis (and the official account's credentials, without which the
result could not be told later) the callback only stores the message with its acknowledgement
(one INSERT ... ON CONFLICT DO NOTHING), commits, wakes the drain job (one SET NX, which queues a
drain only when none is pending) and answers. A retry of the same MsgId conflicts on the insert
and gets the stored acknowledgement.
Without Redis, or while it is down, `defer` declines and the check-in is done in the request.
"""

from flask import current_app

from school_points.media.wechat_media import fetch_record_media
from school_points.platform import uow
from school_points.platform.autocommit import session_in_transaction
from school_points.platform.extensions import db
from school_points.platform.queue import enqueue
from school_points.points import oa_checkins
from school_points.wechat import clients

from .dispatch import checkin_of
from .inbox import loggable_key, redis_failed, redis_usable, stored_reply
from .replies import text_reply


def defer(message, key):
    """The acknowledgement of a check-in left to a job, or None to handle the message now."""
    sent = checkin_of(message)
    if sent is None or not redis_usable() or not clients.oa_configured():
        return None
    acknowledgement = text_reply(message, oa_checkins.acknowledgement(sent))
    inserted, earlier = oa_checkins.record_deferred(key, message.source, sent, acknowledgement)
    if session_in_transaction():  # not when the INSERT was its own transaction
        db.session.commit()
    if not inserted:  # WeChat's retry (or a message handled before): the first answer, no new job
        return earlier or stored_reply(key) or acknowledgement
    if oa_checkins.wake_drainer() is None:
        return _award_now(message, key, acknowledgement)
    return acknowledgement


def _award_now(message, key, acknowledgement):
    """Redis refused the job after the message was stored: award here and answer the result."""
    current_app.logger.warning("check-in %s not queued: awarded in the request", loggable_key(key))
    redis_failed("enqueue failed")  # answer the next messages in the request without trying Redis
    told = oa_checkins.award_in_request(key, lambda text: text_reply(message, text))
    if told is not None and told.photo_record_id is not None:
        # fails softly too: the media sweep fetches it
        uow.after_commit(db.session, enqueue, fetch_record_media, told.photo_record_id)
    db.session.commit()
    if told is None:  # a job or a retry got there first
        return stored_reply(key) or acknowledgement
    return text_reply(message, told.text)  # the stored reply says the same
