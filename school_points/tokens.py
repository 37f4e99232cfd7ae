"""Signed, expiring bearer tokens for mini-program users and admins."""
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


def _serializer(kind):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"school-points-{kind}")


def issue(kind, subject_id):
    """A token for subject `subject_id` of `kind` ('user' or 'admin') and its lifetime in seconds."""
    ttl = current_app.config["ADMIN_TOKEN_TTL_SECONDS" if kind == "admin" else "TOKEN_TTL_SECONDS"]
    return _serializer(kind).dumps({"sub": subject_id}), ttl


def verify(kind, token):
    """The subject id a valid, unexpired token names, or None."""
    ttl = current_app.config["ADMIN_TOKEN_TTL_SECONDS" if kind == "admin" else "TOKEN_TTL_SECONDS"]
    try:
        data = _serializer(kind).loads(token, max_age=ttl)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    sub = data.get("sub") if isinstance(data, dict) else None
    return sub if isinstance(sub, int) else None
