"""The console in a real browser (Playwright driving Debian's chromium against a live server on
the test database): what staff see, with screenshots at 1366×768 and 390 px in docs/screenshots/."""

from datetime import timedelta

import pytest

from school_points.accounts import ledger
from school_points.platform.clock import acting_at, utcnow
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM
from tests.console.conftest import SCREENSHOTS, shoot, sign_in, visit

expect = pytest.importorskip("playwright.sync_api").expect


def test_a_wrong_password_shows_a_chinese_error(page, make_admin):
    make_admin("boss")
    visit(page, "/console/")
    shoot(page, "login")
    sign_in(page, "boss", "wrong-password-1")
    assert page.locator(".form-error").inner_text() == "用户名或密码错误"
    shoot(page, "login-error")


def test_the_dashboard_draws_its_chart(page, make_admin, make_student, make_class):
    make_admin("boss")
    students = [make_student(name, balance=points) for name, points in (("王小明", 120), ("李小红", 80), ("张伟", 45))]
    make_class("钢琴一班", students=students)
    # A month of a school's points, so the screenshot shows what staff will see.
    for day in range(29, -1, -1):
        with acting_at(utcnow() - timedelta(days=day)):
            account = ledger.lock(students[day % 3].id)
            for i, kind in enumerate(("evaluation", "checkin", "like", "signin")):
                ledger.credit(account, (day * 7 + i * 5) % 23 + 2, kind, key=f"demo:{day}:{kind}", actor=SYSTEM)
            if day % 4 == 1:
                ledger.debit(account, 20 + day % 3 * 10, "redemption", key=f"demo:{day}:spend", actor=SYSTEM)
    db.session.commit()
    sign_in(page)
    page.wait_for_selector("canvas[data-drawn]")
    drawn = page.evaluate(
        """() => { const c = document.querySelector('#points-chart');
                   const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let ink = 0; for (let i = 3; i < px.length; i += 4) { if (px[i]) ink++; } return ink; }"""
    )
    assert drawn > 1000  # pixels painted: axes, bars, the line, the legend
    assert page.console_errors == []  # nothing refused by the Content-Security-Policy
    shoot(page, "dashboard")


def test_a_student_named_like_a_script_is_only_text(page, make_admin, make_student):
    make_admin("boss")
    student = make_student("<script>alert(1)</script>", balance=5)
    sign_in(page)
    visit(page, "/console/students")
    assert page.get_by_text("<script>alert(1)</script>").count() == 1
    visit(page, f"/console/students/{student.id}")
    assert page.locator("h1").inner_text() == "<script>alert(1)</script>"
    assert page.dialogs == []


def test_the_student_screen_adjusts_points_after_a_confirm(page, make_admin, make_student, make_guardian):
    make_admin("boss")
    student = make_student("王小明", balance=30)
    make_guardian(student, relation="妈妈")
    sign_in(page)
    visit(page, "/console/students")
    shoot(page, "students")
    page.click("text=王小明")
    page.fill("#f-delta", "0")
    page.fill("#f-reason", "期末奖励")
    page.click("text=确认调整")
    assert page.locator("#e-delta").inner_text() == "不能为 0"
    shoot(page, "student-errors")
    page.fill("#f-delta", "15")
    page.click("text=确认调整")
    assert page.dialogs[-1] == ("confirm", "确定要调整 王小明 的积分吗？")
    assert "当前余额 45" in page.locator(".flash-success").inner_text()
    shoot(page, "student")


def test_a_form_without_its_csrf_token_is_refused(page, make_admin, make_student):
    make_admin("boss")
    student = make_student(balance=10)
    sign_in(page)
    visit(page, f"/console/students/{student.id}")
    page.evaluate("document.querySelector('form[action$=adjustments] input[name=csrf_token]').remove()")
    page.fill("#f-delta", "5")
    page.fill("#f-reason", "x")
    page.click("text=确认调整")
    expect(page.locator("h1")).to_have_text("页面已过期")


def test_logging_out_ends_the_session_even_for_the_back_button(page, make_admin):
    make_admin("boss")
    sign_in(page)
    visit(page, "/console/students")
    cookie = next(c for c in page.context.cookies() if c["name"] == "sp_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("text=退出")
    expect(page.locator(".flash")).to_have_text("已退出登录")
    page.go_back()
    page.reload()
    assert page.locator("h1").inner_text() == "登录学校后台"
    page.context.add_cookies([cookie])  # the old cookie, put back
    visit(page, "/console/students")
    assert page.locator("h1").inner_text() == "登录学校后台"


def test_a_campus_admin_gets_the_404_page_for_another_campus(page, make_admin, make_campus, make_student):
    home, other = make_campus("东校区"), make_campus("西校区")
    theirs = make_student("别校学员", campus_id=other.id)
    make_admin("local", campus_id=home.id)
    sign_in(page, "local")
    response = visit(page, f"/console/students/{theirs.id}")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "页面不存在"
    assert "别校学员" not in page.content()
    shoot(page, "not-found")


def test_an_idle_session_sends_the_admin_back_to_the_login_form(page, make_admin, virtual_clock):
    make_admin("boss")
    sign_in(page)
    visit(page, "/console/students")
    virtual_clock.advance(31 * 60)
    visit(page, "/console/students?q=王")
    assert "长时间未操作" in page.locator(".flash").inner_text()
    page.fill("#f-username", "boss")
    page.fill("#f-password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/students?q=%E7%8E%8B")


def test_the_phone_menu_opens_and_closes(page, make_admin):
    make_admin("boss")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page)
    expect(page.locator("#nav")).to_be_hidden()
    page.click(".menu-toggle")
    expect(page.locator("#nav")).to_be_visible()
    expect(page.locator(".menu-toggle")).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=str(SCREENSHOTS / "console-menu-phone.png"))
    page.click(".menu-toggle")
    expect(page.locator("#nav")).to_be_hidden()
