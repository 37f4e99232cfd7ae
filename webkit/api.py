"""The one declaration every JSON view wears, and loading what it takes.

`@api(...)` keeps behaviour and documentation in one place: who may call the route, what it takes
(body, query), what it answers, which error statuses beyond those that follow from the
declaration, and whether a creating POST honours Idempotency-Key. The OpenAPI document
(webkit.openapi) is built from these declarations, so it lists exactly what a route can answer.

Authentication stays the adapter's: `declaration(authenticate)` gives an adapter its own `api`,
calling `authenticate(auth)` before the view when `auth` is set (the mini-program); an adapter
that guards every route in a `before_request` (the admin API) passes None and reads the
declaration there.
"""

from functools import cache, wraps

from flask import request
from marshmallow import ValidationError

from school_points.platform.errors import ValidationFailed
from webkit import bodies, idempotency


def declaration(authenticate=None):
    """An `api` decorator for one adapter; `authenticate(auth)` runs before the view when given."""

    def api(
        summary,
        *,
        auth=None,
        body=None,
        query=None,
        out=None,
        status=200,
        errors=None,
        idempotent=False,
        tags=(),
        description="",
        content_type="application/json",
        files=(),
    ):
        """Declare a view: `auth` (the adapter's word for who may call it; None: anyone), `body` and
        `query` (input schema classes), `out` (output schema class), `status` (on success), `errors`
        ({409: ["out_of_stock"], ...}: statuses the declaration does not imply), `files` (media
        types of a file the route may answer with instead of, or besides, JSON)."""

        def decorate(view):
            inner = idempotency.idempotent(view) if idempotent else view
            if auth and authenticate is not None:

                @wraps(view)
                def wrapper(*args, **kwargs):
                    authenticate(auth)
                    return inner(*args, **kwargs)
            else:
                wrapper = inner

            wrapper.api_doc = {
                "summary": summary,
                "auth": auth,
                "body": body,
                "query": query,
                "out": out,
                "status": status,
                "errors": {status_: list(codes) for status_, codes in (errors or {}).items()},
                "idempotent": idempotent,
                "tags": list(tags),
                "description": description,
                "content_type": content_type,
                "files": list(files),
            }
            return wrapper

        return decorate

    return api


def load_body(schema_class, *, partial=False):
    """The request's JSON object through `schema_class`: 400 malformed, 413 too big, 422 invalid fields."""
    return load(schema_class, bodies.json_body(), partial=partial)


def load_query(schema_class):
    """The query string through `schema_class` (422 names the bad parameters); a repeated
    parameter arrives as a list, which a single-valued field refuses."""
    raw = {}
    for key in request.args:
        values = request.args.getlist(key)
        raw[key] = values[0] if len(values) == 1 else values
    return load(schema_class, raw)


def load(schema_class, data, *, partial=False):
    """`data` through `schema_class`; marshmallow's verdict becomes the documented 422."""
    try:
        return schema(schema_class).load(data, partial=partial)
    except ValidationError as exc:
        raise ValidationFailed(details=validation_details(exc)) from None


def validation_details(exc):
    """marshmallow's messages as the error's `details`: always an object naming fields."""
    messages = exc.normalized_messages()
    return messages if isinstance(messages, dict) else {"_schema": messages}


def dump(schema_class, obj, many=False):
    """Serialise with an output schema."""
    return schema(schema_class, many).dump(obj)


@cache
def schema(schema_class, many=False):
    """One instance per schema class: building one costs more than using it, and load/dump keep no
    state on the instance (marshmallow's maintainers: an instance may be used many times)."""
    return schema_class(many=many)
