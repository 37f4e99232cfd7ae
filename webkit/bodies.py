"""JSON request bodies: one parser for every adapter, refusing what no field of ours can hold."""

import json
import re

from flask import current_app, request

from school_points.platform.errors import ValidationFailed
from webkit.errors import ApiError


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
