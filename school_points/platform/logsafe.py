"""Logs without secrets: digests for identifiers, and a filter for query strings.

A log line travels further than the database: to files, log shippers, a support chat. WeChat's
callback URL carries `signature`, `nonce` and the sender's `openid`; in plaintext mode a seen
signature is enough to post as any parent while it is fresh. So code logs `log_id(openid)` rather
than the openid, and every handler we set up also passes each line through `SecretScrubber`, which
blanks secret-looking query parameters in whatever a library printed (a request line, a URL in an
exception message).
"""

import hashlib
import hmac
import logging
import re

from flask import current_app, has_app_context

# Query parameters whose values never belong in a log: WeChat's callback and API URLs, and the
# mini-program login's code.
SECRET_PARAMS = (
    "signature",
    "msg_signature",
    "nonce",
    "openid",
    "echostr",
    "access_token",
    "token",
    "secret",
    "appsecret",
    "js_code",
    "code",
    "encrypt",
)
_SECRET_QUERY = re.compile(r"(?i)([?&](?:{})=)[^&\s\"'#]*".format("|".join(SECRET_PARAMS)))
REDACTED = "[redacted]"


def log_id(value) -> str:
    """A short keyed digest of an identifier (an openid, a bind code) for log lines.

    Keyed with the app's SECRET_KEY so a leaked log cannot be matched against a list of openids
    or guessed codes; an operator who has one can compute its digest the same way
    (`flask shell`: `from school_points.platform.logsafe import log_id; log_id("o6_bm...")`).
    """
    if value is None or value == "":
        return "-"
    secret = current_app.config["SECRET_KEY"] if has_app_context() else ""
    key = hmac.new(str(secret).encode(), b"school-points log digest", hashlib.sha256).digest()
    return "h:" + hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()[:12]


def scrub(text) -> str:
    """`text` with the values of secret query parameters replaced by [redacted]."""
    return _SECRET_QUERY.sub(r"\1" + REDACTED, text)


class SecretScrubber(logging.Filter):
    """A handler filter that blanks secret query parameters in every line it passes on."""

    def filter(self, record) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def scrub_handlers(*loggers) -> None:
    """Put a SecretScrubber on each handler of `loggers` (the root logger when none given), once."""
    for logger in loggers or (logging.getLogger(),):
        for handler in logger.handlers:
            if not any(isinstance(f, SecretScrubber) for f in handler.filters):
                handler.addFilter(SecretScrubber())
