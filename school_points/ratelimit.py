"""Fixed-window rate limits: in Redis when configured (shared by all processes), else in memory."""
import threading
import time

import redis
from flask import current_app

from .errors import RateLimited
from .redis_conn import get_redis

_memory = {}
_memory_lock = threading.Lock()


def hit(name, subject, *, limit, window_seconds):
    """Count one attempt; raise RateLimited when `limit` attempts fall in the current window."""
    window = int(time.time() // window_seconds)
    key = f"rl:{name}:{subject}:{window}"
    count = _hit_redis(key, window_seconds)
    if count is None:
        count = _hit_memory(key, window_seconds)
    if count > limit:
        retry_after = window_seconds - int(time.time() % window_seconds)
        raise RateLimited(details={"retry_after": retry_after})


def reset(name, subject, *, window_seconds):
    """Forget attempts in the current window (after a success that should clear failures)."""
    window = int(time.time() // window_seconds)
    key = f"rl:{name}:{subject}:{window}"
    client = get_redis()
    if client is not None:
        try:
            client.delete(key)
        except redis.RedisError:
            pass
    with _memory_lock:
        _memory.pop(key, None)


def _hit_redis(key, ttl):
    client = get_redis()
    if client is None:
        return None
    try:
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.expire(key, ttl + 1)
        return int(pipe.execute()[0])
    except redis.RedisError:
        current_app.logger.warning("rate limit: Redis unavailable, counting in memory")
        return None


def _hit_memory(key, ttl):
    now = time.time()
    with _memory_lock:
        if len(_memory) > 10000:
            for stale in [k for k, (_, exp) in _memory.items() if exp < now]:
                del _memory[stale]
        count, expires = _memory.get(key, (0, now + ttl))
        count += 1
        _memory[key] = (count, expires)
    return count
