"""Configuration read from the environment (README.md)."""

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class ConfigError(RuntimeError):
    """The environment does not describe a runnable deployment."""


# The method of every admin password hash made in production (werkzeug's own default).
STRONG_PASSWORD_HASH = "scrypt"


def normalize_database_url(url) -> str:
    """Accept postgres:// and postgresql:// URLs and use the psycopg 3 driver for both."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def as_flag(value) -> bool:
    """A yes/no setting: "1", "true", "yes", "on" (any case) or True mean yes; anything else no."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _seconds(env, name, default):
    """A whole number of seconds >= 0 from the environment; ConfigError names the variable."""
    raw = env.get(name, "")
    try:
        value = int(raw) if str(raw).strip() else default
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of seconds, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, got {value}")
    return value


def parse_rate(name, value) -> tuple[int, int]:
    """A rate limit written "LIMIT/SECONDS" (e.g. "120/60") as (limit, window_seconds)."""
    limit, _, window = str(value).partition("/")
    try:
        parsed = int(limit), int(window)
    except ValueError:
        raise ConfigError(f'{name} must look like "120/60" (attempts/seconds), not {value!r}') from None
    if parsed[0] < 1 or parsed[1] < 1:
        raise ConfigError(f"{name}: both numbers must be at least 1, not {value!r}")
    return parsed


def _minutes(env, name, default):
    """A whole number of minutes >= 1 from the environment; ConfigError names the variable."""
    raw = str(env.get(name, "")).strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of minutes, got {raw!r}") from None
    if value < 1:
        raise ConfigError(f"{name} must be at least 1, got {value}")
    return value


def _proxy_count(value):
    try:
        count = int(value)
    except ValueError:
        count = -1
    if not 0 <= count <= 10:
        raise ConfigError(f"TRUSTED_PROXY_COUNT must be a whole number from 0 to 10, not {value!r}")
    return count


def _log_format(value):
    value = str(value).strip().lower()
    if value not in ("json", "text"):
        raise ConfigError(f'LOG_FORMAT must be "json" or "text", not {value!r}')
    return value


def load_config(instance_path, overrides=None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment plus explicit overrides."""
    env = dict(os.environ)
    env.update({k: v for k, v in (overrides or {}).items() if isinstance(v, str)})
    app_env = env.get("APP_ENV", "development")
    secret = env.get("SECRET_KEY")
    if app_env == "production" and not secret:
        raise ConfigError(
            "SECRET_KEY must be set when APP_ENV=production "
            "(it signs every login token; generate one with: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    public_base_url = _public_base_url(env.get("PUBLIC_BASE_URL", ""), app_env)
    default_db = "sqlite:///" + str(Path(instance_path) / "school_points.sqlite3")
    config = {
        "APP_ENV": app_env,
        "SECRET_KEY": secret or "dev-only-insecure-key",
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(env.get("DATABASE_URL") or default_db),
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SCHOOL_TIMEZONE": env.get("SCHOOL_TIMEZONE", "Asia/Shanghai"),
        "WECHAT_API_BASE_URL": env.get("WECHAT_API_BASE_URL", "https://api.weixin.qq.com").rstrip("/"),
        "WECHAT_OA_APP_ID": env.get("WECHAT_OA_APP_ID", ""),
        "WECHAT_OA_APP_SECRET": env.get("WECHAT_OA_APP_SECRET", ""),
        "WECHAT_OA_TOKEN": env.get("WECHAT_OA_TOKEN", ""),
        "WECHAT_OA_AES_KEY": env.get("WECHAT_OA_AES_KEY", ""),
        # Plaintext mode signs only timestamp + nonce, not the body: a callback whose timestamp is
        # further than this from now is refused (0: no check), so a signature once seen goes stale.
        "WECHAT_MAX_MESSAGE_AGE": _seconds(env, "WECHAT_MAX_MESSAGE_AGE", 300),
        # With WECHAT_OA_AES_KEY set, plaintext (unsigned-body) messages are refused unless this is on.
        "WECHAT_OA_ALLOW_PLAINTEXT": as_flag(env.get("WECHAT_OA_ALLOW_PLAINTEXT")),
        "WECHAT_MP_APP_ID": env.get("WECHAT_MP_APP_ID", ""),
        "WECHAT_MP_APP_SECRET": env.get("WECHAT_MP_APP_SECRET", ""),
        "UPLOAD_DIR": env.get("UPLOAD_DIR") or str(Path(instance_path) / "uploads"),
        # Absolute URLs we hand out (uploaded images) start with this; required in production so
        # a request's Host header never decides them (see _public_base_url).
        "PUBLIC_BASE_URL": public_base_url,
        # Per user per school day; past either → 429 upload_quota_exceeded (docs/DOMAIN_RULES.md).
        "UPLOAD_DAILY_FILES": int(env.get("UPLOAD_DAILY_FILES", 50)),
        "UPLOAD_DAILY_BYTES": int(env.get("UPLOAD_DAILY_BYTES", 100 * 1024 * 1024)),
        "TOKEN_TTL_SECONDS": int(env.get("TOKEN_TTL_SECONDS", 7 * 24 * 3600)),
        "ADMIN_TOKEN_TTL_SECONDS": int(env.get("ADMIN_TOKEN_TTL_SECONDS", 12 * 3600)),
        # How many proxies in front (nginx, a load balancer) append to X-Forwarded-For/-Proto/-Host.
        # 0 ignores those headers: anyone can send them, so trusting one proxy too many lets a
        # client choose its own address (and its own rate-limit bucket).
        "TRUSTED_PROXY_COUNT": _proxy_count(env.get("TRUSTED_PROXY_COUNT", "0")),
        # Mini-program logins per client address: a parents' meeting behind one school NAT.
        "MP_LOGIN_RATE_LIMIT": parse_rate("MP_LOGIN_RATE_LIMIT", env.get("MP_LOGIN_RATE_LIMIT", "120/60")),
        # Bodies above this are refused with 413 before any parsing (uploads are 5 MB + multipart).
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 6 * 1024 * 1024)),
        "JSON_MAX_BYTES": int(env.get("JSON_MAX_BYTES", 256 * 1024)),
        # The background worker lowers its own CPU priority by this much (`nice`), so on a machine it
        # shares with the web server a burst of jobs never slows the answers to users (0: don't).
        "WORKER_NICE": int(env.get("WORKER_NICE", 10)),
        # Strict-Transport-Security max-age on HTTPS responses (0: no HSTS header). Browsers then
        # refuse plain HTTP to this host for that long: start low while trying HTTPS out.
        "HSTS_MAX_AGE_SECONDS": int(env.get("HSTS_MAX_AGE_SECONDS", 365 * 24 * 3600)),
        # The worker and the scheduler reconnect to a Redis that went away with exponential backoff,
        # waiting at most this long between attempts (they ride out the outage).
        "REDIS_RETRY_MAX_SECONDS": float(env.get("REDIS_RETRY_MAX_SECONDS", 30)),
        # werkzeug's method for new admin password hashes. Not read from the environment: only a
        # test app passes a cheap one (its fixtures make and log in hundreds of admins), and an app
        # with APP_ENV=production refuses anything but this default (below).
        "PASSWORD_HASH_METHOD": STRONG_PASSWORD_HASH,
        # No pool_pre_ping: db_setup pings only connections that sat idle (one round trip fewer per request).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "JSON_AS_ASCII": False,
        # `flask backup create` without a path and the nightly backup write here (docs/BACKUPS.md);
        # the nightly job keeps the newest BACKUP_KEEP backups it made there and deletes older ones.
        "BACKUP_DIR": env.get("BACKUP_DIR") or str(Path(instance_path) / "backups"),
        "BACKUP_KEEP": _backup_keep(env.get("BACKUP_KEEP", "14")),
        # The staff console (docs/CONSOLE.md): a signed-in admin who does nothing for this long is
        # signed out (the session also ends with the admin token inside it, ADMIN_TOKEN_TTL_SECONDS).
        "CONSOLE_IDLE_MINUTES": _minutes(env, "CONSOLE_IDLE_MINUTES", 30),
        # The school's name at the top of every console page.
        "SCHOOL_NAME": env.get("SCHOOL_NAME", "").strip() or "校园积分",
        # Its session cookie, the only cookie this application sets: on /console/ paths only,
        # out of reach of scripts, not sent on other sites' cross-site requests, and Secure
        # whenever the request came over HTTPS (webkit/sessions.py).
        "SESSION_COOKIE_NAME": "sp_console",
        "SESSION_COOKIE_PATH": "/console/",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Flask-WTF's CSRF check runs only where the console asks for it (its own before_request):
        # the JSON APIs (bearer tokens) and /wechat (signatures) send no cookie to forge. Its token
        # lives as long as the console session it belongs to.
        "WTF_CSRF_CHECK_DEFAULT": False,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": True,
        # --- Observability (docs/OBSERVABILITY.md) ---
        # Log lines as JSON objects ("json") or plain text ("text", for reading a terminal).
        "LOG_FORMAT": _log_format(env.get("LOG_FORMAT", "json")),
        # One JSON line per request (off: only for measuring what it costs).
        "REQUEST_LOG": as_flag(env.get("REQUEST_LOG", "1")),
        # Request metrics and GET /metrics (off: no counting, /metrics answers 404).
        "METRICS_ENABLED": as_flag(env.get("METRICS_ENABLED", "1")),
        # Scrapers send `Authorization: Bearer <token>`; unset, /metrics answers only loopback.
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        # Errors of the web, the worker and the scheduler go to Sentry when set.
        "SENTRY_DSN": env.get("SENTRY_DSN", "").strip(),
        "SENTRY_ENVIRONMENT": env.get("SENTRY_ENVIRONMENT", "") or app_env,
    }
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        config["SQLALCHEMY_ENGINE_OPTIONS"].update(
            pool_size=int(env.get("DB_POOL_SIZE", 10)), max_overflow=int(env.get("DB_MAX_OVERFLOW", 20))
        )
    config.update(overrides or {})
    if app_env == "production" and config["PASSWORD_HASH_METHOD"] != STRONG_PASSWORD_HASH:
        raise ConfigError(f"PASSWORD_HASH_METHOD must be {STRONG_PASSWORD_HASH!r} when APP_ENV=production")
    return config


def _public_base_url(value, app_env):
    """PUBLIC_BASE_URL without its trailing slash; refuses a malformed one, and none in production.

    Without it the app would build absolute URLs from the request's Host header, which any client
    sets as it likes (and a stored URL outlives the request that made it).
    """
    value = value.strip().rstrip("/")
    if not value:
        if app_env == "production":
            raise ConfigError(
                "PUBLIC_BASE_URL must be set when APP_ENV=production: the https address parents reach "
                "this service at, e.g. PUBLIC_BASE_URL=https://points.example-school.cn (uploaded images' "
                "URLs start with it; without it they would come from the request's Host header)"
            )
        return ""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
        or "\\" in value
        or any(ch.isspace() for ch in value)
    ):
        raise ConfigError(
            f"PUBLIC_BASE_URL must be an absolute http(s) URL without query, fragment or credentials, "
            f"e.g. https://points.example-school.cn (got {value!r})"
        )
    return value


def _backup_keep(value):
    try:
        keep = int(str(value).strip())
    except ValueError:
        keep = 0
    if keep < 1:
        raise ConfigError(f"BACKUP_KEEP must be a whole number of backups, at least 1, not {value!r}")
    return keep
