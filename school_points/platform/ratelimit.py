"""Rate limits: at most `limit` attempts in `window_seconds` counted from a subject's first attempt.

In Redis when configured (shared by every process), else in this process's memory; a Redis
failure falls back to memory rather than failing the request. The window starts at the first
attempt (INCR, then EXPIRE NX) instead of at clock-aligned boundaries, so a burst of attempts can
never be split in two by a boundary and get twice the allowance.
"""

import contextlib
import threading

import redis
from flask import current_app

from school_points.platform import clock
from school_points.platform.errors import RateLimited
from school_points.platform.redis_conn import get_redis

_memory = {}
_memory_lock = threading.Lock()


def hit(name, subject, *, limit, window_seconds) -> None:
    """Count one attempt; raise RateLimited when it is past `limit` attempts in the window."""
    key = f"rl:{name}:{subject}"
    counted = _hit_redis(key, window_seconds)
    if counted is None:
        counted = _hit_memory(key, window_seconds)
    count, retry_after = counted
    if count > limit:
        raise RateLimited(details={"retry_after": max(1, retry_after)})


def reset(name, subject) -> None:
    """Forget a subject's attempts (after a success that should clear earlier failures)."""
    key = f"rl:{name}:{subject}"
    client = get_redis()
    if client is not None:
        with contextlib.suppress(redis.RedisError):
            client.delete(key)
    with _memory_lock:
        _memory.pop(key, None)


# Decrement only a counter that exists: DECR on a missing key would create one without expiry.
_FORGIVE = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0"


def forgive(name, subject) -> None:
    """Take back one attempt counted by `hit` (an attempt that turned out not to count, such as a
    login with the right password), leaving the window's end where it was."""
    key = f"rl:{name}:{subject}"
    client = get_redis()
    if client is not None:
        with contextlib.suppress(redis.RedisError):
            client.eval(_FORGIVE, 1, key)
    with _memory_lock:
        if key in _memory:
            count, ends = _memory[key]
            _memory[key] = (max(0, count - 1), ends)


def _hit_redis(key, window_seconds):
    client = get_redis()
    if client is None:
        return None
    try:
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, window_seconds, nx=True)
        pipe.ttl(key)
        count, _, ttl = pipe.execute()
        return int(count), int(ttl) if ttl and ttl > 0 else window_seconds
    except redis.RedisError:
        current_app.logger.warning("rate limit: Redis unavailable, counting in memory")
        return None


def _hit_memory(key, window_seconds):
    now = clock.monotonic()
    with _memory_lock:
        if len(_memory) > 10000:
            for stale in [k for k, (_, ends) in _memory.items() if ends <= now]:
                del _memory[stale]
        count, ends = _memory.get(key, (0, now + window_seconds))
        if ends <= now:
            count, ends = 0, now + window_seconds
        count += 1
        _memory[key] = (count, ends)
    return count, int(ends - now + 0.999)
