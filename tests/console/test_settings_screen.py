"""设置: the settings form, validated by the API's schema, saved through the same service."""

from sqlalchemy import select

from school_points.models import AuditLog
from school_points.platform.extensions import db
from school_points.school.settings import get_settings
from tests.console.conftest import ConsoleClient


def text(response):
    return response.get_data(as_text=True)


def form_of(boss):
    """Every box of the settings form as the page renders it (what a browser would send back)."""
    import re

    page = text(boss.get("/console/settings"))
    data = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                data[name.group(1)] = "1"
        else:
            data[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', page):
        data[name] = body
    for name, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', body)
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_the_form_shows_every_section_with_current_values(boss):
    page = text(boss.get("/console/settings"))
    for title in ("积分价值", "课堂评价", "打卡", "点赞", "推荐", "连续签到", "生日", "积分过期", "积分商城", "隐私"):
        assert f"<h2>{title}</h2>" in page
    assert "通知：兑换成功" in page and "认真听讲" in page
    assert 'name="signin.streak_points" type="text" value="1, 1, 2, 2, 3, 3, 5"' in page
    assert 'name="notifications.redeemed.fields.student"' in page


def test_the_unchanged_form_saves_and_changes_nothing(boss):
    before = get_settings()
    data = form_of(boss)
    done = boss.post("/console/settings", data)
    assert done.status_code == 302, text(done)[:3000]
    db.session.rollback()
    assert get_settings() == before


def test_a_good_value_is_saved_and_audited(boss):
    data = form_of(boss)
    data.update(
        {
            "checkin.points": "8",
            "signin.streak_points": "1，2、3 5",
            "mall.notice": "周末闭馆",
            "expiry.policy": "rolling",
            "evaluation.behaviors.4.name": "帮助同学",
            "evaluation.behaviors.4.points": "4",
            "evaluation.behaviors.0.name": "",
            "evaluation.behaviors.0.points": "",
        }
    )
    data.pop("mall.open", None)  # unticked
    done = boss.post("/console/settings", data)
    assert done.status_code == 302
    assert "设置已保存" in text(boss.get(done.headers["Location"]))
    db.session.rollback()
    settings = get_settings()
    assert settings["checkin"]["points"] == 8
    assert settings["signin"]["streak_points"] == [1, 2, 3, 5]
    assert settings["mall"] == {"open": False, "poster_url": "", "notice": "周末闭馆"}
    assert settings["expiry"]["policy"] == "rolling"
    names = [(b["id"], b["name"]) for b in settings["evaluation"]["behaviors"]]
    assert names == [(2, "积极发言"), (3, "完成作业"), (4, "进步明显"), (5, "帮助同学")]
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "settings.update")).one()
    assert set(entry.changes["new"]) == {"checkin", "signin", "mall", "expiry", "evaluation"}


def test_bad_values_are_shown_beside_their_boxes_and_nothing_is_saved(boss):
    data = form_of(boss)
    data.update(
        {
            "like.daily_cap": "-1",
            "checkin.points": "五",
            "birthday.points": "",
            "mall.poster_url": "javascript:alert(1)",
            "notifications.issued.fields.time": "不是关键词",
            "evaluation.behaviors.1.points": "0",
        }
    )
    page = boss.post("/console/settings", data)
    body = text(page)
    assert page.status_code == 422
    assert '<p class="field-error" id="e-like.daily_cap">必须在 0 到 10000 之间</p>' in body
    assert '<p class="field-error" id="e-checkin.points">必须是整数</p>' in body
    assert '<p class="field-error" id="e-birthday.points">必填</p>' in body
    assert 'id="e-mall.poster_url">必须是 http(s):// 地址或以 / 开头的路径' in body
    assert 'id="e-notifications.issued.fields.time">必须是模板关键词名' in body
    assert 'id="e-evaluation.behaviors.1.points">必须在 1 到 1000 之间' in body
    assert 'value="五"' in body  # what was typed stays
    db.session.rollback()
    assert get_settings()["like"]["daily_cap"] == 20
    assert db.session.scalars(select(AuditLog)).first() is None


def test_a_campus_admin_sees_the_settings_but_cannot_save(app, make_admin, campus):
    make_admin("boss")
    make_admin("keeper", campus_id=campus.id)
    keeper = ConsoleClient(app.test_client())
    keeper.login("keeper")
    page = text(keeper.get("/console/settings"))
    assert "只有总管理员可以修改设置" in page and "保存设置" not in page and "disabled" in page
    refused = keeper.post("/console/settings", {"checkin.points": "9"})
    assert refused.status_code == 403
    db.session.rollback()
    assert get_settings()["checkin"]["points"] == 5


def test_saving_needs_the_csrf_token(boss):
    refused = boss.post("/console/settings", form_of(boss) | {"checkin.points": "9"}, csrf=False)
    assert refused.status_code == 400
    db.session.rollback()
    assert get_settings()["checkin"]["points"] == 5
