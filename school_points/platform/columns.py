"""Column types and helpers shared by every model."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, TypeDecorator

from school_points.platform.clock import utcnow


class AwareDateTime(TypeDecorator):
    """Stores UTC and always hands back timezone-aware datetimes, on PostgreSQL and SQLite alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to an AwareDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def now_default() -> datetime:
    """Default for created_at columns."""
    return utcnow()
