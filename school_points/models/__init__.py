"""All models, importable from one place (Alembic autogenerate sees them through here)."""

from school_points.models.auth import RevokedToken
from school_points.models.mall import ORDER_STATUSES, Goods, Redemption
from school_points.models.media import Upload
from school_points.models.ops import NOTIFICATION_KINDS, AuditLog, Notification, ProcessedWechatMessage
from school_points.models.org import (
    Admin,
    Campus,
    SchoolClass,
    SchoolSetting,
    Student,
    Teacher,
    class_student,
    class_teacher,
)
from school_points.models.people import AccountLink, Guardian, WechatUser
from school_points.models.points import LedgerEntry, LotUse, PointsAccount, PointsLot, Signin
from school_points.models.reporting import ReportDay, ReportDayTotal
from school_points.models.social import GrowthRecord, Like, Referral, Share
from school_points.models.wechat_qr import OaSceneQr
from school_points.platform.idempotency import IdempotencyRecord

__all__ = [
    "AccountLink",
    "Admin",
    "AuditLog",
    "Campus",
    "Goods",
    "GrowthRecord",
    "Guardian",
    "IdempotencyRecord",
    "LedgerEntry",
    "Like",
    "LotUse",
    "NOTIFICATION_KINDS",
    "Notification",
    "OaSceneQr",
    "ORDER_STATUSES",
    "PointsAccount",
    "PointsLot",
    "ProcessedWechatMessage",
    "Redemption",
    "Referral",
    "ReportDay",
    "ReportDayTotal",
    "RevokedToken",
    "SchoolClass",
    "SchoolSetting",
    "Share",
    "Signin",
    "Student",
    "Teacher",
    "Upload",
    "WechatUser",
    "class_student",
    "class_teacher",
]
