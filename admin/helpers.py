"""Small view helpers shared by the admin routes: bodies, query strings, list pages."""
from flask import request

from webkit.bodies import json_body
from webkit.pagination import keyset_page, page, page_args
from webkit.responses import respond


def body(schema, *, partial=False):
    """The request's JSON object loaded through `schema` (400 malformed, 413 too big, 422 invalid)."""
    return schema.load(json_body(), partial=partial)


def query(schema):
    """The query string's filters through `schema`; `limit` and `cursor` belong to paging."""
    args = {key: value for key, value in request.args.items() if key not in ("limit", "cursor")}
    return schema.load(args)


def listing(select_query, id_column, out_schema):
    """Respond with one newest-first keyset page of `select_query`, dumped by `out_schema`."""
    limit, cursor = page_args()
    rows, next_cursor = keyset_page(select_query, id_column, limit, cursor)
    return respond(page(out_schema.dump(rows, many=True), next_cursor))
