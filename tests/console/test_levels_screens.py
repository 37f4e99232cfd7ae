"""会员等级 in the console: the settings section (same schema as the API), goods' 等级要求, the
level on a student's page and 学员等级分布 on the reports page and the dashboard."""

import pytest
from sqlalchemy import select

from school_points.models import AuditLog, Goods
from school_points.platform.extensions import db
from school_points.school.settings import get_settings, update_settings
from tests.console.conftest import shoot, sign_in, visit
from tests.console.test_settings_screen import form_of

TIERS = [
    {"level": 1, "name": "新芽", "min_lifetime": 0},
    {"level": 2, "name": "小树", "min_lifetime": 100},
    {"level": 3, "name": "大树", "min_lifetime": 300},
]


def text(response):
    return response.get_data(as_text=True)


def levels_on(tiers=TIERS):
    update_settings({"levels": {"enabled": True, "tiers": tiers}})
    db.session.commit()


def test_levels_are_switched_on_through_the_settings_form(boss):
    page = text(boss.get("/console/settings"))
    assert "<h2>会员等级</h2>" in page and 'name="levels.tiers.0.name"' in page and "森林" in page
    assert 'name="birthday.double_on_birthday"' in page and "通知：等级提升" in page
    data = form_of(boss)
    data.update({"levels.enabled": "1", "birthday.double_on_birthday": "1"})
    data.update({"levels.tiers.3.name": "", "levels.tiers.3.level": "", "levels.tiers.3.min_lifetime": ""})
    data.update({"levels.tiers.1.min_lifetime": "300", "levels.tiers.1.name": "小苗"})
    data.update({"levels.earn_bonus_pct.1.value": "", "levels.earn_bonus_pct.1.key": ""})  # 4: 20 → 0
    data.update({"levels.earn_bonus_pct.2.key": "2", "levels.earn_bonus_pct.2.value": "5"})
    done = boss.post("/console/settings", data)
    assert done.status_code == 302, text(done)[:3000]
    db.session.rollback()
    settings = get_settings()
    assert settings["levels"]["enabled"] is True and settings["birthday"]["double_on_birthday"] is True
    assert [(t["level"], t["name"], t["min_lifetime"]) for t in settings["levels"]["tiers"]] == [
        (1, "新芽", 0),
        (2, "小苗", 300),
        (3, "大树", 2000),
    ]
    bonus = settings["levels"]["earn_bonus_pct"]
    assert (bonus["2"], bonus["3"], bonus["4"]) == (5, 10, 0)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "settings.update")).one()
    assert {"levels", "birthday"} <= set(entry.changes["new"])


@pytest.mark.parametrize(
    ("changes", "box", "message"),
    [
        ({"levels.tiers.2.min_lifetime": "100"}, "levels.tiers", "累计积分门槛必须逐级递增"),
        ({"levels.tiers.1.name": "新芽"}, "levels.tiers", "等级名称不能重复"),
        ({"levels.tiers.1.min_lifetime": "很多"}, "levels.tiers.1.min_lifetime", "必须是整数"),
        ({"levels.earn_bonus_pct.0.value": "101"}, "levels.earn_bonus_pct.0.value", "必须在 0 到 100 之间"),
    ],
)
def test_a_bad_tier_is_a_field_error_and_nothing_is_saved(boss, changes, box, message):
    before = get_settings()
    data = form_of(boss)
    data.update({"levels.enabled": "1", **changes})
    response = boss.post("/console/settings", data)
    assert response.status_code == 422
    page = text(response)
    assert f'<p class="field-error" id="e-{box}">{message}' in page
    db.session.rollback()
    assert get_settings() == before


def test_goods_min_level_is_saved_shown_and_cleared(boss, make_goods):
    goods = make_goods("贴纸")
    form = {"name": "贴纸", "points": "5", "stock": "10", "stock_seen": "10", "verify_code": "8888", "sort": "0"}
    assert boss.post(f"/console/goods/{goods.id}", {**form, "min_level": "3"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Goods, goods.id).min_level == 3
    listing = text(boss.get("/console/goods"))
    assert "等级要求" in listing and "Lv3 及以上" in listing
    assert 'name="min_level" type="number" inputmode="numeric" value="3"' in text(
        boss.get(f"/console/goods/{goods.id}")
    )
    bad = boss.post(f"/console/goods/{goods.id}", {**form, "min_level": "11"})
    assert bad.status_code == 422 and "必须在 1 到 10 之间" in text(bad)
    assert boss.post(f"/console/goods/{goods.id}", {**form, "min_level": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Goods, goods.id).min_level is None
    assert "所有学员" in text(boss.get("/console/goods"))


def test_the_student_page_shows_the_level_only_when_levels_are_on(boss, make_student):
    student = make_student("王小明", balance=150)
    db.session.commit()
    page = text(boss.get(f"/console/students/{student.id}"))
    assert "会员等级" not in page
    levels_on()
    page = text(boss.get(f"/console/students/{student.id}"))
    assert "Lv2 小树" in page and "还差 150 分（Lv3 大树）" in page


def test_reports_and_dashboard_show_students_by_level(boss, make_student):
    make_student("甲", balance=0)
    make_student("乙", balance=120)
    make_student("丙", balance=500)
    db.session.commit()
    assert "学员等级分布" not in text(boss.get("/console/reports"))
    assert "学员等级分布" not in text(boss.get("/console/"))
    levels_on()
    for path in ("/console/reports", "/console/"):
        page = text(boss.get(path))
        assert "学员等级分布" in page and "Lv3" in page and "大树" in page


def test_the_levels_section_in_a_browser(page, make_admin):
    make_admin("boss")
    sign_in(page)
    visit(page, "/console/settings")
    page.check("input[name='levels.enabled']")
    page.fill("[id='f-levels.tiers.2.min_lifetime']", "100")
    with page.expect_navigation():
        page.click("text=保存设置")
    error = page.locator("[id='e-levels.tiers']")
    assert error.text_content().strip() == "累计积分门槛必须逐级递增"
    error.scroll_into_view_if_needed()
    shoot(page, "settings-levels")
    assert [e for e in page.console_errors if "Failed to load resource" not in e] == []
