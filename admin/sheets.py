"""Printable sheets (docs/PRINTABLE_SHEETS.md): a class's bind cards, unbound teachers' invite cards.

Each answers an A4 HTML page, not JSON. The page's one inline <style> block is allowed by its
digest in this response's own Content-Security-Policy; no script is. Bind and invite codes are
secrets: nothing may cache the page.
"""

from flask import Response, g

from school_points.office import sheets
from staffkit.schemas import InviteSheetQuery
from webkit.api import load_query
from webkit.security_headers import policy_allowing_styles

from . import bp
from .kit import api

PAGE = "可打印的 A4 HTML 页面（text/html），每人一张卡片，沿虚线剪开；见 docs/PRINTABLE_SHEETS.md。"


@bp.get("/classes/<int:class_id>/bind-sheet")
@api(
    "打印班级的家长绑定卡（A4 HTML）",
    tags=["打印"],
    errors={404: ["class_not_found"]},
    content_type="text/html",
    description=PAGE + "在读学员每人一张：姓名、班级、绑定码、公众号绑定文字；配置了公众号时附永久二维码。",
)
def class_bind_sheet(class_id):
    return _page(sheets.class_bind_sheet(class_id, g.scope, actor=g.actor))


@bp.get("/teachers/invite-sheet")
@api(
    "打印未加入老师的邀请卡（A4 HTML）",
    query=InviteSheetQuery,
    tags=["打印"],
    errors={404: ["campus_not_found"]},
    content_type="text/html",
    description=PAGE + "在职且尚未用邀请码加入的老师每人一张；campus_id 只打印一个校区。",
)
def teacher_invite_sheet():
    args = load_query(InviteSheetQuery)
    return _page(sheets.teacher_invite_sheet(g.scope, campus_id=args.get("campus_id"), actor=g.actor))


def _page(rendered):
    response = Response(rendered.html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = policy_allowing_styles(rendered.style_sha256)
    response.headers["Cache-Control"] = "no-store"
    return response
