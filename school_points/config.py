"""Configuration read from the environment (SPEC §7.3)."""
import os
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a runnable deployment."""


def normalize_database_url(url):
    """Accept postgres:// and postgresql:// URLs and use the psycopg 3 driver for both."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def load_config(instance_path, overrides=None):
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
        "WECHAT_MP_APP_ID": env.get("WECHAT_MP_APP_ID", ""),
        "WECHAT_MP_APP_SECRET": env.get("WECHAT_MP_APP_SECRET", ""),
        "UPLOAD_DIR": env.get("UPLOAD_DIR") or str(Path(instance_path) / "uploads"),
        "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", "").rstrip("/"),
        "TOKEN_TTL_SECONDS": int(env.get("TOKEN_TTL_SECONDS", 7 * 24 * 3600)),
        "ADMIN_TOKEN_TTL_SECONDS": int(env.get("ADMIN_TOKEN_TTL_SECONDS", 12 * 3600)),
        # Bodies above this are refused with 413 before any parsing (uploads are 5 MB + multipart).
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 6 * 1024 * 1024)),
        "JSON_MAX_BYTES": int(env.get("JSON_MAX_BYTES", 256 * 1024)),
        # The background worker lowers its own CPU priority by this much (`nice`), so on a machine it
        # shares with the web server a burst of jobs never slows the answers to users (0: don't).
        "WORKER_NICE": int(env.get("WORKER_NICE", 10)),
        # The worker and the scheduler reconnect to a Redis that went away with exponential backoff,
        # waiting at most this long between attempts (SPEC §9.1: they ride out the outage).
        "REDIS_RETRY_MAX_SECONDS": float(env.get("REDIS_RETRY_MAX_SECONDS", 30)),
        # No pool_pre_ping: db_setup pings only connections that sat idle (one round trip fewer per request).
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "JSON_AS_ASCII": False,
    }
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        config["SQLALCHEMY_ENGINE_OPTIONS"].update(
            pool_size=int(env.get("DB_POOL_SIZE", 10)), max_overflow=int(env.get("DB_MAX_OVERFLOW", 20))
        )
    config.update(overrides or {})
    return config
