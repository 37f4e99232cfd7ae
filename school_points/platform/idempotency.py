"""The stored first result of a creating POST under an Idempotency-Key (docs/MINIPROGRAM_API.md).

A table of the HTTP plumbing rather than of the domain: webkit.idempotency reads and writes it,
and webkit may import nothing of school_points but platform. school_points.models re-exports it,
so Alembic and the tests still see every table in one place.
"""

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from school_points.platform.columns import AwareDateTime, now_default
from school_points.platform.extensions import db


class IdempotencyRecord(db.Model):
    """The first result of a creating POST under an Idempotency-Key, replayed on repeats."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("scope", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(db.String(64))
    key: Mapped[str] = mapped_column(db.String(200))
    request_hash: Mapped[str] = mapped_column(db.String(64))
    status_code = mapped_column(db.Integer, nullable=True)
    response = mapped_column(db.JSON, nullable=True)
    created_at = mapped_column(AwareDateTime, default=now_default, nullable=False, index=True)
