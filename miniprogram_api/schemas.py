"""Marshmallow schemas of the mini-program API: what comes in, what goes out, and the OpenAPI source."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from school_points.platform.clock import isoformat
from webkit.fields import (
    Int,
    List,
    PageQuery,
    Str,
    id_field,
    int_range,
    length,
    one_of,
    query_id,
)
from webkit.fields import StrictSchema as In


class LocalDateTime(fields.DateTime):
    """ISO 8601 with offset, in the school's timezone (docs/MINIPROGRAM_API.md)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat(value)


# ---------------------------------------------------------------- auth and me


class LoginIn(In):
    # Kept exactly as sent: it is WeChat's (or a dev:<name>) credential, not text to tidy.
    code = Str(required=True, strip=False, validate=length(1, 128), metadata={"description": "wx.login() 的 code"})
    ref = Str(
        load_default=None, allow_none=True, validate=length(high=32), metadata={"description": "分享路径中的推荐码 ref"}
    )


class UserOut(Schema):
    id = fields.Integer(required=True)
    nickname = fields.String(required=True)
    referral_code = fields.String(required=True)
    default_student_id = fields.Integer(required=True, allow_none=True)
    oa_linked = fields.Boolean(required=True, metadata={"description": "已关联公众号"})


class LoginOut(Schema):
    token = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    user = fields.Nested(UserOut, required=True)


class LevelNextOut(Schema):
    level = fields.Integer(required=True)
    name = fields.String(required=True)
    min_lifetime = fields.Integer(required=True)
    points_to_go = fields.Integer(required=True, metadata={"description": "距离下一等级还差的累计积分"})


class LevelOut(Schema):
    level = fields.Integer(required=True)
    name = fields.String(required=True)
    next = fields.Nested(
        LevelNextOut, required=True, allow_none=True, metadata={"description": "已是最高等级时为 null"}
    )


class StudentSummary(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    campus_id = fields.Integer(required=True)
    campus_name = fields.String(required=True)
    relation = fields.String(required=True)
    balance = fields.Integer(required=True)
    lifetime_points = fields.Integer(required=True)
    level = fields.Nested(
        LevelOut, required=True, allow_none=True, metadata={"description": "会员等级；未开启时为 null"}
    )
    is_default = fields.Boolean(required=True)


class ClassRef(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class TeacherProfile(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    campus_id = fields.Integer(required=True)
    campus_name = fields.String(required=True)
    classes = fields.List(fields.Nested(ClassRef), required=True)


class MeOut(Schema):
    user = fields.Nested(UserOut, required=True)
    roles = fields.List(fields.String(validate=validate.OneOf(["guardian", "teacher"])), required=True)
    students = fields.List(fields.Nested(StudentSummary), required=True)
    teacher = fields.Nested(TeacherProfile, required=True, allow_none=True)
    referral_code = fields.String(required=True)


class BindIn(In):
    bind_code = Str(required=True, validate=length(1, 16))
    relation = Str(load_default="家长", validate=length(1, 16))


class UnbindOut(Schema):
    student_id = fields.Integer(required=True)
    bound = fields.Boolean(required=True)


class DefaultStudentIn(In):
    student_id = id_field(required=True)


class DefaultStudentOut(Schema):
    default_student_id = fields.Integer(required=True)


class InviteIn(In):
    invite_code = Str(required=True, validate=length(1, 16))


class OaLinkOut(Schema):
    scene = fields.String(required=True, metadata={"description": "link_<token>, one-time"})
    qr_url = fields.String(required=True)
    expires_at = LocalDateTime(required=True)


class ReferralOut(Schema):
    code = fields.String(required=True)
    share_path = fields.String(required=True)
    qr_scene = fields.String(required=True)
    referred = fields.Integer(required=True)
    rewarded = fields.Integer(required=True)


class UploadIn(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class UploadOut(Schema):
    url = fields.String(required=True)


# ---------------------------------------------------------------- points


class StudentQuery(In):
    student_id = query_id(required=True)


class ExpiringOut(Schema):
    points = fields.Integer(required=True)
    expires_at = LocalDateTime(required=True)


class PointsOut(Schema):
    balance = fields.Integer(required=True)
    lifetime_points = fields.Integer(required=True)
    level = fields.Nested(
        LevelOut, required=True, allow_none=True, metadata={"description": "会员等级；未开启时为 null"}
    )
    expiring = fields.List(fields.Nested(ExpiringOut), required=True)


class LedgerEntryOut(Schema):
    id = fields.Integer(required=True)
    delta = fields.Integer(required=True)
    balance_after = fields.Integer(required=True)
    kind = fields.String(required=True)
    note = fields.String(required=True)
    ref_type = fields.String(required=True, allow_none=True)
    ref_id = fields.String(required=True, allow_none=True)
    created_at = LocalDateTime(required=True)


class LedgerPage(Schema):
    items = fields.List(fields.Nested(LedgerEntryOut), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class SigninOut(Schema):
    awarded = fields.Integer(required=True)
    streak = fields.Integer(required=True)
    balance = fields.Integer(required=True)


# ---------------------------------------------------------------- mall and redemptions


class MallQuery(In):
    student_id = query_id(load_default=None)


class GoodsOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    image_url = fields.String(required=True)
    points = fields.Integer(required=True)
    stock = fields.Integer(required=True)
    limit_per_student = fields.Integer(required=True, allow_none=True)
    redeemed_by_student = fields.Integer(required=True, metadata={"description": "units in non-cancelled orders"})
    min_level = fields.Integer(required=True, allow_none=True, metadata={"description": "兑换所需会员等级；null 不限"})
    locked = fields.Boolean(required=True, metadata={"description": "学员等级低于 min_level（等级开启时）"})


class MallOut(Schema):
    open = fields.Boolean(required=True)
    poster_url = fields.String(required=True)
    notice = fields.String(required=True)
    goods = fields.List(fields.Nested(GoodsOut), required=True)


class RedeemIn(In):
    student_id = id_field(required=True)
    goods_id = id_field(required=True)
    quantity = Int(load_default=1, validate=int_range(1, 99))


class RedemptionOut(Schema):
    id = fields.Integer(required=True)
    student_id = fields.Integer(required=True)
    student_name = fields.String(required=True)
    goods_id = fields.Integer(required=True)
    goods_name = fields.String(required=True)
    goods_image_url = fields.String(required=True)
    quantity = fields.Integer(required=True)
    points_each = fields.Integer(required=True)
    total_points = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["pending", "issued", "cancelled"]))
    pickup_code = fields.String(
        required=True, allow_none=True, metadata={"description": "shown while pending; the teacher scans it"}
    )
    issue_method = fields.String(required=True, allow_none=True)
    cancel_reason = fields.String(required=True)
    created_at = LocalDateTime(required=True)
    issued_at = LocalDateTime(required=True, allow_none=True)
    cancelled_at = LocalDateTime(required=True, allow_none=True)


class RedemptionPage(Schema):
    items = fields.List(fields.Nested(RedemptionOut), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class RedemptionQuery(PageQuery):
    student_id = query_id(load_default=None)
    status = Str(load_default=None, validate=one_of(["pending", "issued", "cancelled"]))


class CancelIn(In):
    reason = Str(load_default="", validate=length(high=200))


class VerifyCodeIn(In):
    verify_code = Str(required=True, validate=length(1, 32))


# ---------------------------------------------------------------- growth records


class GrowthIn(In):
    student_id = id_field(required=True)
    content = Str(load_default="", validate=length(high=2000))
    media = List(Str(validate=length(1, 512)), load_default=list, validate=length(high=9))

    @validates_schema
    def _not_empty(self, data, **kwargs):
        if not (data.get("content") or "").strip() and not data.get("media"):
            raise ValidationError("内容和图片不能都为空", field_name="content")


class GrowthRecordOut(Schema):
    id = fields.Integer(required=True)
    student_id = fields.Integer(required=True)
    student_name = fields.String(required=True, metadata={"description": "given name only"})
    content = fields.String(required=True)
    media = fields.List(fields.String(), required=True)
    like_count = fields.Integer(required=True)
    liked_by_me = fields.Boolean(required=True)
    created_at = LocalDateTime(required=True)


class GrowthCreatedOut(Schema):
    record = fields.Nested(GrowthRecordOut, required=True)
    awarded = fields.Integer(required=True)


class GrowthPage(Schema):
    items = fields.List(fields.Nested(GrowthRecordOut), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class GrowthQuery(PageQuery):
    student_id = query_id(required=True)


class DeletedOut(Schema):
    id = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)


class LikeOut(Schema):
    liked = fields.Boolean(required=True)
    like_count = fields.Integer(required=True)
    awarded = fields.Integer(required=True)


class ShareOut(Schema):
    awarded = fields.Integer(required=True)


# ---------------------------------------------------------------- teacher


class ClassStudentOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    balance = fields.Integer(required=True)
    lifetime_points = fields.Integer(required=True)


class TeacherClassOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    students = fields.List(fields.Nested(ClassStudentOut), required=True)


class TeacherClassesOut(Schema):
    items = fields.List(fields.Nested(TeacherClassOut), required=True)


class BehaviorOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    points = fields.Integer(required=True)


class BehaviorsOut(Schema):
    behaviors = fields.List(fields.Nested(BehaviorOut), required=True)
    max_custom_points = fields.Integer(required=True)
    daily_budget = fields.Integer(required=True)
    used_today = fields.Integer(required=True)


class EvaluationIn(In):
    student_ids = List(id_field(), required=True, validate=length(1, 200))
    behavior_id = id_field(load_default=None)
    points = Int(load_default=None, validate=int_range(1, 1000))
    comment = Str(load_default="", validate=length(high=200))

    @validates_schema
    def _behavior_or_points(self, data, **kwargs):
        if (data.get("behavior_id") is None) == (data.get("points") is None):
            raise ValidationError("behavior_id 和 points 必须且只能提供一个", field_name="behavior_id")


class AwardOut(Schema):
    student_id = fields.Integer(required=True)
    points = fields.Integer(required=True)
    balance = fields.Integer(required=True)


class EvaluationOut(Schema):
    awarded = fields.List(fields.Nested(AwardOut), required=True)
    total_points = fields.Integer(required=True)


class PickupIn(In):
    pickup_code = Str(required=True, validate=length(1, 32))


class TeacherRedemptionQuery(PageQuery):
    status = Str(load_default="pending", validate=one_of(["pending", "issued", "cancelled"]))


class PingOut(Schema):
    status = fields.String(required=True)
    now = LocalDateTime(required=True)
