"""The roster import (docs/ROSTER_IMPORT.md): a school office's student list, as .xlsx or CSV, made
into students, classes and their points accounts.

All or nothing: every row is read and matched first (the plan); any row error → nothing is
written and every error is listed. A clean file is written in the caller's one transaction, with
one audit entry for the whole import. Importing the same file again changes nothing: every row then
matches its student and finds nothing to change.

Matching: a row with a 学号 is the student with that 学号; otherwise (no 学号, or a 学号 nobody has
yet) the student with the same 姓名 + 校区 + 生日 (for a row with a 学号, only a student without
one, who then gets it). An empty cell changes nothing; a non-empty 班级 cell replaces the
student's classes (round trip: export, edit, import).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from school_points.accounts import ledger
from school_points.models import Campus, SchoolClass, Student, class_student
from school_points.office.roster_rows import LABELS, Roster, RosterRefused, RosterRow, read_roster
from school_points.office.tabular import read_table
from school_points.platform.clock import utcnow
from school_points.platform.codes import new_code
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.school import audit

CHUNK = 500  # ids or names per IN (...) query
IMPORT_LOCK_KEY = 0x524F5354  # "ROST": the advisory lock that serialises roster imports on PostgreSQL
COLUMN_ORDER = list(LABELS.values())  # errors of one row in the order of the columns


class ImportConflict(DomainError):
    """A concurrent change took a 学号 or code the import was about to write; nothing was written."""

    code, message = "import_conflict", "导入时学员数据被同时修改（例如学号刚被占用），没有写入任何数据，请重试"


@dataclass
class _Plan:
    """What the file would do: new students (rows), changes to matched students, new classes."""

    rows: int = 0
    errors: list[dict] = field(default_factory=list)
    new: list[tuple[RosterRow, list | None]] = field(default_factory=list)  # with the row's class refs
    changes: list[tuple[Student, dict]] = field(default_factory=list)
    unchanged: int = 0
    new_classes: dict[tuple[int, str], SchoolClass] = field(default_factory=dict)
    row_campus: dict[int, int] = field(default_factory=dict)  # row number → campus id


def import_roster(data: bytes, filename: str, *, scope, actor, dry_run=False) -> dict:
    """Read, check and (unless `dry_run` or any row error) write a roster file; the summary
    `{rows, created, updated, unchanged, classes_created, dry_run, written, errors}`. The caller commits."""
    table = read_table(data, filename)
    roster = read_roster(table)
    if not dry_run:
        _one_import_at_a_time()
    plan = _plan(roster, scope)
    written = not dry_run and not plan.errors
    summary = {
        "rows": plan.rows,
        "created": len(plan.new),
        "updated": len(plan.changes),
        "unchanged": plan.unchanged,
        "classes_created": len(plan.new_classes),
        "dry_run": bool(dry_run),
        "written": written,
        "errors": plan.errors,
    }
    if written:
        created_ids, updated_ids = _write(plan)
        audit.record(
            actor,
            "student.import",
            "student",
            "",
            campus_id=scope.campus_id,
            changes={
                "format": table.format,
                "encoding": table.encoding,
                "bytes": len(data),
                **{key: summary[key] for key in ("rows", "created", "updated", "unchanged", "classes_created")},
                "created_ids": created_ids,
                "updated_ids": updated_ids,
            },
        )
    return summary


def _one_import_at_a_time():
    """Serialise imports that may write, until this transaction ends: two offices sending the same
    file at once must not both plan "new" for a student (a row without a 学号 has no unique index
    to stop the twin). SQLite's transactions already run one writer at a time (BEGIN IMMEDIATE)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})


# ---------------------------------------------------------------- the plan (reads only)


def _plan(roster: Roster, scope) -> _Plan:
    plan = _Plan(rows=len(roster.rows))
    campuses = _campuses(roster, scope)
    for row in roster.rows:
        campus_id = _campus_of(row, campuses, scope)
        if campus_id is not None:
            plan.row_campus[row.number] = campus_id
    known = _Known(roster, plan.row_campus)
    seen_numbers, seen_keys, seen_students = {}, {}, {}
    for row in roster.rows:
        campus_id = plan.row_campus.get(row.number)
        _check_repeats(row, campus_id, seen_numbers, seen_keys)
        student = None if row.errors else _match(row, campus_id, known, scope)
        if student is not None and student.id in seen_students:
            row.error("name", f"与第 {seen_students[student.id]} 行是同一名学员")
        if row.errors:
            plan.errors.extend(row.errors)
            continue
        class_ids = _class_ids(row, campus_id, known, plan)
        if row.errors:
            plan.errors.extend(row.errors)
            continue
        if student is None:
            plan.new.append((row, class_ids))
            continue
        seen_students[student.id] = row.number
        change = _changes(row, student, class_ids)
        if change:
            plan.changes.append((student, change))
        else:
            plan.unchanged += 1
    plan.errors.sort(key=lambda error: (error["row"], COLUMN_ORDER.index(error["field"])))
    return plan


def _campuses(roster, scope):
    """Campus name → id, of the campuses this admin may import into."""
    query = select(Campus.id, Campus.name)
    if not scope.is_super:
        query = query.where(Campus.id == scope.campus_id)
    campuses = {name.strip(): campus_id for campus_id, name in db.session.execute(query)}
    if not campuses:
        raise RosterRefused("no_campus", "学校还没有校区：请先新建校区，再导入学员")
    return campuses


def _campus_of(row, campuses, scope):
    if row.campus is None:
        if not scope.is_super:
            return scope.campus_id
        if len(campuses) == 1:  # a super admin's campuses are all the school's
            return next(iter(campuses.values()))
        row.error("campus", "缺少校区（学校有多个校区，必须填写）")
        return None
    campus_id = campuses.get(row.campus)
    if campus_id is None:
        if scope.is_super:
            row.error("campus", f"校区“{row.campus}”不存在（请先在校区管理中新建）")
        else:
            row.error("campus", f"校区“{row.campus}”不存在或不在你的管理范围内（只能导入本校区的学员）")
    return campus_id


def _check_repeats(row, campus_id, seen_numbers, seen_keys):
    """A 学号 twice in the file, or two rows with one 姓名 + 校区 + 生日 where either lacks a 学号
    (a re-import could not tell them apart)."""
    if row.student_no is not None:
        if row.student_no in seen_numbers:
            row.error("student_no", f"学号“{row.student_no}”与第 {seen_numbers[row.student_no]} 行重复")
            return
        seen_numbers[row.student_no] = row.number
    if row.name is None or campus_id is None:
        return
    key = (row.name, campus_id, row.birthday)
    earlier = seen_keys.get(key)
    if earlier is not None and (earlier[1] is None or row.student_no is None):
        row.error("name", f"与第 {earlier[0]} 行的姓名、校区、生日都相同：请给两行都填上学号，或删去重复的一行")
    elif earlier is None:
        seen_keys[key] = (row.number, row.student_no)


class _Known:
    """The students and classes the file can name, loaded in a few queries up front."""

    def __init__(self, roster, row_campus) -> None:
        numbers = sorted({row.student_no for row in roster.rows if row.student_no})
        self.by_number = {s.student_no: s for s in _load(Student.student_no, numbers)}
        # Rows their 学号 already matched need no lookup by name.
        names = sorted({row.name for row in roster.rows if row.name and row.student_no not in self.by_number})
        campus_ids = set(row_campus.values())
        self.by_key = defaultdict(list)
        for student in _load(Student.name, names):
            if student.campus_id in campus_ids and student.status != "erased":
                self.by_key[(student.name, student.campus_id, student.birthday)].append(student)
        self.classes = defaultdict(list)
        if campus_ids:
            query = select(SchoolClass.id, SchoolClass.name, SchoolClass.campus_id).where(
                SchoolClass.campus_id.in_(sorted(campus_ids))
            )
            for class_id, name, campus_id in db.session.execute(query):
                self.classes[(campus_id, name.strip())].append(class_id)


def _load(column, values):
    students = []
    for start in range(0, len(values), CHUNK):
        query = (
            select(Student)
            .where(column.in_(values[start : start + CHUNK]))
            .options(selectinload(Student.classes))
            .order_by(Student.id)
        )
        students.extend(db.session.scalars(query))
    return students


def _match(row, campus_id, known, scope):
    """The existing student this row names, or None for a new one (errors noted on the row)."""
    if row.student_no is not None and (student := known.by_number.get(row.student_no)) is not None:
        if not scope.allows(student.campus_id):
            row.error("student_no", f"学号“{row.student_no}”已被其他校区的学员使用")
        elif student.status == "erased":
            row.error("student_no", f"学号“{row.student_no}”属于一名资料已删除的学员")
        elif student.campus_id != campus_id:
            row.error(
                "campus",
                f"学号“{row.student_no}”的学员在“{student.campus.name}”：导入不会转校区，请在学员资料中修改校区",
            )
        return student
    candidates = known.by_key.get((row.name, campus_id, row.birthday), [])
    if row.student_no is not None:
        candidates = [s for s in candidates if s.student_no is None]
    if len(candidates) > 1:
        row.error("name", f"有 {len(candidates)} 名学员的姓名、校区、生日都与此行相同：请填写学号以区分")
        return None
    return candidates[0] if candidates else None


def _class_ids(row, campus_id, known, plan):
    """The row's classes: ids of existing ones, new SchoolClass objects for the rest (one per
    campus and name for the whole file); None when the row leaves classes as they are."""
    if not row.classes:
        return None
    refs = []
    for name in row.classes:
        ids = known.classes.get((campus_id, name), [])
        if len(ids) > 1:
            row.error("classes", f"本校区有 {len(ids)} 个名为“{name}”的班级，无法确定是哪一个")
        elif ids:
            refs.append(ids[0])
        else:
            key = (campus_id, name)
            if key not in plan.new_classes:
                plan.new_classes[key] = SchoolClass(name=name, campus_id=campus_id)
            refs.append(plan.new_classes[key])
    return refs


def _changes(row, student, class_refs):
    """Attribute → new value, for what the row changes about a matched student."""
    change = {}
    if row.name != student.name:
        change["name"] = row.name
    if row.student_no is not None and student.student_no is None:
        change["student_no"] = row.student_no
    if row.birthday is not None and row.birthday != student.birthday:
        change["birthday"] = row.birthday
    if class_refs is not None:
        current = {klass.id for klass in student.classes}
        if any(isinstance(ref, SchoolClass) for ref in class_refs) or set(class_refs) != current:
            change["classes"] = class_refs
    return change


# ---------------------------------------------------------------- writing (one transaction)


def _write(plan):
    """New classes, new students with their accounts and classes, then the changes; the ids."""
    try:
        with db.session.begin_nested():
            if plan.new_classes:
                db.session.add_all(plan.new_classes.values())
                db.session.flush()
            created = _create_students(plan)
            for student, change in plan.changes:
                for attribute, value in change.items():
                    if attribute == "classes":
                        value = _classes(value)
                    setattr(student, attribute, value)
            db.session.flush()
    except IntegrityError:
        raise ImportConflict() from None
    return created, [student.id for student, _ in plan.changes]


def _create_students(plan):
    """Insert the new students, their class memberships and their zero points accounts: three
    multi-row INSERTs (batched by SQLAlchemy), not an ORM object per student; their ids in row order."""
    if not plan.new:
        return []
    codes = _fresh_bind_codes(len(plan.new))
    now = utcnow()
    rows = [
        {
            "name": row.name,
            "student_no": row.student_no,
            "campus_id": plan.row_campus[row.number],
            "birthday": row.birthday,
            "status": "active",
            "bind_code": code,
            "created_at": now,
        }
        for (row, _refs), code in zip(plan.new, codes, strict=True)
    ]
    # RETURNING the bind code (unique) ties each id to its row without asking the database to keep
    # the rows' order (sort_by_parameter_order costs a sorted INSERT ... SELECT on PostgreSQL).
    inserted = insert(Student.__table__).returning(Student.bind_code, Student.id)
    id_of = dict(db.session.execute(inserted, rows).all())
    ids = [id_of[code] for code in codes]
    memberships = [
        {"class_id": class_id, "student_id": student_id}
        for student_id, (_row, refs) in zip(ids, plan.new, strict=True)
        for class_id in _class_ids_of(refs or [])
    ]
    if memberships:
        db.session.execute(insert(class_student), memberships)
    ledger.ensure_accounts(ids)
    return ids


def _class_ids_of(refs):
    """Ids for a mix of ids and new (flushed) SchoolClass objects."""
    return sorted({ref if isinstance(ref, int) else ref.id for ref in refs})


def _classes(refs):
    """SchoolClass rows for a mix of ids and new (flushed) SchoolClass objects."""
    return [db.session.get(SchoolClass, class_id) for class_id in _class_ids_of(refs)]


def _fresh_bind_codes(count):
    """`count` distinct bind codes no student holds (a few queries, not one per student)."""
    codes = set()
    while len(codes) < count:
        wanted = {new_code(8) for _ in range(count - len(codes))} - codes
        batch = sorted(wanted)
        taken = set()
        for start in range(0, len(batch), CHUNK):
            chunk = batch[start : start + CHUNK]
            taken.update(db.session.scalars(select(Student.bind_code).where(Student.bind_code.in_(chunk))))
        codes |= wanted - taken
    return sorted(codes)
