"""The reports' ledger sums over a range of school-local days, read from per-day totals where
they are valid and summed from the ledger itself for every other day (today, days not rolled up
yet, days whose totals a later write invalidated).

`report_day_total` (models/reporting.py) holds a day's sums per (student's campus, kind), and
`report_day` marks the days whose totals are complete. Database triggers delete a day's mark on
any ledger write on that day and on a campus move of a student with entries that day, so a mark
means "equal to the ledger, now". The result is exactly the ledger's sums whatever is rolled up.

Roll-ups fill closed days (before today, school time): the hourly job `roll_up_days` fills every
closed day that has none, and on PostgreSQL a report fills the closed days of its own range
first, each ten days in a short transaction of its own. While it reads a day, a roll-up
holds a lock that keeps ledger writers (and campus moves) out for that moment: on PostgreSQL
`SHARE ROW EXCLUSIVE` on ledger_entry with a short lock timeout (a roll-up that cannot get it
gives up, and the report sums those days live); SQLite serialises writers anyway. Writers never
touch the totals, so check-in bursts and redemptions contend on nothing new.
"""

from datetime import date, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, case, delete, func, insert, literal, or_, select, text, union_all
from sqlalchemy.exc import OperationalError

from school_points.models import LedgerEntry, ReportDay, ReportDayTotal, Student
from school_points.platform.clock import local_today, utcnow
from school_points.platform.extensions import db

# Days rolled up in one transaction, under one lock: ten days of a school of 10,000 students
# (~27,000 ledger rows) take ~35 ms, as long as ledger writers may have to wait.
CHUNK_DAYS = 10
# How long a roll-up waits for ledger writers to finish before giving up (PostgreSQL).
LOCK_TIMEOUT_MS = 300

Sums = dict[tuple[date, str], tuple[int, int]]


def ledger_sums(first_day, last_day, *, campus_id=None, fill=True) -> Sums:
    """`{(day, kind): (gained, lost)}` over first_day..last_day: positive deltas and negated
    negative deltas of each kind, for the whole school or the students now at one campus."""
    if fill and db.session.get_bind().dialect.name == "postgresql":
        _fill_range_in_own_transactions(first_day, last_day)
    sums: Sums = {}
    valid = set()
    for day, kind, gained, lost in db.session.execute(_totals_query(first_day, last_day, campus_id)):
        valid.add(day)
        if kind is not None:
            sums[(day, kind)] = (int(gained or 0), int(lost or 0))
    missing = _ranges(day for day in _days(first_day, last_day) if day not in valid)
    if missing:
        for day, kind, gained, lost in db.session.execute(_live_query(missing, campus_id)):
            sums[(day, kind)] = (int(gained or 0), int(lost or 0))
    return sums


def ledger_sums_by_kind(first_day, last_day, *, campus_id=None) -> dict[str, tuple[int, int]]:
    """`{kind: (gained, lost)}` over the whole range: ledger_sums added up over the days, with the
    valid days' totals added up by the database (a year is a few hundred rows, not thousands)."""
    if db.session.get_bind().dialect.name == "postgresql":
        _fill_range_in_own_transactions(first_day, last_day)
    sums: dict[str, tuple[int, int]] = {}
    valid = set()
    # One statement, so the days it calls valid and the totals it adds up are one snapshot.
    for day, kind, gained, lost in db.session.execute(_totals_by_kind_query(first_day, last_day, campus_id)):
        if day is not None:
            valid.add(day)
        else:
            sums[kind] = (int(gained or 0), int(lost or 0))
    missing = _ranges(day for day in _days(first_day, last_day) if day not in valid)
    if missing:
        for _day, kind, gained, lost in db.session.execute(_live_query(missing, campus_id)):
            before = sums.get(kind, (0, 0))
            sums[kind] = (before[0] + int(gained or 0), before[1] + int(lost or 0))
    return sums


def live_sums(first_day, last_day, *, campus_id=None) -> Sums:
    """The same sums read from the ledger alone (what the totals must always equal)."""
    return {
        (day, kind): (int(gained or 0), int(lost or 0))
        for day, kind, gained, lost in db.session.execute(_live_query([(first_day, last_day)], campus_id))
    }


def roll_up_days() -> dict[str, Any]:
    """The hourly job: roll up every closed day since the ledger's first that has no valid totals,
    ten days per transaction (commits)."""
    first = db.session.scalar(select(func.min(LedgerEntry.local_day)))
    if first is None:
        return {"days": 0}
    rolled = 0
    for chunk in _chunks(_unrolled_closed_days(first, local_today() - timedelta(days=1))):
        try:
            rolled += roll_up(db.session.connection(), chunk)
            db.session.commit()
        except OperationalError:
            db.session.rollback()
    return {"days": rolled}


def roll_up(connection, days) -> int:
    """Roll up `days` (closed days) that have no valid totals, in the connection's transaction
    (the caller commits). Returns how many days it rolled up."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'"))
        connection.execute(text("LOCK TABLE ledger_entry IN SHARE ROW EXCLUSIVE MODE"))
    today = local_today()
    days = sorted(set(days))
    if not days:
        return 0
    present = set(connection.scalars(select(ReportDay.local_day).where(ReportDay.local_day.between(days[0], days[-1]))))
    todo = [day for day in days if day not in present and day < today]
    if not todo:
        return 0
    ranges = _ranges(todo)
    in_todo = or_(*(ReportDayTotal.local_day.between(a, b) for a, b in ranges))
    connection.execute(delete(ReportDayTotal).where(in_todo))
    positive = case((LedgerEntry.delta > 0, LedgerEntry.delta), else_=0)
    negative = case((LedgerEntry.delta < 0, -LedgerEntry.delta), else_=0)
    rows = (
        select(
            LedgerEntry.local_day,
            Student.campus_id,
            LedgerEntry.kind,
            func.sum(positive),
            func.sum(negative),
            func.count(),
        )
        .join(Student, Student.id == LedgerEntry.student_id)
        .where(or_(*(LedgerEntry.local_day.between(a, b) for a, b in ranges)))
        .group_by(LedgerEntry.local_day, Student.campus_id, LedgerEntry.kind)
    )
    columns = ["local_day", "campus_id", "kind", "gained", "lost", "entries"]
    connection.execute(insert(ReportDayTotal).from_select(columns, rows))
    now = utcnow()
    connection.execute(insert(ReportDay), [{"local_day": day, "rolled_at": now} for day in todo])
    return len(todo)


def _fill_range_in_own_transactions(first_day, last_day):
    last_closed = min(last_day, local_today() - timedelta(days=1))
    if last_closed < first_day:
        return
    todo = _unrolled_closed_days(first_day, last_closed)
    for chunk in _chunks(todo):
        try:
            with db.engine.connect() as connection, connection.begin():
                roll_up(connection, chunk)
        except OperationalError:
            return  # writers held the lock: these days are summed live this time


def _unrolled_closed_days(first_day, last_day):
    if last_day < first_day:
        return []
    present = set(
        db.session.scalars(select(ReportDay.local_day).where(ReportDay.local_day.between(first_day, last_day)))
    )
    return [day for day in _days(first_day, last_day) if day not in present]


def _totals_query(first_day, last_day, campus_id):
    on = ReportDayTotal.local_day == ReportDay.local_day
    if campus_id is not None:
        on = and_(on, ReportDayTotal.campus_id == campus_id)
    return (
        select(ReportDay.local_day, ReportDayTotal.kind, func.sum(ReportDayTotal.gained), func.sum(ReportDayTotal.lost))
        .select_from(ReportDay)
        .outerjoin(ReportDayTotal, on)
        .where(ReportDay.local_day.between(first_day, last_day))
        .group_by(ReportDay.local_day, ReportDayTotal.kind)
    )


def _totals_by_kind_query(first_day, last_day, campus_id):
    days = select(
        ReportDay.local_day,
        literal(None, db.String(24)).label("kind"),
        literal(0, BigInteger).label("gained"),
        literal(0, BigInteger).label("lost"),
    ).where(ReportDay.local_day.between(first_day, last_day))
    totals = (
        select(
            literal(None, db.Date).label("local_day"),
            ReportDayTotal.kind,
            func.sum(ReportDayTotal.gained),
            func.sum(ReportDayTotal.lost),
        )
        .join(ReportDay, ReportDay.local_day == ReportDayTotal.local_day)
        .where(ReportDay.local_day.between(first_day, last_day))
        .group_by(ReportDayTotal.kind)
    )
    if campus_id is not None:
        totals = totals.where(ReportDayTotal.campus_id == campus_id)
    return union_all(days, totals)


def _live_query(ranges, campus_id):
    positive = case((LedgerEntry.delta > 0, LedgerEntry.delta), else_=0)
    negative = case((LedgerEntry.delta < 0, -LedgerEntry.delta), else_=0)
    query = (
        select(LedgerEntry.local_day, LedgerEntry.kind, func.sum(positive), func.sum(negative))
        .where(or_(*(LedgerEntry.local_day.between(a, b) for a, b in ranges)) if ranges else literal(False))
        .group_by(LedgerEntry.local_day, LedgerEntry.kind)
    )
    if campus_id is not None:
        query = query.join(Student, Student.id == LedgerEntry.student_id).where(Student.campus_id == campus_id)
    return query


def _days(first_day, last_day):
    day = first_day
    while day <= last_day:
        yield day
        day += timedelta(days=1)


def _ranges(days):
    """Consecutive days as (first, last) pairs."""
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _chunks(days):
    days = list(days)
    return [days[i : i + CHUNK_DAYS] for i in range(0, len(days), CHUNK_DAYS)]
