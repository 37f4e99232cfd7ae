"""Manual points adjustments by school staff: a reason, an audit entry, never below zero."""

from school_points.accounts import ledger
from school_points.models import LedgerEntry
from school_points.people.students import get_student, refuse_erased
from school_points.platform.extensions import db
from school_points.points.level_rewards import note_level_up
from school_points.school import audit
from school_points.school.scoping import Scope

ALL_CAMPUSES = Scope()


def adjust(student_id, delta, reason, *, actor, key, scope=ALL_CAMPUSES) -> LedgerEntry:
    """Add (delta > 0) or take (delta < 0) points; below zero raises InsufficientPoints.

    `key` (the Idempotency-Key, or a fresh one) names the ledger entry, so a repeat returns the
    first entry instead of adjusting twice.
    """
    student = get_student(student_id, scope)
    refuse_erased(student)  # an erased student's account is closed: its figures only add up now
    account = ledger.lock(student.id)
    ledger_key = f"adjustment:{actor.type}:{actor.id}:s{student.id}:{key}"[:200]
    if (done := ledger.find_entry(ledger_key)) is not None:
        return done
    before = account.balance
    ref = ledger.Ref("student", student.id)
    if delta > 0:
        entry = ledger.credit(account, delta, "adjustment", key=ledger_key, ref=ref, actor=actor, note=reason)
        note_level_up(account, account.lifetime - delta)
    else:
        entry = ledger.debit(account, -delta, "adjustment", key=ledger_key, ref=ref, actor=actor, note=reason)
    db.session.flush()
    audit.record(
        actor,
        "points.adjust",
        "student",
        student.id,
        campus_id=student.campus_id,
        changes={
            "entry_id": entry.id,
            "delta": delta,
            "reason": reason,
            "balance_before": before,
            "balance_after": account.balance,
        },
    )
    return entry
