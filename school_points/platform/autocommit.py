"""One statement as its own transaction, on a pooled PostgreSQL connection, past the session.

The hot paths that write exactly one thing and commit it at once (a redemption's one function
call, an acknowledged check-in's one INSERT) run their statement in autocommit on a connection
taken straight from the engine's pool: the server commits as the statement ends, with no BEGIN or
COMMIT round trips, and none of the session's or Core's machinery, which costs this process more
CPU than the statement itself (in-process: ~0.3 ms against ~0.06 ms for the statement's own
round trip). The pool's checkout events (the ping of a connection that sat idle) still run.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from school_points.platform.extensions import db


def session_in_transaction() -> bool:
    """Whether this context's session has a transaction open, without making a session to ask."""
    return db.session.registry.has() and db.session().in_transaction()


@contextmanager
def own_transaction() -> Iterator[psycopg.Cursor]:
    """A psycopg cursor in autocommit on a pooled connection, returned to the pool afterwards.

    A connection found broken is invalidated, so the pool never hands it out again.
    """
    pooled = db.engine.raw_connection()
    connection = pooled.driver_connection
    try:
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                yield cursor
        finally:
            if not connection.closed:
                connection.autocommit = False
    except psycopg.Error as exc:
        if connection.closed or connection.broken:
            pooled.invalidate(exc)
        raise
    finally:
        pooled.close()
