"""Helpers for the admin API tests: a staff member's client, DB fingerprints, a query counter."""

from sqlalchemy import event, func, select

from school_points.models import AuditLog, LedgerEntry, PointsAccount
from school_points.platform.extensions import db

PASSWORD = "correct-horse-9"


class AdminApi:
    """The admin API as a member of staff uses it: JSON in, JSON out, bearer token attached."""

    prefix = "/api/admin/v1"

    def __init__(self, client, token=None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        merged = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        merged.update(headers or {})
        return merged

    def get(self, path, **params):
        return self.client.get(self.prefix + path, query_string=params, headers=self._headers(None))

    def post(self, path, json=None, headers=None, **kwargs):
        return self.client.post(self.prefix + path, json=json, headers=self._headers(headers), **kwargs)

    def patch(self, path, json=None, headers=None, **kwargs):
        return self.client.patch(self.prefix + path, json=json, headers=self._headers(headers), **kwargs)

    def delete(self, path, headers=None):
        return self.client.delete(self.prefix + path, headers=self._headers(headers))


def db_state():
    """A fingerprint of everything points- and audit-related, to assert a refusal changed nothing."""
    db.session.expire_all()
    return (
        db.session.scalar(select(func.count()).select_from(LedgerEntry)),
        db.session.scalar(select(func.coalesce(func.sum(PointsAccount.balance), 0))),
        db.session.scalar(select(func.count()).select_from(AuditLog)),
    )


class QueryCounter:
    """Counts SQL statements sent to the database while active."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0

    def _count(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)
