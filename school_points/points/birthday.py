"""Birthday bonus (生日积分): once per student per year, on the school-local birthday. A daily job."""

import calendar

from sqlalchemy import extract, or_, select

from school_points.accounts import ledger
from school_points.models import LedgerEntry, Student
from school_points.platform.clock import local_today
from school_points.platform.extensions import db
from school_points.points.level_rewards import note_level_up
from school_points.school.actors import SYSTEM
from school_points.school.settings import get_settings
from school_points.wechat.notifications import notify_student

BATCH = 200


def award_birthdays(today=None) -> int:
    """Credit the birthday bonus to every active student born on this day; returns how many got it.

    Commits in batches (it is a job). Running it twice on one day awards nobody twice: the ledger
    key names the student and the year.
    """
    today = today or local_today()
    points = int(get_settings()["birthday"]["points"])
    if points <= 0:
        return 0
    ids = _birthday_student_ids(today)
    awarded = 0
    for start in range(0, len(ids), BATCH):
        awarded += _award_batch(ids[start : start + BATCH], points, today.year)
        db.session.commit()
    return awarded


def _birthday_student_ids(today):
    """Students born on today's month and day; on 28 February of a common year, 29 February too."""
    same_day = (extract("month", Student.birthday) == today.month) & (extract("day", Student.birthday) == today.day)
    condition = same_day
    if today.month == 2 and today.day == 28 and not calendar.isleap(today.year):
        leap_day = (extract("month", Student.birthday) == 2) & (extract("day", Student.birthday) == 29)
        condition = or_(same_day, leap_day)
    query = select(Student.id).where(Student.status == "active", Student.birthday.is_not(None), condition)
    return list(db.session.scalars(query.order_by(Student.id)))


def _award_batch(student_ids, points, year):
    keys = {sid: f"birthday:s{sid}:{year}" for sid in student_ids}
    accounts = ledger.lock_many(student_ids)
    done = set(
        db.session.scalars(
            select(LedgerEntry.idempotency_key).where(LedgerEntry.idempotency_key.in_(list(keys.values())))
        )
    )
    awarded = 0
    for sid in student_ids:
        if keys[sid] in done:
            continue
        lifetime_before = accounts[sid].lifetime
        entry = ledger.credit(
            accounts[sid],
            points,
            "birthday",
            key=keys[sid],
            ref=ledger.Ref("student", sid),
            actor=SYSTEM,
            note="生日快乐！生日积分",
        )
        note_level_up(accounts[sid], lifetime_before)
        notify_student(
            "points_awarded",
            sid,
            {"points": points, "balance": entry.balance_after, "remark": "生日快乐"},
            key=f"points_awarded:{keys[sid]}",
        )
        awarded += 1
    return awarded
