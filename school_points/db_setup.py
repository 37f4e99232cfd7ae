"""Engine tuning per database: SQLite gets WAL, foreign keys and writer serialisation."""
from sqlalchemy import event


def configure_engine(engine):
    """Make SQLite behave like a careful single-writer database; PostgreSQL needs nothing."""
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
