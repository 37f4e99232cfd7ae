"""List pages: `limit` and an opaque keyset cursor in, `{"items", "next_cursor"}` out."""

import base64
import json

from flask import request
from sqlalchemy import BigInteger

from school_points.platform.errors import ValidationFailed
from school_points.platform.extensions import db

MAX_INT, MAX_BIGINT = 2**31 - 1, 2**63 - 1


def page_args(default_limit=20, max_limit=100):
    """`limit` and decoded `cursor` from the query string (lists of both JSON APIs)."""
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
    """The list shape of both JSON APIs."""
    return {"items": items, "next_cursor": next_cursor}
