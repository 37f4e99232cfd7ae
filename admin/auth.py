"""Admin login and logout, and the bearer-token guard on every other admin route."""

from flask import Response, current_app, g, request

from school_points.models import Admin
from school_points.people import tokens
from school_points.people.admins import authenticate, session_is_current
from school_points.platform import ratelimit
from school_points.platform.extensions import db
from school_points.school.actors import Actor
from school_points.school.scoping import scope_of
from staffkit.schemas import AdminOut, LoginIn, LoginOut
from webkit.api import dump, load_body
from webkit.errors import ApiError
from webkit.responses import respond

from . import bp
from .kit import api

# Only WRONG passwords count, per username + address and per address, so a flood from
# one address never locks the same username out from another address.
LOGIN_WINDOW = 15 * 60  # seconds
WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS = 5
WRONG_PASSWORDS_PER_ADDRESS = 50


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
    address = g.client_address
    per_user = f"{data['username'].lower()}|{address}"
    # Counted before the password check, so a burst of parallel guesses cannot all slip under the
    # limit; a right password takes its attempt back below.
    ratelimit.hit("admin_login_addr", address, limit=WRONG_PASSWORDS_PER_ADDRESS, window_seconds=LOGIN_WINDOW)
    try:
        ratelimit.hit(
            "admin_login_user_addr",
            per_user,
            limit=WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS,
            window_seconds=LOGIN_WINDOW,
        )
    except ratelimit.RateLimited:
        ratelimit.forgive("admin_login_addr", address)  # refused unchecked: not a wrong password
        raise
    admin = authenticate(data["username"], data["password"])
    if admin is None:
        raise ApiError(401, "invalid_credentials", "用户名或密码错误")
    ratelimit.forgive("admin_login_addr", address)
    ratelimit.reset("admin_login_user_addr", per_user)
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
