"""Admin accounts (super admins manage them) and an admin's own password."""

from flask import g

from school_points.models import Admin
from school_points.people import admin_accounts, tokens
from school_points.platform import ratelimit
from school_points.platform.errors import DomainError
from staffkit.schemas import AdminOut, LoginOut
from staffkit.staff_schemas import AdminAccountOut, AdminAccountPage, AdminIn, AdminPatch, PasswordChangeIn
from webkit.api import dump, load_body
from webkit.fields import PageQuery
from webkit.responses import respond

from . import bp
from .auth import LOGIN_WINDOW, WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS, no_store
from .kit import api, filters, listing

SUPER = {403: ["super_admin_required"]}
ADMIN_NOT_FOUND = {404: ["admin_not_found"]}


@bp.get("/admins")
@api("管理员账号列表（总管理员）", query=PageQuery, out=AdminAccountPage, tags=["管理员"], errors=SUPER)
def list_admins():
    query = admin_accounts.list_admins_query(g.scope)
    filters(PageQuery)
    return listing(query, Admin.id, AdminAccountOut())


@bp.post("/admins")
@api(
    "新建管理员账号（总管理员）",
    body=AdminIn,
    out=AdminAccountOut,
    status=201,
    idempotent=True,
    tags=["管理员"],
    errors={**SUPER, 409: ["username_taken"]},
    description="密码至少 10 个字符且不能与用户名相同；role 为 campus 时必须给 campus_id，super 时不能给。",
)
def create_admin():
    admin = admin_accounts.create(load_body(AdminIn), scope=g.scope, actor=g.actor)
    return respond(dump(AdminAccountOut, admin), 201)


@bp.get("/admins/<int:admin_id>")
@api("管理员账号详情（总管理员）", out=AdminAccountOut, tags=["管理员"], errors={**SUPER, **ADMIN_NOT_FOUND})
def get_admin(admin_id):
    return respond(dump(AdminAccountOut, admin_accounts.get_admin(admin_id, g.scope)))


@bp.patch("/admins/<int:admin_id>")
@api(
    "修改管理员账号（总管理员）：停用、改密码、改角色或校区会立即结束其全部登录",
    body=AdminPatch,
    out=AdminAccountOut,
    tags=["管理员"],
    errors={**SUPER, **ADMIN_NOT_FOUND, 409: ["username_taken", "last_super_admin"]},
    description="至少保留一个启用的总管理员（409 last_super_admin）。改的是自己的密码时当前 token 也失效，"
    "请改用 POST /auth/password。",
)
def update_admin(admin_id):
    data = load_body(AdminPatch, partial=True)
    return respond(dump(AdminAccountOut, admin_accounts.update(admin_id, data, scope=g.scope, actor=g.actor)))


@bp.post("/auth/password")
@api(
    "修改自己的密码：其他登录全部结束，返回新的 token（旧 token 也失效）",
    body=PasswordChangeIn,
    out=LoginOut,
    tags=["登录"],
    errors={422: ["wrong_password"], 429: ["rate_limited"]},
    description="原密码错误计次：每个管理员 15 分钟 5 次，超过后 429（含 Retry-After）。"
    "新密码至少 10 个字符，不能与用户名或原密码相同。应答带 Cache-Control: no-store。",
)
def change_password():
    data = load_body(PasswordChangeIn)
    subject = str(g.admin.id)
    # Counted before the check, as at login, so parallel guesses cannot all slip under the limit.
    ratelimit.hit(
        "admin_password", subject, limit=WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS, window_seconds=LOGIN_WINDOW
    )
    try:
        admin = admin_accounts.change_own_password(g.admin, data["old_password"], data["new_password"], actor=g.actor)
    except admin_accounts.WrongPassword:
        raise
    except DomainError:
        ratelimit.forgive("admin_password", subject)  # the old password was not what failed
        raise
    ratelimit.reset("admin_password", subject)
    token, ttl = tokens.issue("admin", admin.id, generation=admin.session_generation)
    return no_store(respond({"token": token, "expires_in": ttl, "admin": dump(AdminOut, admin)}))
