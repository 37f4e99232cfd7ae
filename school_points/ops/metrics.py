"""What /metrics reports about the school's data, counted in the database at scrape time.

Two GROUP BY queries on a connection of their own (no session, nothing left open): outbox rows
(notifications) by status and kind, ledger entries by kind (an index on ledger_entry.kind serves
it). `collectors()` wraps them in a cache (platform.metrics.Cached), so scrapes every few seconds
from several Prometheus servers still run them at most once per CACHE_SECONDS per process.
"""

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from school_points.models import LedgerEntry, Notification
from school_points.platform.extensions import db
from school_points.platform.metrics import PREFIX, Cached, JobCounts

CACHE_SECONDS = 15.0


def data_families() -> list[Metric]:
    """Gauges: notifications by status and kind, ledger entries by kind."""
    outbox = GaugeMetricFamily(
        PREFIX + "notifications", "Notification outbox rows by status and kind", labels=["status", "kind"]
    )
    entries = GaugeMetricFamily(PREFIX + "ledger_entries", "Points ledger entries by kind", labels=["kind"])
    with db.engine.connect() as conn:
        rows = conn.execute(
            select(Notification.status, Notification.kind, func.count())
            .group_by(Notification.status, Notification.kind)
            .order_by(Notification.status, Notification.kind)
        )
        for status, kind, count in rows:
            outbox.add_metric([status, kind], count)
        for kind, count in conn.execute(
            select(LedgerEntry.kind, func.count()).group_by(LedgerEntry.kind).order_by(LedgerEntry.kind)
        ):
            entries.add_metric([kind], count)
    return [outbox, entries]


def collectors(cache_seconds=CACHE_SECONDS) -> list:
    """The collectors /metrics adds to the processes' own metrics: jobs (Redis) and the data (database)."""
    return [JobCounts(), Cached("data", data_families, cache_seconds)]
