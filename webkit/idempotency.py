"""Idempotency-Key: the first result of a creating POST is replayed on repeats."""

import hashlib
import time
from functools import wraps

from flask import g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from school_points.platform.errors import IdempotencyKeyReused, ValidationFailed
from school_points.platform.extensions import db
from school_points.platform.idempotency import IdempotencyRecord
from webkit.errors import ApiError


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
        digest = _request_digest()
        replay = _claim(scope, key, digest)
        if replay is not None:
            return replay
        return view(*args, **kwargs)

    return wrapper


def _request_digest():
    """What makes a repeat "the same request": its body, and its query string when it has one
    (a dry run and the real run of an import differ only there). A multipart form is hashed by its
    fields and files' contents, not its bytes: a client's retry draws a new boundary."""
    if request.mimetype == "multipart/form-data":
        hasher = hashlib.sha256(b"multipart\n")
        for name, value in sorted(request.form.items(multi=True)):
            hasher.update(hashlib.sha256(f"{name}={value}".encode()).digest())
        for name, storage in sorted(request.files.items(multi=True), key=lambda item: item[0]):
            hasher.update(hashlib.sha256(name.encode()).digest())
            hasher.update(hashlib.sha256(storage.stream.read()).digest())
            storage.stream.seek(0)
    else:
        hasher = hashlib.sha256(request.get_data(cache=True))
    if request.query_string:
        hasher.update(b"\n?" + request.query_string)
    return hasher.hexdigest()


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
