"""Classroom evaluation: behaviours or custom points, own classes only, the teacher's daily budget."""

import pytest
from sqlalchemy import event, func, select

from school_points.accounts.reconcile import find_differences
from school_points.models import AuditLog, LedgerEntry, Notification, Student
from school_points.platform.errors import BudgetExceeded, DomainError, Forbidden
from school_points.platform.extensions import db
from school_points.points import evaluation
from tests.conftest import requires_pg, run_concurrently
from tests.school_points.domain_helpers import account_of, entries, outcome


def test_a_behaviour_awards_its_points_to_every_chosen_student(teacher_with_class, make_guardian):
    teacher, students = teacher_with_class(3)
    make_guardian(students[0])
    awarded = evaluation.evaluate(teacher, [s.id for s in students], behavior_id=3, comment="作业认真", key="k")
    db.session.commit()
    assert [e.delta for e in awarded] == [3, 3, 3]
    assert all(account_of(s.id) == (3, 3) for s in students)
    entry = entries(students[0].id, "evaluation")[0]
    assert (entry.actor_type, entry.actor_id, entry.note) == ("teacher", teacher.id, "完成作业：作业认真")
    assert db.session.scalars(select(Notification.kind).where(Notification.student_id == students[0].id)).all() == [
        "points_awarded"
    ]
    assert db.session.scalars(select(AuditLog.action)).all() == ["evaluate"]


def test_custom_points_must_be_within_the_maximum(teacher_with_class, rules):
    teacher, students = teacher_with_class(1)
    sid = students[0].id
    assert outcome(evaluation.evaluate, teacher, [sid], points=11, key="a") == "validation_error"
    assert outcome(evaluation.evaluate, teacher, [sid], points=0, key="b") == "validation_error"
    assert outcome(evaluation.evaluate, teacher, [sid], key="c") == "validation_error"
    assert outcome(evaluation.evaluate, teacher, [sid], behavior_id=99, key="d") == "validation_error"
    assert outcome(evaluation.evaluate, teacher, [sid], points=10, key="e") == "ok"
    rules({"evaluation": {"max_custom_points": 20}})
    assert outcome(evaluation.evaluate, teacher, [sid], points=20, key="f") == "ok"
    assert account_of(sid)[0] == 30


def test_students_outside_the_teachers_classes_are_forbidden_and_nobody_is_paid(teacher_with_class, make_student):
    teacher, students = teacher_with_class(2)
    stranger = make_student(name="别班学生")
    with pytest.raises(Forbidden) as error:
        evaluation.evaluate(teacher, [students[0].id, stranger.id], points=2, key="k")
    db.session.rollback()
    assert error.value.details == {"student_ids": [stranger.id]}
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "evaluation")) == 0


def test_archived_students_cannot_be_evaluated(teacher_with_class):
    teacher, students = teacher_with_class(1)
    db.session.get(Student, students[0].id).status = "archived"
    db.session.commit()
    assert outcome(evaluation.evaluate, teacher, [students[0].id], points=2, key="k") == "validation_error"


def test_the_daily_budget_is_never_exceeded(teacher_with_class, rules):
    rules({"evaluation": {"teacher_daily_budget": 10}})
    teacher, students = teacher_with_class(4)
    ids = [s.id for s in students]
    assert outcome(evaluation.evaluate, teacher, ids, points=2, key="a") == "ok"  # 8 of 10
    with pytest.raises(BudgetExceeded) as error:
        evaluation.evaluate(teacher, ids[:2], points=2, key="b")
    db.session.rollback()
    assert error.value.details["remaining"] == 2
    assert outcome(evaluation.evaluate, teacher, ids[:1], points=2, key="c") == "ok"
    assert evaluation.teacher_budget_left(teacher) == 0


def test_a_repeated_request_awards_once(teacher_with_class):
    teacher, students = teacher_with_class(2)
    ids = [s.id for s in students]
    first = [e.id for e in evaluation.evaluate(teacher, ids, points=2, key="same")]
    db.session.commit()
    again = [e.id for e in evaluation.evaluate(teacher, ids, points=2, key="same")]
    db.session.commit()
    assert first == again and account_of(ids[0])[0] == 2


def test_a_class_of_forty_is_written_with_batched_statements(app, is_pg, teacher_with_class):
    teacher, students = teacher_with_class(40)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        evaluation.evaluate(teacher, [s.id for s in students], behavior_id=1, key="k")
        db.session.commit()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    inserts = [s for s in statements if s.startswith("INSERT INTO ledger_entry")]
    account_reads = [s for s in statements if "FROM points_account" in s]
    class_checks = [s for s in statements if "class_teacher" in s]
    assert len(account_reads) == 1 and len(class_checks) == 1  # no per-student SELECT loop
    # PostgreSQL gets one multi-row INSERT ... RETURNING; SQLite's ORM inserts row by row in-process.
    assert len(inserts) == (1 if is_pg else 40)
    assert all(account_of(s.id)[0] == 2 for s in students)
    assert find_differences() == []


@requires_pg
def test_the_budget_holds_under_concurrent_evaluations(app, teacher_with_class, rules):
    rules({"evaluation": {"teacher_daily_budget": 20}})
    teacher, students = teacher_with_class(10)
    teacher_id, ids = teacher.id, [s.id for s in students]

    def award(sid):
        from school_points.models import Teacher

        evaluation.evaluate(db.session.get(Teacher, teacher_id), [sid], points=5, key=f"k{sid}")
        db.session.commit()
        return "ok"

    results = run_concurrently(app, award, ids)
    codes = sorted(r if isinstance(r, str) else r.code if isinstance(r, DomainError) else repr(r) for r in results)
    assert codes == ["budget_exceeded"] * 6 + ["ok"] * 4
    assert sum(account_of(sid)[0] for sid in ids) == 20
