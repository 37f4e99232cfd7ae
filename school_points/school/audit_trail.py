"""Reading the audit log: who changed what, within an admin's campus scope."""

from sqlalchemy import Select, select

from school_points.models import AuditLog


def audit_log_query(scope, *, action=None, target_type=None, target_id=None) -> Select:
    """Audit entries the admin may see (a campus admin: its campus's), filtered."""
    query = scope.filter(select(AuditLog), AuditLog.campus_id)
    for column, value in (
        (AuditLog.action, action),
        (AuditLog.target_type, target_type),
        (AuditLog.target_id, target_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return query
