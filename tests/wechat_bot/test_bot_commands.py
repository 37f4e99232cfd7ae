"""Parents' text commands and photos in the official account (docs/WECHAT.md), answered in Chinese."""

from sqlalchemy import select

from school_points.accounts import ledger
from school_points.models import GrowthRecord, Redemption, WechatUser
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM
from tests.conftest import balance_of
from tests.wechat_bot.officialaccount import image_xml


def test_points_lists_every_bound_student(oa, parent, make_student, make_guardian):
    openid, user, _ = parent
    make_guardian(make_student(name="王小红", balance=7), user=user, default=False)
    reply = oa.say(openid, "积分")
    assert "王小明：可用 100 积分（累计 100）（当前）" in reply
    assert "王小红：可用 7 积分" in reply


def test_check_in_of_the_default_student_when_several_are_bound(oa, parent, make_student, make_guardian, sync_bot):
    openid, user, first = parent
    sister = make_student(name="王小红", balance=10)
    make_guardian(sister, user=user, default=False)
    oa.say(openid, "切换 王小红")
    assert oa.say(openid, "打卡 练字") == "打卡成功！王小红 +5 积分，当前积分 15。"
    assert (balance_of(first.id), balance_of(sister.id)) == (100, 15)


def test_check_in_of_an_archived_default_student_is_refused(oa, parent, sync_bot):
    parent[2].status = "archived"
    db.session.commit()
    assert oa.say(parent[0], "打卡 练琴") == "学员不存在"
    assert db.session.scalars(select(GrowthRecord)).first() is None


def test_user_without_student_is_told_how_to_bind(oa):
    for command in ("积分", "签到", "打卡 练琴", "兑换记录", "切换 王小明"):
        assert "您还没有绑定孩子" in oa.say("oa-stranger", command)


def test_first_message_creates_the_follower(oa):
    oa.say("oa-brand-new", "你好")
    assert db.session.scalars(select(WechatUser).where(WechatUser.oa_openid == "oa-brand-new")).one()


def test_sign_in_awards_the_default_student(oa, parent):
    reply = oa.say(parent[0], "签到")
    assert "签到成功！王小明 获得 1 积分，已连续签到 1 天，当前 101 积分" in reply
    assert balance_of(parent[2].id) == 101


def test_second_sign_in_the_same_day_is_refused_kindly(oa, parent):
    oa.say(parent[0], "签到")
    assert "今天已经签到过了" in oa.say(parent[0], "签到")
    assert balance_of(parent[2].id) == 101


# Check-ins here are answered in the request (no Redis, or no credentials to tell the result later);
# with Redis they are acknowledged and awarded by a job: test_bot_checkin_deferred.py.


def test_text_check_in_posts_a_record_and_awards_points(oa, parent, sync_bot):
    reply = oa.say(parent[0], "打卡 练琴 30 分钟")
    assert reply == "打卡成功！王小明 +5 积分，当前积分 105。"
    record = db.session.scalars(select(GrowthRecord)).one()
    assert record.content == "练琴 30 分钟" and record.source == "oa"


def test_check_in_without_content_explains_itself(oa, parent):
    assert "请发送“打卡 今天练习的内容”" in oa.say(parent[0], "打卡")
    assert db.session.scalars(select(GrowthRecord)).first() is None


def test_second_check_in_of_the_day_is_recorded_without_points(oa, parent, sync_bot):
    oa.say(parent[0], "打卡 第一次")
    assert oa.say(parent[0], "打卡：第二次") == "打卡已记录！王小明 今天的打卡积分已领取，当前积分 105。"
    assert balance_of(parent[2].id) == 105


def test_photo_checks_in_and_the_image_is_fetched_by_a_job(oa, parent, fake_wechat, sync_bot):
    reply = oa.reply_of(oa.post(image_xml(parent[0], "media-abc")))["Content"]
    assert reply == "照片已收到，打卡成功！王小明 +5 积分，当前积分 105。"
    db.session.expire_all()
    record = db.session.scalars(select(GrowthRecord)).one()
    # Without Redis the job ran right after the commit; with Redis it waits in the queue.
    from school_points.media.wechat_media import fetch_record_media

    fetch_record_media(record.id)
    db.session.expire_all()
    assert len(record.media) == 1 and "/api/v1/uploads/" in record.media[0]
    assert fake_wechat.calls("/cgi-bin/media/get")[0].params["media_id"] == "media-abc"


def test_bind_command_binds_and_sets_the_default(oa, make_student):
    student = make_student(name="李雷")
    assert "绑定成功！已绑定孩子：李雷" in oa.say("oa-new-parent", f"绑定 {student.bind_code.lower()}")
    user = db.session.scalars(select(WechatUser).where(WechatUser.oa_openid == "oa-new-parent")).one()
    assert user.default_student_id == student.id


def test_a_referred_follower_binding_a_new_child_earns_both_families_their_points(oa, make_student, make_guardian):
    """老带新 through the official account: follow via a parent's referral QR, then 绑定 a newly
    enrolled child: the referrer's child gets 100 points and the new child 50 (docs/PRODUCT.md)."""
    old_student = make_student(name="老学员")
    referrer = make_guardian(old_student)
    oa.event("oa-newcomer", "subscribe", key=f"qrscene_ref_{referrer.referral_code}", Ticket="t")
    new_student = make_student(name="新学员")
    assert "绑定成功" in oa.say("oa-newcomer", f"绑定 {new_student.bind_code}")
    assert (balance_of(old_student.id), balance_of(new_student.id)) == (100, 50)


def test_bind_with_unknown_code_says_so(oa):
    assert "绑定码无效" in oa.say("oa-new-parent", "绑定 ZZZZ2345")


def test_bind_without_code_explains_itself(oa):
    assert "请发送“绑定 绑定码”" in oa.say("oa-new-parent", "绑定")


def test_switch_changes_the_default_student(oa, parent, make_student, make_guardian):
    openid, user, _ = parent
    sister = make_student(name="王小红")
    make_guardian(sister, user=user, default=False)
    assert "已切换到：王小红" in oa.say(openid, "切换 王小红")
    oa.say(openid, "签到")
    assert balance_of(sister.id) == 1


def test_switch_to_unknown_name_lists_the_students(oa, parent):
    assert "没有找到名为“张三”的孩子。您已绑定：王小明" in oa.say(parent[0], "切换 张三")


def test_redemption_history_lists_recent_orders(oa, parent, make_goods):
    from school_points.mall import redemption
    from school_points.school.actors import Actor

    goods = make_goods(name="铅笔", points=30)
    redemption.redeem(parent[2].id, goods.id, 1, key="k1", actor=Actor.user(parent[1].id))
    db.session.commit()
    reply = oa.say(parent[0], "兑换记录")
    assert "王小明 最近的兑换" in reply and "铅笔 ×1，30 积分，待领取" in reply


def test_redemption_history_when_there_is_none(oa, parent):
    assert "还没有兑换记录" in oa.say(parent[0], "兑换记录")


def test_referral_replies_code_and_qr(oa, parent, fake_wechat):
    reply = oa.say(parent[0], "推荐")
    assert f"您的推荐码：{parent[1].referral_code}" in reply
    assert f"ticket-ref_{parent[1].referral_code}" in reply
    scene = fake_wechat.calls("/cgi-bin/qrcode/create")[0].json["action_info"]["scene"]["scene_str"]
    assert scene == f"ref_{parent[1].referral_code}"


def test_referral_without_wechat_still_gives_the_code(oa, parent):
    reply = oa.say(parent[0], "推荐")
    assert parent[1].referral_code in reply and "暂时无法生成" in reply


def test_anything_else_gets_short_help(oa, parent):
    assert "可用指令" in oa.say(parent[0], "今天天气怎么样")


def test_unsupported_message_type_gets_help(oa, parent):
    xml = (
        f"<xml><ToUserName>gh</ToUserName><FromUserName>{parent[0]}</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><MsgId>9911</MsgId></xml>"
    )
    assert "暂不支持这类消息" in oa.reply_of(oa.post(xml))["Content"]


def test_menu_clicks_run_the_same_commands(oa, parent):
    assert "可用 100 积分" in oa.event(parent[0], "CLICK", key="POINTS")
    assert "签到成功" in oa.event(parent[0], "CLICK", key="SIGNIN")
    assert "请发送“打卡" in oa.event(parent[0], "CLICK", key="CHECKIN")
    assert "可用指令" in oa.event(parent[0], "CLICK", key="NO_SUCH_KEY")


def test_balance_reply_matches_the_ledger_after_spending(oa, parent):
    account = ledger.lock(parent[2].id)
    ledger.debit(account, 40, "redemption", key="t-spend", actor=SYSTEM)
    db.session.commit()
    assert "王小明：可用 60 积分（累计 100）" in oa.say(parent[0], "积分")


def test_orders_are_untouched_by_the_bot(oa, parent):
    oa.say(parent[0], "兑换记录")
    assert db.session.scalars(select(Redemption)).first() is None


def test_referral_reply_does_not_wait_for_a_slow_wechat(oa, parent, fake_wechat, monkeypatch):
    """WeChat answers after 1 s; the reply gives up after REFERRAL_QR_TIMEOUT (0.2 s here). The
    fallback text proves it did not wait: had it waited, it would carry the QR image's URL."""
    from tests.fakewechat import DELAY
    from wechat_bot import commands

    monkeypatch.setattr(commands, "REFERRAL_QR_TIMEOUT", 0.2)
    fake_wechat.script("/cgi-bin/stable_token", DELAY(1))
    reply = oa.say(parent[0], "推荐")
    assert parent[1].referral_code in reply and "暂时无法生成" in reply


def test_a_message_marks_an_old_follower_as_following(oa, make_user):
    """People who followed before the system existed never sent a subscribe event."""
    make_user(oa_openid="oa-old-follower")
    oa.say("oa-old-follower", "积分")
    db.session.expire_all()
    user = db.session.scalars(select(WechatUser).where(WechatUser.oa_openid == "oa-old-follower")).one()
    assert user.oa_subscribed is True
