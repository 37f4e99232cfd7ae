"""The scheduler (`flask --app wsgi scheduler`): RQ's cron scheduler, riding out Redis outages.

`rq cron school_points.ops.timetable` runs the same timetable, but RQ 3.0's `CronScheduler.start()` lets
the first Redis error of an enqueue or a heartbeat escape its loop, and the process exits (the
outbox sweep, expiry, reminders and birthdays then stop until someone restarts it). This loop
does what `start()` does, and on a Redis error logs one line, waits with capped exponential
backoff (REDIS_RETRY_MAX_SECONDS) and tries again. A job whose enqueue failed was not marked as
run, so it is enqueued once when Redis is back; the scheduler re-registers itself in the new Redis.
"""

import contextlib
import logging
import signal
import time

import click
import redis
from flask import current_app
from flask.cli import with_appcontext
from rq.cron import CronScheduler
from rq.exceptions import SchedulerNotFound, StopRequested

from school_points.platform.redis_conn import get_redis
from school_points.platform.redis_retry import Backoff, Outage

log = logging.getLogger(__name__)
TIMETABLE = "school_points.ops.timetable"


def run_scheduler(connection, timetable=TIMETABLE, *, retry_cap=30.0, sleep=time.sleep) -> None:
    """Enqueue the timetable's jobs when due, until SIGTERM or SIGINT; never exits on a Redis error."""
    scheduler = CronScheduler(connection=connection)
    scheduler.load_config_from_file(timetable)
    backoff, outage = Backoff(retry_cap), Outage("scheduler", log)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    log.info("scheduler %s: starting with %d job(s) from %s", scheduler.name, len(scheduler.get_jobs()), timetable)
    registered = False
    try:
        while True:
            try:
                if not registered:
                    scheduler.register_birth()
                    registered = True
                if scheduler.enqueue_jobs():
                    scheduler.save()
                scheduler.heartbeat()
            except redis.RedisError as exc:
                outage.began(exc, backoff.cap)
                sleep(backoff.next())
                continue
            if outage.ended():
                backoff.reset()
            sleep(scheduler.calculate_sleep_interval())
    except (StopRequested, KeyboardInterrupt):
        log.info("scheduler %s: stopping on request", scheduler.name)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        # Redis is away, or came back empty: its registry entry is gone or expires by itself.
        with contextlib.suppress(redis.RedisError, SchedulerNotFound):
            scheduler.register_death()


def _raise_stop(signum, frame):
    raise StopRequested()


@click.command("scheduler")
@click.option(
    "--timetable",
    default=TIMETABLE,
    show_default=True,
    help="Module that registers the periodic jobs with rq.cron.register.",
)
@with_appcontext
def scheduler_command(timetable) -> None:
    """Run the scheduler: enqueue the periodic jobs (sweeps, expiry, reminders, birthdays)."""
    from school_points.platform.sentry import tag_component

    connection = get_redis()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: the scheduler needs Redis")
    tag_component("scheduler")
    logging.getLogger("rq.cron").setLevel(logging.INFO)
    run_scheduler(connection, timetable, retry_cap=current_app.config["REDIS_RETRY_MAX_SECONDS"])
