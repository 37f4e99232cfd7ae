"""Operational records: notification outbox, audit log, processed WeChat messages (the
idempotency record of creating POSTs lives with the HTTP plumbing: platform/idempotency.py)."""

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db

NOTIFICATION_KINDS = ("redeemed", "issued", "cancelled", "points_awarded", "expiring", "level_up")


class Notification(db.Model):
    """A WeChat notification: stored first (outbox), then sent by a background job."""

    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_status_next", "status", "next_attempt_at"),
        Index("ix_notification_wechat_msgid", "wechat_msgid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(db.String(24))
    dedupe_key: Mapped[str] = mapped_column(db.String(200), unique=True)
    user_id = mapped_column(ForeignKey("wechat_user.id"), nullable=True, index=True)
    student_id = mapped_column(ForeignKey("student.id"), nullable=True, index=True)
    channel: Mapped[str] = mapped_column(db.String(16), default="")  # oa_template | mp_subscribe
    template_id: Mapped[str] = mapped_column(db.String(128), default="")
    values: Mapped[dict] = mapped_column(db.JSON, default=dict)
    page: Mapped[str] = mapped_column(db.String(255), default="")
    # pending -> claimed (a worker holds it, nothing sent yet) -> sending (the HTTP call may have
    # reached WeChat) -> sent | pending (retry) | failed; or skipped. See delivery.py.
    status: Mapped[str] = mapped_column(db.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error_code = mapped_column(db.Integer, nullable=True)
    last_error: Mapped[str] = mapped_column(db.String(255), default="")
    wechat_msgid = mapped_column(db.String(64), nullable=True)
    client_msg_id: Mapped[str] = mapped_column(db.String(64), default="")
    delivery_status: Mapped[str] = mapped_column(db.String(64), default="")
    next_attempt_at = mapped_column(AwareDateTime, nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)
    sent_at = mapped_column(AwareDateTime, nullable=True)
    # Who holds the claim: only the holder may move the row from claimed to sending.
    claim_token = mapped_column(db.String(32), nullable=True)
    # When the earliest send whose outcome we never learned began (WeChat's client_msg_id window).
    attempt_started_at = mapped_column(AwareDateTime, nullable=True)


class AuditLog(db.Model):
    """Who changed what: every admin or teacher action on points, goods, orders or settings."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_campus_id_id", "campus_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    actor_type: Mapped[str] = mapped_column(db.String(16))
    actor_id = mapped_column(db.Integer, nullable=True)
    action: Mapped[str] = mapped_column(db.String(48))
    target_type: Mapped[str] = mapped_column(db.String(24), default="")
    target_id: Mapped[str] = mapped_column(db.String(64), default="")
    campus_id = mapped_column(ForeignKey("campus.id"), nullable=True)
    changes: Mapped[dict] = mapped_column(db.JSON, default=dict)
    # The client address the outermost trusted proxy saw; None outside a request.
    client_address = mapped_column(db.String(45), nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)


class ProcessedWechatMessage(db.Model):
    """A WeChat callback message or event already handled (the durable side of retry dedup)."""

    __tablename__ = "processed_wechat_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(db.String(200), unique=True)
    reply: Mapped[str] = mapped_column(db.Text, default="")
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False, index=True)
    # A check-in acknowledged at once and awarded by a job: who sent what, and when the job was done
    # (NULL while the award is still owed; the sweep re-enqueues such rows).
    openid = mapped_column(db.String(64), nullable=True)
    checkin = mapped_column(db.JSON(none_as_null=True), nullable=True)
    done_at = mapped_column(AwareDateTime, nullable=True)
