"""The Redis connection, when REDIS_URL is configured; everything works without it."""

import redis
from flask import current_app


def get_redis() -> redis.Redis | None:
    """The app's Redis client, or None when REDIS_URL is unset."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("redis")
    if client is None:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30)
        current_app.extensions["redis"] = client
    return client


def redis_ok() -> bool:
    """True when Redis is configured and answers a PING."""
    client = get_redis()
    if client is None:
        return False
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
