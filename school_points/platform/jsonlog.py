"""Log lines as JSON, one object per line, each stamped with the request id it belongs to.

The web process, the worker and the scheduler all log through the root logger's handler that
`configure_logging` sets up (create_app). Every record gets a `request_id` attribute when it is
made (a log record factory), read from `REQUEST_ID`: the web sets it for each request, the worker
for each job from the id the request that queued it put in the job's meta. A shipper can then
join a request's line with its jobs' lines.
"""

import json
import logging
import secrets
import time
from contextvars import ContextVar

# The id of the request (or of the request that queued the running job); None outside of both.
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has: what is left on a record beyond these came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


def new_request_id() -> str:
    """A fresh request id: 32 hex characters."""
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    """The id of the request (or queued-by request of the job) being handled, if any."""
    return REQUEST_ID.get()


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ms), level, logger, message, request_id, and the
    fields given with `extra=`; a traceback goes in `exc` (one line of JSON, escaped newlines)."""

    def format(self, record) -> str:
        line = {
            "time": _utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str, separators=(",", ":"))


_last_second = [0, ""]  # strftime once per second, not once per line


def _utc(created):
    seconds = int(created)
    second, text = _last_second
    if second != seconds:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _last_second[:] = [seconds, text]
    return f"{text}.{int((created - seconds) * 1000):03d}Z"


def install_record_factory() -> None:
    """Stamp every log record with the current request id (once per process)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = REQUEST_ID.get()
        return record

    factory.stamps_request_id = True
    logging.setLogRecordFactory(factory)


def configure_logging(log_format="json", level=logging.INFO) -> None:
    """Give the root logger a stderr handler writing JSON (or text) lines, unless something set
    one up already (a test's capture, a program embedding the app); stamp records with request ids."""
    install_record_factory()
    root = logging.getLogger()
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter)
        root.addHandler(handler)
        root.setLevel(level)
