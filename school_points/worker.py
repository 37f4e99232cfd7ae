"""The background worker: RQ jobs run inside the Flask app context (`flask --app wsgi worker`).

SimpleWorker runs jobs in the worker process itself (no fork per job): jobs are short, I/O-bound
calls to the database and WeChat, and the process keeps its connection pools and the shared
WeChat token cache. Each job gets a fresh app context and database session.
"""
import logging
import os

import click
from flask import current_app
from flask.cli import with_appcontext
from rq import SimpleWorker

from .extensions import db
from .jobs.queue import QUEUE_NAME
from .redis_conn import get_redis


class AppContextWorker(SimpleWorker):
    """An RQ worker that runs every job in a new app context of `app`."""

    def __init__(self, *args, app, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app

    def execute_job(self, job, queue):
        with self.app.app_context():
            try:
                return super().execute_job(job, queue)
            finally:
                db.session.remove()


def make_worker(app, connection=None, queues=(QUEUE_NAME,)):
    """A worker for `app`'s queue on its Redis (or `connection`)."""
    if connection is None:
        with app.app_context():
            connection = get_redis()
    if connection is None:
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run in the web process")
    return AppContextWorker(list(queues), connection=connection, app=app)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then exit.")
@with_appcontext
def worker_command(burst):
    """Run the RQ worker for background jobs (notifications, photos, scheduled jobs)."""
    app = current_app._get_current_object()
    logging.getLogger("rq.worker").setLevel(logging.INFO)
    lower_priority(app.config.get("WORKER_NICE", 0))
    make_worker(app).work(burst=burst)


def lower_priority(niceness):
    """Run this process at a lower CPU priority (WORKER_NICE): on a machine shared with the web
    server, the web's requests get the CPU first and the jobs use what is left. Jobs are only
    delayed while the web is busy; nothing waits on them there (check-ins are acknowledged first,
    notifications are after the fact)."""
    if niceness > 0 and hasattr(os, "nice"):
        try:
            os.nice(niceness)
        except OSError as exc:  # not permitted here: run at the normal priority
            logging.getLogger(__name__).warning("WORKER_NICE=%s not applied: %s", niceness, exc)
