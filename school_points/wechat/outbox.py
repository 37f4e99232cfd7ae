"""The notification outbox as the school office sees it: which messages went out, which wait for a
retry and why the others failed (docs/ADMIN_API.md, "Notifications").

Staff see the delivery facts (kind, channel, status, attempts, WeChat's error, times) and the
student and guardian ids; never the recipient's openid, nor the message's values (a child's name,
goods, points: the family's message, already visible to staff elsewhere when they need it).
"""

import re

from sqlalchemy import Select, select

from school_points.models import NOTIFICATION_KINDS, Notification, Student
from school_points.school.scoping import get_in_scope
from school_points.wechat.delivery import CUSTOM_MESSAGE_KINDS

# delivery.py moves a row through these (models/ops.py explains each).
STATUSES = ("pending", "claimed", "sending", "sent", "failed", "skipped")
KINDS = tuple(NOTIFICATION_KINDS) + tuple(sorted(CUSTOM_MESSAGE_KINDS))

# WeChat's error text sometimes quotes what it was sent; an openid or unionid (28 characters of
# base64url, starting with "o" for those of this kind) is masked before staff see it.
_WECHAT_IDS = re.compile(r"\bo[A-Za-z0-9_-]{27}\b")


def list_notifications_query(scope, *, status=None, kind=None, student_id=None) -> Select:
    """Outbox rows inside the scope, filtered. A campus admin sees the rows about its campus's
    students; rows about no student (check-in replies in the official account's chat) are
    school-wide, for super admins. A `student_id` outside the scope is NotFound."""
    query = select(Notification)
    if student_id is not None:
        get_in_scope(Student, student_id, scope, message="学员不存在", code="student_not_found")
        query = query.where(Notification.student_id == student_id)
    if not scope.is_super:
        query = query.join(Student, Student.id == Notification.student_id).where(Student.campus_id == scope.campus_id)
    if status is not None:
        query = query.where(Notification.status == status)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return query


def error_for_staff(text) -> str:
    """The stored error of a delivery attempt with any WeChat user id in it masked."""
    return _WECHAT_IDS.sub("o***", text or "")
