"""操作日志: who changed what, filtered by action, actor, target and days, newest first, within the
admin's campus scope (school/audit_trail.py, the API's /audit-log and its AuditQuery)."""

import json

from flask import render_template, request
from sqlalchemy import select

from school_points.models import Admin, AuditLog, Teacher
from school_points.platform.extensions import db
from school_points.school.audit_trail import audit_log_query
from staffkit.schemas import AuditQuery

from . import bp
from .forms import Form
from .kit import paged
from .session import staff_page

ACTION_NAMES = {
    "points.adjust": "调整积分",
    "evaluation.award": "课堂评价",
    "settings.update": "修改设置",
    "admin.create": "新建管理员",
    "admin.update": "修改管理员",
    "admin.password": "修改自己的密码",
    "campus.create": "新建校区",
    "campus.update": "修改校区",
    "class.create": "新建班级",
    "class.update": "修改班级",
    "class.delete": "删除班级",
    "class.bind_sheet": "打印绑定单",
    "student.create": "新建学员",
    "student.update": "修改学员",
    "student.bind_code": "重置绑定码",
    "student.export": "导出学员数据",
    "student.erase": "删除学员数据",
    "teacher.create": "新建老师",
    "teacher.update": "修改老师",
    "teacher.invite_code": "重置邀请码",
    "teacher.invite_sheet": "打印邀请单",
    "teacher.accept_invite": "老师接受邀请",
    "goods.create": "新建商品",
    "goods.update": "修改商品",
    "goods.delete": "删除商品",
    "redemption.create": "代兑换",
    "redemption.issue": "发放礼品",
    "redemption.cancel": "取消兑换",
    "guardian.unbind": "解除家长绑定",
    "roster.import": "导入名单",
    "export": "导出",
}
ACTOR_TYPES = (("admin", "管理员"), ("teacher", "老师"), ("user", "微信用户"), ("system", "系统"))
VALUE_LIMIT = 200  # characters of one value shown in the list


@bp.get("/audit")
@staff_page
def audit_page(staff):
    filters = Form(AuditQuery, request.args, load=True)
    page = names = None
    if filters.valid:
        wanted = {k: v for k, v in filters.data.items() if k not in ("limit", "cursor")}
        page = paged(audit_log_query(staff.scope, **wanted), AuditLog.id)
        names = actor_names(page.rows)
    return render_template(
        "console/audit/list.html",
        filters=filters,
        page=page,
        names=names,
        action_choices=sorted(ACTION_NAMES.items(), key=lambda item: item[0]),
        action_names=ACTION_NAMES,
        actor_types=ACTOR_TYPES,
        change_lines=change_lines,
    ), 200 if filters.valid else 422


def actor_names(rows) -> dict:
    """{(type, id): name} of the admins and teachers on a page: one query each, not one a row."""
    wanted = {"admin": set(), "teacher": set()}
    for row in rows:
        if row.actor_type in wanted and row.actor_id is not None:
            wanted[row.actor_type].add(row.actor_id)
    names = {}
    for kind, column, model in (("admin", Admin.username, Admin), ("teacher", Teacher.name, Teacher)):
        if wanted[kind]:
            for row_id, name in db.session.execute(select(model.id, column).where(model.id.in_(wanted[kind]))):
                names[(kind, row_id)] = name
    return names


def _shown(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= VALUE_LIMIT else text[:VALUE_LIMIT] + "…"


def change_lines(changes) -> list[tuple[str, str | None, str]]:
    """An entry's changes as (what, before or None, after) lines: an {"old", "new"} pair key by key
    (only the keys that differ), anything else as it is. Text only: the template escapes it."""
    if not isinstance(changes, dict) or not changes:
        return []
    lines = []
    old, new = changes.get("old"), changes.get("new")
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                before = _shown(old[key]) if key in old else "—"
                lines.append((key, before, _shown(new[key]) if key in new else "—"))
    elif isinstance(old, dict) and new is None:
        lines.extend((key, _shown(value), "—") for key, value in sorted(old.items()))
    for key, value in sorted(changes.items()):
        if key in ("old", "new") and (isinstance(old, dict) or isinstance(new, dict)):
            continue
        lines.append((key, None, _shown(value)))
    return lines
