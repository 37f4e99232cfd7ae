"""Jobs on a real RQ worker and real Redis; Redis stopped mid-test loses nothing (docs/WECHAT.md, README.md)."""

import time
from datetime import timedelta

from rq.cron import CronScheduler
from rq.job import Job
from sqlalchemy import select

from school_points.models import GrowthRecord, LedgerEntry, Notification
from school_points.ops.sweep import sweep_media, sweep_outbox
from school_points.platform.clock import local_today, utcnow
from school_points.platform.extensions import db
from school_points.platform.queue import enqueue, get_queue
from school_points.platform.redis_conn import get_redis
from school_points.wechat.notifications import notify_student
from tests.wechat_bot.officialaccount import OfficialAccount, image_xml

TEMPLATE_SEND = "/cgi-bin/message/template/send"


def _notify(student, key):
    notify_student("redeemed", student.id, {"goods": "铅笔", "points": 30}, key=key)
    db.session.commit()  # the unit of work enqueues the delivery


def test_notification_is_delivered_by_a_real_worker(
    throwaway_redis, fake_wechat, notifications_on, follower, run_worker
):
    _notify(follower[1], "order-1")
    assert len(get_queue()) == 1  # queued, not sent in the request
    assert fake_wechat.count(TEMPLATE_SEND) == 0
    run_worker()
    assert db.session.scalars(select(Notification.status)).one() == "sent"
    assert fake_wechat.count(TEMPLATE_SEND) == 1


def test_jobs_get_the_app_context_and_their_own_session(throwaway_redis, make_student, run_worker):
    from school_points.points.birthday import award_birthdays

    student = make_student(name="寿星", birthday=local_today().replace(year=2015))
    enqueue(award_birthdays)
    run_worker()
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "birthday")).one()
    assert entry.student_id == student.id and entry.delta == 20


def test_cron_config_schedules_every_periodic_job(throwaway_redis, run_worker):
    scheduler = CronScheduler(connection=get_redis())
    scheduler.load_config_from_file("school_points.ops.timetable")
    names = {job.func.__name__ for job in scheduler.get_jobs()}
    assert names == {
        "sweep_outbox",
        "sweep_media",
        "expire_due",
        "remind_expiring",
        "award_birthdays",
        "prune_processed_messages",
        "nightly_backup",
        "erase_expired_archives",
        "roll_up_days",
    }
    enqueued = scheduler.enqueue_jobs()  # interval jobs are due at once
    assert {job.func.__name__ for job in enqueued} == {"sweep_outbox", "sweep_media"}
    run_worker()
    for cron_job in enqueued:
        (job_id,) = cron_job.get_job_ids(get_redis())
        assert Job.fetch(job_id, connection=get_redis()).get_status() == "finished"


def test_redis_down_keeps_the_bot_working_and_loses_nothing(
    app, client, throwaway_redis, fake_wechat, notifications_on, follower, run_worker, oa_config
):
    user, student = follower
    oa = OfficialAccount(client)
    assert "王小明：可用 100 积分" in oa.say("oa-parent", "积分")

    throwaway_redis.stop()
    started = time.monotonic()
    assert "签到成功" in oa.say("oa-parent", "签到")
    photo = oa.reply_of(oa.post(image_xml("oa-parent", "media-while-down")))["Content"]
    assert photo == "照片已收到，打卡成功！王小明 +5 积分，当前积分 106。"  # answered in the request
    _notify(student, "order-while-down")  # enqueue fails: the outbox row waits
    assert time.monotonic() - started < 3
    assert db.session.scalars(select(Notification.status)).one() == "pending"

    throwaway_redis.start()
    later = utcnow() + timedelta(minutes=5)
    assert sweep_outbox(now=later) == 1 and sweep_media() == 1
    run_worker()
    assert db.session.scalars(select(Notification.status)).one() == "sent"
    assert len(fake_wechat.delivered) == 1
    photo_record = db.session.scalars(select(GrowthRecord).where(GrowthRecord.content == "")).one()
    assert "/api/v1/uploads/" in photo_record.media[0]


def test_sweep_leaves_fresh_and_finished_notifications_alone(app, throwaway_redis, notifications_on, follower):
    _notify(follower[1], "fresh")
    get_redis().flushdb()
    assert sweep_outbox() == 0  # still within its grace period: its own job is probably queued
    row = db.session.scalars(select(Notification)).one()
    row.status = "sent"
    db.session.commit()
    assert sweep_outbox(now=utcnow() + timedelta(hours=1)) == 0


def test_without_redis_jobs_run_in_process(app, fake_wechat, notifications_on, follower):
    if app.config["REDIS_URL"]:
        app.config["REDIS_URL"], saved = None, app.config["REDIS_URL"]
        app.extensions.pop("redis", None)
    else:
        saved = None
    try:
        _notify(follower[1], "inline")
        assert db.session.scalars(select(Notification.status)).one() == "sent"
    finally:
        if saved:
            app.config["REDIS_URL"] = saved
            app.extensions.pop("redis", None)


def test_old_callback_dedupe_records_are_pruned(app):
    from school_points.models import ProcessedWechatMessage
    from school_points.ops.sweep import prune_processed_messages

    db.session.add_all(
        [
            ProcessedWechatMessage(dedupe_key="msg:old", reply="", created_at=utcnow() - timedelta(days=4)),
            ProcessedWechatMessage(dedupe_key="msg:new", reply="", created_at=utcnow() - timedelta(hours=1)),
        ]
    )
    db.session.commit()
    assert prune_processed_messages() == 1
    assert db.session.scalars(select(ProcessedWechatMessage.dedupe_key)).all() == ["msg:new"]


def test_flask_worker_command_runs_queued_jobs(app, throwaway_redis, make_student):
    """The Procfile's `worker: flask --app wsgi worker`, as a real process (here with --burst)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from school_points.points.birthday import award_birthdays

    student = make_student(name="寿星", birthday=local_today().replace(year=2016))
    enqueue(award_birthdays)
    db.session.commit()
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "REDIS_URL": throwaway_redis.url,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SCHOOL_TIMEZONE": app.config["SCHOOL_TIMEZONE"],
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    db.session.rollback()
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "birthday")).one()
    assert entry.student_id == student.id


def test_the_worker_log_names_jobs_without_their_arguments(throwaway_redis, run_worker, caplog):
    """Some jobs take an openid (sync_follower): RQ's default line would print it."""
    import logging

    from school_points.wechat.followers import sync_follower

    job = enqueue(sync_follower, "oa-secret-openid-77")
    assert job is not None and len(get_queue()) == 1
    with caplog.at_level(logging.DEBUG):
        run_worker()
    assert job.id in caplog.text  # the job was logged, by its id
    assert "oa-secret-openid-77" not in caplog.text
