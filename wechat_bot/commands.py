"""Text commands and menu clicks of the official account (docs/WECHAT.md): thin calls into the domain."""

import contextlib
import json
import logging
import threading

import redis
from flask import current_app
from sqlalchemy import select

from school_points.accounts.levels import level_text, level_view, levels_config
from school_points.media.wechat_media import fetch_record_media
from school_points.models import Redemption
from school_points.people import guardians
from school_points.platform.clock import isoformat
from school_points.platform.errors import AlreadySignedIn, DomainError
from school_points.platform.extensions import db
from school_points.platform.logsafe import log_id
from school_points.platform.redis_conn import get_redis
from school_points.points import growth, oa_checkins, referral, signin
from school_points.school.actors import Actor
from school_points.wechat import clients

from . import texts
from .replies import say

log = logging.getLogger(__name__)

REFERRAL_QR_SECONDS = 30 * 24 * 3600
REFERRAL_QR_TIMEOUT = 1.5  # seconds: the whole reply must reach WeChat well inside 5 s
RECENT_REDEMPTIONS = 5


def points(message, user, key):
    """积分: balances of every bound student."""
    students = guardians.students_of(user, with_accounts=True)
    if not students:
        return say(message, texts.NO_STUDENT)
    current = guardians.default_among(user, students)
    levels = levels_config()
    lines = []
    for student in students:
        account = student.account
        lifetime = account.lifetime if account else 0
        line = texts.POINTS_LINE.format(name=student.name, balance=account.balance if account else 0, lifetime=lifetime)
        if levels is not None:
            line += texts.POINTS_LEVEL.format(level=level_text(level_view(lifetime, levels)))
        lines.append(line + (texts.POINTS_DEFAULT_MARK if len(students) > 1 and student.id == current.id else ""))
    return say(message, "\n".join(lines))


def sign_in(message, user, key):
    """签到: the default student's daily sign-in."""
    student = guardians.default_student(user)
    if student is None:
        return say(message, texts.NO_STUDENT)
    try:
        awarded, streak, balance = signin.sign_in(student.id, actor=Actor.user(user.id))
    except AlreadySignedIn:
        return say(message, texts.ALREADY_SIGNED_IN.format(name=student.name))
    return say(message, texts.SIGNED_IN.format(name=student.name, awarded=awarded, streak=streak, balance=balance))


def check_in(message, key, sent):
    """打卡 <内容> or a photo, done in the request: a growth record for the default student.

    (With Redis the callback acknowledges instead and a job does this: see wechat_bot/deferred.py.)
    """
    told = oa_checkins.check_in(message.source, sent, key=key)
    jobs = [(fetch_record_media, told.photo_record_id)] if told.photo_record_id is not None else []
    return say(message, told.text, *jobs)


def check_in_explained(message, user, key, content):
    """打卡 with nothing after it, or too much: how to check in (the check-ins themselves are
    recognised before any command, by dispatch.checkin_of)."""
    if not content:
        return say(message, texts.CHECKIN_USAGE)
    return say(message, texts.CHECKIN_TOO_LONG.format(limit=growth.MAX_CONTENT_LENGTH))


def bind(message, user, key, code):
    """绑定 <bind_code>."""
    if not code:
        return say(message, texts.BIND_USAGE)
    guardian = referral.bind_and_reward(user, code)
    return say(message, texts.BOUND.format(name=guardian.student.name))


def switch(message, user, key, name):
    """切换 <学生名>: change the default student."""
    students = guardians.students_of(user)
    if not students:
        return say(message, texts.NO_STUDENT)
    names = "、".join(s.name for s in students)
    if not name:
        return say(message, texts.SWITCH_USAGE.format(names=names))
    chosen = next((s for s in students if s.name == name), None)
    if chosen is None:
        return say(message, texts.SWITCH_UNKNOWN.format(name=name, names=names))
    guardians.set_default_student(user, chosen.id)
    return say(message, texts.SWITCHED.format(name=chosen.name))


def redemptions(message, user, key):
    """兑换记录: the default student's recent orders."""
    student = guardians.default_student(user)
    if student is None:
        return say(message, texts.NO_STUDENT)
    orders = db.session.scalars(
        select(Redemption)
        .where(Redemption.student_id == student.id)
        .order_by(Redemption.id.desc())
        .limit(RECENT_REDEMPTIONS)
    ).all()
    if not orders:
        return say(message, texts.NO_REDEMPTIONS.format(name=student.name))
    lines = [texts.REDEMPTIONS_TITLE.format(name=student.name)]
    for order in orders:
        lines.append(
            texts.REDEMPTION_LINE.format(
                goods=order.goods_name,
                quantity=order.quantity,
                points=order.total_points,
                status=texts.REDEMPTION_STATUS.get(order.status, order.status),
                time=isoformat(order.created_at)[:16].replace("T", " "),
            )
        )
    return say(message, "\n".join(lines))


def refer(message, user, key):
    """推荐: the referral code and a QR code that carries it."""
    summary = referral.referral_summary(user)
    text = texts.REFERRAL.format(**summary)
    url = referral_qr_url(summary["code"])
    text += texts.REFERRAL_QR.format(url=url) if url else texts.REFERRAL_QR_LATER
    return say(message, text)


def referral_qr_url(code):
    """The `ref_<code>` QR image URL, cached in Redis; None when WeChat cannot make one in time.

    WeChat is asked from a helper thread so the reply never waits longer than
    REFERRAL_QR_TIMEOUT, even when a token must be fetched first; a late answer is still cached.
    """
    cache_key = f"wechat:refqr:{code}"
    cached = _cache_get(get_redis(), cache_key)
    if cached:
        return cached
    app, made = current_app._get_current_object(), {}

    def make():
        with app.app_context():
            try:
                qr = clients.oa_qrcode(f"ref_{code}", REFERRAL_QR_SECONDS, timeout=REFERRAL_QR_TIMEOUT)
            except DomainError as exc:
                log.warning("referral QR for %s not made: %s", log_id(code), exc)  # the code earns points
                return
            made["url"] = qr["url"]
            _cache_set(get_redis(), cache_key, qr["url"], REFERRAL_QR_SECONDS - 24 * 3600)

    worker = threading.Thread(target=make, name="referral-qr", daemon=True)
    worker.start()
    worker.join(REFERRAL_QR_TIMEOUT)
    return made.get("url")


def usage(text):
    """A command that only explains itself."""

    def reply(message, user, key):
        return say(message, text)

    return reply


def _cache_get(client, key):
    if client is None:
        return None
    try:
        value = client.get(key)
    except redis.RedisError:
        return None
    return json.loads(value) if value else None


def _cache_set(client, key, value, seconds):
    if client is None:
        return
    with contextlib.suppress(redis.RedisError):
        client.set(key, json.dumps(value), ex=seconds)
