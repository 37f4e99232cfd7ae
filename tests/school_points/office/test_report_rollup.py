"""The reports' per-day totals (office/report_rollup.py): whatever is rolled up, invalidated or
live, the reports' sums equal a direct sum of the ledger, day by day, per campus."""

import random
import threading
from datetime import timedelta

from flask_migrate import upgrade
from sqlalchemy import case, func, select, text, update

from school_points.accounts import ledger
from school_points.mall.redemption import cancel, redeem
from school_points.models import LedgerEntry, ReportDay, ReportDayTotal, Student
from school_points.office import report_rollup
from school_points.office.daily_report import daily
from school_points.office.erasure import ALL_CAMPUSES, erase_student
from school_points.office.reports import summary
from school_points.platform.clock import acting_at, day_start, local_today
from school_points.platform.config import normalize_database_url
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM, Actor
from tests.conftest import requires_pg
from tests.ops.test_migrations import empty_database_url  # noqa: F401 - a fixture
from wsgi import create_app

DAYS = 12
KINDS = ["checkin", "evaluation", "like", "birthday", "adjustment"]


def direct(first_day, last_day, campus_id=None):
    """The reference: the ledger summed directly, {(day, kind): (gained, lost)} without zero rows."""
    positive = case((LedgerEntry.delta > 0, LedgerEntry.delta), else_=0)
    negative = case((LedgerEntry.delta < 0, -LedgerEntry.delta), else_=0)
    query = (
        select(LedgerEntry.local_day, LedgerEntry.kind, func.sum(positive), func.sum(negative))
        .join(Student, Student.id == LedgerEntry.student_id)
        .where(LedgerEntry.local_day.between(first_day, last_day))
        .group_by(LedgerEntry.local_day, LedgerEntry.kind)
    )
    if campus_id is not None:
        query = query.where(Student.campus_id == campus_id)
    return {(day, kind): (int(g), int(lo)) for day, kind, g, lo in db.session.execute(query)}


def assert_exact(campuses, first_day=None, last_day=None):
    today = local_today()
    first_day = first_day or today - timedelta(days=DAYS + 2)
    last_day = last_day or today
    db.session.commit()  # what the reports read in their own transactions is what is committed
    for campus_id in [None, *campuses]:
        expected = direct(first_day, last_day, campus_id)
        got = report_rollup.ledger_sums(first_day, last_day, campus_id=campus_id)
        assert {k: v for k, v in got.items() if v != (0, 0)} == {k: v for k, v in expected.items() if v != (0, 0)}
        by_kind = {}
        for (_day, kind), (gained, lost) in expected.items():
            before = by_kind.get(kind, (0, 0))
            by_kind[kind] = (before[0] + gained, before[1] + lost)
        got_by_kind = report_rollup.ledger_sums_by_kind(first_day, last_day, campus_id=campus_id)
        assert {k: v for k, v in got_by_kind.items() if v != (0, 0)} == {
            k: v for k, v in by_kind.items() if v != (0, 0)
        }
        report = summary(first_day, last_day, campus_id=campus_id)
        issued = sum(g for (_d, kind), (g, _l) in expected.items() if kind in set(KINDS) | {"welcome"})
        assert report["issued"]["total"] == issued
        expired = sum(lo for (_d, kind), (_g, lo) in expected.items() if kind == "expiry")
        assert report["expired"] == expired
        days = daily(first_day, last_day, campus_id=campus_id)["days"]
        assert sum(sum(day["issued"].values()) for day in days) == issued
        assert sum(day["spent"] for day in days) == report["spent"]


def on_day(day, fn, *args, **kwargs):
    with acting_at(day_start(day) + timedelta(hours=10)):
        result = fn(*args, **kwargs)
    db.session.commit()
    return result


def credit(student_id, points, kind, key):
    account = ledger.lock(student_id)
    return ledger.credit(account, points, kind, key=key)


def debit(student_id, points, kind, key):
    account = ledger.lock(student_id)
    return ledger.debit(account, points, kind, key=key)


def random_school(make_student, make_campus, make_goods, seed=7):
    rng = random.Random(seed)
    campuses = [make_campus().id for _ in range(3)]
    students = [make_student(name=f"学生{i}", campus_id=campuses[i % 3]).id for i in range(9)]
    goods = make_goods(points=5, stock=1000)
    today = local_today()
    n = 0
    for back in range(DAYS, -1, -1):
        day = today - timedelta(days=back)
        for _ in range(rng.randint(0, 8)):
            n += 1
            sid = rng.choice(students)
            on_day(day, credit, sid, rng.randint(1, 20), rng.choice(KINDS), f"c{n}")
            if rng.random() < 0.3:
                on_day(day, debit, sid, 1, "expiry", f"x{n}")
            if rng.random() < 0.3:
                order = on_day(day, redeem, sid, goods.id, 1, key=f"o{n}", actor=Actor.system())
                if rng.random() < 0.5:
                    on_day(day, cancel, order, actor=Actor.system(), reason="测试")
    return campuses, students


def marked_days():
    return set(db.session.scalars(select(ReportDay.local_day)))


def test_random_history_is_exact_before_and_after_the_roll_up(app, make_student, make_campus, make_goods):
    campuses, _ = random_school(make_student, make_campus, make_goods)
    assert_exact(campuses)  # on PostgreSQL this read already rolled up its closed days
    report_rollup.roll_up_days()
    db.session.commit()
    today = local_today()
    assert today not in marked_days()  # today stays live
    assert today - timedelta(days=1) in marked_days()
    assert db.session.scalar(select(func.count()).select_from(ReportDayTotal)) > 0
    assert_exact(campuses)
    # Sub-ranges, a single day, a range ending before today, a range of only unrolled days.
    assert_exact(campuses, today - timedelta(days=5), today - timedelta(days=2))
    assert_exact(campuses, today - timedelta(days=3), today - timedelta(days=3))
    assert_exact(campuses, today - timedelta(days=400), today - timedelta(days=DAYS + 1))


def test_todays_entries_count_live(app, make_student, make_campus, make_goods):
    campuses, students = random_school(make_student, make_campus, make_goods)
    report_rollup.roll_up_days()
    db.session.commit()
    credit(students[0], 33, "checkin", "today-more")
    assert_exact(campuses)


def test_a_backdated_entry_invalidates_its_closed_day(app, make_student, make_campus, make_goods):
    campuses, students = random_school(make_student, make_campus, make_goods)
    report_rollup.roll_up_days()
    db.session.commit()
    three_days_ago = local_today() - timedelta(days=3)
    assert three_days_ago in marked_days()
    on_day(three_days_ago, credit, students[1], 41, "evaluation", "late-evaluation")
    assert three_days_ago not in marked_days()
    assert_exact(campuses)
    report_rollup.roll_up_days()
    db.session.commit()
    assert three_days_ago in marked_days()
    assert_exact(campuses)


def test_deleting_or_changing_a_ledger_row_invalidates_its_days(app, make_student, make_campus, make_goods):
    campuses, _ = random_school(make_student, make_campus, make_goods)
    report_rollup.roll_up_days()
    db.session.commit()
    yesterday, before = local_today() - timedelta(days=1), local_today() - timedelta(days=2)
    entry = LedgerEntry(
        student_id=db.session.scalars(select(Student.id)).first(),
        delta=9,
        balance_after=9,
        kind="like",
        idempotency_key="raw-insert",
        local_day=yesterday,
    )
    db.session.add(entry)
    db.session.commit()
    report_rollup.roll_up_days()
    db.session.commit()
    assert yesterday in marked_days()
    db.session.execute(update(LedgerEntry).where(LedgerEntry.id == entry.id).values(local_day=before, delta=4))
    db.session.commit()
    assert {yesterday, before}.isdisjoint(marked_days())
    assert_exact(campuses)
    report_rollup.roll_up_days()
    db.session.commit()
    db.session.execute(text("DELETE FROM ledger_entry WHERE idempotency_key = 'raw-insert'"))
    db.session.commit()
    assert before not in marked_days()
    assert_exact(campuses)


def test_a_campus_move_invalidates_the_students_days_and_counts_history_at_the_new_campus(
    app, make_student, make_campus, make_goods
):
    campuses, students = random_school(make_student, make_campus, make_goods)
    report_rollup.roll_up_days()
    db.session.commit()
    mover = students[0]
    days = set(db.session.scalars(select(LedgerEntry.local_day).where(LedgerEntry.student_id == mover)))
    untouched = marked_days() - days
    db.session.get(Student, mover).campus_id = campuses[2]
    db.session.commit()
    assert marked_days() == untouched
    assert_exact(campuses)
    report_rollup.roll_up_days()
    db.session.commit()
    assert_exact(campuses)
    # A change that does not move the student keeps the totals.
    before = marked_days()
    db.session.get(Student, mover).name = "改名"
    db.session.commit()
    assert marked_days() == before


def test_erasure_keeps_the_totals_valid_and_exact(app, make_student, make_campus, make_goods):
    campuses, students = random_school(make_student, make_campus, make_goods)
    report_rollup.roll_up_days()
    db.session.commit()
    before = marked_days()
    erase_student(students[3], scope=ALL_CAMPUSES, actor=SYSTEM)
    db.session.commit()
    assert marked_days() == before  # amounts never change on erasure, only notes
    assert_exact(campuses)


def test_the_job_is_idempotent_and_fills_days_without_entries(app, make_student, make_campus, make_goods):
    campuses, _ = random_school(make_student, make_campus, make_goods)
    first = report_rollup.roll_up_days()["days"]
    db.session.commit()
    assert first >= DAYS - 1  # every closed day since the first entry, with or without entries
    assert report_rollup.roll_up_days() == {"days": 0}
    assert report_rollup.roll_up_days.__name__ == "roll_up_days"
    assert_exact(campuses)


@requires_pg
def test_a_write_racing_a_roll_up_is_never_lost(app, make_student, make_campus, make_goods):
    """A backdated write waits for a roll-up holding the ledger lock, then removes its mark."""
    campuses, students = random_school(make_student, make_campus, make_goods)
    db.session.commit()
    yesterday = local_today() - timedelta(days=1)
    rolled = threading.Event()
    release = threading.Event()
    wrote = threading.Event()

    def roll():
        with app.app_context(), db.engine.connect() as connection, connection.begin():
            report_rollup.roll_up(connection, [yesterday])
            rolled.set()
            release.wait(10)

    def write():
        rolled.wait(10)
        with app.app_context():
            on_day(yesterday, credit, students[2], 17, "checkin", "racing")
            db.session.remove()
        wrote.set()

    threads = [threading.Thread(target=roll), threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    assert not wrote.wait(0.5)  # the writer waits for the roll-up's lock
    release.set()
    for thread in threads:
        thread.join(20)
    assert wrote.is_set()
    db.session.commit()
    assert yesterday not in marked_days()
    assert_exact(campuses)


@requires_pg
def test_a_campus_move_racing_a_roll_up_is_never_lost(app, make_student, make_campus, make_goods):
    campuses, students = random_school(make_student, make_campus, make_goods)
    db.session.commit()
    mover = students[1]
    day = db.session.scalar(
        select(func.max(LedgerEntry.local_day)).where(
            LedgerEntry.student_id == mover, LedgerEntry.local_day < local_today()
        )
    )
    moved = threading.Event()
    rolled = threading.Event()
    release = threading.Event()

    def roll():
        with app.app_context(), db.engine.connect() as connection, connection.begin():
            report_rollup.roll_up(connection, [day])
            rolled.set()
            release.wait(10)

    def move():
        rolled.wait(10)
        with app.app_context():
            db.session.execute(update(Student).where(Student.id == mover).values(campus_id=campuses[2]))
            db.session.commit()
            db.session.remove()
        moved.set()

    threads = [threading.Thread(target=roll), threading.Thread(target=move)]
    for thread in threads:
        thread.start()
    assert not moved.wait(0.5)  # the move's trigger waits for the roll-up's lock
    release.set()
    for thread in threads:
        thread.join(20)
    assert moved.is_set()
    db.session.commit()
    assert day not in marked_days()
    assert_exact(campuses)


TRIGGERS = {
    "postgresql": {"ledger_entry_report_day", "student_report_day"},
    "sqlite": {
        "ledger_entry_report_day_insert",
        "ledger_entry_report_day_delete",
        "ledger_entry_report_day_update",
        "student_report_day",
    },
}


def trigger_names(connection):
    if connection.dialect.name == "postgresql":
        return set(connection.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
    return set(connection.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))


def test_the_migrations_leave_the_triggers_in_place(empty_database_url):
    """A later migration that rebuilds ledger_entry or student (SQLite's batch mode copies the table)
    would drop the triggers silently and leave stale totals: it must create them again."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalize_database_url(empty_database_url), "REDIS_URL": None})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            assert TRIGGERS[connection.dialect.name] <= trigger_names(connection)
        db.engine.dispose()


def test_the_test_schema_has_the_triggers(app):
    with db.engine.connect() as connection:
        assert TRIGGERS[connection.dialect.name] <= trigger_names(connection)
