"""设置, 报表, 操作日志, 通知 and 管理员 in a real browser (Playwright, Debian's chromium), with
screenshots at 1366×768 and 390 px in docs/screenshots/: the office's day-one stories."""

import json
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from school_points.accounts import ledger
from school_points.models import LedgerEntry, Notification
from school_points.platform.clock import acting_at, utcnow
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM
from school_points.school.settings import get_settings
from tests.console.conftest import PASSWORD, shoot, sign_in, visit

expect = pytest.importorskip("playwright.sync_api").expect


def refused(page):
    """What the browser logged as refused (the Content-Security-Policy); a 422 answer to a form
    with errors is logged too, and is expected."""
    return [error for error in page.console_errors if "Failed to load resource" not in error]


def submit(page, selector):
    with page.expect_navigation():
        page.click(selector)


def test_a_bad_rule_shows_a_field_error_then_a_good_one_is_applied(page, make_admin):
    make_admin("boss")
    sign_in(page)
    visit(page, "/console/settings")
    shoot(page, "settings")
    page.fill("[id='f-like.daily_cap']", "-5")
    submit(page, "text=保存设置")
    assert page.dialogs[-1] == ("confirm", "确定保存设置吗？修改会立即生效。")
    expect(page.locator("[id='e-like.daily_cap']")).to_have_text("必须在 0 到 10000 之间")
    expect(page.locator(".form-error")).to_have_text("有些设置填写有误，请查看标红的项目")
    page.locator("[id='f-like.daily_cap']").scroll_into_view_if_needed()
    shoot(page, "settings-errors")
    page.fill("[id='f-like.daily_cap']", "30")
    page.fill("[id='f-mall.notice']", "<script>alert(1)</script> 周末闭馆")
    submit(page, "text=保存设置")
    expect(page.locator(".flash-success")).to_have_text("设置已保存")
    expect(page.locator("[id='f-like.daily_cap']")).to_have_value("30")
    expect(page.locator("[id='f-mall.notice']")).to_have_value("<script>alert(1)</script> 周末闭馆")
    db.session.rollback()
    assert get_settings()["like"]["daily_cap"] == 30
    assert page.dialogs == [("confirm", "确定保存设置吗？修改会立即生效。")] * 2
    assert refused(page) == []


def chart_total(page, series="bars"):
    data = json.loads(page.locator("#points-chart-data").text_content())
    return sum(sum(bar["data"]) for bar in data["bars"]) if series == "bars" else sum(data["line"]["data"])


def test_the_dashboard_chart_moves_after_an_adjustment(page, make_admin, make_student):
    make_admin("boss")
    student = make_student("王小明", balance=10)
    sign_in(page)
    page.wait_for_selector("canvas[data-drawn]")
    before = chart_total(page)
    visit(page, f"/console/students/{student.id}")
    page.fill("#f-delta", "25")
    page.fill("#f-reason", "比赛获奖")
    submit(page, "text=确认调整")
    expect(page.locator(".flash-success")).to_contain_text("当前余额 35")
    visit(page, "/console/")
    page.wait_for_selector("canvas[data-drawn]")
    assert chart_total(page) == before + 25
    assert refused(page) == []


def a_month_of_points(students):
    """Points earned and spent over 30 days, so the screenshots show what staff will see."""
    for day in range(29, -1, -1):
        with acting_at(utcnow() - timedelta(days=day)):
            account = ledger.lock(students[day % len(students)].id)
            for i, kind in enumerate(("evaluation", "checkin", "like", "signin")):
                ledger.credit(account, (day * 7 + i * 5) % 23 + 2, kind, key=f"demo:{day}:{kind}", actor=SYSTEM)
            if day % 4 == 1:
                ledger.debit(account, 20 + day % 3 * 10, "redemption", key=f"demo:{day}:spend", actor=SYSTEM)
    db.session.commit()


def test_the_reports_page_exports_the_ledger(page, make_admin, make_student, tmp_path):
    make_admin("boss")
    students = [make_student("王小明", balance=200), make_student("李小红", balance=150)]
    a_month_of_points(students)
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    sign_in(page)
    visit(page, "/console/reports")
    page.wait_for_selector("canvas[data-drawn]")
    shoot(page, "reports")
    with page.expect_download() as found:
        page.click("text=导出流水")
    download = found.value
    assert download.suggested_filename.startswith("积分流水_") and download.suggested_filename.endswith(".xlsx")
    path = tmp_path / "ledger.xlsx"
    download.save_as(path)
    rows = list(openpyxl.load_workbook(path).active.values)
    assert len(rows) == entries + 1 and {cell for row in rows[1:] for cell in row} >= {"王小明", "李小红", 200, 150}
    with page.expect_download() as found:
        page.click("text=导出 Excel")
    path = tmp_path / "report.xlsx"
    found.value.save_as(path)
    assert openpyxl.load_workbook(path).sheetnames == ["汇总", "订单", "每日积分"]
    page.fill("#f-from", "2024-01-01")
    submit(page, "button:has-text('统计')")
    expect(page.locator("#e-from")).to_have_text("时间范围不能超过 366 天")
    assert refused(page) == []


def test_the_audit_log_and_the_outbox(page, make_admin, make_student):
    make_admin("boss")
    student = make_student("<script>alert(1)</script>", balance=10)
    db.session.add_all(
        [
            Notification(
                kind="redeemed",
                dedupe_key="n1",
                student_id=student.id,
                status="failed",
                attempts=3,
                last_error_code=43004,
                last_error="require subscribe",
            ),
            Notification(kind="points_awarded", dedupe_key="n2", student_id=student.id, status="sent", attempts=1),
        ]
    )
    db.session.commit()
    sign_in(page)
    visit(page, f"/console/students/{student.id}")
    page.fill("#f-delta", "-3")
    page.fill("#f-reason", "<img src=x onerror=alert(2)>")
    submit(page, "text=确认调整")
    visit(page, "/console/audit")
    expect(page.locator(".audit-changes").first).to_contain_text("<img src=x onerror=alert(2)>")
    shoot(page, "audit")
    visit(page, "/console/notifications")
    expect(page.locator("tr.row-failed")).to_contain_text("发送失败")
    expect(page.locator("tr.row-failed")).to_contain_text("43004")
    shoot(page, "notifications")
    page.select_option("#f-status", "sent")
    page.wait_for_url("**status=sent*")
    expect(page.locator("tbody tr")).to_have_count(1)
    assert page.dialogs == [("confirm", "确定要调整 <script>alert(1)</script> 的积分吗？")]
    assert refused(page) == []


def test_a_disabled_admins_next_page_is_the_login_form(page, chromium, live_server, make_admin, campus):
    make_admin("boss")
    keeper_id = make_admin("keeper", campus_id=campus.id).id
    campus_id = campus.id
    db.session.commit()  # the test holds no transaction while the server works (SQLite's write lock)
    # The other admin, signed in in a browser of their own.
    theirs = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN").new_page()
    theirs.base = live_server
    sign_in(theirs, "keeper")
    visit(theirs, "/console/students")
    # The super admin disables them.
    sign_in(page)
    visit(page, "/console/admins")
    shoot(page, "admins")
    page.click(f"a[href='/console/admins/{keeper_id}'] >> text=修改")
    page.uncheck("input[name=active]")
    submit(page, "text=保存")
    expect(page.locator(".flash-success")).to_have_text("已保存管理员 keeper，其全部登录已结束")
    expect(page.locator("tbody")).to_contain_text("已停用")
    visit(theirs, "/console/students")
    assert theirs.locator("h1").inner_text() == "登录学校后台"
    assert "登录已失效" in theirs.locator(".flash").inner_text()
    theirs.context.close()
    # A new admin, with the password rule's error first.
    visit(page, "/console/admins/new")
    page.fill("#f-username", "teacher-wang")
    page.fill("#f-password", "short")
    page.select_option("#f-role", "campus")
    page.select_option("#f-campus_id", str(campus_id))
    submit(page, "button:has-text('新建')")
    expect(page.locator("#e-password")).to_contain_text("密码至少 10 个字符")
    shoot(page, "admin-form")
    page.fill("#f-password", "wang-secret-2026")
    submit(page, "button:has-text('新建')")
    expect(page.locator(".flash-success")).to_have_text("已新建管理员 teacher-wang")
    assert refused(page) == []


def test_changing_ones_password_from_the_top_bar_then_logging_out(page, make_admin):
    make_admin("boss")
    sign_in(page)
    submit(page, ".who-name")
    expect(page.locator("h1")).to_have_text("修改密码")
    page.fill("#f-old_password", "wrong-password")
    page.fill("#f-new_password", "another-secret-1")
    submit(page, "text=修改密码 >> nth=-1")
    expect(page.locator("#e-old_password")).to_have_text("原密码不正确")
    shoot(page, "password")
    page.fill("#f-old_password", PASSWORD)
    page.fill("#f-new_password", "another-secret-1")
    submit(page, "button:has-text('修改密码')")
    expect(page.locator(".flash-success")).to_contain_text("密码已修改")
    submit(page, "text=退出")
    expect(page.locator(".flash")).to_have_text("已退出登录")
    sign_in(page, "boss", "another-secret-1")
    expect(page.locator("h1")).to_have_text("概览")
