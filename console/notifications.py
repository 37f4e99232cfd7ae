"""通知: the notification outbox as staff see it (wechat/outbox.py, the API's /notifications): did
a message reach the parent, how many attempts, WeChat's last error; failed ones stand out."""

from flask import render_template, request
from sqlalchemy import select

from school_points.models import Notification, Student
from school_points.platform.extensions import db
from school_points.wechat import outbox
from staffkit.staff_schemas import NotificationQuery

from . import bp
from .forms import Form
from .kit import paged
from .session import staff_page

STATUS_NAMES = {
    "pending": ("待发送", "info"),
    "claimed": ("发送中", "info"),
    "sending": ("发送中", "info"),
    "sent": ("已发送", "success"),
    "failed": ("发送失败", "danger"),
    "skipped": ("未发送", "muted"),
}
KIND_NAMES = {
    "redeemed": "兑换成功",
    "issued": "礼品已发放",
    "cancelled": "兑换已取消",
    "points_awarded": "获得积分",
    "expiring": "积分即将过期",
    "checkin_result": "打卡回复",
}
CHANNEL_NAMES = {"oa_template": "公众号模板消息", "mp_subscribe": "小程序订阅消息", "oa_custom": "公众号客服消息"}


@bp.get("/notifications")
@staff_page
def notifications_page(staff):
    filters = Form(NotificationQuery, request.args, load=True)
    page, students = None, {}
    if filters.valid:
        wanted = {k: v for k, v in filters.data.items() if k not in ("limit", "cursor")}
        page = paged(outbox.list_notifications_query(staff.scope, **wanted), Notification.id)  # NotFound → 404
        ids = {row.student_id for row in page.rows if row.student_id is not None}
        if ids:
            students = dict(db.session.execute(select(Student.id, Student.name).where(Student.id.in_(ids))).all())
    return render_template(
        "console/notifications/list.html",
        filters=filters,
        page=page,
        students=students,
        status_names=STATUS_NAMES,
        kind_names=KIND_NAMES,
        channel_names=CHANNEL_NAMES,
        status_choices=[(status, STATUS_NAMES[status][0]) for status in outbox.STATUSES if status != "claimed"],
        kind_choices=[(kind, KIND_NAMES.get(kind, kind)) for kind in outbox.KINDS],
        error_for_staff=outbox.error_for_staff,
    ), 200 if filters.valid else 422
