"""The real worker and scheduler processes ride out a Redis outage.

A private redis-server is stopped while the worker is in the middle of a job and started again on
the same port; without restarting either process, a new check-in is awarded (and its result told)
by the worker, and the scheduler's sweep runs again. Every wait is bounded; nothing is timed.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq.job import Job
from rq.registry import FinishedJobRegistry

from school_points.models import ProcessedWechatMessage
from school_points.platform.extensions import db
from school_points.platform.queue import QUEUE_NAME, get_queue
from school_points.platform.redis_conn import get_redis
from school_points.points import oa_checkins

ROOT = Path(__file__).resolve().parents[2]
CUSTOM_SEND = "/cgi-bin/message/custom/send"
WAIT = 60  # seconds any one step may take on a busy machine before the test gives up


class Process:
    """`flask --app wsgi <command>` as a real process, its output collected in a file."""

    def __init__(self, args, env, log_path):
        self.log_path = log_path
        self.log_file = open(log_path, "w")  # noqa: SIM115 - the process writes to it until stop() closes it
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
        )

    @property
    def alive(self):
        return self.popen.poll() is None

    @property
    def output(self):
        return Path(self.log_path).read_text(errors="replace")

    def stop(self):
        if self.alive:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        self.log_file.close()


def wait_until(condition, what, processes):
    """Poll `condition` until true; fail with the processes' output after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        finally:
            db.session.rollback()  # hold no transaction (SQLite: its write lock) while the processes work
        time.sleep(0.1)
    logs = "\n".join(f"--- {p.log_path} (alive={p.alive})\n{p.output[-3000:]}" for p in processes)
    pytest.fail(f"gave up waiting for: {what}\n{logs}")


@pytest.fixture
def processes(app, throwaway_redis, fake_wechat, tmp_path):
    """Start the Procfile's worker and (with a one-second timetable) scheduler against the
    throwaway Redis and the test database; stopped afterwards."""
    env = {
        **os.environ,
        "REDIS_URL": throwaway_redis.url,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SCHOOL_TIMEZONE": app.config["SCHOOL_TIMEZONE"],
        "WORKER_NICE": "0",
        "REDIS_RETRY_MAX_SECONDS": "0.5",
        "PYTHONPATH": str(ROOT),
    }
    env.update({key: str(value) for key, value in app.config.items() if key.startswith("WECHAT_") and value})
    started = []
    try:
        started.append(Process(["worker"], env, tmp_path / "worker.log"))
        started.append(
            Process(["scheduler", "--timetable", "tests.jobs.fast_timetable"], env, tmp_path / "scheduler.log")
        )
        yield started
    finally:
        for process in started:
            process.stop()


def _sweep_ran(connection):
    registry = FinishedJobRegistry(QUEUE_NAME, connection=connection)
    return any(
        job.func_name.endswith("sweep_outbox")
        for job in Job.fetch_many(registry.get_job_ids(), connection=connection)
        if job
    )


def _check_in(key):
    oa_checkins.record_deferred(key, "oa-parent", oa_checkins.sent_of("今天读了20页书"), oa_checkins.ACKNOWLEDGED)
    db.session.commit()
    assert oa_checkins.wake_drainer() == "queued"


def _told():
    return ProcessedWechatMessage.query.filter(ProcessedWechatMessage.done_at.is_not(None)).count()


def test_worker_and_scheduler_carry_on_after_redis_stops_and_starts_again(
    app, throwaway_redis, fake_wechat, follower, processes
):
    worker, scheduler = processes
    wait_until(lambda: _sweep_ran(get_redis()), "the scheduler's sweep run by the worker", processes)

    busy = get_queue().enqueue(time.sleep, 2)  # Redis goes away while the worker is in this job
    wait_until(lambda: busy.get_status(refresh=True) == "started", "the worker to start the job", processes)
    throwaway_redis.stop()
    for process in processes:
        wait_until(
            lambda p=process: "Redis unavailable" in p.output or not p.alive,
            f"{process.log_path.name} to notice the outage",
            processes,
        )
    assert worker.alive and scheduler.alive  # before the fix: both had exited

    throwaway_redis.start()  # same port, empty (no persistence): the queue and registries are gone
    _check_in("msg:after-the-outage")
    wait_until(
        lambda: _told() == 1 and fake_wechat.count(CUSTOM_SEND) == 1,
        "the new check-in awarded and its result told",
        processes,
    )
    assert "打卡成功！王小明 +5 积分" in fake_wechat.calls(CUSTOM_SEND)[0].json["text"]["content"]
    wait_until(lambda: _sweep_ran(get_redis()), "the scheduler's next sweep, in the new Redis", processes)
    wait_until(lambda: all("Redis is back" in p.output for p in processes), "both to log the recovery", processes)
    assert worker.alive and scheduler.alive
    for process in processes:  # one line per outage, not one per reconnection attempt
        assert process.output.count("Redis unavailable") == 1, process.output[-3000:]
