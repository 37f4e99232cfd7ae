"""Fixtures: the app on a real database (PostgreSQL when TEST_DATABASE_URL is set, else SQLite),
real Redis when TEST_REDIS_URL is set, and factories for the school's objects.

Under pytest-xdist (scripts/test.sh runs `-n`), each worker has a database and a Redis of its
own, since every test empties them: worker gwN uses the PostgreSQL database named in
TEST_DATABASE_URL suffixed with `_gwN` (created when missing), a redis-server it starts itself
when TEST_REDIS_URL is set (the db N after the given one when there is no redis-server binary),
and a SQLite file in its own temporary directory.
"""

import os
import threading
from datetime import date
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, event, text
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
from tests import redis_server
from tests.clock import virtual_clock  # noqa: F401 - fixture for every test
from wsgi import create_app

# "gw0", "gw1", ... in a pytest-xdist worker; empty in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
# werkzeug's cheapest hash: the tests make and log in hundreds of admins, and scrypt costs ~0.1 s
# each time (production refuses anything but scrypt: config.py, tests/ops/test_config.py).
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1"


def worker_database_url(url, worker=WORKER):
    """The worker's own PostgreSQL database: the given one's name suffixed with the worker id."""
    if not url or not worker or not url.startswith(("postgres", "postgresql")):
        return url
    parsed = make_url(url)  # the scheme as given: some tests hand the URL to psycopg itself
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


def worker_redis_url(url, worker=WORKER):
    """Without a redis-server binary, the worker's own Redis db: the given db number plus the
    worker's number (gw2 → +2), which the person running the suite must keep free for it."""
    if not url or not worker:
        return url
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) + int(worker.removeprefix("gw"))
    if number > 15:
        raise pytest.UsageError(
            f"TEST_REDIS_URL {url}: worker {worker} would need Redis db {number}, past the "
            "16 a default Redis has; give a lower db number or fewer workers (-n)"
        )
    return urlunsplit(parts._replace(path=f"/{number}"))


def _worker_redis(url, worker=WORKER):
    """A pytest-xdist worker's Redis: a redis-server of its own (stopped with the worker), so the
    suite never needs more than the one db it is given, and no FLUSHDB or CONFIG SET of a test
    reaches a Redis someone else uses; the db next to the given one without the binary."""
    if not url or not worker:
        return url
    if not redis_server.available():
        return worker_redis_url(url, worker)
    server = redis_server.ThrowawayRedis.started()
    _private_servers.append(server)
    return server.url


def pytest_unconfigure(config):
    for server in _private_servers:
        server.stop()


_private_servers = []
GIVEN_REDIS_URL = os.environ.get("TEST_REDIS_URL")
PG_URL = worker_database_url(os.environ.get("TEST_DATABASE_URL"))
REDIS_URL = _worker_redis(GIVEN_REDIS_URL)
# Tests that read the environment (or start processes that do) see this worker's own services.
for _name, _value in (("TEST_DATABASE_URL", PG_URL), ("TEST_REDIS_URL", REDIS_URL)):
    if _value:
        os.environ[_name] = _value

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
        # A test database need not survive a crash: commits return without waiting for the WAL
        # flush (visibility and locking are unchanged). Only this database, for every connection.
        conn.execute(text(f'ALTER DATABASE "{url.database}" SET synchronous_commit TO off'))
    admin_engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if PG_URL:
        _ensure_pg_database(PG_URL)
        return PG_URL
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def _app(database_url, tmp_path_factory):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(database_url),
            "REDIS_URL": REDIS_URL,
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
            "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
            "PASSWORD_HASH_METHOD": CHEAP_PASSWORD_HASH,
        }
    )
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # A test database need not survive a crash: no fsync per commit (tests commit a lot).
            event.listen(db.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA synchronous=OFF"))
            db.engine.dispose()
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


@pytest.fixture(autouse=True)
def quick_drains(monkeypatch):
    """Check-in drains linger and wait for lulls for a few milliseconds instead of about a second
    (each drain a worker runs would otherwise sleep through LINGER_SECONDS). The order the module
    requires holds: LINGER_SECONDS > WAKE_MEMO_SECONDS. Tests of those waits set their own values
    or use the virtual clock."""
    from school_points.points import oa_checkins

    monkeypatch.setattr(oa_checkins, "LULL_SECONDS", 0.005)
    monkeypatch.setattr(oa_checkins, "MAX_WAIT_SECONDS", 0.1)
    monkeypatch.setattr(oa_checkins, "WAKE_MEMO_SECONDS", 0.02)
    monkeypatch.setattr(oa_checkins, "LINGER_SECONDS", 0.04)


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
            ledger.credit(
                account, balance, "adjustment", key=f"test-seed:{student.id}", actor=SYSTEM, note="测试初始积分"
            )
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
            mp_openid=mp_openid or f"mp-{new_code(10)}",
            oa_openid=oa_openid,
            unionid=unionid,
            nickname=nickname,
            referral_code=new_code(8),
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
    def make(
        name="铅笔", points=30, stock=10, limit_per_student=None, campus_id=None, on_shelf=True, verify_code="8888"
    ):
        goods = Goods(
            name=name,
            points=points,
            stock=stock,
            stock_received=stock,
            limit_per_student=limit_per_student,
            campus_id=campus_id,
            on_shelf=on_shelf,
            verify_code=verify_code,
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
