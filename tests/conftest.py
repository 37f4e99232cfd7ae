"""Fixtures: the app on a real database (PostgreSQL when TEST_DATABASE_URL is set, else SQLite),
real Redis when TEST_REDIS_URL is set, and factories for the school's objects.
"""
import os
import threading
from datetime import date

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from school_points.accounts import ledger
from school_points.models import (
    Campus,
    Goods,
    Guardian,
    SchoolClass,
    Student,
    Teacher,
    WechatUser,
)
from school_points.platform.codes import new_code
from school_points.platform.config import normalize_database_url
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM
from wsgi import create_app

PG_URL = os.environ.get("TEST_DATABASE_URL")
REDIS_URL = os.environ.get("TEST_REDIS_URL")

requires_pg = pytest.mark.skipif(
    not (PG_URL or "").startswith(("postgres", "postgresql")), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)
requires_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis (TEST_REDIS_URL)")


def _ensure_pg_database(url):
    url = make_url(normalize_database_url(url))
    admin_engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin_engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if PG_URL:
        _ensure_pg_database(PG_URL)
        return PG_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def _app(database_url, tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
        "REDIS_URL": REDIS_URL,
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
    })
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


@pytest.fixture
def app(_app):
    """The app with every table emptied after the test (tests commit for real)."""
    with _app.app_context():
        yield _app
        db.session.remove()
        _empty_tables()
    if REDIS_URL:
        redis_lib.Redis.from_url(REDIS_URL).flushdb()


def _empty_tables():
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    # DELETE in dependency order: ten times faster than TRUNCATE on PostgreSQL for tables this small.
    with db.engine.begin() as conn:
        for table in tables:
            conn.execute(text(f'DELETE FROM "{table}"'))
    from school_points.platform import ratelimit
    ratelimit._memory.clear()


@pytest.fixture(autouse=True)
def fresh_process_state():
    """Each test starts with no memory of earlier tests' Redis: the bot trusts Redis again (a Redis
    failure makes it skip Redis 30 s) and no process has seen a check-in drain pending."""
    from school_points.points import oa_checkins
    from wechat_bot import inbox

    def forget():
        inbox._redis_skip_until = 0.0
        oa_checkins._drain_pending_since = float("-inf")

    forget()
    yield
    forget()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def is_pg(app):
    return db.engine.dialect.name == "postgresql"


def run_concurrently(app, fn, args_list):
    """Run fn(arg) in one thread per arg, each in its own app context and DB session, all at once."""
    barrier = threading.Barrier(len(args_list))
    results = [None] * len(args_list)

    def worker(i, arg):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = fn(arg)
            except Exception as exc:  # noqa: BLE001 - collected for the assertion
                db.session.rollback()
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i, a)) for i, a in enumerate(args_list)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


# ---------------------------------------------------------------- factories


@pytest.fixture
def make_campus(app):
    def make(name=None):
        campus = Campus(name=name or f"校区{new_code(4)}")
        db.session.add(campus)
        db.session.commit()
        return campus
    return make


@pytest.fixture
def campus(make_campus):
    return make_campus("总校区")


@pytest.fixture
def make_student(app, campus):
    def make(name="王小明", balance=0, campus_id=None, birthday=None, classes=()):
        student = Student(name=name, campus_id=campus_id or campus.id, bind_code=new_code(8), birthday=birthday)
        student.classes = list(classes)
        db.session.add(student)
        db.session.flush()
        account = ledger.lock(student.id)
        if balance:
            ledger.credit(account, balance, "adjustment", key=f"test-seed:{student.id}", actor=SYSTEM,
                          note="测试初始积分")
        db.session.commit()
        return student
    return make


@pytest.fixture
def make_class(app, campus):
    def make(name="一班", campus_id=None, teachers=(), students=()):
        klass = SchoolClass(name=name, campus_id=campus_id or campus.id)
        klass.teachers = list(teachers)
        klass.students = list(students)
        db.session.add(klass)
        db.session.commit()
        return klass
    return make


@pytest.fixture
def make_teacher(app, campus):
    def make(name="李老师", campus_id=None, user=None):
        teacher = Teacher(name=name, campus_id=campus_id or campus.id, invite_code=new_code(8), user=user)
        db.session.add(teacher)
        db.session.commit()
        return teacher
    return make


@pytest.fixture
def make_user(app):
    def make(mp_openid=None, oa_openid=None, unionid=None, nickname=""):
        user = WechatUser(
            mp_openid=mp_openid or f"mp-{new_code(10)}", oa_openid=oa_openid, unionid=unionid,
            nickname=nickname, referral_code=new_code(8),
        )
        db.session.add(user)
        db.session.commit()
        return user
    return make


@pytest.fixture
def make_guardian(app, make_user):
    def make(student, user=None, relation="妈妈", default=True):
        user = user or make_user()
        db.session.add(Guardian(user_id=user.id, student_id=student.id, relation=relation))
        if default and user.default_student_id is None:
            user.default_student_id = student.id
        db.session.commit()
        return user
    return make


@pytest.fixture
def make_goods(app):
    def make(name="铅笔", points=30, stock=10, limit_per_student=None, campus_id=None, on_shelf=True,
             verify_code="8888"):
        goods = Goods(
            name=name, points=points, stock=stock, stock_received=stock, limit_per_student=limit_per_student,
            campus_id=campus_id, on_shelf=on_shelf, verify_code=verify_code,
        )
        db.session.add(goods)
        db.session.commit()
        return goods
    return make


def balance_of(student_id):
    """A student's balance, read fresh."""
    db.session.expire_all()
    from school_points.models import PointsAccount
    account = db.session.get(PointsAccount, student_id)
    return account.balance if account else 0


TODAY = date.today
