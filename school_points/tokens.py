"""Signed, expiring bearer tokens for mini-program users and admins."""
import time
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

# Longer than any token `issue` makes: such a string is refused without checking (or caching) it.
MAX_TOKEN_LENGTH = 512


def _serializer(kind, secret=None):
    return URLSafeTimedSerializer(secret or current_app.config["SECRET_KEY"], salt=f"school-points-{kind}")


def issue(kind, subject_id):
    """A token for subject `subject_id` of `kind` ('user' or 'admin') and its lifetime in seconds."""
    ttl = current_app.config["ADMIN_TOKEN_TTL_SECONDS" if kind == "admin" else "TOKEN_TTL_SECONDS"]
    return _serializer(kind).dumps({"sub": subject_id}), ttl


def verify(kind, token):
    """The subject id a valid, unexpired token names, or None."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    signed = _unsigned(current_app.config["SECRET_KEY"], kind, token)
    if signed is None:
        return None
    subject, signed_at = signed
    ttl = current_app.config["ADMIN_TOKEN_TTL_SECONDS" if kind == "admin" else "TOKEN_TTL_SECONDS"]
    age = time.time() - signed_at
    return subject if -60 <= age <= ttl else None  # a minute of clock skew between servers


@lru_cache(maxsize=4096)
def _unsigned(secret, kind, token):
    """(subject id, signing time) of a token whose signature is genuine, else None.

    The signature check (key derivation and HMAC) is the same for every request a client sends
    with its token, so its result is remembered per secret and token; the expiry, which depends on
    the time, is checked by `verify` on every request.
    """
    try:
        data, signed_at = _serializer(kind, secret).loads(token, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        return None
    subject = data.get("sub") if isinstance(data, dict) else None
    if not isinstance(subject, int) or isinstance(subject, bool):
        return None
    return subject, signed_at.timestamp()
