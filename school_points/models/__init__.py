"""All models, importable from one place (Alembic autogenerate sees them through here)."""
from .auth import RevokedToken
from .mall import ORDER_STATUSES, Goods, Redemption
from .media import Upload
from .ops import NOTIFICATION_KINDS, AuditLog, IdempotencyRecord, Notification, ProcessedWechatMessage
from .org import Admin, Campus, SchoolClass, SchoolSetting, Student, Teacher, class_student, class_teacher
from .people import AccountLink, Guardian, WechatUser
from .points import LedgerEntry, LotUse, PointsAccount, PointsLot, Signin
from .social import GrowthRecord, Like, Referral, Share

__all__ = [
    "AccountLink", "Admin", "AuditLog", "Campus", "Goods", "GrowthRecord", "Guardian", "IdempotencyRecord",
    "LedgerEntry", "Like", "LotUse", "NOTIFICATION_KINDS", "Notification", "ORDER_STATUSES",
    "PointsAccount", "PointsLot", "ProcessedWechatMessage", "Redemption", "Referral", "RevokedToken", "SchoolClass",
    "SchoolSetting", "Share", "Signin", "Student", "Teacher", "Upload", "WechatUser", "class_student",
    "class_teacher",
]
