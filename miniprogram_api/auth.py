"""Bearer tokens of mini-program users, and the teacher role."""

from flask import g, request

from school_points.people import tokens
from school_points.people.users import active_user
from school_points.school.actors import Actor
from webkit.errors import ApiError


def client_address():
    """The caller's address as the outermost trusted proxy saw it (ProxyFix, TRUSTED_PROXY_COUNT)."""
    return (request.remote_addr or "unknown")[:45]


def bearer_token():
    """The token of an `Authorization: Bearer ...` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def no_store(response):
    """A response that carries a token must not be kept by any cache, shared or private."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def authenticate(required):
    """Load g.user (and g.teacher for 'teacher'); 401 without a valid token, 403 without the role.

    'claims' (logout only) checks the signature and expiry but not revocation, and sets
    g.token_claims. 'token' only checks the token (signature, expiry, not logged out) and sets
    g.user_id: the view hands g.user_id to a service that checks the user is still enabled in its
    own query (one round trip fewer on a hot path).
    """
    g.client_address = client_address()
    token = bearer_token()
    if required == "claims":
        # Logout: a genuine, unexpired token is enough, revoked or not, so a repeat stays 204.
        g.token_claims = tokens.claims("user", token)
        if g.token_claims is None:
            raise ApiError(401, "unauthorized", "登录已失效，请重新登录")
        return
    user_id = tokens.verify("user", token) if token else None
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
