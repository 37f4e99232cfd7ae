"""Growth records (成长记录/打卡), their likes and shares, and referrals."""

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db


class GrowthRecord(db.Model):
    """A parent's post about a student's practice; the check-in that may earn points."""

    __tablename__ = "growth_record"
    __table_args__ = (Index("ix_growth_record_student_id_id", "student_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    author_user_id: Mapped[int] = mapped_column(ForeignKey("wechat_user.id"))
    content: Mapped[str] = mapped_column(db.Text, default="")
    media: Mapped[list] = mapped_column(db.JSON, default=list)
    source: Mapped[str] = mapped_column(db.String(8), default="mp")  # mp | oa
    local_day = mapped_column(db.Date, nullable=False)
    like_count: Mapped[int] = mapped_column(default=0)
    checkin_entry_id = mapped_column(ForeignKey("ledger_entry.id"), nullable=True)
    idempotency_key = mapped_column(db.String(200), unique=True, nullable=True)
    deleted_at = mapped_column(AwareDateTime, nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)

    student = relationship("Student")


class Like(db.Model):
    """One WeChat user's like of one growth record."""

    __tablename__ = "record_like"
    __table_args__ = (UniqueConstraint("record_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("growth_record.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_user.id"), index=True)
    awarded: Mapped[int] = mapped_column(default=0)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)


class Share(db.Model):
    """A guardian's share of a growth record."""

    __tablename__ = "record_share"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("growth_record.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_user.id"), index=True)
    awarded: Mapped[int] = mapped_column(default=0)
    idempotency_key = mapped_column(db.String(200), unique=True, nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)


class Referral(db.Model):
    """One referred person (老带新): counted once, rewarded when they bind a newly enrolled student."""

    __tablename__ = "referral"
    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_user_id: Mapped[int] = mapped_column(ForeignKey("wechat_user.id"), index=True)
    referred_user_id: Mapped[int] = mapped_column(ForeignKey("wechat_user.id"), unique=True)
    status: Mapped[str] = mapped_column(db.String(16), default="pending")  # pending | rewarded
    student_id = mapped_column(ForeignKey("student.id"), nullable=True)
    referrer_student_id = mapped_column(ForeignKey("student.id"), nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)
    rewarded_at = mapped_column(AwareDateTime, nullable=True)

    referrer = relationship("WechatUser", foreign_keys=[referrer_user_id])
    referred = relationship("WechatUser", foreign_keys=[referred_user_id])
