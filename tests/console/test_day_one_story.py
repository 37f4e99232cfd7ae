"""The school office's first day, end to end, in ONE browser session against a live server: the
super admin signs in, imports the roster, prints a class's bind sheet, adjusts a student's points
and sees the dashboard move, works the orders desk (issue by pickup code, cancel with a reason),
changes a rule (a bad value first), exports the ledger and logs out; then a campus admin is kept
to their own campus. Screenshots `story-<step>` at 1366×768 and 390 px; at every step the browser
has logged no CSP violation, no script error and no console error."""

import json

import openpyxl
import pytest
from sqlalchemy import select

from console import roster
from school_points.accounts import ledger
from school_points.mall.redemption import redeem
from school_points.models import Redemption, Student
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM, Actor
from school_points.school.settings import get_settings
from tests.conftest import balance_of
from tests.console.conftest import shoot, sign_in, visit

expect = pytest.importorskip("playwright.sync_api").expect

ROSTER = [
    ["王小明", "D2026001", "总校区", "钢琴一班", "2018-05-01"],
    ["李小红", "D2026002", "总校区", "钢琴一班", "2019-02-28"],
    ["张伟", "D2026003", "总校区", "美术二班", ""],
    ["陈静", "D2026004", "总校区", "美术二班", "2017-11-12"],
]


@pytest.fixture(autouse=True)
def _upload_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(roster, "upload_dir", lambda: tmp_path / "console-imports")


class Log:
    """Everything the browser complained about: console errors (CSP refusals are logged as such)
    and uncaught script errors. `check(expected=n)` allows exactly n "Failed to load resource"
    lines since the last check: the status line of an answer that is meant to be an error page
    (a form with errors is 422, an unknown id 404)."""

    def __init__(self, page):
        self.page = page
        self.script_errors = []
        page.on("pageerror", lambda error: self.script_errors.append(str(error)))
        self.seen = 0

    def check(self, step, expected=0):
        new = self.page.console_errors[self.seen :]
        self.seen = len(self.page.console_errors)
        unexpected = [m for m in new if "Failed to load resource" not in m]
        assert unexpected == [], f"{step}: {unexpected}"
        assert len(new) == expected, f"{step}: {new}"
        assert self.script_errors == [], f"{step}: {self.script_errors}"


def submit(page, selector):
    with page.expect_navigation():
        page.click(selector)


def chart_total(page):
    page.wait_for_selector("canvas[data-drawn]")
    data = json.loads(page.locator("#points-chart-data").text_content())
    return sum(sum(bar["data"]) for bar in data["bars"])


def roster_file(path):
    book = openpyxl.Workbook()
    book.active.append(["姓名", "学号", "校区", "班级", "生日"])
    for row in ROSTER:
        book.active.append(row)
    book.save(path)
    return str(path)


def test_day_one(
    page, chromium, live_server, make_admin, campus, make_campus, make_class, make_student, make_goods, tmp_path
):
    make_admin("boss")
    west = make_campus("西校区")
    theirs = make_student("西校学员", campus_id=west.id)
    their_class = make_class("西校一班", campus_id=west.id, students=[theirs])
    theirs_id, their_class_id = theirs.id, their_class.id
    make_admin("local", campus_id=campus.id)
    log = Log(page)

    # 1. Sign in as the super admin.
    sign_in(page)
    expect(page.locator("h1")).to_have_text("概览")
    log.check("sign in")
    shoot(page, "story-dashboard-before")

    # 2. Import the roster: preview, then confirm.
    visit(page, "/console/import")
    page.set_input_files("#f-file", roster_file(tmp_path / "名单.xlsx"))
    submit(page, "text=上传并预览")
    preview = page.locator("#import-preview")
    expect(preview).to_contain_text("检查通过，尚未写入")
    shoot(page, "story-import-preview")
    submit(page, "text=确认导入")
    assert "新建 4 名" in page.dialogs[-1][1]
    expect(page.locator("#import-result")).to_contain_text("新建 4 名学员")
    log.check("import")
    db.session.rollback()
    imported = {s.name: s.id for s in db.session.scalars(select(Student).where(Student.student_no.like("D2026%")))}
    assert set(imported) == {row[0] for row in ROSTER}
    db.session.commit()

    # 3. Print 钢琴一班's bind sheet: a card per student, with the bind code.
    visit(page, "/console/classes")
    with page.context.expect_page() as opened:
        page.locator("tr", has_text="钢琴一班").locator("text=打印绑定码").click()
    sheet = opened.value
    sheet.wait_for_load_state()
    expect(sheet.locator("article.card")).to_have_count(2)
    for name in ("王小明", "李小红"):
        expect(sheet.locator("article.card", has_text=name)).to_have_count(1)
    assert "张伟" not in sheet.locator("body").inner_text()
    sheet.close()
    log.check("bind sheet")

    # 4. Adjust a student's points on the student page; the dashboard's chart moves with it.
    visit(page, "/console/")
    before = chart_total(page)
    visit(page, "/console/students")
    page.click("text=王小明")
    page.fill("#f-delta", "200")
    page.fill("#f-reason", "开学奖励")
    submit(page, "text=确认调整")
    expect(page.locator(".flash-success")).to_contain_text("当前余额 200")
    shoot(page, "story-student")
    visit(page, "/console/")
    assert chart_total(page) == before + 200
    shoot(page, "story-dashboard")
    log.check("adjust")

    # 5. The orders desk: two orders placed by families (the domain service, as the mini-program does).
    db.session.rollback()
    li_id = imported["李小红"]
    ledger.credit(ledger.lock(li_id), 100, "adjustment", key="story:li", actor=SYSTEM, note="开学奖励")
    db.session.commit()
    pen, book = make_goods("自动铅笔", points=30), make_goods("图画书", points=50)
    wang_order = redeem(imported["王小明"], pen.id, 1, key="story:o1", actor=Actor.system())
    db.session.commit()
    li_order = redeem(li_id, book.id, 1, key="story:o2", actor=Actor.system())
    db.session.commit()
    code, wang_order_id, li_order_id = wang_order.pickup_code, wang_order.id, li_order.id
    db.session.commit()
    assert balance_of(li_id) == 50

    visit(page, "/console/redemptions")
    page.fill("#f-code", code)
    submit(page, "text=查找订单")
    card = page.locator(".order-card")
    expect(card).to_contain_text("王小明")
    expect(card).to_contain_text("待发放")
    with page.expect_navigation():
        card.locator("button", has_text="发放").click()
    expect(page.locator(".flash-success")).to_contain_text("已发放：王小明 的「自动铅笔」× 1")
    shoot(page, "story-desk")
    page.locator("tr", has_text="图画书").locator("text=取消").click()
    page.wait_for_url(f"**/console/redemptions/{li_order_id}#cancel")
    page.fill("#f-reason", "家长要求换礼品")
    submit(page, "text=取消订单并退回积分")
    expect(page.locator(".flash-success")).to_contain_text("50 积分已退回 李小红")
    shoot(page, "story-cancelled")
    log.check("desk")
    db.session.expire_all()
    assert db.session.get(Redemption, wang_order_id).status == "issued"
    assert db.session.get(Redemption, li_order_id).status == "cancelled"
    db.session.commit()
    assert balance_of(li_id) == 100

    # 6. A rule in 设置: a bad value is refused beside its box (in Chinese), a good one saves.
    visit(page, "/console/settings")
    page.fill("[id='f-like.daily_cap']", "-5")
    submit(page, "text=保存设置")
    expect(page.locator("[id='e-like.daily_cap']")).to_have_text("必须在 0 到 10000 之间")
    page.locator("[id='f-like.daily_cap']").scroll_into_view_if_needed()
    shoot(page, "story-settings-error")
    log.check("bad rule", expected=1)  # the page's own 422
    page.fill("[id='f-like.daily_cap']", "40")
    submit(page, "text=保存设置")
    expect(page.locator(".flash-success")).to_have_text("设置已保存")
    log.check("good rule")
    db.session.rollback()
    assert get_settings()["like"]["daily_cap"] == 40
    db.session.commit()

    # 7. Export the ledger: the adjustment is in the workbook.
    visit(page, "/console/reports")
    page.wait_for_selector("canvas[data-drawn]")
    shoot(page, "story-reports")
    with page.expect_download() as found:
        page.click("text=导出流水")
    path = tmp_path / "ledger.xlsx"
    found.value.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.values)
    assert any("王小明" in row and 200 in row and "开学奖励" in row for row in rows[1:]), rows
    log.check("export")

    # 8. Log out: the console is closed afterwards.
    submit(page, "text=退出")
    expect(page.locator(".flash")).to_have_text("已退出登录")
    visit(page, "/console/students")
    expect(page.locator("h1")).to_have_text("登录学校后台")
    log.check("log out")

    # 9. The campus admin of 总校区: 西校区's student and class are not there.
    sign_in(page, "local")
    visit(page, "/console/students")
    expect(page.locator("table")).to_contain_text("王小明")
    assert "西校学员" not in page.content()
    visit(page, "/console/classes")
    expect(page.locator("table")).to_contain_text("钢琴一班")
    assert "西校一班" not in page.content()
    for path in (f"/console/students/{theirs_id}", f"/console/classes/{their_class_id}/edit"):
        assert visit(page, path).status == 404
        expect(page.locator("h1")).to_have_text("页面不存在")
        assert "西校" not in page.content()
    shoot(page, "story-not-found")
    log.check("campus admin", expected=2)  # the two 404 pages
