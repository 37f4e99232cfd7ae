"""Pooled PostgreSQL connections: pinged only after sitting idle, replaced when found dead."""

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from school_points.platform import db_setup
from school_points.platform.extensions import db
from tests.conftest import PG_URL, requires_pg


def query():
    value = db.session.execute(text("SELECT 1")).scalar()
    db.session.remove()  # the connection goes back to the pool, as at the end of a request
    return value


@pytest.fixture(autouse=True)
def fresh_pool_afterwards(app):
    yield
    db.session.remove()
    db.engine.dispose()  # no connection killed here is left for the next test


def kill_other_connections():
    """What a database restart does to every pooled connection (this one is new, and exempt)."""
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def pings(app, monkeypatch):
    """Counts the pings of pooled connections."""
    count = []
    real = db.engine.dialect.do_ping
    monkeypatch.setattr(db.engine.dialect, "do_ping", lambda conn: count.append(1) or real(conn))
    return count


@requires_pg
def test_a_connection_in_steady_use_is_not_pinged(app, pings):
    query()
    pings.clear()
    assert [query() for _ in range(5)] == [1] * 5
    assert pings == []


@requires_pg
def test_a_connection_that_sat_idle_is_pinged_and_replaced_when_dead(app, pings, monkeypatch):
    query()
    kill_other_connections()  # the database restarted while the connection sat in the pool
    monkeypatch.setattr(db_setup, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has now been idle long enough
    assert query() == 1  # pinged, found dead, replaced: the request never sees it
    assert pings


@requires_pg
def test_a_connection_that_died_in_steady_use_fails_one_request_and_the_pool_recovers(app):
    query()
    kill_other_connections()
    with pytest.raises(OperationalError):
        query()
    db.session.remove()
    assert query() == 1  # the disconnect invalidated the pool: fresh connections from here
