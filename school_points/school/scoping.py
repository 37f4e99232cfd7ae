"""Campus scoping for admins: a campus admin sees and changes only its own campus.

Anything outside an admin's scope answers exactly like something that does not exist (NotFound),
so a campus admin cannot even learn that another campus's student or order exists.
"""

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Select

from school_points.models import Campus
from school_points.platform.errors import Forbidden, NotFound, ValidationFailed
from school_points.platform.extensions import db

M = TypeVar("M")  # a mapped model class: get_in_scope returns a row of the class it is given

# Ids beyond a 32-bit integer cannot exist; asking PostgreSQL for them would be an error, not a miss.
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Scope:
    """What an admin may reach: every campus (campus_id None) or exactly one."""

    campus_id: int | None = None

    @property
    def is_super(self) -> bool:
        return self.campus_id is None

    def allows(self, campus_id) -> bool:
        """True when a row of `campus_id` is inside this scope (None = all-campus rows)."""
        return self.is_super or campus_id == self.campus_id

    def filter(self, query, column, campus_id=None) -> Select:
        """Narrow a select to rows whose `column` is this admin's campus, and to the campus a
        `?campus_id=` filter asks for (NotFound when that campus is outside the scope)."""
        if not self.is_super:
            query = query.where(column == self.campus_id)
        if campus_id is not None:
            campus_filter_id(self, campus_id)
            query = query.where(column == campus_id)
        return query


def scope_of(admin) -> Scope:
    """The scope of an Admin row."""
    return Scope(None if admin.role == "super" else admin.campus_id)


def require_super(scope, message="只有总管理员可以执行此操作") -> None:
    """School-wide operations (settings, new campuses) belong to super admins."""
    if not scope.is_super:
        raise Forbidden(message, code="super_admin_required")


def get_in_scope(model: type[M], row_id, scope, *, message="资源不存在", code="not_found", lock=False) -> M:
    """The row with this id if it exists and is inside the scope; NotFound otherwise."""
    if not isinstance(row_id, int) or not 0 < row_id <= MAX_ID:
        raise NotFound(message, code=code)
    query = db.select(model).where(model.id == row_id)
    if lock:
        query = query.with_for_update()
    row = db.session.scalars(query).first()
    if row is None or not scope.allows(_campus_of(row)):
        raise NotFound(message, code=code)
    return row


def _campus_of(row):
    return row.id if isinstance(row, Campus) else row.campus_id


def campus_for_write(scope, campus_id, *, field="campus_id", allow_all=False) -> int | None:
    """The campus a new or edited row goes to: a campus admin's own by default, never another.

    `campus_id` comes from the request body, so an unknown or out-of-scope campus is a validation
    error naming the field. `allow_all` lets super admins pass None (goods for every campus).
    """
    if campus_id is None:
        if scope.is_super and allow_all:
            return None
        if not scope.is_super:
            return scope.campus_id
        raise ValidationFailed(details={field: ["缺少必填字段"]})
    if not scope.allows(campus_id) or not 0 < campus_id <= MAX_ID or db.session.get(Campus, campus_id) is None:
        raise ValidationFailed("校区不存在", details={field: ["校区不存在"]})
    return campus_id


def campus_filter_id(scope, campus_id) -> int | None:
    """A `?campus_id=` filter: None (no filter) or a campus inside the scope; NotFound otherwise."""
    if campus_id is None:
        return scope.campus_id
    if not scope.allows(campus_id) or not 0 < campus_id <= MAX_ID or db.session.get(Campus, campus_id) is None:
        raise NotFound("校区不存在", code="campus_not_found")
    return campus_id
