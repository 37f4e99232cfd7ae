"""Follow, unfollow, QR scenes and template receipts (docs/WECHAT.md)."""

from datetime import timedelta

from sqlalchemy import select

from school_points.models import Guardian, Notification, Referral, WechatUser
from school_points.people.account_links import create_link, scene_for
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from tests.conftest import balance_of, requires_pg


def _user(openid):
    db.session.expire_all()
    return db.session.scalars(select(WechatUser).where(WechatUser.oa_openid == openid)).first()


def test_subscribe_welcomes_with_help_and_marks_the_follower(oa):
    reply = oa.event("oa-f1", "subscribe")
    assert "欢迎关注" in reply and "可用指令" in reply
    assert _user("oa-f1").oa_subscribed is True


def test_unsubscribe_stops_template_messages(oa, parent):
    assert oa.event(parent[0], "unsubscribe") == ""
    assert _user(parent[0]).oa_subscribed is False


def test_subscribe_with_referral_scene_records_the_referral(oa, make_user):
    referrer = make_user()
    oa.event("oa-newcomer", "subscribe", key=f"qrscene_ref_{referrer.referral_code}", Ticket="t")
    referral = db.session.scalars(select(Referral)).one()
    assert referral.referrer_user_id == referrer.id and referral.referred_user_id == _user("oa-newcomer").id


def test_scan_of_referral_by_existing_follower_is_not_a_referral(oa, make_user):
    referrer = make_user()
    oa.event("oa-old", "subscribe")
    oa.event("oa-old", "SCAN", key=f"ref_{referrer.referral_code}", Ticket="t")
    assert db.session.scalars(select(Referral)).first() is None


def test_nobody_refers_themselves(oa):
    oa.event("oa-self", "subscribe")
    code = _user("oa-self").referral_code
    oa.event("oa-self", "SCAN", key=f"ref_{code}")
    assert db.session.scalars(select(Referral)).first() is None


def test_subscribe_with_bind_scene_binds_the_student(oa, make_student):
    student = make_student(name="韩梅梅")
    reply = oa.event("oa-binder", "subscribe", key=f"qrscene_bind_{student.bind_code}")
    assert "欢迎关注" in reply and "已为您绑定孩子：韩梅梅" in reply
    user = _user("oa-binder")
    assert db.session.scalars(select(Guardian).where(Guardian.user_id == user.id)).one().student_id == student.id
    assert user.oa_subscribed is True


def test_a_referred_follower_scanning_a_new_childs_bind_code_earns_both_families_their_points(
    oa, make_student, make_guardian
):
    """老带新 by QR scenes: follow via a referral QR, then scan a newly enrolled child's bind QR."""
    old_student = make_student(name="老学员")
    referrer = make_guardian(old_student)
    oa.event("oa-newcomer", "subscribe", key=f"qrscene_ref_{referrer.referral_code}", Ticket="t")
    new_student = make_student(name="新学员")
    assert "绑定" in oa.event("oa-newcomer", "SCAN", key=f"bind_{new_student.bind_code}", Ticket="t")
    assert (balance_of(old_student.id), balance_of(new_student.id)) == (100, 50)


def test_scan_with_unknown_bind_code_explains_and_still_follows(oa):
    reply = oa.event("oa-binder", "subscribe", key="qrscene_bind_NOPE2345")
    assert "欢迎关注" in reply and "绑定码无效" in reply
    assert _user("oa-binder").oa_subscribed is True


def test_link_scene_joins_the_official_account_to_the_mini_program_user(oa, make_user):
    mp_user = make_user(mp_openid="mp-linker")
    link = create_link(mp_user)
    db.session.commit()
    reply = oa.event("oa-linker", "SCAN", key=scene_for(link))
    assert "已与小程序账号关联" in reply
    joined = _user("oa-linker")
    assert joined.id == mp_user.id and joined.mp_openid == "mp-linker" and joined.oa_subscribed


def test_link_scene_merges_an_existing_follower_row(oa, make_user):
    oa.event("oa-linker", "subscribe")
    mp_user = make_user(mp_openid="mp-linker")
    link = create_link(mp_user)
    db.session.commit()
    oa.event("oa-linker", "SCAN", key=scene_for(link))
    assert _user("oa-linker").id == mp_user.id
    assert db.session.scalars(select(WechatUser)).all() == [_user("oa-linker")]


def test_expired_link_scene_is_explained(oa, make_user):
    link = create_link(make_user(), ttl_seconds=1)
    link.expires_at = utcnow() - timedelta(seconds=5)
    db.session.commit()
    assert "关联二维码无效或已过期" in oa.event("oa-late", "SCAN", key=scene_for(link))


def test_template_job_finish_records_the_delivery_status(oa, parent):
    notification = Notification(
        kind="issued",
        dedupe_key="n1",
        user_id=parent[1].id,
        status="sent",
        wechat_msgid="200228332",
        values={},
        created_at=utcnow(),
    )
    db.session.add(notification)
    db.session.commit()
    assert oa.event(parent[0], "TEMPLATESENDJOBFINISH", MsgID="200228332", Status="failed:user block") == ""
    db.session.expire_all()
    assert db.session.get(Notification, notification.id).delivery_status == "failed:user block"


def test_view_event_needs_no_answer(oa):
    assert oa.event("oa-viewer", "VIEW", key="https://example.com") == ""


def test_new_follower_is_joined_to_the_mini_program_user_by_unionid(oa, make_user, fake_wechat):
    from school_points.wechat.followers import sync_follower

    mp_user = make_user(mp_openid="mp-u1", unionid="union-1")
    fake_wechat.unionids["oa-u1"] = "union-1"
    oa.event("oa-u1", "subscribe")
    sync_follower("oa-u1")  # the job (already run in-process when there is no Redis)
    joined = _user("oa-u1")
    assert joined.id == mp_user.id and joined.mp_openid == "mp-u1" and joined.oa_subscribed


@requires_pg
def test_the_follower_job_holds_no_transaction_open_while_wechat_answers(app, oa, make_user, fake_wechat):
    import threading
    import time

    from sqlalchemy import text

    from school_points.wechat.followers import sync_follower
    from tests.fakewechat import DELAY

    mp_user = make_user(mp_openid="mp-u9", unionid="union-9")
    fake_wechat.unionids["oa-u9"] = "union-9"
    oa.event("oa-u9", "subscribe")  # its job may have run in-process already: undo the join, run it slowly
    db.session.execute(text("UPDATE wechat_user SET unionid = NULL, mp_openid = NULL WHERE oa_openid = 'oa-u9'"))
    db.session.commit()
    fake_wechat.script("/cgi-bin/user/info", DELAY(1.0))
    asked = fake_wechat.count("/cgi-bin/user/info")

    def job():
        with app.app_context():
            sync_follower("oa-u9")
            db.session.remove()

    worker = threading.Thread(target=job)
    worker.start()
    deadline = time.monotonic() + 5
    while fake_wechat.count("/cgi-bin/user/info") == asked and time.monotonic() < deadline:
        time.sleep(0.01)
    idle_in_transaction = db.session.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        )
    )
    db.session.rollback()
    worker.join(10)
    assert fake_wechat.count("/cgi-bin/user/info") == asked + 1 and idle_in_transaction == 0
    assert _user("oa-u9").id == mp_user.id  # and the job still joined the two rows


def test_follower_without_unionid_stays_as_is(oa, fake_wechat):
    from school_points.wechat.followers import sync_follower

    oa.event("oa-u2", "subscribe")
    assert sync_follower("oa-u2") is None
    assert _user("oa-u2").unionid is None
