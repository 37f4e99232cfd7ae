"""学员, the reference screen: search, filters, pages, a student's page and the manual adjustment."""

import re

from sqlalchemy import func, select

from school_points.models import AuditLog, LedgerEntry
from school_points.platform.extensions import db
from tests.conftest import balance_of
from tests.console.conftest import ConsoleClient


def text(response):
    return response.get_data(as_text=True)


def test_the_list_finds_students_by_name(boss, make_student):
    make_student("王小明")
    make_student("李小红")
    page = text(boss.get("/console/students?q=小明"))
    assert "王小明" in page and "李小红" not in page


def test_the_list_filters_by_class_and_status(boss, make_student, make_class):
    a, b = make_student("王小明"), make_student("李小红")
    klass = make_class("钢琴一班", students=[a])
    in_class = text(boss.get(f"/console/students?class_id={klass.id}"))
    assert "王小明" in in_class and "李小红" not in in_class
    assert "没有找到学员" in text(boss.get("/console/students?status=archived"))
    assert b.id


def test_a_bad_filter_is_shown_beside_its_box(boss):
    page = boss.get("/console/students?status=gone")
    assert page.status_code == 200
    assert 'class="field-error"' in text(page) and "筛选条件有误" in text(page)


def test_the_list_pages_newest_first(boss, make_student):
    for i in range(25):
        make_student(f"学员{i:02d}")
    first = text(boss.get("/console/students"))
    assert "学员24" in first and "学员04" not in first
    next_href = re.search(r'href="([^"]*cursor=[^"]+)">下一页', first).group(1).replace("&amp;", "&")
    second = text(boss.get(next_href))
    assert "学员04" in second and "学员24" not in second and "回到第一页" in second


def test_a_students_page_shows_balance_lifetime_guardians_and_ledger(boss, make_student, make_guardian):
    student = make_student("王小明", balance=42)
    make_guardian(student, relation="妈妈")
    page = text(boss.get(f"/console/students/{student.id}"))
    assert "王小明" in page and "42" in page and "妈妈" in page and "测试初始积分" in page


def test_an_adjustment_changes_the_balance_and_says_so(boss, make_student):
    student = make_student(balance=10)
    done = boss.post(f"/console/students/{student.id}/adjustments", {"delta": "-4", "reason": "损坏教具"})
    assert done.status_code == 302
    assert balance_of(student.id) == 6
    page = text(boss.get(done.headers["Location"]))
    assert "已为 王小明 调整 -4 积分，当前余额 6" in page
    assert db.session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "points.adjust")) == 1


def test_adjustment_errors_appear_beside_their_fields(boss, make_student):
    student = make_student(balance=10)
    path = f"/console/students/{student.id}/adjustments"
    zero = boss.post(path, {"delta": "0", "reason": "x"})
    assert zero.status_code == 422 and "不能为 0" in text(zero)
    words = boss.post(path, {"delta": "十", "reason": ""})
    assert "必须是整数" in text(words) and "必填" in text(words)
    assert 'value="十"' in text(words)  # what was typed stays in the box
    too_much = boss.post(path, {"delta": "-11", "reason": "x"})
    assert too_much.status_code == 422 and "积分不足" in text(too_much)
    assert balance_of(student.id) == 10


def test_a_form_sent_twice_adjusts_once(boss, make_student):
    student = make_student(balance=0)
    form = {"delta": "5", "reason": "奖励", "form_key": "a" * 32}
    boss.post(f"/console/students/{student.id}/adjustments", form)
    boss.post(f"/console/students/{student.id}/adjustments", form)
    assert balance_of(student.id) == 5
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "adjustment")) == 1


def test_a_campus_admin_cannot_open_another_campuss_student(app, make_admin, make_campus, make_student):
    home, other = make_campus("东校区"), make_campus("西校区")
    theirs = make_student("别校学员", campus_id=other.id, balance=5)
    make_admin("local", campus_id=home.id)
    local = ConsoleClient(app.test_client())
    local.login("local")
    page = local.get(f"/console/students/{theirs.id}")
    assert page.status_code == 404 and "学员不存在" in text(page) and "别校学员" not in text(page)
    refused = local.post(f"/console/students/{theirs.id}/adjustments", {"delta": "5", "reason": "x"})
    assert refused.status_code == 404 and balance_of(theirs.id) == 5
    assert "别校学员" not in text(local.get("/console/students"))


def test_a_name_with_markup_is_shown_as_text(boss, make_student):
    student = make_student("<script>alert(1)</script>")
    for path in ("/console/students", f"/console/students/{student.id}"):
        page = text(boss.get(path))
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_list_page_has_a_plain_title_and_its_tools_once(boss):
    """A merge once pasted the roster tools into the <title> block: the tab read as markup."""
    page = text(boss.get("/console/students"))
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "<" not in title and title.startswith("学员")
    assert page.count('id="roster-tools"') == 1
