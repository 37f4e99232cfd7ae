"""The background worker: RQ jobs run inside the Flask app context (`flask --app wsgi worker`).

SimpleWorker runs jobs in the worker process itself (no fork per job): jobs are short, I/O-bound
calls to the database and WeChat, and the process keeps its connection pools and the shared
WeChat token cache. Each job gets a fresh app context and database session.

Redis outages. RQ's own loop survives an outage only while it waits for a job: when
Redis goes away during a job (RQ then fails to store the result), during its maintenance, or with
a timeout rather than a refused connection, `Worker.work()` logs "found an unhandled exception,
quitting" and returns, and its teardown raises because it cannot deregister. So `run_worker`
supervises: whenever a worker quits without being asked to, it waits for Redis with capped
exponential backoff and starts a new one in the same process. Each start (the first and every one
after an outage) first runs the startup sweep (`ops.sweep.recover_owed_work`), which re-queues
whatever the jobs lost with Redis, or with a killed worker, would have done.
"""

import logging
import os
import signal
import time

import click
import redis
from flask import current_app
from flask.cli import with_appcontext
from rq import SimpleWorker
from rq.exceptions import StopRequested

from school_points.platform.extensions import db
from school_points.platform.jsonlog import REQUEST_ID
from school_points.platform.metrics import count_job
from school_points.platform.queue import QUEUE_NAME
from school_points.platform.redis_conn import get_redis
from school_points.platform.redis_retry import Backoff, Outage

log = logging.getLogger(__name__)
job_log = logging.getLogger("job")
# RQ's lines about a Redis it cannot reach: replaced by Outage's one line per outage.
RQ_REDIS_NOISE = ("Worker %s: could not connect to Redis instance", "Worker %s: Redis connection timeout")


class AppContextWorker(SimpleWorker):
    """An RQ worker that runs every job in a new app context of `app`."""

    def __init__(self, *args, app, outage=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.app = app
        self.outage = outage

    def execute_job(self, job, queue) -> None:
        with self.app.app_context():
            try:
                return super().execute_job(job, queue)
            finally:
                db.session.remove()

    def perform_job(self, job, queue, execution) -> bool:
        """RQ's perform_job under the request id the job was queued with (its log lines carry
        it), then one line and one count (run, failed) per job."""
        token = REQUEST_ID.set((job.meta or {}).get("request_id"))
        started, succeeded = time.perf_counter(), False
        try:
            succeeded = super().perform_job(job, queue, execution)
            return succeeded
        finally:
            name = _job_name(job)
            job_log.info(
                "job %s",
                "done" if succeeded else "failed",
                extra={
                    "job": name,
                    "job_id": job.id,
                    "outcome": "done" if succeeded else "failed",
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            count_job(self.connection, name, succeeded)
            REQUEST_ID.reset(token)

    def heartbeat(self, timeout=None, pipeline=None) -> None:
        """RQ's heartbeat; the first one that reaches Redis after an outage ends it (one queued
        on a pipeline has not reached Redis yet)."""
        super().heartbeat(timeout, pipeline=pipeline)
        if self.outage is not None and pipeline is None:
            self.outage.ended()

    def _pubsub_exception_handler(self, exc, pubsub, pubsub_thread):
        """RQ's command channel thread: wait quietly while Redis is away (the main loop logs)."""
        if isinstance(exc, redis.ConnectionError) and self.outage is not None:
            time.sleep(self.max_connection_wait_time)
            return
        super()._pubsub_exception_handler(exc, pubsub, pubsub_thread)

    def teardown(self) -> None:
        """RQ's teardown; with Redis gone, still stop the command channel thread."""
        try:
            super().teardown()
        except redis.RedisError:
            if self.pubsub_thread:
                self.pubsub_thread.stop()
                self.pubsub_thread.join(timeout=1)


def _job_name(job):
    try:
        return job.func_name
    except Exception:  # noqa: BLE001 - a job whose data cannot be read is still counted
        return "unknown"


def make_worker(app, connection=None, queues=(QUEUE_NAME,), outage=None) -> AppContextWorker:
    """A worker for `app`'s queue on its Redis (or `connection`)."""
    if connection is None:
        with app.app_context():
            connection = get_redis()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in the web process")
    # RQ would log every job's call with its arguments, and some take an openid: log job ids only.
    return AppContextWorker(list(queues), connection=connection, app=app, outage=outage, log_job_description=False)


def run_worker(app, *, burst=False) -> None:
    """Run RQ workers until asked to stop (SIGTERM, SIGINT) or, with `burst`, until the queue is
    empty; ride out Redis outages (module docstring)."""
    backoff = Backoff(app.config["REDIS_RETRY_MAX_SECONDS"])
    outage = Outage("worker", log)
    with app.app_context():
        connection = get_redis()
    noise = _RedisNoiseFilter(outage, backoff.cap)
    rq_log = logging.getLogger("rq.worker")
    rq_log.addFilter(noise)
    try:
        while True:
            worker, started = None, time.monotonic()
            try:
                worker = make_worker(app, connection, outage=outage)  # registers itself: needs Redis
                worker.max_connection_wait_time = backoff.cap  # RQ's own retry while waiting for a job
                _startup_sweep(app)
                worker.work(burst=burst)
            except redis.RedisError as exc:
                outage.began(exc, backoff.cap)
            except StopRequested:  # a stop signal before RQ's own handlers were installed
                return
            if worker is not None and (burst or getattr(worker, "_shutdown_requested_date", None) is not None):
                return
            if not outage.ongoing:  # quit for another reason: restart, but not in a tight loop
                log.warning("worker: RQ's loop ended unexpectedly; starting it again")
            if time.monotonic() - started > backoff.cap:
                backoff.reset()  # a worker that ran for a while starts the next wait afresh
            if not _wait_for_redis(connection, backoff, outage):
                return
    finally:
        rq_log.removeFilter(noise)


def _startup_sweep(app):
    """Re-queue owed work now; a failure here (the database is down too) is left to the sweep."""
    from school_points.ops.sweep import recover_owed_work

    with app.app_context():
        try:
            queued = recover_owed_work()
        except StopRequested:
            raise
        except Exception:  # noqa: BLE001 - the worker must start anyway; the scheduler's sweep retries
            log.exception("worker: startup sweep failed; the scheduler's sweep will catch up")
            return
        finally:
            db.session.remove()
    if queued:
        log.info("worker: startup sweep queued %d job(s) of owed work", queued)


def _wait_for_redis(connection, backoff, outage):
    """Sleep with backoff until Redis answers a PING; False when a stop signal came meanwhile."""
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            time.sleep(backoff.next())
            try:
                connection.ping()
            except redis.RedisError as exc:
                outage.began(exc, backoff.cap)
                continue
            outage.ended()
            return True
    except StopRequested:
        log.info("worker: stopping on request")
        return False
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _raise_stop(signum, frame):
    raise StopRequested()


class _RedisNoiseFilter(logging.Filter):
    """Turns RQ's line per failed attempt (and its traceback when it quits) into one per outage."""

    def __init__(self, outage, cap) -> None:
        super().__init__()
        self.outage, self.cap = outage, cap

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        if not isinstance(error, redis.RedisError):
            if not str(record.msg).startswith(RQ_REDIS_NOISE):
                return True
            error = next((arg for arg in record.args or () if isinstance(arg, Exception)), record.getMessage())
        self.outage.began(error, self.cap)
        return False


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
@with_appcontext
def worker_command(burst) -> None:
    """Run the RQ worker for background jobs (notifications, photos, scheduled jobs)."""
    from school_points.platform.sentry import tag_component

    app = current_app._get_current_object()
    tag_component("worker")
    logging.getLogger("rq.worker").setLevel(logging.INFO)
    lower_priority(app.config.get("WORKER_NICE", 0))
    run_worker(app, burst=burst)


def lower_priority(niceness) -> None:
    """Run this process at a lower CPU priority (WORKER_NICE): on a machine shared with the web
    server, the web's requests get the CPU first and the jobs use what is left. Jobs are only
    delayed while the web is busy; nothing waits on them there (check-ins are acknowledged first,
    notifications are after the fact)."""
    if niceness > 0 and hasattr(os, "nice"):
        try:
            os.nice(niceness)
        except OSError as exc:  # not permitted here: run at the normal priority
            logging.getLogger(__name__).warning("WORKER_NICE=%s not applied: %s", niceness, exc)
