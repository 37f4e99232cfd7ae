"""Bearer tokens of mini-program users, and the teacher role."""
from flask import g, request

from school_points import tokens
from school_points.actors import Actor
from school_points.httpkit import ApiError
from school_points.users import active_user


def authenticate(required):
    """Load g.user (and g.teacher for 'teacher'); 401 without a valid token, 403 without the role."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user_id = tokens.verify("user", token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    user = active_user(user_id)
    if user is None:
        raise ApiError(401, "unauthorized", "登录已失效，请重新登录")
    g.user = user
    g.actor = Actor.user(user.id)
    g.idempotency_scope = f"u{user.id}"
    if required == "teacher":
        teacher = user.teacher
        if teacher is None or not teacher.active:
            raise ApiError(403, "not_a_teacher", "仅老师可以使用此功能")
        g.teacher = teacher
        g.actor = Actor.teacher(teacher.id)


def issue_token(user):
    """(token, expires_in seconds) for a user."""
    return tokens.issue("user", user.id)
