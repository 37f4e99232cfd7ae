"""gunicorn settings that belong with the code (the Procfile's `web` command passes the rest).

Each worker loads the app itself (no --preload) and then freezes what it holds: the app, its
models, schemas and libraries, ~140 thousand objects that live as long as the process. Without
this, Python's cyclic garbage collector walks all of them in every full collection: measured
100-110 ms per collection in a worker under a burst of check-ins, each one stalling the
requests of that process (the slowest rounds of bench/bench_bot.py). Frozen, a full collection
takes under 1 ms. Objects made later are collected as usual.

Logs without secrets: WeChat calls `/wechat?signature=...&nonce=...&openid=...`, and
in plaintext mode a signature seen in a log lets anyone post as that parent while it is fresh.
So the access log prints the path without the query string (and no Referer, which can carry
another page's query string), and both of gunicorn's logs pass through the app's SecretScrubber,
which also covers gunicorn's own "Error handling request <uri>" lines.

Behind nginx (deploy/nginx/school-points.conf): the app's ProxyFix, sized by TRUSTED_PROXY_COUNT,
is the one judge of X-Forwarded-For/-Proto/-Host. gunicorn would otherwise take the scheme from
X-Forwarded-Proto (or -Ssl, -Protocol) itself for any peer on 127.0.0.1, also with
TRUSTED_PROXY_COUNT=0, where the app promises to ignore forwarded headers: so it trusts no peer.
The bind address comes from the command line (Procfile: 0.0.0.0:$PORT; the systemd unit:
127.0.0.1:8000, reachable by nginx only).

The app writes one JSON line per request itself (route, status, duration, request id, actor,
client: docs/OBSERVABILITY.md), so the Procfile no longer turns gunicorn's access log on; the
format below is what `--access-logfile -` would print (without the query string). gunicorn's
error log (worker boots and deaths, timeouts) is written as JSON lines like the app's.

Metrics: each worker process keeps its Prometheus values in files under PROMETHEUS_MULTIPROC_DIR,
which `on_starting` makes fresh for every server start (a temporary directory, or the one the
environment names, emptied), before any worker imports prometheus_client; /metrics adds up every
process's files, so the figures are right whichever worker answers the scrape.
"""

import gc
import os
import shutil
import tempfile
from pathlib import Path

from gunicorn.glogging import Logger

from school_points.platform.jsonlog import JsonFormatter
from school_points.platform.logsafe import scrub_handlers

# Client address, time, method + path (no query) + protocol, status, bytes, duration, user agent.
access_log_format = '%(h)s - - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'


class ScrubbingLogger(Logger):
    """gunicorn's logger whose handlers blank secret query parameters (school_points.platform.logsafe)."""

    def setup(self, cfg):
        super().setup(cfg)  # also on every reload (HUP): new handlers, filtered again
        scrub_handlers(self.error_log, self.access_log)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())


logger_class = ScrubbingLogger


def post_worker_init(worker):
    gc.freeze()


# Processes x threads: how many requests run at once (12 by default). Slow clients never hold one
# behind nginx, which buffers whole requests and responses; without nginx, each client still
# sending its headers or body holds a thread (bench/bench_slow_clients.py). The Procfile passes the
# same values on its command line (bench/servers.py reads them there).
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("WEB_THREADS", "3"))
timeout = 30
# No access log: the app writes one JSON line per request (above); `--access-logfile -` turns it on.
# Forwarded headers are ProxyFix's alone (above): gunicorn believes none, from no address.
forwarded_allow_ips = ""
secure_scheme_headers = {}
forwarder_headers = ""
# The workers' heartbeat files in memory: on a container's overlay filesystem a write can block
# long enough for the arbiter to think a busy worker hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
METRICS_DIR_PREFIX = "school-points-metrics-"


def on_starting(server):
    """A fresh PROMETHEUS_MULTIPROC_DIR for this server, before any worker is forked."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):  # a previous server's counts would be added to ours
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)


def child_exit(server, worker):
    """A worker is gone: drop its live gauges (its counters stay in the sums, as they should)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this server made itself (a temporary one)."""
    path = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "/nonexistent")
    if path.parent == Path(tempfile.gettempdir()) and path.name.startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(path, ignore_errors=True)
