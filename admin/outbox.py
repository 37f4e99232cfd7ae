"""The notification outbox: what went out to families, what waits for a retry, what failed."""

from flask import g

from school_points.models import Notification
from school_points.wechat import outbox
from staffkit.staff_schemas import NotificationOut, NotificationPage, NotificationQuery

from . import bp
from .kit import api, filters, listing


@bp.get("/notifications")
@api(
    "通知发件箱：类型、渠道、状态、重试次数、最近错误和时间",
    query=NotificationQuery,
    out=NotificationPage,
    tags=["通知"],
    errors={404: ["student_not_found"]},
    description="校区管理员只看到本校区学员的通知；不含 openid 和消息内容。",
)
def list_notifications():
    query = outbox.list_notifications_query(g.scope, **filters(NotificationQuery))
    return listing(query, Notification.id, NotificationOut())
