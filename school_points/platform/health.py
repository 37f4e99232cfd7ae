"""Readiness: the database must answer; Redis being down is reported, not fatal."""

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from school_points.platform.extensions import db
from school_points.platform.redis_conn import get_redis, redis_ok


def readiness() -> dict[str, str]:
    """{'status', 'database', 'redis'}: status is 'ok' unless the database is unreachable."""
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
        database = "ok"
    except SQLAlchemyError as exc:
        db.session.rollback()
        database = f"error: {exc.__class__.__name__}"
    redis_state = "not_configured" if get_redis() is None else ("ok" if redis_ok() else "unreachable")
    return {"status": "ok" if database == "ok" else "error", "database": database, "redis": redis_state}
