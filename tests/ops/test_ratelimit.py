"""Rate limits count from a subject's first attempt, in Redis when configured, else in memory."""
import time

import pytest

from school_points.platform import ratelimit
from school_points.platform.errors import RateLimited


def test_attempts_past_the_limit_are_refused_with_a_retry_after(app):
    for _ in range(3):
        ratelimit.hit("test", "u1", limit=3, window_seconds=60)
    with pytest.raises(RateLimited) as refused:
        ratelimit.hit("test", "u1", limit=3, window_seconds=60)
    assert 1 <= refused.value.details["retry_after"] <= 60
    ratelimit.hit("test", "u2", limit=3, window_seconds=60)  # another subject has its own allowance


def test_reset_gives_the_allowance_back(app):
    for _ in range(3):
        ratelimit.hit("test", "u1", limit=3, window_seconds=60)
    ratelimit.reset("test", "u1")
    ratelimit.hit("test", "u1", limit=3, window_seconds=60)


def test_the_window_ends_a_window_length_after_the_first_attempt(app):
    ratelimit.hit("test", "u1", limit=1, window_seconds=1)
    with pytest.raises(RateLimited):
        ratelimit.hit("test", "u1", limit=1, window_seconds=1)
    time.sleep(1.2)
    ratelimit.hit("test", "u1", limit=1, window_seconds=1)
