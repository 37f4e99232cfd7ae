"""WeChat access tokens shared by every process (docs/WECHAT.md).

The token lives in Redis; a process that finds none takes a short Redis lock and fetches it
while the others wait for the cache, so several workers never fetch at once (each fetch through
the classic API invalidates the previous token, which is how a storm of 40001 starts). After a
token error, the bad token is replaced only if it is still the cached one: a second worker that
saw the same error finds the fresh token instead of refreshing again. Without Redis (or while it
is down) each process keeps its own cache under a thread lock.
"""

import logging
import secrets
import threading
import time

import redis

log = logging.getLogger(__name__)

LOCK_TTL_MS = 10_000
WAIT_STEP_SECONDS = 0.05
# Refresh a little before WeChat's expiry so a token never dies in the middle of a call.
EXPIRY_MARGIN_SECONDS = 300

_RELEASE_LOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class TokenFetchTimeout(RuntimeError):
    """Another process held the refresh lock and no token appeared in time."""


class TokenStore:
    """The access token of one app id; `fetch(force)` asks WeChat for (token, expires_in)."""

    def __init__(self, appid, fetch, redis_client=None) -> None:
        self.appid = appid
        self.fetch = fetch
        self.redis = redis_client
        self.key = f"wechat:token:{appid}"
        self.lock_key = f"wechat:token-lock:{appid}"
        self._local = None  # (token, expires_at)
        self._local_lock = threading.Lock()

    def get(self) -> str:
        """A valid access token, fetching one if nobody has."""
        if self.redis is not None:
            try:
                return self._get_shared(bad_token=None)
            except redis.RedisError as exc:
                log.warning("token cache: Redis unavailable, using a process-local token: %s", exc)
        return self._get_local(bad_token=None)

    def replace(self, bad_token) -> str:
        """The token to use after WeChat refused `bad_token`; refreshes only if it is still cached."""
        if self.redis is not None:
            try:
                return self._get_shared(bad_token=bad_token)
            except redis.RedisError as exc:
                log.warning("token cache: Redis unavailable, using a process-local token: %s", exc)
        return self._get_local(bad_token=bad_token)

    def _cached(self):
        value = self.redis.get(self.key)
        return value.decode() if value is not None else None

    def _get_shared(self, bad_token):
        deadline = time.monotonic() + LOCK_TTL_MS / 1000
        while True:
            token = self._cached()
            if token and token != bad_token:
                return token
            nonce = secrets.token_hex(8)
            if self.redis.set(self.lock_key, nonce, nx=True, px=LOCK_TTL_MS):
                try:
                    return self._refresh_shared(bad_token)
                finally:
                    self.redis.eval(_RELEASE_LOCK, 1, self.lock_key, nonce)
            if time.monotonic() > deadline:
                raise TokenFetchTimeout(f"no access token for {self.appid} after waiting for the refresh lock")
            time.sleep(WAIT_STEP_SECONDS)

    def _refresh_shared(self, bad_token):
        # Re-read under the lock: the previous holder may have just stored a fresh token.
        token = self._cached()
        if token and token != bad_token:
            return token
        token, expires_in = self.fetch(force=bad_token is not None)
        self.redis.set(self.key, token, ex=_cache_seconds(expires_in))
        return token

    def _get_local(self, bad_token):
        with self._local_lock:
            if self._local is not None:
                token, expires_at = self._local
                if token != bad_token and expires_at > time.monotonic():
                    return token
            token, expires_in = self.fetch(force=bad_token is not None)
            self._local = (token, time.monotonic() + _cache_seconds(expires_in))
            return token


def _cache_seconds(expires_in):
    try:
        seconds = int(expires_in)
    except (TypeError, ValueError):
        seconds = 7200
    return max(60, seconds - EXPIRY_MARGIN_SECONDS)
