"""Goods in the points mall and the redemption orders that spend points on them."""

from sqlalchemy import CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db

ORDER_STATUSES = ("pending", "issued", "cancelled")


class Goods(db.Model):
    """A gift in the points mall (积分商品)."""

    __tablename__ = "goods"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("points > 0", name="points_positive"),
        Index("ix_goods_shelf", "deleted", "on_shelf", "sort", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(64))
    description: Mapped[str] = mapped_column(db.Text, default="")
    image_url: Mapped[str] = mapped_column(db.String(512), default="")
    points: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    # Every unit ever put on sale; `points check` asserts stock == stock_received - units in live orders.
    stock_received: Mapped[int] = mapped_column(default=0)
    limit_per_student = mapped_column(db.Integer, nullable=True)
    # The member level a student needs to redeem these goods (None: everyone); docs/REDEMPTION_RULES.md.
    min_level = mapped_column(db.Integer, nullable=True)
    campus_id = mapped_column(ForeignKey("campus.id"), nullable=True, index=True)
    on_shelf: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(default=0)
    verify_code: Mapped[str] = mapped_column(db.String(32), default="")
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)
    updated_at = mapped_column(AwareDateTime, default=now_default, onupdate=now_default)


class Redemption(db.Model):
    """An order in the mall: paid in points at once, handed out later by a teacher."""

    __tablename__ = "redemption"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'issued', 'cancelled')", name="status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_redemption_student_id_id", "student_id", "id"),
        Index("ix_redemption_student_goods_status", "student_id", "goods_id", "status"),
        Index("ix_redemption_campus_status_id", "campus_id", "status", "id"),
        Index("ix_redemption_status_id", "status", "id"),
        Index("ix_redemption_goods_id", "goods_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    goods_id: Mapped[int] = mapped_column(ForeignKey("goods.id"))
    campus_id: Mapped[int] = mapped_column(ForeignKey("campus.id"))
    quantity: Mapped[int] = mapped_column(default=1)
    points_each: Mapped[int]
    total_points: Mapped[int]
    goods_name: Mapped[str] = mapped_column(db.String(64))
    goods_image_url: Mapped[str] = mapped_column(db.String(512), default="")
    status: Mapped[str] = mapped_column(db.String(16), default="pending")
    pickup_code: Mapped[str] = mapped_column(db.String(32), unique=True)
    idempotency_key: Mapped[str] = mapped_column(db.String(200), unique=True)
    created_by_type = mapped_column(db.String(16), nullable=True)
    created_by_id = mapped_column(db.Integer, nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False)
    issued_at = mapped_column(AwareDateTime, nullable=True)
    issued_by_type = mapped_column(db.String(16), nullable=True)
    issued_by_id = mapped_column(db.Integer, nullable=True)
    issue_method = mapped_column(db.String(16), nullable=True)
    cancelled_at = mapped_column(AwareDateTime, nullable=True)
    cancelled_by_type = mapped_column(db.String(16), nullable=True)
    cancelled_by_id = mapped_column(db.Integer, nullable=True)
    cancel_reason: Mapped[str] = mapped_column(db.String(255), default="")

    student = relationship("Student")
    goods = relationship("Goods")
