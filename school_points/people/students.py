"""Students (学员): enrolment, their bind codes, and the admin's view of their points."""

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from school_points.accounts import ledger
from school_points.models import LedgerEntry, SchoolClass, Student
from school_points.people.classes import members_of_campus, move_with_classes
from school_points.platform.clock import utcnow
from school_points.platform.codes import new_code
from school_points.platform.errors import DomainError, NotFound
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.scoping import campus_for_write, get_in_scope

STATUSES = ("active", "archived", "erased")
# What an erased student is called from then on (office/erasure.py).
ERASED_NAME = "已删除学员#{id}"


class StudentErased(DomainError):
    code, message, kind = "student_erased", "该学员的数据已删除，不能再修改", "conflict"


class StudentNoTaken(DomainError):
    """Another student already has this 学号."""

    code, message = "student_no_taken", "学号已被其他学员使用"


def active_student(student_id) -> Student:
    """An active (not archived) student by id, for the services a family or teacher calls; NotFound
    for any other id, whatever its type."""
    # bool is an int in Python: True must not name student 1 (the redeem_goods function and
    # guardians.guardian_student refuse it too).
    is_id = isinstance(student_id, int) and not isinstance(student_id, bool)
    student = db.session.get(Student, student_id) if is_id else None
    if student is None or student.status != "active":
        raise NotFound("学员不存在")
    return student


def list_students_query(scope, *, q=None, campus_id=None, class_id=None, status=None) -> Select:
    """Students inside the scope, filtered; classes and accounts loaded up front (no N+1)."""
    query = select(Student).options(selectinload(Student.classes), selectinload(Student.account))
    query = scope.filter(query, Student.campus_id, campus_id)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Student.name.ilike(f"%{escaped}%", escape="\\"))
    if class_id is not None:
        query = query.where(Student.classes.any(SchoolClass.id == class_id))
    if status is not None:
        query = query.where(Student.status == status)
    return query


def get_student(student_id, scope) -> Student:
    """A student inside the scope, or NotFound."""
    return get_in_scope(Student, student_id, scope, message="学员不存在", code="student_not_found")


def create_student(data, *, scope, actor) -> Student:
    """Enrol a student: a fresh bind code and a zero points account, in one transaction."""
    campus_id = campus_for_write(scope, data.get("campus_id"))
    classes = members_of_campus(SchoolClass, data.get("class_ids", []), campus_id, "class_ids")
    student_no = data.get("student_no")
    _ensure_student_no_free(student_no)
    student = Student(
        name=data["name"], campus_id=campus_id, birthday=data.get("birthday"), student_no=student_no, status="active"
    )
    _add_with_fresh_bind_code(student)
    student.classes = classes
    ledger.ensure_accounts([student.id])
    audit.record(actor, "student.create", "student", student.id, campus_id=campus_id, changes=_snapshot(student))
    return student


def update_student(student_id, data, *, scope, actor) -> Student:
    """Change name, campus, classes, birthday or status (archived students keep their points)."""
    student = get_student(student_id, scope)
    refuse_erased(student)
    before = _snapshot(student)
    for field in ("name", "birthday", "status"):
        if field in data:
            setattr(student, field, data[field])
    _stamp_archived(student, before["status"])
    if "student_no" in data and data["student_no"] != student.student_no:
        _ensure_student_no_free(data["student_no"])
        student.student_no = data["student_no"]
    move_with_classes(student, data, scope)
    try:
        with db.session.begin_nested():  # a concurrent twin 学号 fails here, as the 409 it is
            db.session.flush()
    except IntegrityError:
        raise StudentNoTaken() from None
    audit.record(
        actor,
        "student.update",
        "student",
        student.id,
        campus_id=student.campus_id,
        changes={"old": before, "new": _snapshot(student)},
    )
    return student


def regenerate_bind_code(student_id, *, scope, actor) -> Student:
    """Give a student a new bind code; the old one stops working at once."""
    student = get_student(student_id, scope)
    refuse_erased(student)
    student.bind_code = _unused_bind_code()
    db.session.flush()
    audit.record(actor, "student.bind_code", "student", student.id, campus_id=student.campus_id)
    return student


def refuse_erased(student) -> None:
    """Raise StudentErased for an erased student: nothing may give it a name or a code again."""
    if student.status == "erased":
        raise StudentErased()


def _stamp_archived(student, old_status):
    """archived_at is when the student last became archived (the retention clock), else NULL."""
    if student.status == "archived" and (old_status != "archived" or student.archived_at is None):
        student.archived_at = utcnow()
    elif student.status != "archived":
        student.archived_at = None


def points_history_query(student_id, scope) -> Select:
    """The student's ledger entries, for newest-first keyset pagination."""
    get_student(student_id, scope)
    return select(LedgerEntry).where(LedgerEntry.student_id == student_id)


def _add_with_fresh_bind_code(student):
    for _ in range(5):
        student.bind_code = _unused_bind_code()
        try:
            with db.session.begin_nested():  # a concurrent twin code fails here, not as a 500
                db.session.add(student)
            return
        except IntegrityError:
            # the code, or a 学号 taken since the check above: only the latter is the caller's fault
            _ensure_student_no_free(student.student_no)
            continue
    raise RuntimeError("could not allocate a unique bind code")


def _ensure_student_no_free(student_no):
    """StudentNoTaken when another student already has this 学号 (None is always free)."""
    if (
        student_no is not None
        and db.session.scalars(select(Student.id).where(Student.student_no == student_no)).first()
    ):
        raise StudentNoTaken()


def _unused_bind_code():
    while True:
        code = new_code(8)
        if db.session.scalars(select(Student.id).where(Student.bind_code == code)).first() is None:
            return code


def _snapshot(student):
    return {
        "name": student.name,
        "student_no": student.student_no,
        "campus_id": student.campus_id,
        "birthday": student.birthday.isoformat() if student.birthday else None,
        "status": student.status,
        "class_ids": [c.id for c in student.classes],
    }
