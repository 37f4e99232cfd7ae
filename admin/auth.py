"""Admin login, the bearer-token guard on every other admin route, and the 422 handler."""
from flask import g, request
from marshmallow import ValidationError

from school_points import ratelimit, tokens
from school_points.actors import Actor
from school_points.admins import authenticate
from school_points.extensions import db
from school_points.httpkit import ApiError, abandon_work, error_response, json_body, respond
from school_points.models import Admin
from school_points.scoping import scope_of

from . import bp
from .schemas import AdminOut, LoginIn

LOGIN_WINDOW = 300  # seconds
LOGIN_TRIES_PER_USERNAME = 10
LOGIN_TRIES_PER_ADDRESS = 50


@bp.errorhandler(ValidationError)
def _invalid(exc):
    """marshmallow's verdict as the documented 422, naming the fields."""
    abandon_work()
    details = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return error_response(422, "validation_error", "参数不正确", details)


@bp.before_request
def _require_admin():
    """Every admin route but login needs a valid, unexpired admin token."""
    if request.endpoint == "admin.login":
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "请先登录")
    admin_id = tokens.verify("admin", token.strip())
    admin = db.session.get(Admin, admin_id) if admin_id is not None else None
    if admin is None or not admin.active:
        raise ApiError(401, "invalid_token", "登录已失效，请重新登录")
    g.admin = admin
    g.scope = scope_of(admin)
    g.actor = Actor.admin(admin.id)
    g.idempotency_scope = f"admin:{admin.id}"


@bp.post("/auth/login")
def login():
    data = LoginIn().load(json_body())
    username = data["username"].lower()
    ratelimit.hit("admin_login_ip", request.remote_addr or "-", limit=LOGIN_TRIES_PER_ADDRESS,
                  window_seconds=LOGIN_WINDOW)
    ratelimit.hit("admin_login_user", username, limit=LOGIN_TRIES_PER_USERNAME, window_seconds=LOGIN_WINDOW)
    admin = authenticate(data["username"], data["password"])
    if admin is None:
        raise ApiError(401, "invalid_credentials", "用户名或密码错误")
    ratelimit.reset("admin_login_user", username)
    token, ttl = tokens.issue("admin", admin.id)
    return respond({"token": token, "expires_in": ttl, "admin": AdminOut().dump(admin)})
