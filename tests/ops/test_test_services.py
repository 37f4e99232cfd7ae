"""The suite's own isolation: each pytest-xdist worker and each checkout has its own database and
Redis db, since every test empties them (a shared one would lose another run's rows mid-test)."""

import pytest
from sqlalchemy import text

from school_points.platform.extensions import db
from school_points.platform.redis_conn import get_redis
from tests import conftest, redis_server, services
from tests.conftest import GIVEN_REDIS_URL, PG_URL, REDIS_URL, WORKER, worker_database_url, worker_redis_url


def test_each_worker_gets_its_own_postgres_database_and_redis_db():
    assert (
        worker_database_url("postgresql://postgres@127.0.0.1:5432/school_points_test_ab12", "gw1")
        == "postgresql://postgres@127.0.0.1:5432/school_points_test_ab12_gw1"
    )
    assert worker_database_url("postgresql://postgres@h/db", "") == "postgresql://postgres@h/db"  # no xdist
    assert worker_redis_url("redis://127.0.0.1:6379/6", "gw0") == "redis://127.0.0.1:6379/6"
    assert worker_redis_url("redis://127.0.0.1:6379/6", "gw2") == "redis://127.0.0.1:6379/8"
    assert worker_redis_url("redis://127.0.0.1:6379/6", "") == "redis://127.0.0.1:6379/6"
    with pytest.raises(pytest.UsageError, match="past the 16 a default Redis has"):
        worker_redis_url("redis://127.0.0.1:6379/15", "gw1")


def test_two_checkouts_get_different_database_names_and_blocks_of_redis_dbs_in_range():
    one, other = services.checkout_id("/home/a/school_points"), services.checkout_id("/home/b/school_points")
    assert one != other and len(one) == 8
    assert services.default_pg_url("/home/a/school_points").endswith(f"/school_points_test_{one}")
    for i in range(200):
        for workers in (1, 2, 3, 5):
            first = int(services.default_redis_url(workers, f"/clone/{i}").rsplit("/", 1)[1])
            assert first >= 1 and first + workers - 1 <= 15  # db 0 stays the development server's


def test_this_worker_uses_its_own_database(app):
    if WORKER and PG_URL:
        assert db.session.scalar(text("SELECT current_database()")).endswith(f"_{WORKER}")
    if WORKER and REDIS_URL:
        assert app.config["REDIS_URL"] == REDIS_URL
        if redis_server.available():  # a redis-server of the worker's own, not the one given for the run
            assert REDIS_URL != GIVEN_REDIS_URL
            assert get_redis().info("server")["process_id"] in {s.process.pid for s in conftest._private_servers}
