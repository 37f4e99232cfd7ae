"""Bearer tokens of mini-program users, and the teacher role."""
from flask import g, request

from school_points import tokens
from school_points.actors import Actor
from school_points.httpkit import ApiError
from school_points.users import active_user


def authenticate(required):
    """Load g.user (and g.teacher for 'teacher'); 401 without a valid token, 403 without the role.

    'token' only checks the token's signature and sets g.user_id: the view hands g.user_id to a
    service that checks the user is still enabled in its own query (one round trip fewer on a hot path).
    """
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    user_id = tokens.verify("user", token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if required == "token" and user_id is not None:
        g.user_id, g.actor, g.idempotency_scope = user_id, Actor.user(user_id), f"u{user_id}"
        return
    user = active_user(user_id)
    if user is None:
        raise ApiError(401, "unauthorized", "登录已失效，请重新登录")
    g.user, g.user_id = user, user.id
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
