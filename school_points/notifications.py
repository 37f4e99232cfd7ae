"""Notifications, outbox side (SPEC §6.2): a domain operation records them in its own transaction;
after the commit, `dispatch_after_commit` enqueues one delivery job per record.
"""
from flask import g, has_app_context
from sqlalchemy import select

from .clock import isoformat, utcnow
from .extensions import db
from .models import NOTIFICATION_KINDS, Guardian, Notification, Student, WechatUser
from .settings import get_settings


def notify_student(kind, student_id, values, *, key, page=""):
    """Record a `kind` notification for every guardian of a student; returns the new records.

    `values` uses our own names (student, goods, points, balance, time, status, remark); the
    settings' field mapping turns them into the template's keywords when sending. `key` makes the
    records idempotent: the same key never notifies the same person twice.
    """
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    config = get_settings()["notifications"].get(kind, {})
    student = db.session.get(Student, student_id)
    values = {"student": student.name if student else "", "time": isoformat(utcnow()), **values}
    users = db.session.scalars(
        select(WechatUser).join(Guardian, Guardian.user_id == WechatUser.id).where(Guardian.student_id == student_id)
    ).all()
    created = []
    for user in users:
        dedupe_key = f"{key}:u{user.id}"[:200]
        if db.session.scalars(select(Notification.id).where(Notification.dedupe_key == dedupe_key)).first():
            continue
        record = Notification(
            kind=kind, dedupe_key=dedupe_key, user_id=user.id, student_id=student_id,
            template_id=config.get("template_id", ""), values=values, page=page, created_at=utcnow(),
        )
        if not config.get("enabled"):
            record.status, record.last_error = "skipped", "该通知未开启"
        db.session.add(record)
        created.append(record)
    db.session.flush()
    if has_app_context():
        g.setdefault("outbox_ids", []).extend(r.id for r in created if r.status == "pending")
    return created


def dispatch_after_commit():
    """Enqueue delivery of the notifications this request or job recorded; call after commit."""
    if not has_app_context():
        return
    ids = g.pop("outbox_ids", [])
    if not ids:
        return
    from .jobs.queue import enqueue

    try:
        from .jobs.notify import deliver
    except ImportError:  # delivery arrives with the WeChat module; the sweep sends them later
        return
    for notification_id in ids:
        enqueue(deliver, notification_id)


def forget_pending():
    """Drop recorded ids after a rollback: those records no longer exist."""
    if has_app_context():
        g.pop("outbox_ids", None)
