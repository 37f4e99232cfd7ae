"""Fixtures for the backup tests: a school with history worth keeping, and an empty database to restore into."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from school_points.accounts import ledger
from school_points.mall import redemption
from school_points.models import PointsLot, Redemption
from school_points.platform.clock import utcnow
from school_points.platform.config import normalize_database_url
from school_points.platform.extensions import db
from school_points.points import expiry
from school_points.school.actors import Actor

PARENT = Actor.user(1)


@pytest.fixture
def school(rules, make_student, make_goods, make_guardian):
    """Students whose points sit in expiring lots (one lot already expired), goods, and orders that are
    pending, issued and cancelled: every table a restore must bring back."""
    rules({"expiry": {"policy": "rolling", "months": 12}})
    students = [make_student(name=f"学生{i}", balance=500 + i) for i in range(6)]
    for student in students:
        make_guardian(student)
        account = ledger.lock(student.id)
        entry = ledger.credit(account, 40, "evaluation", key=f"eval:{student.id}", actor=Actor.admin(1))
        db.session.flush()
        lot = db.session.scalars(select(PointsLot).where(PointsLot.entry_id == entry.id)).one()
        lot.expires_at = utcnow() + timedelta(days=-1 if student is students[0] else 90)
        db.session.commit()
    assert expiry.expire_due() == (1, 40)
    goods = [make_goods(name="铅笔", points=7, stock=100_000), make_goods(name="贴纸", points=3, stock=50)]
    for n, student in enumerate(students):
        redemption.redeem(student.id, goods[n % 2].id, 1 + n % 3, key=f"seed{n}", actor=PARENT)
        db.session.commit()
    orders = db.session.scalars(select(Redemption).order_by(Redemption.id)).all()
    redemption.issue_by_admin(orders[0], actor=Actor.admin(1))
    redemption.cancel(orders[1], actor=PARENT, reason="不要了")
    db.session.commit()
    return students, goods


@pytest.fixture
def empty_target(tmp_path, database_url):
    """A URL naming an empty database of the test run's engine: a new PostgreSQL database, or a new SQLite path."""
    if not database_url.startswith("postgres"):
        yield "sqlite:///" + str(tmp_path / "restored.sqlite3")
        return
    url = make_url(normalize_database_url(database_url))
    name = f"{url.database}_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
