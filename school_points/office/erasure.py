"""Erasing a child's personal data (docs/FAMILY_DATA.md), by an admin or by the retention job.

What stays: the student row under the name `已删除学员#<id>`, the campus, the points account and
every ledger amount, the orders with their points and goods snapshots, sign-ins and referrals (ids
and numbers only). The school's accounts therefore still add up and `points check` stays clean.
What goes: the name, birthday, student number and bind code; growth records' text and photos (the
files and their upload rows); likes and shares of those records; the guardians' bindings and the
classes; and every copy of the child's strings elsewhere (office/redaction.py).
"""

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update

from school_points.accounts import ledger
from school_points.media.uploads import delete_stored, upload_names
from school_points.media.wechat_media import PLACEHOLDER
from school_points.models import (
    AuditLog,
    GrowthRecord,
    Guardian,
    IdempotencyRecord,
    Like,
    Notification,
    ProcessedWechatMessage,
    Redemption,
    Share,
    Student,
    Upload,
    WechatUser,
)
from school_points.office.redaction import MIN_DISTINCTIVE_TEXT, Redactor, forget_cached_replies, scrub_rows
from school_points.people.names import given_name
from school_points.people.students import ERASED_NAME, get_student
from school_points.platform import uow
from school_points.platform.clock import day_start, local_today, utcnow
from school_points.platform.errors import ValidationFailed
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.actors import SYSTEM
from school_points.school.scoping import Scope, require_super
from school_points.school.settings import get_settings

log = logging.getLogger(__name__)

ALL_CAMPUSES = Scope()
# Students the retention job erases per run: an erasure searches the outbox, the audit log and the
# message and request records (about a second on a school-sized database, bench/bench_family.py),
# so a first run after the setting is turned on spreads a backlog over the hourly runs instead of
# outliving the job's timeout.
RETENTION_BATCH = 200


class ConfirmMismatch(ValidationFailed):
    code, message = "confirm_mismatch", "确认内容与学员当前姓名不一致"


@dataclass(frozen=True)
class Family:
    """The guardians of the child at the time of erasure: their user ids and official-account openids."""

    user_ids: list[int]
    openids: list[str]


def erase_student(student_id, *, scope, actor, confirm=None) -> tuple[Student, bool]:
    """Erase a student's personal data; (student, whether anything changed). Super admins only
    (any other scope: Forbidden, whatever the id). An erased student is returned as it is, whatever
    `confirm` says; otherwise `confirm` (None only for the retention job) must be the current name.
    The caller commits; the files and cached replies go after the commit."""
    require_super(scope, "只有总管理员可以删除学员数据")
    student = get_student(student_id, scope)
    # The account lock orders erasure with every award, redemption and a second erasure of the
    # same child: whoever comes second sees the first one's result.
    account = ledger.lock(student.id)
    student = db.session.scalars(
        select(Student).where(Student.id == student.id).execution_options(populate_existing=True)
    ).one()
    if student.status == "erased":
        return student, False
    if confirm is not None and confirm != student.name:
        raise ConfirmMismatch(details={"confirm": ["请输入学员当前的完整姓名"]})
    family = _family(student.id)
    records = list(db.session.scalars(select(GrowthRecord).where(GrowthRecord.student_id == student.id)))
    uploads = sorted({name for record in records for name in upload_names(record.media)})
    redactor = _redactor(student, records, uploads)
    counts = _scrub_copies(student, account, family, redactor)
    counts.update(_clear_records(records, uploads))
    counts["guardians"] = _unbind(student.id)
    _blank_student(student)
    db.session.flush()
    audit.record(actor, "student.erase", "student", student.id, campus_id=student.campus_id, changes=counts)
    uow.after_commit(db.session, _forget_files_and_cache, uploads, redactor, family.openids)
    return student, True


def erase_expired_archives(now=None) -> int:
    """The retention job: erase students archived before the start of the school-local day
    `erase_archived_after_days` days ago (0: never), one transaction each, at most RETENTION_BATCH
    a run (the longest archived first); returns how many."""
    days = int(get_settings().get("privacy", {}).get("erase_archived_after_days", 0) or 0)
    if days <= 0:
        db.session.rollback()
        return 0
    cutoff = day_start(local_today(now or utcnow()) - timedelta(days=days))
    ids = list(
        db.session.scalars(
            select(Student.id)
            .where(Student.status == "archived", Student.archived_at.is_not(None), Student.archived_at < cutoff)
            .order_by(Student.archived_at, Student.id)
            .limit(RETENTION_BATCH)
        )
    )
    db.session.rollback()
    erased = 0
    for student_id in ids:
        try:
            _, changed = erase_student(student_id, scope=ALL_CAMPUSES, actor=SYSTEM)
            db.session.commit()
            erased += changed
        except Exception:  # one student's failure must not keep the others' data
            db.session.rollback()
            log.exception("retention: student %s not erased", student_id)
    return erased


def _family(student_id):
    rows = db.session.execute(
        select(WechatUser.id, WechatUser.oa_openid)
        .join(Guardian, Guardian.user_id == WechatUser.id)
        .where(Guardian.student_id == student_id)
        .order_by(Guardian.id)
    ).all()
    return Family([row.id for row in rows], [row.oa_openid for row in rows if row.oa_openid])


def _redactor(student, records, uploads):
    redactor = Redactor()
    erased_name = ERASED_NAME.format(id=student.id)
    redactor.add(student.name, erased_name, distinctive=len(student.name.strip()) >= 2)
    given = given_name(student.name)
    if given and given != student.name:
        redactor.add(given, erased_name)
    redactor.add(student.student_no, distinctive=True)
    redactor.add(student.bind_code, distinctive=True)
    if student.birthday is not None:
        redactor.add(student.birthday.isoformat())
    for record in records:
        redactor.add(record.content, distinctive=len((record.content or "").strip()) >= MIN_DISTINCTIVE_TEXT)
        for item in record.media or []:
            if isinstance(item, str) and item.startswith(PLACEHOLDER):
                redactor.add(item, distinctive=True)
    for name in uploads:
        redactor.add(name, distinctive=True)
    return redactor


def _scrub_copies(student, account, family, redactor) -> dict[str, Any]:
    """Blank the child's strings wherever they were copied; counts of rows changed."""
    target = (AuditLog.target_type == "student") & (AuditLog.target_id == str(student.id))
    to_family = Notification.student_id == student.id
    if family.user_ids:
        to_family = to_family | Notification.user_id.in_(family.user_ids)
    from_family = None
    if family.openids:
        from_family = or_(
            ProcessedWechatMessage.openid.in_(family.openids),
            *[
                ProcessedWechatMessage.dedupe_key.startswith(f"evt:{openid}:", autoescape=True)
                for openid in family.openids
            ],
            *[ProcessedWechatMessage.reply.contains(openid, autoescape=True) for openid in family.openids],
        )
    own_requests = IdempotencyRecord.scope.contains(f"/students/{student.id}/", autoescape=True)
    counts = {
        "audit_entries": scrub_rows(AuditLog, [AuditLog.changes], redactor, target),
        "notifications": scrub_rows(Notification, [Notification.values], redactor, to_family),
        "messages": scrub_rows(
            ProcessedWechatMessage,
            [ProcessedWechatMessage.reply, ProcessedWechatMessage.checkin],
            redactor,
            from_family,
        ),
        "stored_responses": scrub_rows(IdempotencyRecord, [IdempotencyRecord.response], redactor, own_requests),
        "orders": scrub_rows(Redemption, [Redemption.cancel_reason], redactor, Redemption.student_id == student.id),
        "ledger_notes": ledger.redact_notes(account, redactor.text),
    }
    # Nothing more is sent about an erased child.
    db.session.execute(
        update(Notification)
        .where(Notification.student_id == student.id, Notification.status == "pending")
        .values(status="skipped", last_error="学员数据已删除", next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return counts


def _clear_records(records, uploads) -> dict[str, int]:
    """Growth records keep their id, day and like count (ledger entries refer to them), lose the rest."""
    ids = [record.id for record in records]
    now = utcnow()
    for record in records:
        record.content, record.media = "", []
        record.deleted_at = record.deleted_at or now
    likes = shares = removed = 0
    if ids:
        likes = db.session.execute(delete(Like).where(Like.record_id.in_(ids))).rowcount
        shares = db.session.execute(delete(Share).where(Share.record_id.in_(ids))).rowcount
    if uploads:
        removed = db.session.execute(delete(Upload).where(Upload.name.in_(uploads))).rowcount
    return {"growth_records": len(ids), "likes": likes, "shares": shares, "uploads": removed}


def _unbind(student_id) -> int:
    """Remove every guardian's binding; a guardian whose default it was moves to another child."""
    users = list(db.session.scalars(select(WechatUser).where(WechatUser.default_student_id == student_id)))
    unbound = db.session.execute(delete(Guardian).where(Guardian.student_id == student_id)).rowcount
    for user in users:
        user.default_student_id = db.session.scalars(
            select(Guardian.student_id).where(Guardian.user_id == user.id).order_by(Guardian.id).limit(1)
        ).first()
    return unbound


def _blank_student(student):
    student.name = ERASED_NAME.format(id=student.id)
    student.birthday = None
    student.student_no = None
    student.bind_code = None
    student.status = "erased"
    student.classes = []


def _forget_files_and_cache(uploads, redactor, openids):
    removed = delete_stored(uploads)
    cached = forget_cached_replies(redactor, openids)
    log.info("erasure: %d upload file(s) and %d cached repl(ies) removed", removed, cached)
