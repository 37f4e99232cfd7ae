"""Signed, expiring bearer tokens for mini-program users and admins, and their revocation (logout).

A token is stateless (itsdangerous) and names its subject and a random token id (`jti`). Logging
out stores the token id in `revoked_token` until the token would have expired anyway; every
authenticated request looks its token id up there by primary key (one indexed query), so a logout
bites at once in every process. Only the signature check is cached per process, never the
revocation.

An admin token also carries the admin's session generation (`gen`, absent = 0): bumping the
admin's counter (people/admins.py `end_sessions`) ends every token issued before, in one write,
with no list of tokens to keep; the admin guard compares it with the row it loads anyway.
"""

import secrets
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, select

from school_points.models import RevokedToken
from school_points.platform.autocommit import own_transaction, session_in_transaction
from school_points.platform.clock import epoch_seconds, utcnow
from school_points.platform.db_setup import insert_or_skip
from school_points.platform.extensions import db

# Longer than any token `issue` makes: such a string is refused without checking (or caching) it.
MAX_TOKEN_LENGTH = 512
# Subjects are rows of int4 primary keys: an id outside this range names nobody (and PostgreSQL
# would refuse to compare it, which used to surface as a 500).
MAX_SUBJECT_ID = 2**31 - 1
CLOCK_SKEW_SECONDS = 60  # tolerated between servers


class Claims(NamedTuple):
    """What a genuine, unexpired token says: its subject, its id, when it stops being valid and the
    session generation it was issued in."""

    subject: int
    token_id: str
    expires_at: datetime
    generation: int = 0


def _serializer(kind, secret=None):
    return URLSafeTimedSerializer(secret or current_app.config["SECRET_KEY"], salt=f"school-points-{kind}")


def _ttl(kind):
    return current_app.config["ADMIN_TOKEN_TTL_SECONDS" if kind == "admin" else "TOKEN_TTL_SECONDS"]


def issue(kind, subject_id, *, generation=0) -> tuple[str, int]:
    """A token for subject `subject_id` of `kind` ('user' or 'admin') and its lifetime in seconds;
    `generation` is the subject's session generation (admins), left out of the token when 0."""
    data = {"sub": subject_id, "jti": secrets.token_hex(16)}
    if generation:
        data["gen"] = generation
    return _serializer(kind).dumps(data), _ttl(kind)


def claims(kind, token) -> Claims | None:
    """The Claims of a genuine, unexpired token, revoked or not; None for anything else."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    signed = _unsigned(current_app.config["SECRET_KEY"], kind, token)
    if signed is None:
        return None
    subject, token_id, signed_at, generation = signed
    ttl = _ttl(kind)
    age = epoch_seconds() - signed_at
    if not -CLOCK_SKEW_SECONDS <= age <= ttl:
        return None
    expires_at = datetime.fromtimestamp(signed_at + ttl + CLOCK_SKEW_SECONDS, UTC)
    return Claims(subject, token_id, expires_at, generation)


def verify(kind, token) -> int | None:
    """The subject id a valid, unexpired, not revoked token names, or None."""
    found = verified_claims(kind, token)
    return None if found is None else found.subject


def verified_claims(kind, token) -> Claims | None:
    """The Claims of a valid, unexpired, not revoked token, or None (the caller still compares the
    session generation with its subject's)."""
    found = claims(kind, token)
    if found is None or is_revoked(found.token_id):
        return None
    return found


def is_revoked(token_id) -> bool:
    """Whether the token with this id was logged out: one primary-key lookup."""
    if db.engine.dialect.name == "postgresql" and not session_in_transaction():
        # Before the view has touched the session (the hot 'token' paths): one autocommit
        # statement on a pooled connection, no BEGIN/COMMIT round trips, and the session stays
        # unopened for the view's own standalone call.
        with own_transaction() as cursor:
            cursor.execute("SELECT 1 FROM revoked_token WHERE jti = %s", (token_id,))
            return cursor.fetchone() is not None
    return db.session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == token_id)) is not None


def revoke(found) -> None:
    """End the token these Claims describe, at once and for every process; the caller commits.

    Revoking twice is harmless. Ids of tokens that have expired by now are deleted on the way
    (an indexed range delete), so the table holds only tokens that would otherwise still work.
    """
    db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    db.session.execute(
        insert_or_skip(RevokedToken.__table__, ["jti"]).values(jti=found.token_id, expires_at=found.expires_at)
    )


@lru_cache(maxsize=4096)
def _unsigned(secret, kind, token):
    """(subject id, token id, signing time, session generation) of a token whose signature is
    genuine, else None.

    The signature check (key derivation and HMAC) is the same for every request a client sends
    with its token, so its result is remembered per secret and token; the expiry, which depends on
    the time, and the revocation, which a logout in another process can change, are checked on
    every request.
    """
    try:
        data, signed_at = _serializer(kind, secret).loads(token, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(data, dict):
        return None
    subject, token_id = data.get("sub"), data.get("jti")
    if not isinstance(subject, int) or isinstance(subject, bool) or not 1 <= subject <= MAX_SUBJECT_ID:
        return None
    # Tokens from before logout existed carry no id and could never be revoked: they are refused,
    # which asks their holders to log in once more.
    if not isinstance(token_id, str) or not 16 <= len(token_id) <= 64:
        return None
    generation = data.get("gen", 0)
    if not isinstance(generation, int) or isinstance(generation, bool) or not 0 <= generation <= MAX_SUBJECT_ID:
        return None
    return subject, token_id, signed_at.timestamp(), generation
