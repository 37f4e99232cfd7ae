"""Admin login and logout, and the bearer-token guard on every other admin route."""

from flask import Response, current_app, g, request

from school_points.models import Admin
from school_points.people import admin_login, tokens
from school_points.people.admins import session_is_current
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from school_points.school.scoping import scope_of
from staffkit.schemas import AdminOut, LoginIn, LoginOut
from webkit.api import dump, load_body
from webkit.errors import ApiError
from webkit.responses import respond

from . import bp
from .kit import api

# The wrong-password limits live with the login itself (people/admin_login.py); accounts.py reuses them.
LOGIN_WINDOW = admin_login.LOGIN_WINDOW
WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS = admin_login.WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS


def client_address():
    """The caller's address as the outermost trusted proxy saw it (ProxyFix, TRUSTED_PROXY_COUNT)."""
    return (request.remote_addr or "unknown")[:45]


def bearer_token():
    """The token of an `Authorization: Bearer ...` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def no_store(response):
    """A response that carries a token must not be kept by any cache, shared or private."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.before_request
def _require_admin():
    """Every admin route needs a valid, unexpired, not logged-out admin token of an active admin,
    issued in the admin's current session generation (disabling an admin or changing their
    password, role or campus ends every earlier token), unless its @api declaration says otherwise
    (login: none; logout: checks the token itself). A route without a declaration is guarded too."""
    g.client_address = client_address()
    declared = getattr(current_app.view_functions.get(request.endpoint), "api_doc", {"auth": "admin"})
    if declared["auth"] != "admin":
        return
    token = bearer_token()
    if token is None:
        raise ApiError(401, "unauthorized", "请先登录")
    found = tokens.verified_claims("admin", token)
    admin = db.session.get(Admin, found.subject) if found is not None else None
    if not session_is_current(admin, found.generation if found else None):
        raise ApiError(401, "invalid_token", "登录已失效，请重新登录")
    g.admin = admin
    g.scope = scope_of(admin)
    g.actor = Actor.admin(admin.id)
    g.idempotency_scope = f"admin:{admin.id}"


@bp.post("/auth/login")
@api(
    "登录：用户名和密码换取管理员 token",
    auth=None,
    body=LoginIn,
    out=LoginOut,
    tags=["登录"],
    errors={401: ["invalid_credentials"], 429: ["rate_limited"]},
    description="密码错误次数受限：同一用户名+地址 15 分钟 5 次，同一地址 50 次；超过后 429（含 Retry-After）。"
    "应答带 Cache-Control: no-store。",
)
def login():
    data = load_body(LoginIn)
    admin = admin_login.sign_in(data["username"], data["password"], g.client_address)
    if admin is None:
        raise ApiError(401, "invalid_credentials", "用户名或密码错误")
    token, ttl = tokens.issue("admin", admin.id, generation=admin.session_generation)
    return no_store(respond({"token": token, "expires_in": ttl, "admin": dump(AdminOut, admin)}))


@bp.post("/auth/logout")
@api(
    "退出登录：当前 token 立即失效（所有服务器进程）",
    auth="claims",
    status=204,
    tags=["登录"],
    description="幂等：已退出的 token 再次退出仍是 204；只有不是有效管理员 token 时才是 401。",
)
def logout():
    """End the presented admin token at once, in every process. Idempotent: 204 again for a token
    already logged out; 401 only for something that is not a genuine, unexpired admin token."""
    found = tokens.claims("admin", bearer_token())
    if found is None:
        raise ApiError(401, "invalid_token", "登录已失效，请重新登录")
    tokens.revoke(found)
    db.session.commit()
    return no_store(Response(status=204))
