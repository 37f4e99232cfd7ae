"""Printable sheets: a class's bind cards and the invite cards of teachers who have not joined.

What the office prints and hands out: one card per active student (per unbound teacher), names
printed as text whatever they hold, a QR code of the official account's permanent `bind_<code>`
scene asked of WeChat once per bind code, and the words to send when there is no QR code.
"""

import base64
import hashlib
import re

import pytest
from sqlalchemy import func, select

from school_points.models import AuditLog, Guardian, OaSceneQr, Student, WechatUser
from school_points.office.sheet_page import qr_svg
from school_points.office.sheets import NO_QR_FAILED, NO_QR_NOT_CONFIGURED
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from school_points.wechat import permanent_qr
from tests.admin.admin_testkit import AdminApi
from tests.conftest import run_concurrently
from tests.fakewechat import DELAY, HTTP, fake_wechat  # noqa: F401 - fixture
from tests.wechat_bot.officialaccount import OfficialAccount, oa_config  # noqa: F401 - fixture

QR_CREATE = "/cgi-bin/qrcode/create"
XSS_NAME = "<script>alert(1)</script>"


@pytest.fixture
def klass(make_class, make_student):
    """一班: three active students (one with a hostile name), one archived, one erased, and a
    student of another class."""
    active = [make_student(name="王小明"), make_student(name=XSS_NAME), make_student(name="欧阳娜娜")]
    archived = make_student(name="已转学的张三")
    archived.status, archived.archived_at = "archived", utcnow()
    erased = make_student(name="已删除学员#99")
    erased.status, erased.bind_code = "erased", None
    db.session.commit()
    make_student(name="别班的李四", classes=[make_class("二班")])
    klass = make_class("一班", students=[*active, archived, erased])
    return klass


def sheet(api, klass):
    response = api.get(f"/classes/{klass.id}/bind-sheet")
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def cards(html):
    return re.findall(r'<article class="card[^"]*">.*?</article>', html, re.S)


def active_codes(klass):
    db.session.expire_all()
    return [s.bind_code for s in klass.students if s.status == "active"]


def test_one_card_per_active_student_with_name_class_code_and_words(api, klass):
    html = sheet(api, klass)
    assert len(cards(html)) == 3
    for code in active_codes(klass):
        assert f'<p class="words">绑定 {code}</p>' in html
    assert "王小明" in html and "欧阳娜娜" in html and "总校区 · 一班" in html and "班级：一班" in html
    assert "张三" not in html and "已删除学员" not in html and "李四" not in html


def test_a_name_holding_markup_is_printed_as_text(api, klass):
    html = sheet(api, klass)
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_without_the_official_account_cards_carry_the_words_and_no_qr_code(api, klass):
    html = sheet(api, klass)
    assert "<svg" not in html
    assert all(NO_QR_NOT_CONFIGURED in card and "关注公众号后发送" in card for card in cards(html))
    assert "未能生成二维码" not in html


def test_the_page_allows_only_its_own_style_block_and_no_script(api, klass):
    response = api.get(f"/classes/{klass.id}/bind-sheet")
    html = response.get_data(as_text=True)
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = response.headers["Content-Security-Policy"]
    assert f"style-src 'self' 'sha256-{digest}'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert html.count("<style") == 1 and " style=" not in html and "<script" not in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_printing_the_bind_codes_is_audited(api, klass):
    sheet(api, klass)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "class.bind_sheet")).one()
    assert entry.target_id == str(klass.id) and entry.changes == {"students": 3}


def test_with_the_official_account_each_card_has_the_qr_code_of_its_permanent_bind_scene(api, klass, fake_wechat):
    html = sheet(api, klass)
    asked = fake_wechat.calls(QR_CREATE)
    assert sorted(c.json["action_info"]["scene"]["scene_str"] for c in asked) == sorted(
        f"bind_{code}" for code in active_codes(klass)
    )
    assert {c.json["action_name"] for c in asked} == {"QR_LIMIT_STR_SCENE"}
    assert all("expire_seconds" not in c.json for c in asked)
    stored = dict(db.session.execute(select(OaSceneQr.scene, OaSceneQr.content)).all())
    for url, scene in fake_wechat.qr_scenes.items():
        assert stored[scene] == url
        assert str(qr_svg(url)) in html  # the card draws WeChat's url, not WeChat's image
    assert html.count("<svg") == 3 and "showqrcode" not in html and NO_QR_FAILED not in html


def test_a_second_print_draws_the_stored_codes_without_asking_wechat(api, klass, fake_wechat):
    first = sheet(api, klass)
    second = sheet(api, klass)
    assert fake_wechat.count(QR_CREATE) == 3
    assert re.findall(r"<svg.*?</svg>", first, re.S) == re.findall(r"<svg.*?</svg>", second, re.S)


def test_a_new_bind_code_gets_a_new_qr_code(api, klass, fake_wechat):
    sheet(api, klass)
    student = klass.students[0]
    new_code = api.post(f"/students/{student.id}/bind-code").json["bind_code"]
    html = sheet(api, klass)
    assert fake_wechat.count(QR_CREATE) == 4
    assert fake_wechat.calls(QR_CREATE)[-1].json["action_info"]["scene"]["scene_str"] == f"bind_{new_code}"
    new_url = next(url for url, scene in fake_wechat.qr_scenes.items() if scene == f"bind_{new_code}")
    assert str(qr_svg(new_url)) in html and f"绑定 {new_code}" in html


def test_when_wechat_fails_the_cards_fall_back_to_the_words_and_say_the_qr_could_not_be_made(api, klass, fake_wechat):
    fake_wechat.script(QR_CREATE, HTTP(500), 45009)
    html = sheet(api, klass)
    assert "<svg" not in html and html.count(NO_QR_FAILED) == 3
    assert "有 3 张卡片未能生成二维码" in html
    for code in active_codes(klass):
        assert f'<p class="words">绑定 {code}</p>' in html
    assert fake_wechat.count(QR_CREATE) == 2  # two failures in a row: WeChat is not asked for the rest
    assert db.session.scalar(select(func.count()).select_from(OaSceneQr)) == 0  # claims given up

    again = sheet(api, klass)  # WeChat is back: the next print completes the sheet
    assert again.count("<svg") == 3 and NO_QR_FAILED not in again and "未能生成" not in again


def test_one_failed_code_leaves_only_its_card_without_a_qr_code(api, klass, fake_wechat):
    fake_wechat.script(QR_CREATE, -1)
    html = sheet(api, klass)
    assert html.count("<svg") == 2 and html.count(NO_QR_FAILED) == 1 and "有 1 张卡片未能生成二维码" in html


def test_a_wechat_that_cannot_issue_tokens_falls_back_too(api, klass, fake_wechat):
    fake_wechat.script("/cgi-bin/stable_token", HTTP(503), HTTP(503))
    html = sheet(api, klass)
    assert html.count(NO_QR_FAILED) == 3 and len(cards(html)) == 3


def test_a_stale_claim_of_a_request_that_died_is_taken_over(api, klass, fake_wechat):
    from datetime import timedelta

    code = active_codes(klass)[0]
    db.session.add(OaSceneQr(scene=f"bind_{code}", claim_token="dead", claimed_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    html = sheet(api, klass)
    assert html.count("<svg") == 3 and fake_wechat.count(QR_CREATE) == 3


def test_two_staff_printing_one_class_at_once_ask_wechat_once_per_code(app, api, klass, fake_wechat, monkeypatch):
    fake_wechat.script(QR_CREATE, DELAY(0.3))  # the first fetch is slow: the other print must wait for it
    waited = []
    wait_for = permanent_qr._wait_for
    monkeypatch.setattr(permanent_qr, "_wait_for", lambda scenes: waited.append(len(scenes)) or wait_for(scenes))
    klass_id, token = klass.id, api.token
    db.session.commit()  # SQLite: this session's read transaction would hold the write lock

    def print_sheet(_):
        response = AdminApi(app.test_client(), token).get(f"/classes/{klass_id}/bind-sheet")
        return response.status_code, response.get_data(as_text=True)

    results = run_concurrently(app, print_sheet, [1, 2])
    assert [status for status, _ in results] == [200, 200], results
    assert fake_wechat.count(QR_CREATE) == 3
    for _, html in results:
        assert html.count("<svg") == 3 and NO_QR_FAILED not in html
    assert sorted(waited) == [0, 3]  # one print claimed every code, the other waited for them


def test_an_empty_class_prints_one_page_saying_so(api, make_class):
    html = sheet(api, make_class("空班"))
    assert cards(html) == [] and "该班级没有在读学员" in html


def test_a_campus_admin_cannot_print_another_campus_class(campus_api, make_class, other_campus):
    response = campus_api.get(f"/classes/{make_class('分校一班', campus_id=other_campus.id).id}/bind-sheet")
    assert response.status_code == 404 and response.json["error"]["code"] == "class_not_found"


def test_an_unknown_class_is_404_in_the_error_shape(api):
    response = api.get("/classes/999999/bind-sheet")
    assert response.status_code == 404 and response.json["error"]["code"] == "class_not_found"
    assert response.json["error"]["message"] == "班级不存在"


def test_the_sheet_needs_an_admin_token(fresh_api, klass):
    assert fresh_api.get(f"/classes/{klass.id}/bind-sheet").status_code == 401


# ---------------------------------------------------------------- the QR code binds, end to end


def test_scanning_the_printed_code_follows_the_account_and_binds_the_student(app, api, klass, fake_wechat, oa_config):
    sheet(api, klass)
    oa = OfficialAccount(app.test_client())
    content = db.session.scalars(select(OaSceneQr.content)).first()
    scene = fake_wechat.qr_scenes[content]  # what WeChat reports when a parent scans that code
    student = db.session.scalars(select(Student).where(Student.bind_code == scene.removeprefix("bind_"))).one()
    reply = oa.event("oa-new-parent", "subscribe", key=f"qrscene_{scene}", Ticket=f"ticket-{scene}")
    assert f"已为您绑定孩子：{student.name}" in reply
    user = db.session.scalars(select(WechatUser).where(WechatUser.oa_openid == "oa-new-parent")).one()
    assert db.session.scalars(select(Guardian.student_id).where(Guardian.user_id == user.id)).all() == [student.id]


def test_an_existing_follower_scanning_the_printed_code_binds_the_student(app, api, klass, fake_wechat, oa_config):
    sheet(api, klass)
    oa = OfficialAccount(app.test_client())
    oa.event("oa-follower", "subscribe")
    contents = db.session.scalars(select(OaSceneQr.content).order_by(OaSceneQr.scene)).all()
    scene = fake_wechat.qr_scenes[contents[-1]]
    reply = oa.event("oa-follower", "SCAN", key=scene, Ticket=f"ticket-{scene}")
    student = db.session.scalars(select(Student).where(Student.bind_code == scene.removeprefix("bind_"))).one()
    assert f"已为您绑定孩子：{student.name}" in reply


# ---------------------------------------------------------------- teachers' invite cards


@pytest.fixture
def teachers(make_teacher, make_user, make_class, other_campus):
    """Two unbound teachers here (one with a class), one who joined, one who left, one elsewhere."""
    waiting = make_teacher("周老师")
    waiting.classes = [make_class("钢琴一班")]
    fresh = make_teacher("吴老师")
    joined = make_teacher("郑老师", user=make_user())
    joined.invite_code = None
    left = make_teacher("离职的王老师")
    left.active = False
    db.session.commit()
    elsewhere = make_teacher("分校的陈老师", campus_id=other_campus.id)
    return waiting, fresh, elsewhere


def test_invite_sheet_has_a_card_per_unbound_active_teacher_with_the_code_and_no_qr(api, teachers, fake_wechat):
    waiting, fresh, elsewhere = teachers
    response = api.get("/teachers/invite-sheet")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert len(cards(html)) == 3 and "全部校区" in html
    for teacher in (waiting, fresh, elsewhere):
        assert teacher.name in html and teacher.invite_code in html
    assert "郑老师" not in html and "离职" not in html
    assert "班级：钢琴一班" in html and "<svg" not in html and fake_wechat.count(QR_CREATE) == 0
    assert "Content-Security-Policy" in response.headers and response.headers["Cache-Control"] == "no-store"


def test_invite_sheet_of_one_campus(api, teachers, campus):
    html = api.get("/teachers/invite-sheet", campus_id=campus.id).get_data(as_text=True)
    assert len(cards(html)) == 2 and "分校的陈老师" not in html and "老师邀请卡" in html and "总校区" in html


def test_a_campus_admin_prints_only_their_campus_invites(campus_api, teachers, other_campus):
    html = campus_api.get("/teachers/invite-sheet").get_data(as_text=True)
    assert len(cards(html)) == 2 and "分校的陈老师" not in html
    response = campus_api.get("/teachers/invite-sheet", campus_id=other_campus.id)
    assert response.status_code == 404 and response.json["error"]["code"] == "campus_not_found"


def test_invite_sheet_refuses_a_bad_campus_id(api):
    response = api.get("/teachers/invite-sheet", campus_id="abc")
    assert response.status_code == 422 and "campus_id" in response.json["error"]["details"]
    assert api.get("/teachers/invite-sheet", campus_id=999999).status_code == 404
    assert api.get("/teachers/invite-sheet", nope=1).status_code == 422


def test_printing_invites_is_audited(api, teachers, campus):
    api.get("/teachers/invite-sheet", campus_id=campus.id)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "teacher.invite_sheet")).one()
    assert entry.campus_id == campus.id and entry.changes == {"teachers": 2}


def test_the_sheets_are_in_the_openapi_document_as_html_pages(client):
    paths = client.get("/api/admin/openapi.json").json["paths"]
    for path in ("/api/admin/v1/classes/{class_id}/bind-sheet", "/api/admin/v1/teachers/invite-sheet"):
        ok = paths[path]["get"]["responses"]["200"]
        assert ok["content"] == {"text/html": {"schema": {"type": "string"}}}
        assert "404" in paths[path]["get"]["responses"]
