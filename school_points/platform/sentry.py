"""Error reports to Sentry, only when SENTRY_DSN is set (web, worker and scheduler alike).

create_app calls `init_sentry` in every process (gunicorn's workers, `flask worker`, `flask
scheduler`). What leaves the machine is kept to what finding a bug needs:
- no personal data: send_default_pii=False (no client address, no user), no request bodies (a
  child's name, a guardian's phone), no local variables of the stack frames (they hold the rows
  being worked on);
- a scrubber that blanks, anywhere in the event, fields named like secrets or WeChat identifiers
  (openid, unionid, signature, nonce, bind codes) and the secret query parameters of any URL or
  message (logsafe.scrub);
- each event tagged with the request id (the id of the request that queued a job, in the worker),
  so a report can be matched with the log lines.
"""

import logging
import warnings
from typing import Any

from school_points.platform.jsonlog import current_request_id
from school_points.platform.logsafe import SECRET_PARAMS, scrub

log = logging.getLogger(__name__)
# Field names never sent (case-insensitive, anywhere in the event), beyond sentry-sdk's own list
# (password, secret, token, authorization, cookie, ...).
EXTRA_DENYLIST = [
    *SECRET_PARAMS,
    "unionid",
    "mp_openid",
    "oa_openid",
    "bind_code",
    "invite_code",
    "referral_code",
    "phone",
    "x-request-id",
    "x_forwarded_for",
    "x-forwarded-for",
    "x-real-ip",
    "remote_addr",
    "idempotency-key",
]


def init_sentry(dsn, *, environment=None, component="web") -> bool:
    """Start sending errors to Sentry when `dsn` is set; False (and nothing set up) otherwise."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    with warnings.catch_warnings():
        # This SDK version calls send_default_pii deprecated (data_collection replaces it); False
        # still means what it says, and it is the setting operators know and look for.
        warnings.simplefilter("ignore", DeprecationWarning)
        sentry_sdk.init(
            dsn=dsn,
            environment=environment or None,
            integrations=[FlaskIntegration(), RqIntegration()],
            send_default_pii=False,
            max_request_body_size="never",
            include_local_variables=False,
            event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *EXTRA_DENYLIST], recursive=True),
            before_send=_before_send,
            before_breadcrumb=_before_breadcrumb,
            traces_sample_rate=0,
        )
    sentry_sdk.set_tag("component", component)
    return True


def tag_component(component) -> None:
    """Mark this process's events as the worker's or the scheduler's (create_app says "web")."""
    import sentry_sdk

    if sentry_sdk.is_initialized():
        sentry_sdk.set_tag("component", component)


def _before_send(event, hint) -> dict[str, Any]:
    request_id = current_request_id()
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    request = event.get("request")
    if isinstance(request, dict) and isinstance(request.get("query_string"), str):
        request["query_string"] = scrub("?" + request["query_string"])[1:]
    return _scrub_strings(event)


def _before_breadcrumb(crumb, hint) -> dict[str, Any]:
    return _scrub_strings(crumb)


def _scrub_strings(value):
    """`value` with logsafe.scrub applied to every string in it (URLs, messages, exception text)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {key: _scrub_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_strings(item) for item in value]
    return value
