"""Login and the user's own things: students, default student, teacher role, official-account link, referral."""

from flask import Response, current_app, g

from school_points.people import account_links, guardians, tokens
from school_points.people.users import login_or_create
from school_points.platform import ratelimit
from school_points.platform.clock import as_aware
from school_points.platform.extensions import db
from school_points.points import referral
from school_points.wechat.clients import mp_code2session, oa_qrcode
from webkit.errors import ApiError
from webkit.responses import respond

from . import bp, schemas
from .auth import client_address, issue_token, no_store
from .kit import api, dump, load_body
from .presenters import me_out, student_summaries, teacher_profile, user_out


def _limit(name, subject, setting, default):
    limit, window = current_app.config.get(setting, default)
    ratelimit.hit(name, subject, limit=limit, window_seconds=window)


@bp.post("/auth/login")
@api(
    "登录：用 wx.login() 的 code 换取 token",
    auth=None,
    body=schemas.LoginIn,
    out=schemas.LoginOut,
    tags=["账号"],
    errors={
        401: ["invalid_code"],
        403: ["user_disabled"],
        429: ["rate_limited"],
        502: ["wechat_unavailable"],
        503: ["wechat_not_configured"],
    },
    description="新用户自动创建；`ref` 为分享路径里的推荐码，仅对学校此前不认识的人记为推荐。session_key 不会返回。"
    "\n\n本地开发登录：仅当 `APP_ENV=development` 且未设置 `WECHAT_MP_APP_ID` 时，"
    "`code` 写作 `dev:<name>`（name 为 1–32 位字母、数字、`_` 或 `-`）即以本地用户 `dev-<name>` 登录，"
    "首次使用时创建，同名即同一用户；不询问微信。"
    "其他环境中这种 code 与任何无效 code 一样返回 401 `invalid_code`。",
)
def login():
    # Per address as the outermost trusted proxy saw it: behind the school's nginx each parent has
    # their own allowance, and a school NAT's parents' meeting fits in the default 120/60.
    _limit("mp_login", client_address(), "MP_LOGIN_RATE_LIMIT", (120, 60))
    data = load_body(schemas.LoginIn)
    session = mp_code2session(data["code"])
    user, known_before = login_or_create(session)
    if session.get("nickname") and not user.nickname:
        user.nickname = session["nickname"]  # dev:<name> logins show who they are
    if user.disabled:
        raise ApiError(403, "user_disabled", "该账号已停用")
    if data["ref"]:
        referral.record_referral(user, data["ref"], known_before=known_before)
    token, ttl = issue_token(user)
    return no_store(respond({"token": token, "expires_in": ttl, "user": user_out(user)}))


@bp.post("/auth/logout")
@api(
    "退出登录：当前 token 立即失效（所有服务器进程）",
    auth="claims",
    status=204,
    tags=["账号"],
    description="幂等：同一个 token 再次退出仍返回 204（无响应体）。之后用这个 token 访问任何接口都是 401。"
    "只有不是本服务签发的或已过期的 token 返回 401；停用的用户也能退出。",
)
def logout():
    tokens.revoke(g.token_claims)
    db.session.commit()
    return no_store(Response(status=204))


@bp.get("/me")
@api("当前用户：角色、学员（余额与累计积分）、老师信息、推荐码", out=schemas.MeOut, tags=["账号"])
def me():
    return respond(me_out(g.user))


@bp.post("/me/students")
@api(
    "用绑定码绑定学员",
    body=schemas.BindIn,
    out=schemas.StudentSummary,
    status=201,
    tags=["账号"],
    errors={404: ["bind_code_not_found"], 429: ["rate_limited"]},
)
def bind():
    _limit("mp_bind", g.user.id, "MP_BIND_RATE_LIMIT", (20, 3600))
    data = load_body(schemas.BindIn)
    guardian = referral.bind_and_reward(g.user, data["bind_code"], data["relation"])
    summary = next(s for s in student_summaries(g.user) if s["id"] == guardian.student_id)
    return respond(summary, 201)


@bp.delete("/me/students/<int:sid>")
@api("解除绑定", out=schemas.UnbindOut, tags=["账号"])
def unbind(sid):
    guardians.unbind_student(g.user, sid)
    return respond({"student_id": sid, "bound": False})


@bp.put("/me/default-student")
@api(
    "设置默认学员（公众号使用）",
    body=schemas.DefaultStudentIn,
    out=schemas.DefaultStudentOut,
    tags=["账号"],
    errors={404: ["not_found"]},
)
def set_default_student():
    data = load_body(schemas.DefaultStudentIn)
    student = guardians.set_default_student(g.user, data["student_id"])
    return respond({"default_student_id": student.id})


@bp.post("/me/teacher")
@api(
    "用邀请码成为老师",
    body=schemas.InviteIn,
    out=schemas.TeacherProfile,
    tags=["账号"],
    errors={404: ["invite_code_not_found"], 409: ["invite_code_used", "already_teacher"], 429: ["rate_limited"]},
)
def become_teacher():
    from school_points.people.teachers import accept_invite

    _limit("mp_invite", g.user.id, "MP_INVITE_RATE_LIMIT", (10, 3600))
    data = load_body(schemas.InviteIn)
    teacher = accept_invite(g.user, data["invite_code"])
    return respond(teacher_profile(teacher))


@bp.post("/me/oa-link")
@api(
    "获取关联公众号的一次性二维码场景 link_<token>",
    out=schemas.OaLinkOut,
    status=201,
    tags=["账号"],
    errors={429: ["rate_limited"], 502: ["wechat_unavailable"], 503: ["wechat_not_configured"]},
    description="用户用微信扫描 qr_url（或在公众号内扫码）后，公众号 openid 与本用户合并。"
    "10 分钟内有效，只能使用一次。",
)
def oa_link():
    _limit("mp_oa_link", g.user.id, "MP_OA_LINK_RATE_LIMIT", (10, 3600))
    link = account_links.create_link(g.user)
    scene = account_links.scene_for(link)
    qr = oa_qrcode(scene, expire_seconds=account_links.LINK_TTL_SECONDS)
    expires_at = min(as_aware(link.expires_at), qr["expires_at"] or as_aware(link.expires_at))
    return respond(dump(schemas.OaLinkOut, {"scene": scene, "qr_url": qr["url"], "expires_at": expires_at}), 201)


@bp.get("/me/referral")
@api("我的推荐：推荐码、分享路径、二维码场景、推荐人数", out=schemas.ReferralOut, tags=["账号"])
def my_referral():
    summary = referral.referral_summary(g.user)
    code = summary["code"]
    share_page = current_app.config.get("MP_SHARE_PAGE", "pages/index/index")
    return respond(
        {
            "code": code,
            "share_path": f"{share_page}?ref={code}",
            "qr_scene": f"ref_{code}",
            "referred": summary["referred"],
            "rewarded": summary["rewarded"],
        }
    )
