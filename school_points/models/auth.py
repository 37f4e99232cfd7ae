"""Logged-out tokens: kept until the token would have expired anyway."""

from sqlalchemy.orm import Mapped, mapped_column

from school_points.platform.columns import AwareDateTime
from school_points.platform.extensions import db


class RevokedToken(db.Model):
    """The id (`jti`) of a bearer token ended by logout; looked up by primary key on every request."""

    __tablename__ = "revoked_token"
    jti: Mapped[str] = mapped_column(db.String(64), primary_key=True)
    # Pruned once past: the token's own signature time limit refuses it from then on.
    expires_at = mapped_column(AwareDateTime, nullable=False, index=True)
