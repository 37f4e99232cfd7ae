"""The official account and member levels: the 积分 reply shows the level, check-ins earn bonuses
whichever path they take (in the request, or deferred to the drain job)."""

from sqlalchemy import select

from school_points.models import LedgerEntry
from school_points.platform.extensions import db
from school_points.school.settings import update_settings
from tests.conftest import balance_of, requires_pg
from tests.wechat_bot.officialaccount import text_xml

LEVELS = {
    "enabled": True,
    "tiers": [
        {"level": 1, "name": "新芽", "min_lifetime": 0},
        {"level": 2, "name": "小树", "min_lifetime": 50},
        {"level": 3, "name": "大树", "min_lifetime": 300},
    ],
    "earn_bonus_pct": {"1": 0, "2": 20, "3": 50},
}


def levels_on(**checkin):
    update_settings({"levels": LEVELS, "checkin": {"points": 10, **checkin}})
    db.session.commit()


def bonus_entries():
    db.session.expire_all()
    return [(e.kind, e.delta) for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "level_bonus"))]


def test_points_reply_shows_the_level_and_the_points_to_the_next(oa, parent):
    levels_on()
    reply = oa.reply_of(oa.post(text_xml("oa-parent-1", "积分")))["Content"]
    assert reply == "王小明：可用 100 积分（累计 100），等级 Lv2 小树，距离下一等级还差 200 分"


def test_points_reply_has_no_level_while_levels_are_off(oa, parent):
    reply = oa.reply_of(oa.post(text_xml("oa-parent-1", "积分")))["Content"]
    assert reply == "王小明：可用 100 积分（累计 100）"


def test_check_in_in_the_request_earns_the_level_bonus(oa, parent, sync_bot):
    levels_on()
    reply = oa.reply_of(oa.post(text_xml("oa-parent-1", "打卡 练琴", msg_id=990001)))["Content"]
    assert reply == "打卡成功！王小明 +12 积分，当前积分 112。"
    assert bonus_entries() == [("level_bonus", 2)]


@requires_pg
def test_deferred_check_in_earns_the_level_bonus_in_the_drain(oa, parent, throwaway_redis, fake_wechat, run_worker):
    levels_on()
    oa.say(parent[0], "打卡 练琴", msg_id=990002)
    assert bonus_entries() == []  # acknowledged only
    run_worker()
    assert bonus_entries() == [("level_bonus", 2)]
    assert balance_of(parent[2].id) == 112
