"""Time in the school's timezone: every day boundary goes through here.

Also the process's clocks (`monotonic`, `epoch_seconds`, `sleep`) for code that waits or measures
durations: they go through `_source`, which tests replace with a virtual clock (tests/clock.py), so
a test of a window, a linger or an expiry advances time instead of sleeping through it.
"""

import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return datetime.now(UTC)


class SystemClock:
    """The real clocks."""

    monotonic = staticmethod(_time.monotonic)
    time = staticmethod(_time.time)
    sleep = staticmethod(_time.sleep)


# Read on every call, never bound at import: a test swaps it (tests/clock.py) and swaps it back.
_source = SystemClock()


def monotonic() -> float:
    """Seconds on a clock that never goes back (for durations and deadlines)."""
    return _source.monotonic()


def epoch_seconds() -> float:
    """Seconds since the Unix epoch (wall time, as signed into tokens)."""
    return _source.time()


def sleep(seconds: float) -> None:
    """Wait `seconds` (a virtual clock in tests just moves on)."""
    _source.sleep(seconds)


def school_tz() -> ZoneInfo:
    """The school's timezone (SCHOOL_TIMEZONE, default Asia/Shanghai)."""
    return ZoneInfo(current_app.config.get("SCHOOL_TIMEZONE", "Asia/Shanghai"))


# The instant an event really happened, when a job does its work later (see `acting_at`).
_acting_at = ContextVar("acting_at", default=None)


@contextmanager
def acting_at(instant) -> Iterator[None]:
    """Within the block, "today" is the school-local day of `instant`, not of the wall clock.

    A job awarding a check-in that a parent sent at 23:59:59 counts it (caps, ledger day) on the
    day it was sent, however late the worker gets to it.
    """
    token = _acting_at.set(as_aware(instant))
    try:
        yield
    finally:
        _acting_at.reset(token)


def local_today(now=None) -> date:
    """Today's date in the school's timezone (the day of the event being acted on, inside `acting_at`)."""
    return (now or _acting_at.get() or utcnow()).astimezone(school_tz()).date()


def local_day_of(instant) -> date:
    """The school-local date an instant falls on."""
    return as_aware(instant).astimezone(school_tz()).date()


def day_start(day: date) -> datetime:
    """The first instant of a school-local day, as an aware UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=school_tz()).astimezone(UTC)


def day_end(day: date) -> datetime:
    """The first instant after a school-local day."""
    return day_start(day + timedelta(days=1))


def as_aware(value) -> datetime | None:
    """Treat naive datetimes read back from SQLite as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def isoformat(value) -> str | None:
    """ISO 8601 with offset, in the school's timezone."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_aware(value).astimezone(school_tz()).isoformat()
    return value.isoformat()
