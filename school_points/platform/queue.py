"""The one enqueue seam: RQ when REDIS_URL is configured, in-process otherwise."""

import logging
from typing import Any

import redis
from flask import current_app
from rq import Queue

from school_points.platform.jsonlog import current_request_id
from school_points.platform.redis_conn import get_redis

log = logging.getLogger(__name__)
QUEUE_NAME = "school_points"


def get_queue() -> Queue | None:
    """The RQ queue, or None without Redis."""
    client = get_redis()
    return Queue(QUEUE_NAME, connection=client) if client is not None else None


def enqueue(func, *args, job_id=None, **kwargs) -> Any:
    """Run `func(*args)` in the background; call only after the caller's commit.

    Without Redis the job runs here and now. When Redis is configured but down, the job is not
    lost: every job's effect is stored first (outbox rows, lots, records) and the scheduler's sweep
    finds what was never done. The job carries the current request id in its meta (job_meta).
    """
    queue = get_queue()
    if queue is None:
        return run_inline(func, *args, **kwargs)
    try:
        return queue.enqueue(func, *args, job_id=job_id, meta=job_meta(), **kwargs)
    except redis.RedisError as exc:
        log.warning("enqueue %s failed, left for the sweep: %s", getattr(func, "__name__", func), exc)
        return None


def enqueue_each(func, args) -> None:
    """Run `func(arg)` for every arg in the background: with RQ, all the jobs in one pipelined round
    trip (a class-wide evaluation notifies 40 families); without Redis, each here and now."""
    queue = get_queue()
    if queue is None:
        for arg in args:
            run_inline(func, arg)
        return
    try:
        meta = job_meta()
        queue.enqueue_many([Queue.prepare_data(func, args=(arg,), meta=meta) for arg in args])
    except redis.RedisError as exc:
        log.warning(
            "enqueue of %d %s jobs failed, left for the sweep: %s", len(args), getattr(func, "__name__", func), exc
        )


def job_meta() -> dict | None:
    """What a queued job carries besides its arguments: the id of the request (or of the job) that
    queued it, so the worker's log lines for it can be joined with the request's."""
    request_id = current_request_id()
    return {"request_id": request_id} if request_id else None


def run_inline(func, *args, **kwargs) -> Any:
    """Run a job in this process; a failing job is logged, never raised into the request."""
    try:
        return func(*args, **kwargs)
    except Exception:  # noqa: BLE001 - a job's failure must not fail the request that committed
        from school_points.platform.extensions import db

        db.session.rollback()
        current_app.logger.exception("in-process job %s failed", getattr(func, "__name__", func))
        return None
