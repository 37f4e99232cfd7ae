"""Schemas of the routes for admin accounts, a student's guardians, the notification outbox and
changes to the school's structure (campus rename, class deletion): docs/ADMIN_API.md, "Accounts,
families, the outbox and the school's structure"."""

from marshmallow import Schema, fields, validate

from school_points.people.admins import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ROLES
from school_points.wechat import outbox
from webkit.fields import Bool, PageQuery, Str, StrictSchema, id_field, length, one_of, optional, page_of, query_id

from .schemas import CampusIn, when

# The length rule is also the domain's (people/admins.py, which the CLI goes through): stated here
# so the OpenAPI document shows it (minLength, maxLength).
PASSWORD = validate.Length(
    min=MIN_PASSWORD_LENGTH,
    max=MAX_PASSWORD_LENGTH,
    error=f"密码至少 {MIN_PASSWORD_LENGTH} 个字符，最多 {MAX_PASSWORD_LENGTH} 个字符",
)

# ------------------------------------------------------------------ request bodies


class AdminIn(StrictSchema):
    username = Str(required=True, validate=length(1, 64))
    password = Str(required=True, strip=False, validate=PASSWORD)
    role = Str(required=True, validate=one_of(ROLES))
    campus_id = id_field(allow_none=True)
    active = Bool()


AdminPatch = optional(AdminIn, "AdminPatch")


class PasswordChangeIn(StrictSchema):
    old_password = Str(required=True, strip=False, validate=length(1, MAX_PASSWORD_LENGTH))
    new_password = Str(required=True, strip=False, validate=PASSWORD)


CampusPatch = optional(CampusIn, "CampusPatch")

# ------------------------------------------------------------------ query strings


class NotificationQuery(PageQuery):
    status = Str(validate=one_of(outbox.STATUSES))
    kind = Str(validate=one_of(outbox.KINDS))
    student_id = query_id()


# ------------------------------------------------------------------ responses


class AdminAccountOut(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    campus_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = when("created_at")


class GuardianOut(Schema):
    user_id = fields.Integer(required=True)
    relation = fields.String(required=True)
    since = when("since")
    official_account = fields.Boolean(
        required=True, metadata={"description": "关注了公众号且已知其公众号 openid：可收到模板消息"}
    )
    mini_program = fields.Boolean(required=True, metadata={"description": "用过小程序（已知小程序 openid）"})


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    channel = fields.String(metadata={"description": "oa_template | mp_subscribe | oa_custom；未发送过为空"})
    status = fields.String(metadata={"description": " | ".join(outbox.STATUSES)})
    attempts = fields.Integer()
    last_error_code = fields.Integer(allow_none=True)
    last_error_message = fields.Function(lambda n: outbox.error_for_staff(n.last_error))
    delivery_status = fields.String(metadata={"description": "公众号模板消息的送达结果（TEMPLATESENDJOBFINISH）"})
    student_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True, metadata={"description": "接收的家长（微信用户 id）"})
    created_at = when("created_at")
    sent_at = when("sent_at")
    next_attempt_at = when("next_attempt_at")


AdminAccountPage = page_of(AdminAccountOut, "AdminAccountPage")
NotificationPage = page_of(NotificationOut, "NotificationPage")
GUARDIAN_LIST = {"type": "array", "items": GuardianOut}
