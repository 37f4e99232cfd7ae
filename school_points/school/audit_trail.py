"""Reading the audit log: who changed what, within an admin's campus scope."""

from sqlalchemy import Select, select

from school_points.models import AuditLog
from school_points.platform.clock import day_end, day_start


def audit_log_query(
    scope,
    *,
    action=None,
    target_type=None,
    target_id=None,
    actor_type=None,
    actor_id=None,
    from_=None,
    to=None,
) -> Select:
    """Audit entries the admin may see (a campus admin: its campus's), filtered; `from_`/`to` are
    school-local days (inclusive)."""
    query = scope.filter(select(AuditLog), AuditLog.campus_id)
    for column, value in (
        (AuditLog.action, action),
        (AuditLog.target_type, target_type),
        (AuditLog.target_id, target_id),
        (AuditLog.actor_type, actor_type),
        (AuditLog.actor_id, actor_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if from_ is not None:
        query = query.where(AuditLog.created_at >= day_start(from_))
    if to is not None:
        query = query.where(AuditLog.created_at < day_end(to))
    return query
