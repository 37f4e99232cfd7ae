"""The mini-program's `@api` (webkit.api with this adapter's authentication), its OpenAPI document
and the idempotency key handed to services."""

import hashlib
import uuid

from flask import g, request

from webkit.api import declaration, dump, load_body, load_query  # noqa: F401  (the views' imports)
from webkit.openapi import ApiDocument

from .auth import authenticate

_declare = declaration(authenticate)


def api(summary, *, auth="user", **kwargs):
    """Declare a view (webkit.api); `auth` is None, 'user', 'teacher', 'token' or 'claims' (see
    auth.authenticate), 'user' unless said otherwise."""
    return _declare(summary, auth=auth, **kwargs)


def _auth_errors(auth):
    if auth == "teacher":
        return {401: ["unauthorized"], 403: ["not_a_teacher"]}
    return {401: ["unauthorized"]}


def _owned_ids(rule, doc):
    """Bodies and queries that name a student, goods or order answer 404 for one the caller cannot reach."""
    fields = set()
    for schema in (doc["body"], doc["query"]):
        if schema is not None:
            fields.update(schema().fields)
    return {404: ["not_found"]} if fields & {"student_id", "goods_id", "student_ids"} else {}


DOCUMENT = ApiDocument(
    "miniprogram_api",
    title="School Points 小程序 API",
    auth_errors=_auth_errors,
    implied_errors=_owned_ids,
    description="校园积分小程序接口（docs/MINIPROGRAM_API.md）。除登录外都需要 `Authorization: Bearer <token>`。"
    '错误统一为 `{"error": {"code", "message", "details"}}`。',
)


def request_key():
    """The idempotency key handed to services: derived from the client's Idempotency-Key, the
    caller and the route, or a fresh one when the client sent none (each request a new event)."""
    header = (request.headers.get("Idempotency-Key") or "").strip()
    if not header:
        return f"mp:{uuid.uuid4().hex}"
    scope = f"{g.get('idempotency_scope', 'anon')}|{request.method}|{request.path}|{header}"
    return "mp:" + hashlib.sha256(scope.encode()).hexdigest()[:40]
