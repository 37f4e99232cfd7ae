"""Rate limits count from a subject's first attempt, in Redis when configured, else in memory."""

import pytest

from school_points.platform import ratelimit
from school_points.platform.errors import RateLimited
from school_points.platform.redis_conn import get_redis
from tests.conftest import requires_redis


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


def test_the_window_ends_a_window_length_after_the_first_attempt(app, virtual_clock, monkeypatch):
    """In memory (no Redis), on the virtual clock: refused until exactly the window's end."""
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    ratelimit.hit("test", "u1", limit=1, window_seconds=60)
    virtual_clock.advance(59)
    with pytest.raises(RateLimited) as refused:  # a refused attempt does not push the window's end
        ratelimit.hit("test", "u1", limit=1, window_seconds=60)
    assert refused.value.details["retry_after"] == 1
    virtual_clock.advance(1)
    ratelimit.hit("test", "u1", limit=1, window_seconds=60)
    with pytest.raises(RateLimited):  # a new window, counted from this attempt
        ratelimit.hit("test", "u1", limit=1, window_seconds=60)


@requires_redis
def test_in_redis_the_window_is_the_first_attempts_expiry(app):
    """The window is the key's expiry, set by the first attempt only; its end (Redis expiring the
    key, done here by hand) gives the allowance back."""
    client, key = get_redis(), "rl:test:u1"
    ratelimit.hit("test", "u1", limit=1, window_seconds=60)
    assert 0 < client.ttl(key) <= 60
    client.pexpire(key, 5000)  # as if 55 s had passed
    with pytest.raises(RateLimited) as refused:
        ratelimit.hit("test", "u1", limit=1, window_seconds=60)
    assert refused.value.details["retry_after"] <= 5 and 0 < client.pttl(key) <= 5000  # not pushed back
    client.delete(key)  # the window ended
    ratelimit.hit("test", "u1", limit=1, window_seconds=60)
    with pytest.raises(RateLimited):
        ratelimit.hit("test", "u1", limit=1, window_seconds=60)
