"""WeChat users and the guardians who bind them to students."""

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db


class WechatUser(db.Model):
    """One person, known by mini-program openid, official-account openid and/or unionid."""

    __tablename__ = "wechat_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    mp_openid = mapped_column(db.String(64), unique=True, nullable=True)
    oa_openid = mapped_column(db.String(64), unique=True, nullable=True)
    unionid = mapped_column(db.String(64), unique=True, nullable=True)
    nickname: Mapped[str] = mapped_column(db.String(64), default="")
    referral_code: Mapped[str] = mapped_column(db.String(16), unique=True)
    default_student_id = mapped_column(ForeignKey("student.id", ondelete="SET NULL"), nullable=True)
    oa_subscribed: Mapped[bool] = mapped_column(default=False)
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)

    guardianships = relationship("Guardian", back_populates="user", order_by="Guardian.id")
    teacher = relationship("Teacher", uselist=False, back_populates="user")


class Guardian(db.Model):
    """A WeChat user bound to a student, with a relation (妈妈, 爸爸, ...)."""

    __tablename__ = "guardian"
    __table_args__ = (UniqueConstraint("user_id", "student_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_user.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(db.String(16), default="家长")
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)

    user = relationship("WechatUser", back_populates="guardianships")
    student = relationship("Student")


class AccountLink(db.Model):
    """A one-time `link_<token>` QR scene that joins an official-account openid to a mini-program user."""

    __tablename__ = "account_link"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(db.String(48), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("wechat_user.id", ondelete="CASCADE"), index=True)
    expires_at = mapped_column(AwareDateTime, nullable=False)
    consumed_at = mapped_column(AwareDateTime, nullable=True)
    consumed_oa_openid = mapped_column(db.String(64), nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)
