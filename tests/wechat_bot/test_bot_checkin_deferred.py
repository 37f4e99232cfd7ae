"""With Redis, a check-in is acknowledged at once and awarded by a real RQ worker, which tells the
parent the result in a customer-service message (fake WeChat server); nothing is lost or doubled."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from school_points.models import GrowthRecord, LedgerEntry, Notification, ProcessedWechatMessage
from school_points.ops.sweep import sweep_checkins, sweep_outbox
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from school_points.platform.queue import get_queue
from school_points.platform.redis_conn import get_redis
from tests.conftest import balance_of, requires_pg, run_concurrently
from tests.wechat_bot.officialaccount import OfficialAccount, image_xml, text_xml

CUSTOM_SEND = "/cgi-bin/message/custom/send"
ACK = "收到打卡！正在记录积分，稍后通知你结果。"
DRAIN = "school_points.points.oa_checkins.drain_checkins"


@pytest.fixture
def deferred(throwaway_redis, fake_wechat, oa_config):
    """Redis, a worker to come and official-account credentials: check-ins go to a job."""
    return fake_wechat


def told(fake):
    """(openid, text) of every customer-service message the fake WeChat delivered."""
    return [(body["touser"], body["text"]["content"]) for path, body in fake.delivered if path == CUSTOM_SEND]


def checkin_entries():
    db.session.expire_all()
    return db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "checkin"))


def test_check_in_is_acknowledged_at_once_and_awarded_by_the_worker(oa, parent, deferred, run_worker):
    openid, _, student = parent
    assert oa.say(openid, "打卡 练琴 30 分钟", msg_id=880001) == ACK
    assert checkin_entries() == 0 and told(deferred) == []  # nothing awarded in the request
    assert [job.func_name for job in get_queue().jobs] == [DRAIN]
    run_worker()
    assert checkin_entries() == 1 and balance_of(student.id) == 105
    assert told(deferred) == [(openid, "打卡成功！王小明 +5 积分，当前积分 105。")]
    notification = db.session.scalars(select(Notification)).one()
    assert (notification.kind, notification.channel, notification.status) == ("checkin_result", "oa_custom", "sent")
    record = db.session.scalars(select(GrowthRecord)).one()
    assert (record.content, record.source) == ("练琴 30 分钟", "oa")


def test_second_check_in_of_the_day_is_told_it_earned_nothing(oa, parent, deferred, run_worker):
    oa.say(parent[0], "打卡 第一次")
    oa.say(parent[0], "打卡 第二次")
    run_worker()
    assert [text for _, text in told(deferred)] == [
        "打卡成功！王小明 +5 积分，当前积分 105。",
        "打卡已记录！王小明 今天的打卡积分已领取，当前积分 105。",
    ]


def test_photo_is_acknowledged_then_awarded_and_its_image_fetched(oa, parent, deferred, run_worker):
    reply = oa.reply_of(oa.post(image_xml(parent[0], "media-xyz")))["Content"]
    assert reply == "照片已收到！正在记录打卡积分，稍后通知你结果。"
    run_worker()  # the award job queues the photo fetch, which the same burst runs
    record = db.session.scalars(select(GrowthRecord)).one()
    assert len(record.media) == 1 and "/api/v1/uploads/" in record.media[0]
    assert told(deferred) == [(parent[0], "照片已收到，打卡成功！王小明 +5 积分，当前积分 105。")]


def test_safe_mode_acknowledgement_is_encrypted(oa_safe, parent, deferred):
    response = oa_safe.post(image_xml(parent[0], "media-safe"))
    assert "<Encrypt>" in response.get_data(as_text=True)
    assert oa_safe.reply_of(response)["Content"].startswith("照片已收到！")


def test_retried_msgid_while_the_job_is_queued_gets_the_same_ack_and_no_second_job(oa, parent, deferred, run_worker):
    openid = parent[0]
    first = oa.post(oa_text(openid, 880002))
    assert oa.say(openid, "打卡 练琴", msg_id=880002) == ACK
    assert [oa.post(oa_text(openid, 880002)).data for _ in range(2)] == [first.data] * 2  # the stored reply
    assert len(get_queue()) == 1
    run_worker()
    assert checkin_entries() == 1 and len(told(deferred)) == 1


def test_concurrent_retries_of_a_deferred_check_in_queue_one_job(app, parent, deferred, run_worker):
    def deliver(_):
        return OfficialAccount(app.test_client()).say(parent[0], "打卡 钢琴", msg_id=880003)

    replies = run_concurrently(app, deliver, range(4))
    assert replies == [ACK] * 4, replies
    assert len(get_queue()) == 1
    run_worker()
    assert checkin_entries() == 1 and len(told(deferred)) == 1


def test_sweep_re_enqueues_a_check_in_whose_job_redis_lost(oa, parent, deferred, run_worker):
    assert oa.say(parent[0], "打卡 练琴", msg_id=880004) == ACK
    get_redis().flushdb()  # Redis restarted without persistence: the job is gone
    assert sweep_checkins() == 0  # within its grace period the job may still be queued
    later = utcnow() + timedelta(minutes=2)
    assert sweep_outbox(now=later) == 1
    assert sweep_checkins(now=later) == 0  # its job is queued again: not twice
    run_worker()
    assert checkin_entries() == 1 and len(told(deferred)) == 1
    assert sweep_checkins(now=utcnow() + timedelta(minutes=5)) == 0  # awarded: nothing owed


def test_a_job_run_twice_awards_and_tells_once(oa, parent, deferred, run_worker):
    from school_points.points.oa_checkins import award_checkin_message

    oa.say(parent[0], "打卡 练琴", msg_id=880005)
    run_worker()
    assert award_checkin_message("msg:880005") is None
    assert checkin_entries() == 1 and len(told(deferred)) == 1


def test_redis_down_falls_back_to_answering_in_the_request(oa, parent, deferred, throwaway_redis):
    throwaway_redis.stop()
    assert oa.say(parent[0], "打卡 练琴", msg_id=880006) == "打卡成功！王小明 +5 积分，当前积分 105。"
    assert checkin_entries() == 1 and told(deferred) == []
    assert oa.say(parent[0], "打卡 练琴", msg_id=880006) == "打卡成功！王小明 +5 积分，当前积分 105。"  # a retry
    assert checkin_entries() == 1


def test_redis_refusing_the_job_after_the_message_is_stored_awards_in_the_request(oa, parent, deferred):
    """Redis answers reads but refuses writes (out of memory): the stored check-in is done at once."""
    redis = get_redis()
    redis.config_set("maxmemory-policy", "noeviction")
    redis.config_set("maxmemory", "1")
    try:
        assert oa.say(parent[0], "打卡 练琴", msg_id=880007) == "打卡成功！王小明 +5 积分，当前积分 105。"
    finally:
        redis.config_set("maxmemory", "0")
    assert checkin_entries() == 1 and told(deferred) == []
    stored = db.session.scalars(select(ProcessedWechatMessage)).one()
    assert stored.done_at is not None and "打卡成功" in stored.reply
    assert oa.say(parent[0], "打卡 练琴", msg_id=880007).startswith("打卡成功")  # a retry: same answer
    assert sweep_checkins(now=utcnow() + timedelta(minutes=2)) == 0 and checkin_entries() == 1


def test_sender_without_student_is_told_how_to_bind_by_message(oa, deferred, run_worker):
    assert oa.say("oa-stranger", "打卡 练琴") == ACK
    run_worker()
    assert told(deferred) == [
        ("oa-stranger", "您还没有绑定孩子。请发送“绑定 绑定码”（绑定码请向老师索取），例如：绑定 AB23CD45")
    ]


def test_refusal_by_the_domain_is_told_by_message(oa, parent, deferred, run_worker):
    oa.say(parent[0], "打卡 练琴")
    parent[2].status = "archived"  # archived after the message was acknowledged
    db.session.commit()
    run_worker()
    assert told(deferred) == [(parent[0], "学员不存在")]
    assert checkin_entries() == 0
    assert db.session.scalars(select(ProcessedWechatMessage.done_at)).one() is not None


def test_result_message_refused_by_wechat_is_stored_not_retried(oa, parent, deferred, run_worker):
    deferred.script(CUSTOM_SEND, 45015)  # more than 48 h since the parent's last message
    oa.say(parent[0], "打卡 练琴")
    run_worker()
    notification = db.session.scalars(select(Notification)).one()
    assert (notification.status, notification.last_error_code, notification.attempts) == ("failed", 45015, 1)
    assert checkin_entries() == 1  # the points are awarded all the same
    assert sweep_outbox(now=utcnow() + timedelta(hours=1)) == 0


def test_result_message_is_retried_after_a_busy_wechat(oa, parent, deferred, run_worker):
    deferred.script(CUSTOM_SEND, -1)
    oa.say(parent[0], "打卡 练琴")
    run_worker()
    notification = db.session.scalars(select(Notification)).one()
    assert notification.status == "pending" and notification.next_attempt_at > utcnow()
    notification.next_attempt_at = utcnow() - timedelta(seconds=1)  # the backoff has passed
    db.session.commit()
    assert sweep_outbox() == 1
    run_worker()
    assert db.session.scalars(select(Notification.status)).one() == "sent"
    assert len(told(deferred)) == 1


def test_without_credentials_to_tell_the_result_the_check_in_is_answered_at_once(oa, parent, throwaway_redis):
    assert oa.say(parent[0], "打卡 练琴") == "打卡成功！王小明 +5 积分，当前积分 105。"
    assert len(get_queue()) == 0


def test_other_commands_are_still_answered_in_the_request(oa, parent, deferred):
    assert "签到成功" in oa.say(parent[0], "签到")
    assert "请发送“打卡 今天练习的内容”" in oa.say(parent[0], "打卡")
    assert len(get_queue()) == 0


def oa_text(openid, msg_id):
    return text_xml(openid, "打卡 练琴", msg_id=msg_id, create_time=1700000000)


def test_result_message_of_a_worker_that_died_mid_send_is_sent_by_the_sweep(app, parent, deferred, run_worker):
    from school_points.wechat import delivery

    notification = delivery.record_custom_message(
        parent[1].id, "打卡成功！王小明 +5 积分，当前积分 105。", key="oa-reply:msg:1"
    )
    db.session.commit()  # recorded as claimed by its job, which then died before sending
    assert sweep_outbox() == 0  # the dead job's lease has not run out yet
    notification.next_attempt_at = utcnow() - timedelta(seconds=1)  # now it has
    db.session.commit()
    assert sweep_outbox() == 1
    run_worker()
    assert told(deferred) == [(parent[0], "打卡成功！王小明 +5 积分，当前积分 105。")]
    assert db.session.scalars(select(Notification.status)).one() == "sent"


def test_a_check_in_sent_before_midnight_counts_for_that_day_when_the_job_runs_after(oa, parent, deferred, run_worker):
    from datetime import datetime
    from datetime import time as clock_time
    from zoneinfo import ZoneInfo

    from sqlalchemy import update

    from school_points.platform.clock import local_today

    openid, _, student = parent
    oa.say(openid, "打卡 睡前练琴", msg_id=880101)
    yesterday = local_today() - timedelta(days=1)
    just_before_midnight = datetime.combine(yesterday, clock_time(23, 59, 59), tzinfo=ZoneInfo("Asia/Shanghai"))
    db.session.execute(
        update(ProcessedWechatMessage)
        .where(ProcessedWechatMessage.dedupe_key == "msg:880101")
        .values(created_at=just_before_midnight)
    )
    db.session.commit()
    run_worker()  # the worker gets to it "today"
    entry = db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "checkin")).one()
    assert entry.local_day == yesterday
    assert db.session.scalars(select(GrowthRecord)).one().local_day == yesterday
    oa.say(openid, "打卡 今天练琴", msg_id=880102)  # today's own check-in still earns
    run_worker()
    assert balance_of(student.id) == 110


def families(make_student, make_user, make_guardian, count):
    """`count` followers each bound to a student of their own with 100 points; their openids."""
    openids = []
    for i in range(count):
        student = make_student(name=f"学生{i}", balance=100)
        user = make_user(oa_openid=f"oa-family-{i}")
        user.oa_subscribed = True
        make_guardian(student, user=user)
        openids.append(f"oa-family-{i}")
    db.session.commit()
    return openids


def test_a_burst_of_check_ins_queues_one_drain_which_awards_each_once(
    oa, deferred, run_worker, make_student, make_user, make_guardian
):
    openids = families(make_student, make_user, make_guardian, 6)
    for i, openid in enumerate(openids):
        assert oa.say(openid, "打卡 练琴", msg_id=881000 + i) == ACK
    # the first message woke a drain; the others found it pending
    assert [job.func_name for job in get_queue().jobs] == [DRAIN]
    run_worker()
    assert checkin_entries() == 6
    assert sorted(told(deferred)) == sorted(
        (o, f"打卡成功！学生{i} +5 积分，当前积分 105。") for i, o in enumerate(openids)
    )
    assert get_redis().get("school_points:checkin-drain") is None


def test_a_message_stored_once_the_drain_started_queues_the_next_drain(
    oa, parent, deferred, run_worker, make_student, make_user, make_guardian
):
    from school_points.points import oa_checkins

    other = families(make_student, make_user, make_guardian, 1)[0]
    oa.say(parent[0], "打卡 练琴", msg_id=881100)
    get_redis().delete("school_points:checkin-drain")  # what the queued drain does first when it starts
    oa_checkins._drain_pending_since = float("-inf")  # the next message comes to another web process
    oa.say(other, "打卡 练琴", msg_id=881101)  # after that drain looked, perhaps: it queues another
    assert [job.func_name for job in get_queue().jobs] == [DRAIN, DRAIN]
    run_worker()
    assert checkin_entries() == 2 and len(told(deferred)) == 2


def test_a_process_that_just_saw_a_drain_pending_skips_redis_and_that_drain_finds_its_message(
    app, oa, parent, deferred, monkeypatch, virtual_clock, make_student, make_user, make_guardian
):
    """The drain clears the flag and starts awarding; a message stored right after, in a process
    that saw the drain pending a moment ago, asks Redis nothing and queues nothing; the drain,
    lingering, finds and awards it. On the virtual clock, with the drain held in its linger until
    the message is stored: the order is forced, not hoped for from a machine's timing."""
    import threading

    from school_points.points import oa_checkins

    monkeypatch.setattr(oa_checkins, "WAKE_MEMO_SECONDS", 3.0)
    monkeypatch.setattr(oa_checkins, "LINGER_SECONDS", 3.5)
    lulls, real_lull = [], oa_checkins._wait_for_a_lull
    monkeypatch.setattr(oa_checkins, "_wait_for_a_lull", lambda: lulls.append(1) or real_lull())
    caught_up, stored, real_next_owed = threading.Event(), threading.Event(), oa_checkins._next_owed

    def next_owed(skip):
        key = real_next_owed(skip)
        if key is None and not caught_up.is_set():
            caught_up.set()  # it has awarded what was owed and looked again: it lingers...
            stored.wait(30)  # ...until the second message is stored (virtual time stands still)
        return key

    monkeypatch.setattr(oa_checkins, "_next_owed", next_owed)
    other = families(make_student, make_user, make_guardian, 1)[0]
    assert oa.say(parent[0], "打卡 练琴", msg_id=881150) == ACK  # queues the drain; this process saw it
    flag = "school_points:checkin-drain"
    done = []

    def drain():
        with app.app_context():
            done.append(oa_checkins.drain_checkins())
            db.session.remove()

    worker = threading.Thread(target=drain)
    worker.start()
    try:
        assert caught_up.wait(30) and checkin_entries() == 1
        assert get_redis().get(flag) is None  # the drain started: a message now is after it cleared the flag
        client, keys_set = get_redis(), []
        real_set = client.set
        monkeypatch.setattr(client, "set", lambda key, *a, **k: keys_set.append(key) or real_set(key, *a, **k))
        assert oa.say(other, "打卡 练琴", msg_id=881151) == ACK
        assert flag not in keys_set and get_redis().get(flag) is None  # Redis was not asked
        assert len(get_queue()) == 1  # nor a second drain queued
    finally:
        stored.set()
        worker.join(30)
    assert not worker.is_alive() and done == [2]
    assert len(lulls) == 2  # the second message, found while lingering, waited for a lull of its own
    assert checkin_entries() == 2 and sorted(o for o, _ in told(deferred)) == sorted([parent[0], other])


def test_a_check_in_that_fails_is_left_for_the_sweep_and_the_others_are_awarded(
    oa, deferred, run_worker, monkeypatch, make_student, make_user, make_guardian
):
    from school_points.points import oa_checkins

    openids = families(make_student, make_user, make_guardian, 3)
    for i, openid in enumerate(openids):
        oa.say(openid, "打卡 练琴", msg_id=881200 + i)
    real = oa_checkins.check_in

    def flaky(openid, sent, *, key):
        if openid == openids[0]:
            raise RuntimeError("database went away")
        return real(openid, sent, key=key)

    monkeypatch.setattr(oa_checkins, "check_in", flaky)
    run_worker()
    assert checkin_entries() == 2 and {o for o, _ in told(deferred)} == set(openids[1:])
    monkeypatch.setattr(oa_checkins, "check_in", real)
    assert sweep_checkins(now=utcnow() + timedelta(minutes=2)) == 1  # still owed: a drain is queued
    run_worker()
    assert checkin_entries() == 3 and len(told(deferred)) == 3


@requires_pg
def test_concurrent_drains_share_the_messages_and_award_each_once(
    app, oa, deferred, make_student, make_user, make_guardian
):
    from school_points.points.oa_checkins import drain_checkins

    openids = families(make_student, make_user, make_guardian, 12)
    for i, openid in enumerate(openids):
        oa.say(openid, "打卡 练琴", msg_id=881300 + i)
    done = run_concurrently(app, lambda _: drain_checkins(), range(3))
    assert sum(done) == 12, done
    assert checkin_entries() == 12 and sorted(o for o, _ in told(deferred)) == sorted(openids)
    assert (
        db.session.scalar(
            select(func.count()).select_from(ProcessedWechatMessage).where(ProcessedWechatMessage.done_at.is_(None))
        )
        == 0
    )


def test_a_drain_waits_for_a_lull_in_arriving_messages_but_not_for_ever(app, deferred, monkeypatch):
    """On a virtual clock (school_points.platform.clock's seam), so a busy machine cannot fake a lull."""
    from school_points.platform import clock as clock_seam
    from school_points.points import oa_checkins
    from tests.clock import VirtualClock

    monkeypatch.setattr(oa_checkins, "LULL_SECONDS", 0.05)
    monkeypatch.setattr(oa_checkins, "MAX_WAIT_SECONDS", 1.5)

    def waited_while_arriving(seconds):
        """How long the drain's wait lasts while a message is stored every 10 ms for `seconds`."""
        clock = VirtualClock()
        monkeypatch.setattr(clock_seam, "_source", clock)
        start = clock.now
        # The newest stored id grows by one every 10 ms while the stream lasts.
        monkeypatch.setattr(oa_checkins, "_newest_message_id", lambda: int(min(clock.now - start, seconds) * 100))
        oa_checkins._wait_for_a_lull()
        return clock.now - start

    assert waited_while_arriving(0) < 0.1  # nothing arriving: on after one look
    assert 0.4 <= waited_while_arriving(0.4) < 0.5  # until the burst was over, not until the cap
    assert 1.5 <= waited_while_arriving(4.0) < 1.6  # a stream that never pauses: awards at the cap


def test_the_lull_watch_sees_a_message_stored_by_another_connection(app, deferred):
    from school_points.points import oa_checkins

    before = oa_checkins._newest_message_id()
    with app.app_context():
        db.session.add(ProcessedWechatMessage(dedupe_key="evt:lull:other", reply="", created_at=utcnow()))
        db.session.commit()
        db.session.remove()
    assert oa_checkins._newest_message_id() != before


def test_recording_a_retry_brings_back_the_first_answer(app, deferred):
    from school_points.points import oa_checkins

    sent = oa_checkins.sent_of("练琴")
    first = oa_checkins.record_deferred("msg:881400", "oa-x", sent, "<xml>first</xml>")
    db.session.commit()
    again = oa_checkins.record_deferred("msg:881400", "oa-x", sent, "<xml>second</xml>")
    db.session.commit()
    assert first == (True, None)
    # PostgreSQL reads the stored reply in the same statement; SQLite leaves it to the caller
    assert again == ((False, "<xml>first</xml>") if db.engine.dialect.name == "postgresql" else (False, None))


@requires_pg
def test_a_retry_that_waited_on_the_first_delivery_reads_its_answer_afresh(app, parent, deferred, monkeypatch):
    """The retry's INSERT waits on the first delivery's uncommitted row. Once that commits, the
    statement's own snapshot cannot see the row; the callback reads the reply again and answers it."""
    import threading
    import time

    from school_points.points import oa_checkins

    recorded, real = [], oa_checkins.record_deferred
    monkeypatch.setattr(oa_checkins, "record_deferred", lambda *a: recorded.append(real(*a)) or recorded[-1])
    first = db.engine.raw_connection()
    try:
        with first.cursor() as cursor:
            cursor.execute(
                "INSERT INTO processed_wechat_message (dedupe_key, reply, created_at) "
                "VALUES ('msg:881500', '<xml>the first answer</xml>', now())"
            )
        answers = []

        def retry():
            answers.append(OfficialAccount(app.test_client()).post(oa_text(parent[0], 881500)).get_data(as_text=True))

        waiting = threading.Thread(target=retry)
        waiting.start()
        time.sleep(0.5)
        assert answers == []  # waiting on the uncommitted row
        first.commit()
        waiting.join(10)
    finally:
        first.close()
    assert recorded == [(False, None)] and answers == ["<xml>the first answer</xml>"]
    assert len(get_queue()) == 0


def test_a_drain_waits_for_a_lull_then_lingers_linger_seconds_on_the_clock_seam(
    oa, parent, deferred, virtual_clock, monkeypatch
):
    """The drain's waits go through school_points.platform.clock: with the real values (0.1 s lull, 1 s
    linger) it spends 1.1 s of virtual time and none of the machine's."""
    from school_points.points import oa_checkins

    monkeypatch.setattr(oa_checkins, "LULL_SECONDS", 0.1)
    monkeypatch.setattr(oa_checkins, "MAX_WAIT_SECONDS", 2.0)
    monkeypatch.setattr(oa_checkins, "WAKE_MEMO_SECONDS", 0.5)
    monkeypatch.setattr(oa_checkins, "LINGER_SECONDS", 1.0)
    assert oa.say(parent[0], "打卡 练琴", msg_id=881600) == ACK
    started = virtual_clock.now
    assert oa_checkins.drain_checkins() == 1
    assert 1.1 - 1e-9 <= virtual_clock.now - started < 1.2
    assert checkin_entries() == 1


def test_the_suites_quick_drains_keep_the_linger_longer_than_the_wake_memo():
    """tests/conftest.py shortens the drain's waits for every test; the module's rule still holds."""
    from school_points.points import oa_checkins

    assert oa_checkins.LINGER_SECONDS < 0.1 and oa_checkins.LINGER_SECONDS > oa_checkins.WAKE_MEMO_SECONDS
