"""Read-only list queries behind the API's pages: keyset pagination on indexed (owner, id) columns."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from school_points.models import GrowthRecord, Guardian, LedgerEntry, Redemption, Student, class_student
from school_points.platform.extensions import db
from webkit.pagination import decode_cursor, keyset_page


def ledger_page(student_id, limit, cursor):
    """A student's ledger entries, newest first (index ledger_entry(student_id, id))."""
    query = select(LedgerEntry).where(LedgerEntry.student_id == student_id)
    return keyset_page(query, LedgerEntry.id, limit, decode_cursor(cursor))


def family_redemptions_page(user, student_id, status, limit, cursor):
    """Orders of one of the user's students, or of all of them."""
    if student_id is not None:
        query = select(Redemption).where(Redemption.student_id == student_id)
    else:
        mine = select(Guardian.student_id).where(Guardian.user_id == user.id)
        query = select(Redemption).where(Redemption.student_id.in_(mine))
    if status:
        query = query.where(Redemption.status == status)
    return keyset_page(query.options(selectinload(Redemption.student)), Redemption.id, limit, decode_cursor(cursor))


def campus_redemptions_page(campus_id, status, limit, cursor):
    """Orders at a campus by status (index redemption(campus_id, status, id))."""
    query = (
        select(Redemption)
        .where(Redemption.campus_id == campus_id, Redemption.status == status)
        .options(selectinload(Redemption.student))
    )
    return keyset_page(query, Redemption.id, limit, decode_cursor(cursor))


def growth_page(student_id, limit, cursor):
    """A student's growth records that were not deleted, newest first."""
    query = (
        select(GrowthRecord)
        .where(GrowthRecord.student_id == student_id, GrowthRecord.deleted_at.is_(None))
        .options(selectinload(GrowthRecord.student))
    )
    return keyset_page(query, GrowthRecord.id, limit, decode_cursor(cursor))


def class_rosters(teacher):
    """The teacher's classes with their active students, in two queries whatever the class count."""
    classes = list(teacher.classes)
    rows = (
        db.session.execute(
            select(class_student.c.class_id, Student.id, Student.name)
            .join(Student, Student.id == class_student.c.student_id)
            .where(class_student.c.class_id.in_([k.id for k in classes]), Student.status == "active")
            .order_by(class_student.c.class_id, Student.id)
        ).all()
        if classes
        else []
    )
    roster = {k.id: [] for k in classes}
    for class_id, student_id, name in rows:
        roster[class_id].append((student_id, name))
    return [(k, roster[k.id]) for k in classes]
