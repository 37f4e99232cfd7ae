"""Managing admin accounts: super admins list, create and change them; every admin changes their
own password (docs/ADMIN_API.md, "Admin accounts").

Audited without the password (an entry says `password_changed: true`). Disabling an admin, or
giving them a new password, role or campus, ends all their sessions at once (`admins.end_sessions`).
At least one active super admin always remains: a change that would leave none is refused with
409 `last_super_admin`.
"""

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from school_points.models import Admin
from school_points.people.admins import (
    UsernameTaken,
    check_password_rule,
    check_role,
    check_username,
    create_admin,
    end_sessions,
    hash_password,
    password_matches,
)
from school_points.platform.errors import DomainError, ValidationFailed
from school_points.platform.extensions import db
from school_points.school import audit
from school_points.school.scoping import get_in_scope, require_super

ONLY_SUPER = "只有总管理员可以管理管理员账号"


class LastSuperAdmin(DomainError):
    code, message = "last_super_admin", "至少要保留一个启用的总管理员"


class WrongPassword(ValidationFailed):
    code, message = "wrong_password", "原密码不正确"


def list_admins_query(scope) -> Select:
    """Every admin account, for keyset pagination; super admins only."""
    require_super(scope, ONLY_SUPER)
    return select(Admin)


def get_admin(admin_id, scope) -> Admin:
    """One admin account; super admins only (403), an unknown id is 404 `admin_not_found`."""
    require_super(scope, ONLY_SUPER)
    return get_in_scope(Admin, admin_id, scope, message="管理员不存在", code="admin_not_found")


def create(data, *, scope, actor) -> Admin:
    """A new admin account from `{username, password, role, campus_id?, active?}`."""
    require_super(scope, ONLY_SUPER)
    admin = create_admin(
        data["username"],
        data["password"],
        campus_id=data.get("campus_id"),
        role=data["role"],
        active=data.get("active", True),
    )
    audit.record(actor, "admin.create", "admin", admin.id, changes=snapshot(admin))
    return admin


def update(admin_id, data, *, scope, actor) -> Admin:
    """Change any of username, password, role, campus_id, active; ends the admin's sessions when
    the password, role or campus changes or the account is disabled."""
    admin = get_admin(admin_id, scope)
    supers = _lock_super_admins_and(admin.id)  # one fixed order: two supers disabling each other serialise
    before = snapshot(admin)
    username = admin.username
    if "username" in data and data["username"] != admin.username:
        username = check_username(data["username"])
    role = data.get("role", admin.role)
    # Demoted to a campus admin: the body names the campus; promoted to super: no campus.
    campus_id = data.get("campus_id", admin.campus_id if role == "campus" else None)
    check_role(role, campus_id)
    if "password" in data:
        check_password_rule(data["password"], username)
    active = data.get("active", admin.active)
    stays_super = active and role == "super"
    others = [other for other in supers if other.id != admin.id and other.active and other.role == "super"]
    if admin.active and admin.role == "super" and not stays_super and not others:
        raise LastSuperAdmin()
    ends_sessions = "password" in data or role != admin.role or campus_id != admin.campus_id or not active
    admin.username, admin.role, admin.campus_id, admin.active = username, role, campus_id, active
    if "password" in data:
        admin.password_hash = hash_password(data["password"])
    if ends_sessions:
        end_sessions(admin)
    try:
        with db.session.begin_nested():  # a concurrent rename to the same username loses here
            db.session.flush()
    except IntegrityError:
        raise UsernameTaken(details={"username": username}) from None
    changes = {"old": before, "new": snapshot(admin), "sessions_ended": ends_sessions}
    if "password" in data:
        changes["password_changed"] = True
    audit.record(actor, "admin.update", "admin", admin.id, changes=changes)
    return admin


def change_own_password(admin, old_password, new_password, *, actor) -> Admin:
    """Replace the admin's own password, knowing the old one; every session of the admin ends,
    the current one included (the caller hands out a new token).

    The new password is checked first, so only a wrong old password raises WrongPassword (what
    the adapter counts towards its rate limit)."""
    admin = _locked(admin.id)
    check_password_rule(new_password, admin.username, field="new_password")
    if not password_matches(admin, old_password):
        raise WrongPassword(details={"old_password": ["原密码不正确"]})
    if password_matches(admin, new_password):
        raise ValidationFailed("新密码不能与原密码相同", details={"new_password": ["新密码不能与原密码相同"]})
    admin.password_hash = hash_password(new_password)
    end_sessions(admin)
    db.session.flush()
    audit.record(actor, "admin.password", "admin", admin.id, changes={"password_changed": True, "sessions_ended": True})
    return admin


def snapshot(admin) -> dict:
    """What the audit log keeps of an account: never the password or its hash."""
    return {"username": admin.username, "role": admin.role, "campus_id": admin.campus_id, "active": admin.active}


def _locked(admin_id):
    query = select(Admin).where(Admin.id == admin_id).with_for_update()
    return db.session.scalars(query.execution_options(populate_existing=True)).one()


def _lock_super_admins_and(admin_id):
    """Every super admin and the admin being changed, locked in id order and read afresh."""
    query = (
        select(Admin)
        .where((Admin.role == "super") | (Admin.id == admin_id))
        .order_by(Admin.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(db.session.scalars(query))
