"""Prometheus metrics that hold for several processes: rendering, job counts, cached collectors.

The web runs as several gunicorn processes, each with its own counters. With
PROMETHEUS_MULTIPROC_DIR set (gunicorn.conf.py makes a fresh one for every server start),
prometheus_client keeps each process's values in files there and a scrape, whichever process
answers it, adds them all up (`render`). Without it (flask run, tests) the values are this
process's own.

The worker is another program, maybe on another machine or in another container, so its job
counts go to Redis (one HINCRBY per job) and the web reads them at scrape time (`JobCounts`).
Figures read from the database at scrape time (`Cached`) are kept a few seconds, so a scrape
every 15 s from two Prometheus servers costs a handful of GROUP BY queries a minute.
"""

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

import redis
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from school_points.platform.redis_conn import get_redis

# No `_created` series beside every counter and histogram: twice the lines for nothing we use
# (multiprocess mode has none either, so one process and several print the same names).
disable_created_metrics()
log = logging.getLogger(__name__)
JOBS_KEY = "school_points:metrics:jobs"
PREFIX = "school_points_"


def multiprocess_dir() -> str | None:
    """The directory prometheus_client shares between processes, when this process uses one."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render(collectors: Iterable = ()) -> tuple[bytes, str]:
    """The Prometheus text exposition of every process's metrics plus `collectors`' (body, type)."""
    extra = CollectorRegistry()
    for collector in collectors:
        extra.register(collector)
    if multiprocess_dir():
        shared = CollectorRegistry()
        MultiProcessCollector(shared)
    else:
        shared = REGISTRY
    return generate_latest(shared) + generate_latest(extra), CONTENT_TYPE_LATEST


def count_job(connection, job_name, succeeded) -> None:
    """Add one run (and one failure unless `succeeded`) of `job_name` to the shared job counts."""
    try:
        with connection.pipeline(transaction=False) as pipe:
            pipe.hincrby(JOBS_KEY, f"{job_name}|run", 1)
            if not succeeded:
                pipe.hincrby(JOBS_KEY, f"{job_name}|failed", 1)
            pipe.execute()
    except redis.RedisError as exc:  # the job is done; a lost count is not worth failing it
        log.warning("job count not recorded: %s", exc)


class JobCounts:
    """Collector: jobs run and failed by the workers, by job function (from Redis)."""

    def collect(self) -> Iterable[Metric]:
        run = CounterMetricFamily(PREFIX + "jobs_run", "Background jobs run by the workers", labels=["job"])
        failed = CounterMetricFamily(PREFIX + "jobs_failed", "Background jobs that raised", labels=["job"])
        client = get_redis()
        counts = {}
        if client is not None:
            try:
                counts = client.hgetall(JOBS_KEY)
            except redis.RedisError as exc:
                log.warning("metrics: job counts unavailable: %s", exc)
        for field, value in sorted(counts.items()):
            name, _, what = field.decode().rpartition("|")
            (run if what == "run" else failed).add_metric([name], int(value))
        yield run
        yield failed


class Cached:
    """Collector: the families `compute()` returns, recomputed at most every `seconds`.

    When `compute` raises (the database is down), the scrape still answers: the last figures are
    served and `<name>_up` says 0, so an alert can tell "no rows" from "could not count".
    """

    def __init__(self, name: str, compute: Callable[[], list[Metric]], seconds: float = 15.0) -> None:
        self.name, self.compute, self.seconds = name, compute, seconds
        self._lock = threading.Lock()
        self._families: list[Metric] = []
        self._at = float("-inf")
        self._ok = True

    def forget(self) -> None:
        """Recompute at the next scrape."""
        self._at = float("-inf")

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if time.monotonic() - self._at >= self.seconds:
                try:
                    self._families, self._ok = self.compute(), True
                except Exception as exc:  # noqa: BLE001 - a scrape must answer even when the source is down
                    log.warning("metrics: %s not computed: %s: %s", self.name, type(exc).__name__, exc)
                    self._ok = False
                self._at = time.monotonic()
            families, ok = list(self._families), self._ok
        up = GaugeMetricFamily(f"{PREFIX}{self.name}_up", f"1 when the {self.name} figures are fresh, 0 on error")
        up.add_metric([], 1 if ok else 0)
        return [*families, up]
