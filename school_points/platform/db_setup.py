"""Engine tuning per database: PostgreSQL pings connections that sat idle; SQLite gets WAL, foreign
keys and writer serialisation."""

import time

from sqlalchemy import Insert, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError

from school_points.platform.extensions import db

# A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_SECONDS = 10.0


def configure_engine(engine) -> None:
    """Make SQLite behave like a careful single-writer database; on PostgreSQL, ping idle connections."""
    if engine.dialect.name == "postgresql":
        ping_connections_after_idle(engine)
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(connection):
        # IMMEDIATE takes the write lock up front, so two transactions never both read a balance
        # and then both write it: SQLite's stand-in for PostgreSQL's row locks.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_or_skip(table, index_elements, dialect=None) -> Insert:
    """`INSERT ... ON CONFLICT (index_elements) DO NOTHING` into `table` (a Table, or a mapped class
    to get ORM objects back from RETURNING), in the dialect named `dialect` or else the session's
    database's (PostgreSQL and SQLite both have it, each its own construct)."""
    dialect = dialect or db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=index_elements)


def ping_connections_after_idle(engine) -> None:
    """Pessimistic disconnect handling without a round trip on every request.

    `pool_pre_ping` pings on every checkout: one more round trip (and ~0.1 ms of this process's
    CPU) on every request, for connections that were in use a moment ago. Here a connection is
    pinged only when it has been idle in the pool for PING_AFTER_IDLE_SECONDS or more, which is when
    it can have gone stale unnoticed (the database restarted, a firewall dropped it overnight): a
    dead one raises DisconnectionError, and the pool replaces it before the request uses it (the
    recipe in SQLAlchemy's "Dealing with Disconnects"). If the server goes away while connections
    are in steady use, SQLAlchemy invalidates the whole pool at the first disconnect error.
    """

    @event.listens_for(engine, "checkin")
    def _idle_from_now(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"connection idle for a while is gone: {exc}") from exc
