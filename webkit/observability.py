"""Every request's id, its JSON log line and its Prometheus figures; and `GET /metrics`.

- `X-Request-ID`: a caller's (a proxy's) id is kept when it is 1-64 letters, digits or `._:-`;
  anything else (too long, spaces, quotes, control characters) is replaced by a fresh one, as is
  a missing one. It is answered on every response, errors included, and the jobs the request
  queues carry it (platform.queue puts it in the job's meta; the worker logs with it).
- One JSON line per request (logger `request`, REQUEST_LOG turns it off): method, route (the URL
  rule, never the path with its ids or query), status, duration_ms, the actor's type and id as the
  adapters set `g.actor` (admin, user, teacher; ids only), the client's address as the trusted
  proxy saw it (ProxyFix).
- `school_points_http_requests_total{route,method,status}` and
  `school_points_http_request_duration_seconds{route,method}` (METRICS_ENABLED turns them off).
- `/metrics`: with METRICS_TOKEN set, only with `Authorization: Bearer <token>` (else 401); without
  it, only from loopback, directly (no X-Forwarded-For: a local nginx in front is not the
  scraper), else 404 as if there were nothing there. docs/OBSERVABILITY.md.
"""

import hmac
import ipaddress
import logging
import re
import time

from flask import Response, current_app, g, request
from prometheus_client import Counter, Histogram

from school_points.platform.jsonlog import REQUEST_ID, new_request_id
from school_points.platform.metrics import PREFIX, render
from webkit.errors import error_response

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"  # no URL rule: a 404 for a path nobody serves (its path is not a label)

request_log = logging.getLogger("request")

REQUESTS = Counter(
    PREFIX + "http_requests", "HTTP requests answered, by route, method and status", ["route", "method", "status"]
)
LATENCY = Histogram(
    PREFIX + "http_request_duration_seconds",
    "Time from routing to the response, by route and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def register_observability(app, collectors=()):
    """Request ids, the request log, request metrics and, when metrics are on, GET /metrics with
    `collectors` (the domain's figures, handed in by the composition root) added to it."""
    log_on, metrics_on = app.config["REQUEST_LOG"], app.config["METRICS_ENABLED"]
    # First of the app's hooks: the id is set before any guard can refuse the request, and the
    # after hook, run last (after_request runs in reverse), sees the final status and headers.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request_funcs.setdefault(None, []).insert(0, _finisher(log_on, metrics_on))
    app.teardown_request(_end)
    if metrics_on:
        app.extensions["metrics_collectors"] = collectors = list(collectors)
        app.add_url_rule("/metrics", "metrics", _metrics_view(collectors), methods=["GET"])


def incoming_request_id(value):
    """The caller's X-Request-ID when it is sane, else a fresh id."""
    if value and len(value) <= 64 and SANE_REQUEST_ID.fullmatch(value):
        return value
    return new_request_id()


def _begin():
    g.request_started = time.perf_counter()
    g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.request_id_token = REQUEST_ID.set(g.request_id)


def _end(exc):
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            REQUEST_ID.reset(token)
        except ValueError:  # set in another context (a copied one): nothing of ours to undo here
            REQUEST_ID.set(None)


def _finisher(log_on, metrics_on):
    def finish(response):
        request_id = g.get("request_id") or new_request_id()
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        if started is None or not (log_on or metrics_on):
            return response
        seconds = time.perf_counter() - started
        rule = request.url_rule
        route = rule.rule if rule is not None else UNMATCHED
        method = request.method if request.method in METHODS else "OTHER"
        if metrics_on:
            counter, histogram = _children(route, method, response.status_code)
            counter.inc()
            histogram.observe(seconds)
        if log_on and request_log.isEnabledFor(logging.INFO):
            actor = g.get("actor")
            fields = {
                "method": method,
                "route": route if rule is not None else None,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 2),
                "actor_type": getattr(actor, "type", None),
                "actor_id": getattr(actor, "id", None),
                "client": request.remote_addr,
            }
            # The record made directly: Logger.info would also look up the caller's file and line
            # in the stack, on every request, for fields no line of ours prints.
            request_log.handle(
                request_log.makeRecord("request", logging.INFO, __file__, 0, "request", (), None, extra=fields)
            )
        return response

    return finish


_CHILDREN = {}


def _children(route, method, status):
    """The counter and histogram children of one (route, method, status), looked up once per
    process: `labels()` takes a lock and builds a tuple on every call."""
    key = (route, method, status)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN[key] = (REQUESTS.labels(route, method, str(status)), LATENCY.labels(route, method))
    return found


# --- GET /metrics ---


def _metrics_view(collectors):
    def metrics():
        refused = _refusal()
        if refused is not None:
            return refused
        body, content_type = render(collectors)
        return Response(body, content_type=content_type)

    return metrics


def _refusal():
    """None when this caller may read the metrics, else the answer it gets."""
    expected = current_app.config.get("METRICS_TOKEN") or ""
    if expected:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode()):
            return None
        response = error_response(401, "unauthorized", "需要有效的监控令牌")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    if _direct_from_loopback():
        return None
    return error_response(404, "not_found", "资源不存在")


def _direct_from_loopback():
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False  # came through a proxy (nginx on this machine connects from 127.0.0.1)
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback
