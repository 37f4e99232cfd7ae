"""Issue 9 point 9: a worker killed mid-send; the send's state machine (delivery.py) and the
worker's startup sweep (jobs.sweep.recover_owed_work).

A kill is simulated at the seam: the step after which the process "dies" raises Killed, and the
session's transaction is dropped, as the database does when a worker's connection goes away.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select

from school_points.models import Notification, ProcessedWechatMessage
from school_points.ops.sweep import recover_owed_work, sweep_outbox
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from school_points.points import oa_checkins
from school_points.wechat import delivery
from school_points.wechat.notify import deliver, deliver_claimed

CUSTOM_SEND = "/cgi-bin/message/custom/send"
TEMPLATE_SEND = "/cgi-bin/message/template/send"


class Killed(BaseException):
    """The worker process dies here (SIGKILL, OOM): nothing after this line runs."""


def die(*args, **kwargs):
    raise Killed()


def killed(call):
    with pytest.raises(Killed):
        call()
    db.session.rollback()  # the dead worker's transaction ends with its connection


def _deferred_check_in(key="msg:1001"):
    oa_checkins.record_deferred(key, "oa-parent", oa_checkins.sent_of("读书打卡"), oa_checkins.ACKNOWLEDGED)
    db.session.commit()
    return key


def _row():
    db.session.expire_all()
    return db.session.scalars(select(Notification)).one()


def test_check_in_result_is_told_once_when_the_worker_dies_between_award_and_send(
    app, throwaway_redis, fake_wechat, follower, run_worker, monkeypatch
):
    key = _deferred_check_in()
    with monkeypatch.context() as seam:
        seam.setattr(oa_checkins, "deliver_claimed", die)  # awarded and committed, nothing sent
        killed(lambda: oa_checkins.award_checkin_message(key))
    assert _row().status == "claimed" and fake_wechat.count(CUSTOM_SEND) == 0

    assert recover_owed_work() == 1  # the restarted worker's startup sweep, no scheduler, no waiting
    run_worker()
    assert fake_wechat.count(CUSTOM_SEND) == 1  # the parent is told once
    assert "打卡成功！王小明 +5 积分" in fake_wechat.calls(CUSTOM_SEND)[0].json["text"]["content"]
    assert _row().status == "sent"


def test_notification_is_sent_once_when_the_worker_dies_between_claim_and_send(
    app, throwaway_redis, fake_wechat, notifications_on, follower, notify, run_worker, monkeypatch
):
    n = notify(follower[1])
    with monkeypatch.context() as seam:
        seam.setattr(delivery, "route", die)
        killed(lambda: deliver(n.id))
    assert _row().status == "claimed"

    assert recover_owed_work() == 1
    run_worker()
    assert fake_wechat.count(TEMPLATE_SEND) == 1 and len(fake_wechat.delivered) == 1
    assert _row().status == "sent"


def test_check_in_result_interrupted_after_wechat_took_it_is_not_sent_again(app, fake_wechat, follower, monkeypatch):
    """Customer-service messages have no dedupe id: an interrupted send is settled, never repeated."""
    key = _deferred_check_in()
    with monkeypatch.context() as seam:
        seam.setattr(delivery, "mark_sent", die)  # WeChat delivered it; the outcome was never stored
        killed(lambda: oa_checkins.award_checkin_message(key))
    row = _row()
    assert row.status == "sending" and len(fake_wechat.delivered) == 1
    assert sweep_outbox() == 0  # inside its lease: the sending worker may be alive and waiting on WeChat

    row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the lease has run out
    db.session.commit()
    assert deliver(row.id) == "failed"
    assert len(fake_wechat.delivered) == 1  # the parent does not get the same result twice
    row = _row()
    assert row.last_error == delivery.INTERRUPTED and row.next_attempt_at is None
    assert sweep_outbox(now=utcnow() + timedelta(hours=1)) == 0  # settled for good
    assert db.session.scalar(select(ProcessedWechatMessage.done_at)) is not None  # the points stay awarded


def test_interrupted_template_message_is_repeated_only_inside_wechats_dedupe_window(
    app, fake_wechat, notifications_on, follower, notify, monkeypatch
):
    first, late = notify(follower[1], key="order-1"), notify(follower[1], key="order-2")
    for n in (first, late):
        with monkeypatch.context() as seam:
            seam.setattr(delivery, "mark_sent", die)
            killed(lambda notification_id=n.id: deliver(notification_id))
    assert len(fake_wechat.delivered) == 2
    for n, started in ((first, utcnow() - timedelta(minutes=1)), (late, utcnow() - timedelta(minutes=9))):
        row = db.session.get(Notification, n.id)
        row.next_attempt_at, row.attempt_started_at = utcnow() - timedelta(seconds=1), started
    db.session.commit()

    assert deliver(first.id) == "sent"  # same client_msg_id within 10 minutes: WeChat drops the copy
    assert deliver(late.id) == "failed"  # past the window a repeat could reach the parent: not sent
    assert fake_wechat.count(TEMPLATE_SEND) == 3 and len(fake_wechat.delivered) == 2


def test_worker_that_lost_its_claim_does_not_send(app, fake_wechat, notifications_on, follower, notify):
    n = notify(follower[1])
    assert delivery.claim(n.id, "old-holder") and delivery.claim(n.id, "new-holder")  # taken over
    db.session.commit()
    row = db.session.get(Notification, n.id)
    assert not delivery.begin_send(row, "old-holder", "oa_template")
    assert deliver_claimed(n.id, delivery.route(row), "old-holder") is None
    assert fake_wechat.count(TEMPLATE_SEND) == 0


def test_startup_sweep_drains_check_ins_acknowledged_a_moment_ago(
    app, throwaway_redis, fake_wechat, follower, run_worker
):
    _deferred_check_in()  # stored, its drain lost (never queued)
    assert sweep_outbox() == 0  # the scheduler's sweep would wait out its 60 s grace period first
    assert recover_owed_work() == 1
    run_worker()
    assert db.session.scalar(select(ProcessedWechatMessage.done_at)) is not None
    assert fake_wechat.count(CUSTOM_SEND) == 1
