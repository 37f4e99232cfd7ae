"""What every HTTP adapter shares: the error shape, JSON bodies, pagination, idempotent POSTs.

Adapters import this; it knows nothing about marshmallow or any one adapter.
"""
import base64
import hashlib
import json
import re
import sqlite3
import time
from functools import wraps

import psycopg

from flask import current_app, g, jsonify, request
from flask.sessions import SessionInterface
from sqlalchemy import BigInteger, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from .errors import DomainError, IdempotencyKeyReused, Unavailable, ValidationFailed
from .extensions import db
from .jobs.queue import enqueue
from .models import IdempotencyRecord
from .notifications import dispatch_after_commit, forget_pending
from .settings import forget_cached_settings

MAX_INT, MAX_BIGINT = 2**31 - 1, 2**63 - 1

STATUS_BY_KIND = {
    "conflict": 409,
    "not_found": 404,
    "forbidden": 403,
    "validation": 422,
    "unavailable": 503,
    "rate_limited": 429,
    "unauthorized": 401,
    "bad_request": 400,
    "bad_gateway": 502,
}

HTTP_ERRORS = {
    400: ("bad_request", "请求格式不正确"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    429: ("rate_limited", "操作过于频繁，请稍后再试"),
}


class ApiError(DomainError):
    """An adapter-level error with an explicit HTTP status (401 tokens, 400 malformed bodies)."""

    def __init__(self, status, code, message, details=None):
        super().__init__(message, code=code, details=details)
        self.status = status


def error_response(status, code, message, details=None):
    """The one error shape of SPEC §7."""
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def abandon_work():
    """Undo what a refused request or command did: the transaction, the settings it cached in it
    and the notifications it meant to send after the commit."""
    db.session.rollback()
    forget_cached_settings()
    forget_pending()


class NoCookieSession(SessionInterface):
    """Flask's cookie session, switched off: callers sign in with bearer tokens and WeChat
    signatures, and nothing here sets a cookie. Flask's default would build a signing serializer
    for every request to read a cookie nobody sends; `flask.session` is a read-only empty session."""

    def open_session(self, app, request):
        return None  # Flask then uses make_null_session()

    def save_session(self, app, session, response):
        pass


def register_error_handlers(app):
    """Turn every error on the JSON APIs into the documented shape; a 500 is logged as a bug."""

    @app.errorhandler(DomainError)
    def _domain_error(exc):
        abandon_work()
        status = getattr(exc, "status", None) or STATUS_BY_KIND.get(exc.kind, 409)
        response = error_response(status, exc.code, exc.message, exc.details)
        if status == 429 and "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        db.session.rollback()
        code, message = HTTP_ERRORS.get(exc.code, ("http_error", "请求失败"))
        return error_response(exc.code or 500, code, message)

    @app.errorhandler(Exception)
    def _unexpected(exc):
        if database_unreachable(exc):
            return _database_unavailable(exc)
        db.session.rollback()
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务器内部错误，请稍后再试")


# --- The database is unreachable: 503 to retry, never 500 (SPEC §9.1) ---

# How long a client is asked to wait before retrying while the database is down: a restart or a
# failover usually takes seconds; WeChat retries its callbacks on its own schedule anyway.
DATABASE_RETRY_AFTER_SECONDS = 5

# What the drivers and SQLAlchemy raise when the server cannot be reached or the connection broke:
# OperationalError also covers a restart's "terminating connection due to administrator command",
# a statement cancelled by a timeout and SQLite's "unable to open database file" / "database is
# locked" (all: try again shortly); InterfaceError a connection already closed; sqlalchemy's
# TimeoutError a pool with no connection free in time. psycopg errors arrive unwrapped from the
# autocommit fast path (autocommit.own_transaction).
_UNREACHABLE = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
    psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError, sqlite3.InterfaceError,
)


def database_unreachable(exc):
    """Whether `exc`, or an error it was raised from, says the database cannot be used right now."""
    return any(
        isinstance(link, _UNREACHABLE) or (isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated)
        for link in _chain(exc)
    )


def _chain(exc):
    """`exc` and the errors it was raised from (`raise ... from`, as SQLAlchemy wraps the driver's)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__


def database_unavailable_response():
    """503 `service_unavailable` with Retry-After, the answer of every route while the database is down."""
    response = error_response(503, Unavailable.code, Unavailable.message)
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def _database_unavailable(exc):
    _forget_broken_connections()
    if _lost_outside_sqlalchemy(exc):
        # SQLAlchemy, seeing a disconnect on any pooled connection, retires the whole pool (the
        # others were connected to the same dead server). A driver error from a connection used
        # past it (autocommit.own_transaction) only retires that one connection: do the rest here,
        # or the first request after the database is back gets another dead connection and a 503.
        db.engine.dispose()
    # One line, no traceback and no SQL parameters (they may hold a user's data): the cause is the
    # driver's own message, e.g. "server closed the connection unexpectedly".
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).splitlines() or [""])[0][:300]
    current_app.logger.warning(
        "database unavailable on %s %s: %s: %s", request.method, request.path, type(cause).__name__, first_line
    )
    return database_unavailable_response()


# PostgreSQL's SQLSTATEs for a connection that is gone: class 08 and the server shutting down or
# restarting; psycopg gives client-side failures (a closed socket) no SQLSTATE at all.
_CONNECTION_LOST_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def _lost_outside_sqlalchemy(exc):
    """Whether `exc` is a psycopg connection failure that SQLAlchemy never saw (so never handled)."""
    for link in _chain(exc):
        if isinstance(link, sa_exc.DBAPIError):
            return False
        if isinstance(link, psycopg.Error):
            return link.sqlstate is None or link.sqlstate.startswith(_CONNECTION_LOST_SQLSTATES)
    return False


def _forget_broken_connections():
    """End the request's transaction without letting a dead connection raise a second error."""
    try:
        abandon_work()
    except Exception:  # noqa: BLE001 - the connection is already gone; the session must still reset
        db.session.close()


def json_body():
    """The request's JSON object; 400 for a body that is not a JSON object."""
    limit = current_app.config["JSON_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", "请求内容过大")
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise ApiError(413, "payload_too_large", "请求内容过大")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise ApiError(400, "malformed_json", "请求体不是合法的 JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "请求体必须是 JSON 对象")
    texts = list(_strings(data))
    if any(_SURROGATE.search(text) for _, text in texts):
        # JSON's syntax allows a lone "\\ud800" (and json.loads lets UTF-8-encoded surrogates
        # through), but no text holds one: it cannot be encoded for the database, WeChat or the
        # response, so it is refused here as the malformed body it is, not met later as a 500.
        raise ApiError(400, "malformed_json", "请求体不是合法的 JSON")
    if bad := [path for path, text in texts if "\x00" in text]:
        # PostgreSQL cannot store NUL in text; no field of ours means it, so refuse it for every adapter.
        raise ValidationFailed("文本中不能包含空字符", details={path: ["不能包含空字符"] for path in bad[:20]})
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")


def _strings(document):
    """(dotted path, text) of every string, key or value, in a parsed JSON document.

    A loop, not recursion: json.loads takes nesting deeper than a recursive walk could follow
    from inside a request.
    """
    pending = [("", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            yield path or "body", value
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                yield child, key
                pending.append((child, item))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item) for index, item in enumerate(value))


def page_args(default_limit=20, max_limit=100):
    """`limit` and decoded `cursor` from the query string (SPEC §7 lists)."""
    raw_limit = request.args.get("limit", str(default_limit))
    try:
        limit = int(raw_limit)
    except ValueError:
        raise ValidationFailed(details={"limit": ["必须是整数"]}) from None
    if not 1 <= limit <= max_limit:
        raise ValidationFailed(details={"limit": [f"必须在 1 到 {max_limit} 之间"]})
    return limit, decode_cursor(request.args.get("cursor"))


def encode_cursor(value):
    """An opaque cursor for a keyset position."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The keyset position inside a cursor; 422 for one we did not make."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed(details={"cursor": ["无效的分页游标"]}) from None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_BIGINT:
        raise ValidationFailed(details={"cursor": ["无效的分页游标"]})
    return value


def keyset_page(query, id_column, limit, cursor):
    """Newest-first page of `query` on an indexed id column: (rows, next_cursor)."""
    # A cursor past a 32-bit id column's range precedes every row; comparing would be a database error.
    if cursor is not None and (cursor <= MAX_INT or isinstance(id_column.type, BigInteger)):
        query = query.where(id_column < cursor)
    rows = db.session.scalars(query.order_by(id_column.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def page(items, next_cursor):
    """The list shape of SPEC §7."""
    return {"items": items, "next_cursor": next_cursor}


# --- Idempotency-Key (SPEC §7): the first result of a creating POST is replayed on repeats ---

def idempotent(view):
    """Decorate a creating POST view; the view must finish with `respond(...)`.

    The key's record is inserted first in the request's transaction, so a concurrent repeat waits
    on the unique index until the first commits, then replays its stored response.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not key or len(key) > 200:
            raise ValidationFailed("Idempotency-Key 长度必须在 1 到 200 之间", details={"Idempotency-Key": key[:50]})
        scope = f"{g.get('idempotency_scope', 'anon')}:{request.method}:{request.path}"[:64]
        digest = hashlib.sha256(request.get_data(cache=True)).hexdigest()
        replay = _claim(scope, key, digest)
        if replay is not None:
            return replay
        return view(*args, **kwargs)

    return wrapper


def _claim(scope, key, digest):
    """Insert the key's record, or return the replay of the first request's response."""
    for _ in range(50):
        existing = db.session.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
        ).first()
        if existing is None:
            record = IdempotencyRecord(scope=scope, key=key, request_hash=digest)
            try:
                with db.session.begin_nested():
                    db.session.add(record)
            except IntegrityError:
                db.session.rollback()
                continue
            g.idempotency_record = record
            return None
        if existing.request_hash != digest:
            raise IdempotencyKeyReused(details={"Idempotency-Key": key})
        if existing.status_code is not None:
            response = jsonify(existing.response)
            response.status_code = existing.status_code
            response.headers["Idempotent-Replayed"] = "true"
            return response
        db.session.rollback()
        time.sleep(0.1)
    raise ApiError(409, "request_in_progress", "相同的请求正在处理中，请稍后重试")


def respond(body, status=200, *, jobs=()):
    """Commit the request's transaction (with its idempotency record), then enqueue jobs."""
    record = g.pop("idempotency_record", None)
    if record is not None:
        record.status_code = status
        record.response = body
    db.session.commit()
    dispatch_after_commit()
    for job in jobs:
        enqueue(job[0], *job[1:])
    response = jsonify(body)
    response.status_code = status
    return response
