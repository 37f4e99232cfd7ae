"""Classroom evaluation (课堂评价): a teacher awards points to students of their own classes."""

from sqlalchemy import func, select

from school_points.accounts import ledger
from school_points.models import LedgerEntry, Student, Teacher, class_student, class_teacher
from school_points.platform.clock import local_today
from school_points.platform.codes import key_digest
from school_points.platform.errors import BudgetExceeded, Forbidden, ValidationFailed
from school_points.platform.extensions import db
from school_points.points.level_rewards import note_level_up
from school_points.school import audit
from school_points.school.actors import Actor
from school_points.school.settings import get_settings
from school_points.wechat.notifications import notify_students

MAX_STUDENTS_PER_EVALUATION = 200
MAX_COMMENT_LENGTH = 200


def evaluate(teacher, student_ids, *, behavior_id=None, points=None, comment="", key) -> list[LedgerEntry]:
    """Award the same points to many students in one transaction, within the teacher's daily budget."""
    rules = get_settings()["evaluation"]
    ids = _clean_student_ids(student_ids)
    points, reason = _points_and_reason(rules, behavior_id, points)
    comment = _clean_comment(comment)
    keys = {sid: f"evaluation:t{teacher.id}:{key_digest(key)}:s{sid}" for sid in ids}
    _lock_teacher(teacher.id)
    replayed = _entries_by_key(keys)
    if replayed:
        return replayed
    _ensure_own_active_students(teacher, ids)
    _ensure_budget(teacher, rules, points * len(ids))
    accounts = ledger.lock_many(ids)
    lifetime_before = {sid: account.lifetime for sid, account in accounts.items()}
    note = f"{reason}：{comment}" if comment else reason
    actor = Actor.teacher(teacher.id)
    entries = [
        ledger.credit(
            accounts[sid],
            points,
            "evaluation",
            key=keys[sid],
            ref=ledger.Ref("teacher", teacher.id),
            actor=actor,
            note=note,
        )
        for sid in ids
    ]
    db.session.flush()  # one batched INSERT for the whole class
    for sid in ids:
        note_level_up(accounts[sid], lifetime_before[sid])
    audit.record(
        actor,
        "evaluate",
        "student",
        ",".join(map(str, ids))[:64],
        campus_id=teacher.campus_id,
        changes={"student_ids": ids, "points": points, "reason": reason, "comment": comment},
    )
    notify_students(
        "points_awarded",
        [
            (
                sid,
                {"points": points, "balance": entry.balance_after, "remark": note},
                f"points_awarded:{entry.idempotency_key}",
            )
            for sid, entry in zip(ids, entries, strict=True)
        ],
    )
    return entries


def teacher_budget_left(teacher, today=None) -> int:
    """Points the teacher may still award today."""
    budget = int(get_settings()["evaluation"]["teacher_daily_budget"])
    return max(0, budget - _awarded_today(teacher.id, today or local_today()))


def _clean_student_ids(student_ids):
    if not isinstance(student_ids, (list, tuple)) or not student_ids:
        raise ValidationFailed("请选择学员", details={"student_ids": ["至少选择一名学员"]})
    if any(not isinstance(sid, int) or isinstance(sid, bool) for sid in student_ids):
        raise ValidationFailed(details={"student_ids": ["学员编号必须是整数"]})
    ids = sorted(set(student_ids))
    if len(ids) > MAX_STUDENTS_PER_EVALUATION:
        raise ValidationFailed(details={"student_ids": [f"一次最多评价 {MAX_STUDENTS_PER_EVALUATION} 名学员"]})
    return ids


def _points_and_reason(rules, behavior_id, points):
    """The points per student and the reason written to the ledger: a listed behaviour or custom points."""
    if (behavior_id is None) == (points is None):
        raise ValidationFailed("请选择评价项目或填写自定义积分", details={"behavior_id": ["与 points 二选一"]})
    if behavior_id is not None:
        behavior = next((b for b in rules["behaviors"] if b.get("id") == behavior_id), None)
        if behavior is None or isinstance(behavior_id, bool):
            raise ValidationFailed("评价项目不存在", details={"behavior_id": ["评价项目不存在"]})
        return int(behavior["points"]), str(behavior["name"])
    limit = int(rules["max_custom_points"])
    if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= limit:
        raise ValidationFailed(f"自定义积分必须在 1 到 {limit} 之间", details={"points": [f"必须在 1 到 {limit} 之间"]})
    return points, "课堂表现"


def _clean_comment(comment):
    comment = (comment or "").strip() if isinstance(comment, str) else None
    if comment is None or len(comment) > MAX_COMMENT_LENGTH:
        raise ValidationFailed(details={"comment": [f"评语最多 {MAX_COMMENT_LENGTH} 字"]})
    return comment


def _lock_teacher(teacher_id):
    """Lock the teacher row first: concurrent evaluations by one teacher serialise on the budget."""
    teacher = db.session.scalars(
        select(Teacher).where(Teacher.id == teacher_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if teacher is None or not teacher.active:
        raise Forbidden("该老师账号已停用")
    return teacher


def _entries_by_key(keys):
    """Entries already written under these keys (a repeated request returns the first result)."""
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.idempotency_key.in_(list(keys.values()))).order_by(LedgerEntry.student_id)
    ).all()
    return list(entries)


def _ensure_own_active_students(teacher, ids):
    """One query: every id must be an active student in one of the teacher's classes."""
    rows = db.session.execute(
        select(Student.id, Student.status)
        .join(class_student, class_student.c.student_id == Student.id)
        .join(class_teacher, class_teacher.c.class_id == class_student.c.class_id)
        .where(class_teacher.c.teacher_id == teacher.id, Student.id.in_(ids))
        .distinct()
    ).all()
    status = dict(rows)
    outside = [sid for sid in ids if sid not in status]
    if outside:
        raise Forbidden("只能评价自己班级的学员", details={"student_ids": outside})
    archived = [sid for sid in ids if status[sid] != "active"]
    if archived:
        raise ValidationFailed("学员已停用，不能评价", details={"student_ids": archived})


def _ensure_budget(teacher, rules, wanted):
    budget = int(rules["teacher_daily_budget"])
    used = _awarded_today(teacher.id, local_today())
    if used + wanted > budget:
        raise BudgetExceeded(
            details={"budget": budget, "used": used, "requested": wanted, "remaining": max(0, budget - used)}
        )


def _awarded_today(teacher_id, day):
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(
                LedgerEntry.actor_type == "teacher",
                LedgerEntry.actor_id == teacher_id,
                LedgerEntry.kind == "evaluation",
                LedgerEntry.local_day == day,
            )
        )
    )
