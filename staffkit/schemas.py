"""marshmallow schemas the staff adapters share (the admin API and the console): what comes in
(strict, Chinese errors) and what goes out."""

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from school_points.accounts.levels import level_view
from school_points.models import ORDER_STATUSES
from school_points.platform.clock import isoformat, local_today
from school_points.school.settings import NOTIFICATION_FIELD_DEFAULTS
from webkit.fields import (
    Bool,
    Date,
    Dict,
    Int,
    List,
    Nested,
    PageQuery,
    Str,
    StrictSchema,
    id_field,
    id_list,
    int_range,
    length,
    one_of,
    optional,
    page_of,
    query_id,
)

POINTS_MAX = 1_000_000
URL = validate.Regexp(r"^(https?://\S+|/\S*)?$", error="必须是 http(s):// 地址或以 / 开头的路径")

# ------------------------------------------------------------------ settings (docs/PRODUCT.md)

VALUE_NAMES = ("student", "goods", "points", "balance", "time", "status", "remark", "level")
TEMPLATE_KEYWORD = validate.Regexp(r"^[a-z_]{1,32}[0-9]{1,2}$", error="必须是模板关键词名，如 thing1、number3")


def unique_ids(items):
    ids = [item["id"] for item in items]
    if len(ids) != len(set(ids)):
        raise ValidationError("行为 id 不能重复")


class BehaviorIn(StrictSchema):
    id = id_field(required=True)
    name = Str(required=True, validate=length(1, 32))
    points = Int(required=True, validate=int_range(1, 1000))


class EvaluationSettings(StrictSchema):
    behaviors = List(Nested(BehaviorIn), validate=[length(0, 50), unique_ids])
    max_custom_points = Int(validate=int_range(0, 1000))
    teacher_daily_budget = Int(validate=int_range(0, 100_000))


class CheckinSettings(StrictSchema):
    points = Int(validate=int_range(0, 1000))
    daily_count = Int(validate=int_range(0, 20))


class LikeSettings(StrictSchema):
    points = Int(validate=int_range(0, 100))
    daily_cap = Int(validate=int_range(0, 10_000))


class ShareSettings(StrictSchema):
    points = Int(validate=int_range(0, 100))
    daily_cap = Int(validate=int_range(0, 100))


class ReferralSettings(StrictSchema):
    referrer_points = Int(validate=int_range(0, 100_000))
    welcome_points = Int(validate=int_range(0, 100_000))


class SigninSettings(StrictSchema):
    streak_points = List(Int(validate=int_range(0, 1000)), validate=length(1, 31))


class BirthdaySettings(StrictSchema):
    points = Int(validate=int_range(0, 100_000))
    # Check-in, sign-in, like and share awards doubled on the student's birthday (a birthday_bonus entry).
    double_on_birthday = Bool()


class ExpirySettings(StrictSchema):
    policy = Str(validate=one_of(("none", "rolling", "year_end")))
    months = Int(validate=int_range(1, 120))
    remind_days = Int(validate=int_range(0, 365))


class MallSettings(StrictSchema):
    open = Bool()
    poster_url = Str(validate=[length(0, 512), URL])
    notice = Str(validate=length(0, 500))


class NotificationSettings(StrictSchema):
    enabled = Bool()
    template_id = Str(validate=length(0, 128))
    # `fields` would shadow Schema.fields, hence the attribute name.
    field_map = Dict(
        keys=Str(validate=one_of(VALUE_NAMES)),
        values=Str(validate=[length(0, 35), TEMPLATE_KEYWORD]),
        data_key="fields",
        attribute="fields",
    )


NotificationsSettings = StrictSchema.from_dict(
    {kind: Nested(NotificationSettings) for kind in NOTIFICATION_FIELD_DEFAULTS}, name="NotificationsSettings"
)


class PrivacySettings(StrictSchema):
    # Erase students archived longer than this many days; 0 = never, at most ten years.
    erase_archived_after_days = Int(validate=int_range(0, 3650))


# ------------------------------------------------------------------ member levels (docs/PRODUCT.md)

MAX_LEVELS = 10
LEVEL_KEYS = tuple(str(level) for level in range(1, MAX_LEVELS + 1))


class TierIn(StrictSchema):
    level = Int(required=True, validate=int_range(1, MAX_LEVELS))
    name = Str(required=True, validate=length(1, 16))
    min_lifetime = Int(required=True, validate=int_range(0, 100_000_000))


def valid_tiers(tiers):
    """2 to 10 tiers, levels 1..n in order, min_lifetime 0 first and strictly increasing, names distinct."""
    if not 2 <= len(tiers) <= MAX_LEVELS:
        raise ValidationError(f"等级数量必须在 2 到 {MAX_LEVELS} 之间")
    if [tier["level"] for tier in tiers] != list(range(1, len(tiers) + 1)):
        raise ValidationError("等级必须从 1 开始依次编号（1、2、3……）")
    if tiers[0]["min_lifetime"] != 0:
        raise ValidationError("第 1 级的累计积分门槛必须是 0")
    if any(low["min_lifetime"] >= high["min_lifetime"] for low, high in zip(tiers, tiers[1:], strict=False)):
        raise ValidationError("累计积分门槛必须逐级递增")
    if len({tier["name"] for tier in tiers}) != len(tiers):
        raise ValidationError("等级名称不能重复")


class LevelsSettings(StrictSchema):
    enabled = Bool()
    tiers = List(Nested(TierIn), validate=valid_tiers)
    # Percent added to check-in, sign-in, like and share awards by level ("1".."10"; a level not
    # listed gets 0, a key without a tier is ignored).
    earn_bonus_pct = Dict(keys=Str(validate=one_of(LEVEL_KEYS)), values=Int(validate=int_range(0, 100)))


class SettingsIn(StrictSchema):
    """The settings document; every key optional (a PATCH), every value checked."""

    point_value_fen = Int(validate=int_range(1, 10_000))
    evaluation = Nested(EvaluationSettings)
    checkin = Nested(CheckinSettings)
    like = Nested(LikeSettings)
    share = Nested(ShareSettings)
    referral = Nested(ReferralSettings)
    signin = Nested(SigninSettings)
    birthday = Nested(BirthdaySettings)
    expiry = Nested(ExpirySettings)
    mall = Nested(MallSettings)
    notifications = Nested(NotificationsSettings)
    privacy = Nested(PrivacySettings)
    levels = Nested(LevelsSettings)


# ------------------------------------------------------------------ request bodies


class LoginIn(StrictSchema):
    username = Str(required=True, validate=length(1, 64))
    password = Str(required=True, strip=False, validate=length(1, 128))


class CampusIn(StrictSchema):
    name = Str(required=True, validate=length(1, 64))


class ClassIn(StrictSchema):
    name = Str(required=True, validate=length(1, 64))
    campus_id = id_field()
    teacher_ids = id_list()
    student_ids = id_list()


def not_in_future(day):
    if not date(1900, 1, 1) <= day <= local_today():
        raise ValidationError("必须在 1900-01-01 到今天之间")


class StudentIn(StrictSchema):
    name = Str(required=True, validate=length(1, 64))
    campus_id = id_field()
    class_ids = id_list()
    birthday = Date(allow_none=True, validate=not_in_future)
    # 学号: the school's own number; unique (a duplicate → 409 student_no_taken), null clears it
    student_no = Str(allow_none=True, validate=[length(1, 32), validate.Regexp(r"^\S+$", error="不能包含空格")])


class StudentChange(StudentIn):
    status = Str(validate=one_of(("active", "archived")))


StudentPatch = optional(StudentChange, "StudentPatch")


class AdjustmentIn(StrictSchema):
    delta = Int(required=True, validate=int_range(-POINTS_MAX, POINTS_MAX))
    reason = Str(required=True, validate=length(1, 255))

    @validates_schema
    def _not_zero(self, data, **kwargs):
        if data["delta"] == 0:
            raise ValidationError("不能为 0", "delta")


class TeacherIn(StrictSchema):
    name = Str(required=True, validate=length(1, 64))
    campus_id = id_field()
    class_ids = id_list()


class TeacherChange(TeacherIn):
    active = Bool()


TeacherPatch = optional(TeacherChange, "TeacherPatch")


class GoodsIn(StrictSchema):
    name = Str(required=True, validate=length(1, 64))
    description = Str(validate=length(0, 2000))
    image_url = Str(validate=[length(0, 512), URL])
    points = Int(required=True, validate=int_range(1, POINTS_MAX))
    stock = Int(validate=int_range(0, POINTS_MAX))
    limit_per_student = Int(allow_none=True, validate=int_range(1, 10_000))
    campus_id = id_field(allow_none=True)
    on_shelf = Bool()
    sort = Int(validate=int_range(-POINTS_MAX, POINTS_MAX))
    verify_code = Str(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9]{4,32}$", error="必须是 4 到 32 位字母或数字")
    )
    # The member level a student needs to redeem (null: everyone); enforced while levels are on.
    min_level = Int(allow_none=True, validate=int_range(1, MAX_LEVELS))


ClassPatch = optional(ClassIn, "ClassPatch")
GoodsPatch = optional(GoodsIn, "GoodsPatch")


class EmptyIn(StrictSchema):
    """A body with nothing to say: empty or {}."""


class CancelIn(StrictSchema):
    reason = Str(load_default="", validate=length(0, 255))


# ------------------------------------------------------------------ query strings


class StudentQuery(PageQuery):
    q = Str(validate=length(0, 64))
    campus_id = query_id()
    class_id = query_id()
    status = Str(validate=one_of(("active", "archived", "erased")))


class CampusFilter(PageQuery):
    campus_id = query_id()


class GoodsQuery(CampusFilter):
    on_shelf = Str(validate=one_of(("true", "false")))


class RedemptionQuery(PageQuery):
    status = Str(validate=one_of(ORDER_STATUSES))
    campus_id = query_id()
    student_id = query_id()
    goods_id = query_id()


def report_day(day):
    if not date(2000, 1, 1) <= day <= date(2099, 12, 31):
        raise ValidationError("必须在 2000-01-01 到 2099-12-31 之间")


class ReportQuery(StrictSchema):
    from_ = Date(data_key="from", validate=report_day)
    to = Date(validate=report_day)
    campus_id = query_id()

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "from_" in data and "to" in data:
            if data["from_"] > data["to"]:
                raise ValidationError("开始日期不能晚于结束日期", "from")
            if (data["to"] - data["from_"]).days > 3660:
                raise ValidationError("时间范围不能超过 10 年", "from")


class AuditQuery(PageQuery):
    action = Str(validate=length(1, 48))
    target_type = Str(validate=length(1, 24))
    target_id = Str(validate=length(1, 64))
    # Who (the console's 操作日志 filters; the API takes them too) and when (school-local days).
    actor_type = Str(validate=one_of(("admin", "teacher", "user", "system")))
    actor_id = query_id()
    from_ = Date(data_key="from", validate=report_day)
    to = Date(validate=report_day)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "from_" in data and "to" in data and data["from_"] > data["to"]:
            raise ValidationError("开始日期不能晚于结束日期", "from")


# ------------------------------------------------------------------ responses


def when(attr):
    """An aware datetime attribute as ISO 8601 with the school's offset."""
    return fields.Function(lambda obj: isoformat(getattr(obj, attr)))


class AdminOut(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    campus_id = fields.Integer(allow_none=True)


class CampusOut(Schema):
    id = fields.Integer()
    name = fields.String()
    created_at = when("created_at")


class ClassOut(Schema):
    id = fields.Integer()
    name = fields.String()
    campus_id = fields.Integer()
    teacher_ids = fields.Function(lambda c: [t.id for t in c.teachers])
    student_ids = fields.Function(lambda c: [s.id for s in c.students])
    created_at = when("created_at")


class StudentOut(Schema):
    id = fields.Integer()
    name = fields.String()
    student_no = fields.String(allow_none=True)
    campus_id = fields.Integer()
    class_ids = fields.Function(lambda s: [c.id for c in s.classes])
    birthday = fields.Date(allow_none=True)
    status = fields.String()
    balance = fields.Function(lambda s: s.account.balance if s.account else 0)
    lifetime_points = fields.Function(lambda s: s.account.lifetime if s.account else 0)
    created_at = when("created_at")


class LevelNextOut(Schema):
    level = fields.Integer()
    name = fields.String()
    min_lifetime = fields.Integer()
    points_to_go = fields.Integer()


class LevelOut(Schema):
    level = fields.Integer()
    name = fields.String()
    next = fields.Nested(LevelNextOut, allow_none=True)


class _StudentLevel(fields.Nested):
    """A student's level, read from the account's lifetime points (documented as LevelOut)."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return level_view(obj.account.lifetime if obj.account else 0)


class StudentDetailOut(StudentOut):
    bind_code = fields.String(allow_none=True)
    # Member level from lifetime points and the tiers now; null while levels are switched off.
    level = _StudentLevel(LevelOut, allow_none=True, metadata={"description": "会员等级；未开启等级时为 null"})


class LedgerEntryOut(Schema):
    id = fields.Integer()
    delta = fields.Integer()
    balance_after = fields.Integer()
    kind = fields.String()
    note = fields.String()
    ref_type = fields.String(allow_none=True)
    ref_id = fields.String(allow_none=True)
    actor_type = fields.String(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    created_at = when("created_at")


class TeacherOut(Schema):
    id = fields.Integer()
    name = fields.String()
    campus_id = fields.Integer()
    class_ids = fields.Function(lambda t: [c.id for c in t.classes])
    active = fields.Boolean()
    bound = fields.Function(lambda t: t.user_id is not None)
    # Shown until a WeChat user accepts it, so the admin can pass it on again.
    invite_code = fields.String(allow_none=True)
    created_at = when("created_at")


class GoodsOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    image_url = fields.String()
    points = fields.Integer()
    stock = fields.Integer()
    stock_received = fields.Integer()
    limit_per_student = fields.Integer(allow_none=True)
    campus_id = fields.Integer(allow_none=True)
    on_shelf = fields.Boolean()
    sort = fields.Integer()
    verify_code = fields.String()
    min_level = fields.Integer(allow_none=True)
    created_at = when("created_at")
    updated_at = when("updated_at")


class RedemptionOut(Schema):
    id = fields.Integer()
    student = fields.Function(lambda o: {"id": o.student_id, "name": o.student.name})
    campus_id = fields.Integer()
    goods_id = fields.Integer()
    goods_name = fields.String()
    quantity = fields.Integer()
    points_each = fields.Integer()
    total_points = fields.Integer()
    status = fields.String()
    created_at = when("created_at")
    issued_at = when("issued_at")
    issue_method = fields.String(allow_none=True)
    issued_by = fields.Function(lambda o: _who(o.issued_by_type, o.issued_by_id))
    cancelled_at = when("cancelled_at")
    cancelled_by = fields.Function(lambda o: _who(o.cancelled_by_type, o.cancelled_by_id))
    cancel_reason = fields.String()


class AuditLogOut(Schema):
    id = fields.Integer()
    actor = fields.Function(lambda a: _who(a.actor_type, a.actor_id))
    action = fields.String()
    target_type = fields.String()
    target_id = fields.String()
    campus_id = fields.Integer(allow_none=True)
    changes = fields.Raw()
    client_address = fields.String(allow_none=True)
    created_at = when("created_at")


def _who(kind, row_id):
    return None if kind is None else {"type": kind, "id": row_id}


class LoginOut(Schema):
    token = fields.String(required=True)
    expires_in = fields.Integer(required=True, metadata={"description": "seconds"})
    admin = fields.Nested(AdminOut, required=True)


class BindCodeOut(Schema):
    student_id = fields.Integer(required=True)
    bind_code = fields.String(required=True)


class AdjustmentOut(Schema):
    entry = fields.Nested(LedgerEntryOut, required=True)
    balance = fields.Integer(required=True)


class DeletedOut(Schema):
    id = fields.Integer(required=True)
    deleted = fields.Boolean(required=True)


# Documents that are objects of their own shape (docs/ADMIN_API.md: settings, summary).
OBJECT = {"type": "object"}

CampusPage = page_of(CampusOut, "CampusPage")
ClassPage = page_of(ClassOut, "ClassPage")
StudentPage = page_of(StudentOut, "StudentPage")
LedgerEntryPage = page_of(LedgerEntryOut, "LedgerEntryPage")
TeacherPage = page_of(TeacherOut, "TeacherPage")
GoodsPage = page_of(GoodsOut, "GoodsPage")
RedemptionPage = page_of(RedemptionOut, "RedemptionPage")
AuditLogPage = page_of(AuditLogOut, "AuditLogPage")


# ------------------------------------------------------------------ families' data (docs/FAMILY_DATA.md)


class FamilyExportQuery(StrictSchema):
    format = Str(load_default="json", validate=one_of(("json", "xlsx")))


class EraseIn(StrictSchema):
    confirm = Str(required=True, validate=length(1, 64))


# ------------------------------------------------------------------ printable sheets (admin/sheets.py)


class InviteSheetQuery(StrictSchema):
    campus_id = query_id()


# ------------------------------------------------------------------ the console's order desk (console/redemptions.py)


class RedemptionDeskQuery(RedemptionQuery):
    """The order list's filters, the order's school-local day range and a pickup code to look up."""

    from_ = Date(data_key="from", validate=report_day)
    to = Date(validate=report_day)
    code = Str(validate=length(0, 32))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "from_" in data and "to" in data and data["from_"] > data["to"]:
            raise ValidationError("开始日期不能晚于结束日期", "from")


class CancelWithReasonIn(StrictSchema):
    """Cancelling at the desk: the same reason as the API's, but staff must write one."""

    reason = Str(required=True, validate=length(1, 255))
