"""Everything stored about one student and their guardians, as a document or a workbook
(docs/FAMILY_DATA.md): a family's request to see its data, answered by the school office."""

import io
import json
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from school_points.media.uploads import shown_media
from school_points.models import (
    GrowthRecord,
    Guardian,
    LedgerEntry,
    Like,
    Notification,
    Redemption,
    Share,
    Signin,
    WechatUser,
)
from school_points.people.students import get_student
from school_points.platform.clock import as_aware, isoformat, school_tz, utcnow
from school_points.platform.extensions import db
from school_points.school import audit

# (document key, sheet title, [(field, column header)]): the document's sections in order.
SECTIONS = [
    (
        "student",
        "学员",
        [
            ("id", "学员ID"),
            ("name", "姓名"),
            ("student_no", "学号"),
            ("campus", "校区"),
            ("classes", "班级"),
            ("birthday", "生日"),
            ("status", "状态"),
            ("archived_at", "归档时间"),
            ("bind_code", "绑定码"),
            ("balance", "可用积分"),
            ("lifetime_points", "累计积分"),
            ("created_at", "创建时间"),
        ],
    ),
    (
        "guardians",
        "家长",
        [
            ("user_id", "用户ID"),
            ("relation", "关系"),
            ("bound_at", "绑定时间"),
            ("is_default", "默认学员"),
            ("nickname", "昵称"),
            ("mp_openid", "小程序openid"),
            ("oa_openid", "公众号openid"),
            ("unionid", "unionid"),
            ("oa_subscribed", "关注公众号"),
            ("registered_at", "注册时间"),
        ],
    ),
    (
        "ledger",
        "积分流水",
        [
            ("id", "流水ID"),
            ("created_at", "时间"),
            ("kind", "类型"),
            ("delta", "积分变动"),
            ("balance_after", "变动后余额"),
            ("note", "备注"),
            ("ref_type", "关联类型"),
            ("ref_id", "关联ID"),
        ],
    ),
    (
        "orders",
        "兑换订单",
        [
            ("id", "订单ID"),
            ("created_at", "下单时间"),
            ("goods_name", "商品"),
            ("quantity", "数量"),
            ("points_each", "单价积分"),
            ("total_points", "总积分"),
            ("status", "状态"),
            ("issued_at", "发放时间"),
            ("cancelled_at", "取消时间"),
            ("cancel_reason", "取消原因"),
        ],
    ),
    (
        "growth_records",
        "成长记录",
        [
            ("id", "记录ID"),
            ("created_at", "发布时间"),
            ("author_user_id", "发布人用户ID"),
            ("content", "内容"),
            ("media", "图片地址"),
            ("like_count", "点赞数"),
            ("source", "来源"),
            ("deleted_at", "删除时间"),
        ],
    ),
    (
        "likes",
        "点赞",
        [("record_id", "记录ID"), ("user_id", "点赞用户ID"), ("awarded", "获得积分"), ("created_at", "时间")],
    ),
    (
        "shares",
        "分享",
        [("record_id", "记录ID"), ("user_id", "分享用户ID"), ("awarded", "获得积分"), ("created_at", "时间")],
    ),
    (
        "notifications",
        "通知",
        [
            ("id", "通知ID"),
            ("created_at", "创建时间"),
            ("kind", "类型"),
            ("user_id", "接收用户ID"),
            ("status", "状态"),
            ("sent_at", "发送时间"),
            ("values", "内容"),
        ],
    ),
    ("signins", "签到", [("local_day", "日期"), ("streak", "连续天数"), ("points", "获得积分")]),
]
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"


def export_student(student_id, *, scope, actor, base="") -> dict[str, Any]:
    """The student's data (Python values: datetimes, dates, ints) for `as_json` or `workbook`;
    audited without copying any of it. `base` is the public URL prefix of uploaded photos."""
    student = get_student(student_id, scope)
    sid = student.id
    records = _all(select(GrowthRecord).where(GrowthRecord.student_id == sid).order_by(GrowthRecord.id))
    record_ids = [record.id for record in records]
    document = {
        "exported_at": utcnow(),
        "student": {
            "id": sid,
            "name": student.name,
            "student_no": student.student_no,
            "campus": student.campus.name if student.campus else None,
            "classes": [klass.name for klass in student.classes],
            "birthday": student.birthday,
            "status": student.status,
            "archived_at": student.archived_at,
            "bind_code": student.bind_code,
            "balance": student.account.balance if student.account else 0,
            "lifetime_points": student.account.lifetime if student.account else 0,
            "created_at": student.created_at,
        },
        "guardians": _guardians(sid),
        "ledger": _rows(LedgerEntry, LedgerEntry.student_id == sid, "ledger"),
        "orders": _rows(Redemption, Redemption.student_id == sid, "orders"),
        "growth_records": [
            {**_pick(record, "growth_records"), "media": shown_media(record.media, base)} for record in records
        ],
        "likes": _rows(Like, Like.record_id.in_(record_ids), "likes"),
        "shares": _rows(Share, Share.record_id.in_(record_ids), "shares"),
        "notifications": _rows(Notification, Notification.student_id == sid, "notifications"),
        "signins": _rows(Signin, Signin.student_id == sid, "signins"),
    }
    counts = {key: len(value) for key, value in document.items() if isinstance(value, list)}
    audit.record(actor, "student.export", "student", sid, campus_id=student.campus_id, changes={"rows": counts})
    return document


def as_json(document) -> dict[str, Any]:
    """The document with instants as ISO 8601 in the school's timezone and dates as YYYY-MM-DD."""
    if isinstance(document, dict):
        return {key: as_json(value) for key, value in document.items()}
    if isinstance(document, list):
        return [as_json(value) for value in document]
    if isinstance(document, datetime | date):
        return isoformat(document)
    return document


def workbook(document) -> bytes:
    """The document as an .xlsx workbook: one sheet per section, Chinese headers, numbers as
    numbers, instants as school-local date-times, days as dates."""
    book = Workbook()
    book.remove(book.active)
    for key, title, columns in SECTIONS:
        sheet = book.create_sheet(title)
        sheet.append([header for _, header in columns])
        rows = document[key] if isinstance(document[key], list) else [document[key]]
        for row in rows:
            sheet.append([_cell(row.get(field)) for field, _ in columns])
        for index, (_, header) in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(50, 2 * len(header) + 4))
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if isinstance(cell.value, datetime):
                    cell.number_format = DATETIME_FORMAT
                elif isinstance(cell.value, date):
                    cell.number_format = DATE_FORMAT
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _cell(value):
    """A value as a spreadsheet cell: Excel has no timezones, so instants become school-local."""
    if isinstance(value, datetime):
        return as_aware(value).astimezone(school_tz()).replace(tzinfo=None)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "\n".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _guardians(student_id):
    rows = db.session.execute(
        select(Guardian, WechatUser)
        .join(WechatUser, WechatUser.id == Guardian.user_id)
        .where(Guardian.student_id == student_id)
        .order_by(Guardian.id)
    ).all()
    return [
        {
            "user_id": user.id,
            "relation": guardian.relation,
            "bound_at": guardian.created_at,
            "is_default": user.default_student_id == student_id,
            "nickname": user.nickname,
            "mp_openid": user.mp_openid,
            "oa_openid": user.oa_openid,
            "unionid": user.unionid,
            "oa_subscribed": user.oa_subscribed,
            "registered_at": user.created_at,
        }
        for guardian, user in rows
    ]


def _rows(model, condition, section):
    return [_pick(row, section) for row in _all(select(model).where(condition).order_by(model.id))]


def _pick(row, section):
    fields = next(columns for key, _, columns in SECTIONS if key == section)
    return {field: getattr(row, field, None) for field, _ in fields}


def _all(query):
    return list(db.session.scalars(query))
