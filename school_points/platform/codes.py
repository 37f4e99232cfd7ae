"""Random codes people type or scan: bind codes, invite codes, pickup codes, referral codes."""

import hashlib
import secrets
import uuid

# No 0/O/1/I/L: parents read these aloud and type them on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


# Random bytes below this are used (`byte % len(ALPHABET)`), the rest drawn again: no letter is likelier.
_UNBIASED_BELOW = 256 - 256 % len(ALPHABET)


def new_code(length=8) -> str:
    """A random code from the unambiguous alphabet (one read of the system's randomness, usually)."""
    code = []
    while len(code) < length:
        code += [ALPHABET[b % len(ALPHABET)] for b in secrets.token_bytes(length + 8) if b < _UNBIASED_BELOW]
    return "".join(code[:length])


def new_pickup_code() -> str:
    """A pickup code for a redemption order: long enough to be unguessable, short enough for a QR."""
    return new_code(12)


def key_digest(key) -> str:
    """A short, fixed-length form of a client's idempotency key (keys may be 200 characters).

    No key (None) gives a random digest: the request is simply not idempotent.
    """
    if key is None:
        key = uuid.uuid4().hex
    return hashlib.sha256(str(key).encode()).hexdigest()[:32]
