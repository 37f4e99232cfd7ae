"""Points accounts, the immutable ledger, expiring lots and sign-ins."""

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db

BigId = BigInteger().with_variant(db.Integer, "sqlite")


class PointsAccount(db.Model):
    """A student's balance and lifetime points; only the ledger module writes it."""

    __tablename__ = "points_account"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("lifetime >= 0", name="lifetime_not_negative"),
    )
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), primary_key=True)
    balance: Mapped[int] = mapped_column(default=0)
    lifetime: Mapped[int] = mapped_column(default=0)
    # The highest member level a `level_up` notice was recorded for (0: none), raised under this
    # row's lock: the durable guard that notifies each level once (points/level_rewards.py).
    level_notified: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at = mapped_column(AwareDateTime, default=now_default, onupdate=now_default)

    student = relationship("Student", back_populates="account")


class LedgerEntry(db.Model):
    """One immutable change of a student's points (积分流水)."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        Index("ix_ledger_entry_student_id_id", "student_id", "id"),
        Index("ix_ledger_entry_student_kind_day", "student_id", "kind", "local_day"),
        Index("ix_ledger_entry_actor_kind_day", "actor_type", "actor_id", "kind", "local_day"),
        Index("ix_ledger_entry_kind_day", "kind", "local_day"),
        # Covers the reports' sums over a range of days (office/reports.py, office/daily_report.py).
        Index("ix_ledger_entry_day_kind_delta", "local_day", "kind", "delta", "student_id"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    delta: Mapped[int]
    balance_after: Mapped[int]
    kind: Mapped[str] = mapped_column(db.String(24))
    ref_type = mapped_column(db.String(24), nullable=True)
    ref_id = mapped_column(db.String(64), nullable=True)
    actor_type = mapped_column(db.String(16), nullable=True)
    actor_id = mapped_column(db.Integer, nullable=True)
    note: Mapped[str] = mapped_column(db.String(255), default="")
    idempotency_key: Mapped[str] = mapped_column(db.String(200), unique=True)
    reverses_id = mapped_column(ForeignKey("ledger_entry.id"), nullable=True)
    local_day = mapped_column(db.Date, nullable=False)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)


class PointsLot(db.Model):
    """Points earned under an expiry policy, spent oldest-expiring first."""

    __tablename__ = "points_lot"
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= points", name="remaining_in_range"),
        Index("ix_points_lot_student_expires", "student_id", "expires_at"),
        Index("ix_points_lot_expires_at", "expires_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    entry_id = mapped_column(ForeignKey("ledger_entry.id"), nullable=False)
    points: Mapped[int]
    remaining: Mapped[int]
    expires_at = mapped_column(AwareDateTime, nullable=False)
    reminded_at = mapped_column(AwareDateTime, nullable=True)

    entry = relationship("LedgerEntry")


class LotUse(db.Model):
    """How much of a lot a debit consumed, so a refund restores the same lots exactly."""

    __tablename__ = "lot_use"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id = mapped_column(ForeignKey("ledger_entry.id"), index=True, nullable=False)
    lot_id = mapped_column(ForeignKey("points_lot.id"), nullable=False)
    points: Mapped[int]

    entry = relationship("LedgerEntry")
    lot = relationship("PointsLot")


class Signin(db.Model):
    """A student's daily sign-in; one row a school-local day."""

    __tablename__ = "signin"
    __table_args__ = (UniqueConstraint("student_id", "local_day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    local_day = mapped_column(db.Date, nullable=False)
    streak: Mapped[int]
    points: Mapped[int]
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)
