"""Admin accounts: hashed passwords, super or campus scope, the password rule, and ending every
session of an admin at once (the session generation their tokens carry, people/tokens.py)."""

from functools import cache

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from school_points.models import Admin, Campus
from school_points.platform.errors import DomainError, ValidationFailed
from school_points.platform.extensions import db
from school_points.school.scoping import MAX_ID

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
ROLES = ("super", "campus")


class UsernameTaken(DomainError):
    code, message = "username_taken", "用户名已存在"


def _hash_method():
    """werkzeug's method for new hashes: scrypt, unless a test app chose a cheap one (config.py)."""
    return current_app.config["PASSWORD_HASH_METHOD"]


@cache
def _dummy_hash(method):
    """A fixed hash to compare against when the username is unknown, so timing does not reveal it
    (made with the method real hashes are made with, so it costs the same to check)."""
    return generate_password_hash("not-a-real-password", method=method)


def password_problem(password, username) -> str | None:
    """Why `password` may not be the password of `username` (in Chinese, for the person typing
    it), or None: at least 10 and at most 128 characters, and not the username itself."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 个字符"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"密码不能超过 {MAX_PASSWORD_LENGTH} 个字符"
    if password.strip().casefold() == (username or "").strip().casefold():
        return "密码不能与用户名相同"
    return None


def check_password_rule(password, username, *, field="password") -> None:
    """Raise a 422-kind ValidationFailed naming `field` when the password breaks the rule."""
    problem = password_problem(password, username)
    if problem is not None:
        raise ValidationFailed(problem, details={field: [problem]})


def hash_password(password) -> str:
    """The stored form of a password."""
    return generate_password_hash(password, method=_hash_method())


def password_matches(admin, password) -> bool:
    """Whether `password` is the admin's current password."""
    return check_password_hash(admin.password_hash, password or "")


def check_role(role, campus_id) -> None:
    """A campus admin names its campus (which must exist); a super admin names none."""
    if role not in ROLES:
        raise ValidationFailed(details={"role": ["必须是 super 或 campus"]})
    if role == "campus" and campus_id is None:
        raise ValidationFailed("校区管理员必须指定校区", details={"campus_id": ["校区管理员必须指定校区"]})
    if role == "super" and campus_id is not None:
        raise ValidationFailed("总管理员不属于任何校区", details={"campus_id": ["总管理员不能指定校区"]})
    if campus_id is not None and (not 0 < campus_id <= MAX_ID or db.session.get(Campus, campus_id) is None):
        raise ValidationFailed("校区不存在", details={"campus_id": ["校区不存在"]})


def check_username(username) -> str:
    """The username, stripped; 1..64 characters and not taken (409 `username_taken`)."""
    username = (username or "").strip() if isinstance(username, str) else ""
    if not username or len(username) > 64:
        raise ValidationFailed("用户名不能为空且不超过 64 个字符", details={"username": ["长度必须在 1 到 64 之间"]})
    if db.session.scalars(select(Admin.id).where(Admin.username == username)).first() is not None:
        raise UsernameTaken(details={"username": username})
    return username


def create_admin(username, password, *, campus_id=None, role=None, active=True) -> Admin:
    """Create an admin; with a campus id it is a campus admin confined to that campus (`role`,
    when given, must agree). The password rule applies (`password_problem`)."""
    username = check_username(username)
    check_password_rule(password, username)
    role = role or ("campus" if campus_id is not None else "super")
    check_role(role, campus_id)
    admin = Admin(
        username=username,
        password_hash=hash_password(password),
        role=role,
        campus_id=campus_id,
        active=active,
        session_generation=0,
    )
    try:
        with db.session.begin_nested():  # a concurrent twin fails on the unique index, not with a 500
            db.session.add(admin)
    except IntegrityError:
        raise UsernameTaken(details={"username": username}) from None
    return admin


def end_sessions(admin) -> None:
    """End every token the admin holds, in every process, from the caller's commit on: their
    tokens carry the old session generation, which the admin guard then refuses."""
    admin.session_generation = (admin.session_generation or 0) + 1


def session_is_current(admin, generation) -> bool:
    """Whether a session issued at `generation` still belongs to this (active) admin."""
    return admin is not None and admin.active and generation == (admin.session_generation or 0)


def authenticate(username, password) -> Admin | None:
    """The active admin with these credentials, or None."""
    admin = db.session.scalars(select(Admin).where(Admin.username == (username or ""))).first()
    if admin is None:
        check_password_hash(_dummy_hash(_hash_method()), password or "")
        return None
    if not admin.active or not check_password_hash(admin.password_hash, password or ""):
        return None
    return admin
