"""The audit log: who changed points, goods, orders or settings, and from which address."""

from flask import g, has_app_context

from school_points.models import AuditLog
from school_points.platform.extensions import db


def record(actor, action, target_type="", target_id="", *, campus_id=None, changes=None) -> None:
    """Add an audit entry in the caller's transaction; `actor` is an Actor."""
    db.session.add(
        AuditLog(
            actor_type=actor.type,
            actor_id=actor.id,
            action=action,
            target_type=target_type,
            target_id=str(target_id or ""),
            campus_id=campus_id,
            changes=changes or {},
            client_address=client_address(),
        )
    )


def client_address() -> str | None:
    """The address the HTTP adapter put in `g.client_address` for this request (the one the
    outermost trusted proxy saw), or None for jobs and commands."""
    return g.get("client_address") if has_app_context() else None
