"""Signing an admin in with username and password, under the wrong-password limits: the one login
both staff adapters use (the admin API issues a bearer token, the console a session cookie).

Only WRONG passwords count, per username + address and per address, so a flood from one address
never locks the same username out from another address.
"""

from school_points.models import Admin
from school_points.people.admins import authenticate
from school_points.platform import ratelimit

LOGIN_WINDOW = 15 * 60  # seconds
WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS = 5
WRONG_PASSWORDS_PER_ADDRESS = 50


def sign_in(username, password, address) -> Admin | None:
    """The active admin with these credentials, or None for wrong ones; RateLimited (with
    `retry_after`) once `address`, or this username from `address`, had too many wrong passwords."""
    per_user = f"{(username or '').lower()}|{address}"
    # Counted before the password check, so a burst of parallel guesses cannot all slip under the
    # limit; a right password takes its attempt back below.
    ratelimit.hit("admin_login_addr", address, limit=WRONG_PASSWORDS_PER_ADDRESS, window_seconds=LOGIN_WINDOW)
    try:
        ratelimit.hit(
            "admin_login_user_addr",
            per_user,
            limit=WRONG_PASSWORDS_PER_USERNAME_AND_ADDRESS,
            window_seconds=LOGIN_WINDOW,
        )
    except ratelimit.RateLimited:
        ratelimit.forgive("admin_login_addr", address)  # refused unchecked: not a wrong password
        raise
    admin = authenticate(username, password)
    if admin is None:
        return None
    ratelimit.forgive("admin_login_addr", address)
    ratelimit.reset("admin_login_user_addr", per_user)
    return admin
