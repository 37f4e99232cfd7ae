"""Per-day ledger totals for the reports, and the triggers that keep them exact.

`report_day_total` holds, for one school-local day, the ledger's positive and negative sums per
(campus of the student, kind). `report_day` marks the days whose totals are complete and valid:
the reports read totals only through it, and sum the ledger itself for any other day.

Validity does not depend on any writer remembering to say so. Database triggers delete a day's
mark whenever the ledger changes on that day (an insert, a delete, or an update of an amount,
kind, day or student), and delete the marks of every day a student has entries on when that
student moves campus (the reports count a student's history under the current campus). The
roll-up (office/report_rollup.py) locks `ledger_entry` against writers while it reads, and the
campus-move trigger takes a writer's lock on `ledger_entry`, so a mark can never be written over
a write it has not seen. The same SQL is in the migration e9a1c0000090.
"""

from sqlalchemy import DDL, BigInteger, Index, event
from sqlalchemy.orm import Mapped, mapped_column

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db


class ReportDay(db.Model):
    """A school-local day whose rows in report_day_total are complete (see the module doc)."""

    __tablename__ = "report_day"
    local_day = mapped_column(db.Date, primary_key=True)
    rolled_at = mapped_column(AwareDateTime, default=now_default, nullable=False)


class ReportDayTotal(db.Model):
    """One day's ledger sums for one campus and kind: positive deltas, negated negative deltas, rows."""

    __tablename__ = "report_day_total"
    __table_args__ = (Index("ix_report_day_total_day_campus_kind", "local_day", "campus_id", "kind", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    local_day = mapped_column(db.Date, nullable=False)
    campus_id: Mapped[int]
    kind: Mapped[str] = mapped_column(db.String(24))
    gained: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"))
    lost: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"))
    entries: Mapped[int]


POSTGRESQL_TRIGGERS = [
    """
    CREATE OR REPLACE FUNCTION report_day_forget_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'DELETE' THEN
            DELETE FROM report_day WHERE local_day = NEW.local_day;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            DELETE FROM report_day WHERE local_day = OLD.local_day;
        END IF;
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS ledger_entry_report_day ON ledger_entry",
    """
    CREATE TRIGGER ledger_entry_report_day
    AFTER INSERT OR DELETE OR UPDATE OF student_id, delta, kind, local_day ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION report_day_forget_ledger()
    """,
    """
    CREATE OR REPLACE FUNCTION report_day_forget_student() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- A ledger writer's lock: waits for a roll-up in progress, so its mark is seen below.
        LOCK TABLE ledger_entry IN ROW EXCLUSIVE MODE;
        DELETE FROM report_day WHERE local_day IN (SELECT local_day FROM ledger_entry WHERE student_id = NEW.id);
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS student_report_day ON student",
    """
    CREATE TRIGGER student_report_day
    AFTER UPDATE OF campus_id ON student
    FOR EACH ROW WHEN (OLD.campus_id IS DISTINCT FROM NEW.campus_id)
    EXECUTE FUNCTION report_day_forget_student()
    """,
]

SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER IF NOT EXISTS ledger_entry_report_day_insert AFTER INSERT ON ledger_entry
    BEGIN DELETE FROM report_day WHERE local_day = NEW.local_day; END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS ledger_entry_report_day_delete AFTER DELETE ON ledger_entry
    BEGIN DELETE FROM report_day WHERE local_day = OLD.local_day; END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS ledger_entry_report_day_update
    AFTER UPDATE OF student_id, delta, kind, local_day ON ledger_entry
    BEGIN DELETE FROM report_day WHERE local_day IN (OLD.local_day, NEW.local_day); END
    """,
    """
    CREATE TRIGGER IF NOT EXISTS student_report_day AFTER UPDATE OF campus_id ON student
    WHEN OLD.campus_id IS NOT NEW.campus_id
    BEGIN
        DELETE FROM report_day WHERE local_day IN (SELECT local_day FROM ledger_entry WHERE student_id = NEW.id);
    END
    """,
]

# db.create_all() (tests, `flask init-db`) creates the triggers too, once every table exists.
for _statement in POSTGRESQL_TRIGGERS:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
for _statement in SQLITE_TRIGGERS:
    event.listen(db.metadata, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
