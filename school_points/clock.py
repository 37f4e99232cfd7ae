"""Time in the school's timezone: every day boundary goes through here."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow():
    """The current instant, timezone-aware (UTC)."""
    return datetime.now(timezone.utc)


def school_tz():
    """The school's timezone (SCHOOL_TIMEZONE, default Asia/Shanghai)."""
    return ZoneInfo(current_app.config.get("SCHOOL_TIMEZONE", "Asia/Shanghai"))


def local_today(now=None):
    """Today's date in the school's timezone."""
    return (now or utcnow()).astimezone(school_tz()).date()


def local_day_of(instant):
    """The school-local date an instant falls on."""
    return as_aware(instant).astimezone(school_tz()).date()


def day_start(day: date):
    """The first instant of a school-local day, as an aware UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=school_tz()).astimezone(timezone.utc)


def day_end(day: date):
    """The first instant after a school-local day."""
    return day_start(day + timedelta(days=1))


def as_aware(value):
    """Treat naive datetimes read back from SQLite as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def isoformat(value):
    """ISO 8601 with offset, in the school's timezone."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_aware(value).astimezone(school_tz()).isoformat()
    return value.isoformat()
