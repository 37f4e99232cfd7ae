"""Uploaded images: one row per stored file (the daily quota counts them; erasure finds them)."""

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db


class Upload(db.Model):
    """An image stored under UPLOAD_DIR: who sent it (a WeChat user, or an admin for goods
    images), on which school day, how big it was."""

    __tablename__ = "upload"
    __table_args__ = (
        Index("ix_upload_user_id_local_day", "user_id", "local_day"),
        Index("ix_upload_admin_id_local_day", "admin_id", "local_day"),
        CheckConstraint("(user_id IS NULL) <> (admin_id IS NULL)", name="one_owner"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(40), unique=True)  # <32 hex>.<jpg|png|webp>
    user_id = mapped_column(ForeignKey("wechat_user.id"), nullable=True)
    admin_id = mapped_column(ForeignKey("admin.id"), nullable=True)
    source: Mapped[str] = mapped_column(db.String(8), default="mp")  # mp | oa | admin
    kind: Mapped[str] = mapped_column(db.String(8))  # jpg | png | webp, as decoded
    received_bytes: Mapped[int] = mapped_column()  # what the sender sent: the quota counts this
    stored_bytes: Mapped[int] = mapped_column()  # the re-encoded file on disk
    local_day = mapped_column(db.Date, nullable=False)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)
