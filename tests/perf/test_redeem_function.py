"""The `redeem_goods` function: a migrated database gets the same one the tests run against."""

import uuid

from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from school_points.platform.config import normalize_database_url
from school_points.platform.extensions import db
from tests.conftest import PG_URL, requires_pg
from wsgi import create_app

DEFINITION = text(
    "SELECT pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.prosrc "
    "FROM pg_proc p WHERE p.proname = 'redeem_goods'"
)


@requires_pg
def test_migrations_create_the_function_the_models_get_and_downgrade_drops_it(app):
    with db.engine.connect() as conn:
        expected = conn.execute(DEFINITION).all()
    assert len(expected) == 1
    url = make_url(normalize_database_url(PG_URL))
    name = f"{url.database}_fn_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        migrated = create_app(
            {"SQLALCHEMY_DATABASE_URI": url.set(database=name).render_as_string(hide_password=False), "REDIS_URL": None}
        )
        with migrated.app_context():
            upgrade()
            with db.engine.connect() as conn:
                assert conn.execute(DEFINITION).all() == expected
            downgrade(revision="4dd74c178111")  # the revision before the one that adds the function
            with db.engine.connect() as conn:
                assert conn.execute(DEFINITION).all() == []
            db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
