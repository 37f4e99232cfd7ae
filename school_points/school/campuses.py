"""Campuses (校区): created by super admins, listed within an admin's scope."""

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from school_points.models import Campus
from school_points.platform.errors import DomainError
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.scoping import get_in_scope, require_super


class CampusNameTaken(DomainError):
    code, message = "campus_name_taken", "已有同名校区"


def list_campuses_query(scope) -> Select:
    """Campuses the admin may see, for keyset pagination."""
    return scope.filter(select(Campus), Campus.id)


def create_campus(name, *, scope, actor) -> Campus:
    """Add a campus; super admins only, names unique."""
    require_super(scope, "只有总管理员可以新建校区")
    name = name.strip()
    if db.session.scalars(select(Campus.id).where(Campus.name == name)).first() is not None:
        raise CampusNameTaken(details={"name": name})
    campus = Campus(name=name)
    try:
        with db.session.begin_nested():  # a concurrent twin fails on the unique index, not with a 500
            db.session.add(campus)
    except IntegrityError:
        raise CampusNameTaken(details={"name": name}) from None
    audit.record(actor, "campus.create", "campus", campus.id, campus_id=campus.id, changes={"name": name})
    return campus


def update_campus(campus_id, data, *, scope, actor) -> Campus:
    """Rename a campus (`data`: {name?}); super admins only (a campus admin's own campus: 403,
    another: 404), names unique (409 `campus_name_taken`). The same name changes nothing and is
    not audited."""
    campus = get_in_scope(Campus, campus_id, scope, message="校区不存在", code="campus_not_found")
    require_super(scope, "只有总管理员可以修改校区")
    name = data.get("name", campus.name).strip()
    if name == campus.name:
        return campus
    if db.session.scalars(select(Campus.id).where(Campus.name == name, Campus.id != campus.id)).first() is not None:
        raise CampusNameTaken(details={"name": name})
    old = campus.name
    campus.name = name
    try:
        with db.session.begin_nested():  # a concurrent rename or creation to the same name loses here
            db.session.flush()
    except IntegrityError:
        raise CampusNameTaken(details={"name": name}) from None
    audit.record(actor, "campus.update", "campus", campus.id, campus_id=campus.id, changes={"old": old, "new": name})
    return campus
