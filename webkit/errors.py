"""The one error shape (docs/MINIPROGRAM_API.md) for every HTTP adapter: domain errors, HTTP errors and a database
that cannot be reached (503 with Retry-After, never 500), each turned into
`{"error": {"code", "message", "details"}}`; anything else is logged as a bug and answers 500."""

import sqlite3

import psycopg
from flask import current_app, jsonify, request
from marshmallow import ValidationError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from school_points.platform.errors import DomainError, Unavailable, ValidationFailed
from school_points.platform.extensions import db

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
    """The one error shape of both JSON APIs."""
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def register_error_handlers(app):
    """Turn every error on the JSON APIs into the documented shape; a 500 is logged as a bug."""

    @app.errorhandler(DomainError)
    def _domain_error(exc):
        db.session.rollback()
        status = getattr(exc, "status", None) or STATUS_BY_KIND.get(exc.kind, 409)
        response = error_response(status, exc.code, exc.message, exc.details)
        if status == 429 and "retry_after" in exc.details:
            response.headers["Retry-After"] = str(exc.details["retry_after"])
        return response

    @app.errorhandler(ValidationError)
    def _invalid(exc):
        # A schema loaded outside webkit.api.load (which raises ValidationFailed itself): the same 422.
        messages = exc.normalized_messages()
        details = messages if isinstance(messages, dict) else {"_schema": messages}
        return _domain_error(ValidationFailed(details=details))

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


# --- The database is unreachable: 503 to retry, never 500 ---

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
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
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
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already gone; the session must still reset
        db.session.close()
