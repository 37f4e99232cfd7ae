"""The one decorator every mini-program view wears: authentication, idempotency and its API doc.

Keeping behaviour and documentation in one declaration is what lets the OpenAPI document list
exactly the statuses a route can answer.
"""
import hashlib
import uuid
from functools import cache, wraps

from flask import g, request
from marshmallow import ValidationError

from school_points.platform.errors import ValidationFailed
from webkit import bodies, idempotency

from .auth import authenticate


def api(summary, *, auth="user", body=None, query=None, out=None, status=200, errors=None,
        idempotent=False, tags=(), description="", content_type="application/json"):
    """Declare a view: who may call it (None, 'user', 'teacher', or 'token': see auth.authenticate),
    what it takes and answers.

    `errors` maps extra statuses to their error codes, e.g. {409: ["out_of_stock"]}; statuses
    that follow from the declaration (401, 400/413/422 for bodies, 404 for ids, ...) are added.
    """

    def decorate(view):
        inner = idempotency.idempotent(view) if idempotent else view

        @wraps(view)
        def wrapper(*args, **kwargs):
            if auth:
                authenticate(auth)
            return inner(*args, **kwargs)

        wrapper.api_doc = {
            "summary": summary, "auth": auth, "body": body, "query": query, "out": out, "status": status,
            "errors": dict(errors or {}), "idempotent": idempotent, "tags": list(tags),
            "description": description, "content_type": content_type,
        }
        return wrapper

    return decorate


def load_body(schema_class):
    """The request's JSON body validated by `schema_class`: 400 malformed, 422 invalid fields."""
    return _load(schema_class, bodies.json_body())


def load_query(schema_class):
    """The query string validated by `schema_class` (422 names the bad parameters)."""
    raw = {}
    for key in request.args:
        values = request.args.getlist(key)
        raw[key] = values[0] if len(values) == 1 else values
    return _load(schema_class, raw)


def _load(schema_class, data):
    try:
        return _schema(schema_class).load(data)
    except ValidationError as exc:
        raise ValidationFailed(details=exc.normalized_messages()) from None


def dump(schema_class, obj, many=False):
    """Serialise with an output schema."""
    return _schema(schema_class, many).dump(obj)


@cache
def _schema(schema_class, many=False):
    """One instance per schema class: building one costs more than using it, and load/dump keep no
    state on the instance (marshmallow's maintainers: an instance may be used many times)."""
    return schema_class(many=many)


def request_key():
    """The idempotency key handed to services: derived from the client's Idempotency-Key, the
    caller and the route, or a fresh one when the client sent none (each request a new event)."""
    header = (request.headers.get("Idempotency-Key") or "").strip()
    if not header:
        return f"mp:{uuid.uuid4().hex}"
    scope = f"{g.get('idempotency_scope', 'anon')}|{request.method}|{request.path}|{header}"
    return "mp:" + hashlib.sha256(scope.encode()).hexdigest()[:40]
