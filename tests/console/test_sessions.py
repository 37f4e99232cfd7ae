"""Signing in and out of the console, the session cookie, CSRF, idle expiry and the error pages."""

import re
from urllib.parse import unquote

from school_points.models import Admin
from school_points.people.admins import end_sessions
from school_points.platform.extensions import db
from tests.console.conftest import PASSWORD


def text(response):
    return response.get_data(as_text=True)


def test_signed_out_the_console_shows_the_login_form_in_chinese(console):
    page = console.get("/console/")
    assert page.status_code == 200
    assert "登录学校后台" in text(page) and 'name="password"' in text(page)


def test_a_wrong_password_is_refused_with_the_apis_answer(console, make_admin):
    make_admin("boss")
    refused = console.login("boss", "not-the-password")
    assert refused.status_code == 401
    assert "用户名或密码错误" in text(refused)
    assert "boss" in text(refused)  # the username stays in its box; the password does not
    assert "not-the-password" not in text(refused)


def test_an_empty_form_names_each_missing_field(console):
    refused = console.post("/console/login", {"username": "", "password": ""})
    assert refused.status_code == 422
    assert text(refused).count('class="field-error"') == 2 and "必填" in text(refused)


def test_wrong_passwords_hit_the_same_limit_as_the_api(console, make_admin):
    make_admin("boss")
    codes = [console.login("boss", "wrong-password-x").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert "密码错误次数过多" in text(console.login("boss", PASSWORD))


def test_signing_in_leads_to_the_dashboard_with_the_admins_name(console, make_admin):
    make_admin("boss")
    signed_in = console.login("boss")
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/console/"
    page = console.get("/console/")
    assert "概览" in text(page) and "boss" in text(page) and "退出" in text(page)


def test_the_session_cookie_is_httponly_lax_and_only_for_the_console(console, make_admin):
    make_admin("boss")
    cookie = console.login("boss").headers["Set-Cookie"]
    assert cookie.startswith("sp_console=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/console/" in cookie
    assert "Secure" not in cookie  # plain http (a development server)


def test_the_session_cookie_is_secure_over_https(app, make_admin):
    from tests.console.conftest import ConsoleClient

    make_admin("boss")
    browser = ConsoleClient(app.test_client())
    browser.get("/console/", base_url="https://school.example")
    response = browser.post(
        "/console/login",
        {"username": "boss", "password": PASSWORD},
        base_url="https://school.example",
        headers={"Referer": "https://school.example/console/"},  # over HTTPS, Flask-WTF checks it
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_the_apis_set_no_cookie_and_need_no_csrf_token(app, make_admin):
    make_admin("boss")
    client = app.test_client()
    response = client.post("/api/admin/v1/auth/login", json={"username": "boss", "password": PASSWORD})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_a_form_posted_without_the_csrf_token_is_refused(boss, make_student):
    student = make_student(balance=10)
    refused = boss.post(f"/console/students/{student.id}/adjustments", {"delta": "5", "reason": "x"}, csrf=False)
    assert refused.status_code == 400
    assert "页面已过期" in text(refused)
    assert "10" in text(boss.get(f"/console/students/{student.id}"))  # nothing changed
    assert boss.client.post("/console/logout").status_code == 400  # logging out needs it too


def test_an_htmx_request_may_carry_the_token_in_a_header(boss):
    response = boss.client.post("/console/logout", headers={"X-CSRFToken": boss.csrf, "HX-Request": "true"})
    assert response.status_code == 302


def test_logging_out_ends_the_session_and_its_old_cookie(app, boss):
    old_cookie = boss.client.get_cookie("sp_console", path="/console/").value
    out = boss.post("/console/logout")
    assert out.status_code == 302
    assert "已退出登录" in text(boss.get("/console/"))
    replay = app.test_client()
    replay.set_cookie("sp_console", old_cookie, path="/console/")
    refused = replay.get("/console/students")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/console/?next=")


def test_disabling_the_admin_ends_their_console_session_at_once(boss):
    admin = db.session.query(Admin).filter_by(username="boss").one()
    end_sessions(admin)  # what disabling an admin or changing their password does
    db.session.commit()
    page = boss.get("/console/students")
    assert page.status_code == 302
    assert "登录已失效" in text(boss.get(page.headers["Location"]))


def test_an_idle_session_ends_after_the_configured_minutes(boss, virtual_clock):
    virtual_clock.advance(29 * 60)
    assert boss.get("/console/students").status_code == 200  # activity: the clock starts again
    virtual_clock.advance(29 * 60)
    assert boss.get("/console/students").status_code == 200
    virtual_clock.advance(31 * 60)
    expired = boss.get("/console/students")
    assert expired.status_code == 302
    login = boss.get(expired.headers["Location"])
    assert "长时间未操作" in text(login) and 'name="next" value="/console/students"' in text(login)


def test_after_signing_in_the_admin_returns_to_the_page_they_asked_for(console, make_admin):
    make_admin("boss")
    sent = console.get("/console/students?q=王")
    assert sent.status_code == 302
    console.get(sent.headers["Location"])
    back = console.post("/console/login", {"username": "boss", "password": PASSWORD, "next": "/console/students?q=王"})
    assert unquote(back.headers["Location"]) == "/console/students?q=王"


def test_next_never_leads_off_the_console(console, make_admin):
    make_admin("boss")
    for target in ("//evil.example/console/", "https://evil.example/console/", "/console/\\evil", "/api/v1/me"):
        console.get("/console/")
        went = console.post("/console/login", {"username": "boss", "password": PASSWORD, "next": target})
        assert went.headers["Location"] == "/console/", target


def test_an_unknown_console_page_is_a_chinese_404_page(boss):
    missing = boss.get("/console/no-such-page")
    assert missing.status_code == 404
    assert missing.mimetype == "text/html" and "页面不存在" in text(missing)


def test_the_admins_entry_is_for_super_admins_only(app, make_admin, campus):
    from tests.console.conftest import ConsoleClient

    make_admin("boss")
    make_admin("campus-admin", campus_id=campus.id)
    boss = ConsoleClient(app.test_client())
    boss.login("boss")
    local = ConsoleClient(app.test_client())
    local.login("campus-admin")
    assert ">管理员</a>" in text(boss.get("/console/"))
    assert ">管理员</a>" not in text(local.get("/console/"))


def test_console_pages_refuse_inline_script_and_framing(boss):
    page = boss.get("/console/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert not re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", text(page))


def test_static_files_have_versioned_urls_cached_for_a_year(boss):
    page = text(boss.get("/console/"))
    css = re.search(r'href="(/console/static/console\.css\?v=[0-9a-f]{12})"', page).group(1)
    response = boss.client.get(css)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"] and "immutable" in response.headers["Cache-Control"]
    assert "Set-Cookie" not in response.headers
