"""The admin API's `@api` (webkit.api), its OpenAPI document, and loading filters and list pages.

Authentication is the blueprint's `before_request` guard (admin/auth.py), which reads each
route's declaration: every route needs an admin token unless declared with another `auth`, so a
route added without a declaration is still guarded.
"""

from webkit.api import declaration, load_query
from webkit.openapi import ApiDocument
from webkit.pagination import keyset_page, page, page_args
from webkit.responses import respond

_declare = declaration()  # the guard, not the declaration, authenticates (admin/auth.py)


def api(summary, *, auth="admin", **kwargs):
    """Declare a view (webkit.api); `auth` is 'admin' (the default: a valid admin token), 'claims'
    (logout: the view checks the token itself) or None (login)."""
    return _declare(summary, auth=auth, **kwargs)


def _auth_errors(auth):
    if auth == "claims":
        return {401: ["invalid_token"]}
    return {401: ["unauthorized", "invalid_token"]}


DOCUMENT = ApiDocument(
    "admin",
    title="School Points 管理后台 API",
    auth_errors=_auth_errors,
    description="校园积分管理后台接口（docs/ADMIN_API.md）。除登录外都需要 `Authorization: Bearer <管理员 token>`。"
    '错误统一为 `{"error": {"code", "message", "details"}}`。',
)


def filters(schema_class):
    """A list's filters from the query string; `limit` and `cursor` belong to the page (page_args)."""
    args = load_query(schema_class)
    args.pop("limit", None)
    args.pop("cursor", None)
    return args


def listing(select_query, id_column, out_schema):
    """Respond with one newest-first keyset page of `select_query`, dumped by `out_schema`."""
    limit, cursor = page_args()
    rows, next_cursor = keyset_page(select_query, id_column, limit, cursor)
    return respond(page(out_schema.dump(rows, many=True), next_cursor))
