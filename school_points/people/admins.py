"""Admin accounts: hashed passwords, super or campus scope."""

from functools import cache

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from school_points.models import Admin, Campus
from school_points.platform.errors import DomainError, NotFound, ValidationFailed
from school_points.platform.extensions import db


def _hash_method():
    """werkzeug's method for new hashes: scrypt, unless a test app chose a cheap one (config.py)."""
    return current_app.config["PASSWORD_HASH_METHOD"]


@cache
def _dummy_hash(method):
    """A fixed hash to compare against when the username is unknown, so timing does not reveal it
    (made with the method real hashes are made with, so it costs the same to check)."""
    return generate_password_hash("not-a-real-password", method=method)


def create_admin(username, password, *, campus_id=None) -> Admin:
    """Create an admin; with a campus id it is a campus admin confined to that campus."""
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise ValidationFailed("用户名不能为空且不超过 64 个字符", details={"username": ["无效"]})
    if not password or len(password) < 8:
        raise ValidationFailed("密码至少 8 位", details={"password": ["至少 8 位"]})
    if campus_id is not None and db.session.get(Campus, campus_id) is None:
        raise NotFound("校区不存在", details={"campus_id": campus_id})
    if db.session.scalars(select(Admin).where(Admin.username == username)).first() is not None:
        raise DomainError("用户名已存在", code="username_taken")
    admin = Admin(
        username=username,
        password_hash=generate_password_hash(password, method=_hash_method()),
        role="campus" if campus_id is not None else "super",
        campus_id=campus_id,
    )
    db.session.add(admin)
    db.session.flush()
    return admin


def authenticate(username, password) -> Admin | None:
    """The active admin with these credentials, or None."""
    admin = db.session.scalars(select(Admin).where(Admin.username == (username or ""))).first()
    if admin is None:
        check_password_hash(_dummy_hash(_hash_method()), password or "")
        return None
    if not admin.active or not check_password_hash(admin.password_hash, password or ""):
        return None
    return admin
