"""Notifications, outbox side (docs/WECHAT.md): a domain operation records them in its own transaction;
after the commit, the unit of work enqueues one delivery job per record (`deliver_after_commit`).
"""

from sqlalchemy import select

from school_points.models import NOTIFICATION_KINDS, Guardian, Notification, Student
from school_points.platform import uow
from school_points.platform.clock import isoformat, utcnow
from school_points.platform.extensions import db
from school_points.school.settings import get_settings


def notify_student(kind, student_id, values, *, key, page="") -> list[Notification]:
    """Record a `kind` notification for every guardian of a student; returns the new records.

    `values` uses our own names (student, goods, points, balance, time, status, remark); the
    settings' field mapping turns them into the template's keywords when sending. `key` makes the
    records idempotent: the same key never notifies the same person twice.
    """
    return notify_students(kind, [(student_id, values, key)], page=page)


def notify_students(kind, items, *, page="") -> list[Notification]:
    """Record notifications for many students at once: items are (student_id, values, key).

    A fixed number of queries however many students (a class-wide evaluation notifies 40 families).
    """
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not items:
        return []
    config = get_settings()["notifications"].get(kind, {})
    student_ids = {student_id for student_id, _, _ in items}
    names = dict(db.session.execute(select(Student.id, Student.name).where(Student.id.in_(student_ids))).all())
    guardians = {}
    for student_id, user_id in db.session.execute(
        select(Guardian.student_id, Guardian.user_id).where(Guardian.student_id.in_(student_ids)).order_by(Guardian.id)
    ):
        guardians.setdefault(student_id, []).append(user_id)
    wanted = {
        f"{key}:u{user_id}"[:200]: (student_id, user_id, values)
        for student_id, values, key in items
        for user_id in guardians.get(student_id, [])
    }
    if not wanted:
        return []
    seen = set(db.session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(list(wanted)))))
    now = utcnow()
    created = []
    for dedupe_key, (student_id, user_id, values) in wanted.items():
        if dedupe_key in seen:
            continue
        record = Notification(
            kind=kind,
            dedupe_key=dedupe_key,
            user_id=user_id,
            student_id=student_id,
            template_id=config.get("template_id", ""),
            page=page,
            created_at=now,
            values={"student": names.get(student_id, ""), "time": isoformat(now), **values},
        )
        if not config.get("enabled"):
            record.status, record.last_error = "skipped", "该通知未开启"
        db.session.add(record)
        created.append(record)
    db.session.flush()
    deliver_after_commit([r.id for r in created if r.status == "pending"])
    return created


def deliver_after_commit(notification_ids) -> None:
    """Deliver records written in the session's transaction (by `notify_students`, or by SQL) once
    it commits: one batch of delivery jobs per transaction; nothing if it rolls back."""
    uow.collect_after_commit(db.session, _enqueue_delivery, notification_ids)


def deliver_committed(notification_ids) -> None:
    """Deliver records a statement already committed on its own (`autocommit.own_transaction`)."""
    if notification_ids:
        uow.run_now(_enqueue_delivery, list(notification_ids))


def _enqueue_delivery(notification_ids):
    from school_points.platform.queue import enqueue_each
    from school_points.wechat.notify import deliver  # here: the jobs import this module

    enqueue_each(deliver, notification_ids)
