"""Day-one stories of the school office in a real browser: importing a roster file (a preview
with an error, fixed, confirmed, the students listed), printing a class's bind sheet, a campus
admin kept to their campus; and the 班级, 老师 and student's family-data screens, with
screenshots at 1366×768 and 390 px."""

import io
from pathlib import Path

import openpyxl
import pytest

from console import roster
from school_points.platform.extensions import db
from tests.console.conftest import SCREENSHOTS, shoot, sign_in, visit

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(autouse=True)
def _upload_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(roster, "upload_dir", lambda: tmp_path / "console-imports")


def csp_violations(page):
    """What the browser refused under the Content-Security-Policy (a 422 page is logged too, and fine)."""
    return [message for message in page.console_errors if "Content Security Policy" in message]


def roster_file(path, rows):
    book = openpyxl.Workbook()
    book.active.append(["姓名", "学号", "校区", "班级", "生日"])
    for row in rows:
        book.active.append(row)
    book.save(path)
    return str(path)


def test_import_a_roster_file(page, make_admin, campus, tmp_path):
    make_admin("boss")
    sign_in(page)
    visit(page, "/console/import")
    shoot(page, "import-empty")
    rows = [
        ["王小明", "S2026001", "总校区", "钢琴一班", "2018-05-01"],
        ["李小红", "S2026002", "总校区", "钢琴一班，美术二班", "2019-02-30"],
        ["张伟", "S2026003", "总校区", "美术二班", ""],
    ]
    page.set_input_files("#f-file", roster_file(tmp_path / "名单.xlsx", rows))
    with page.expect_navigation():
        page.click("text=上传并预览")
    expect(page.locator("#import-preview .form-error")).to_contain_text("没有导入任何数据")
    error_row = page.locator("#import-preview tbody tr").first
    expect(error_row).to_contain_text("3")
    expect(error_row).to_contain_text("生日")
    assert page.locator("text=确认导入").count() == 0
    shoot(page, "import-errors")

    rows[1][4] = "2019-02-28"
    page.set_input_files("#f-file", roster_file(tmp_path / "名单（改）.xlsx", rows))
    with page.expect_navigation():
        page.click("text=上传并预览")
    expect(page.locator("#import-preview")).to_contain_text("检查通过，尚未写入")
    shoot(page, "import")
    with page.expect_navigation():
        page.click("text=确认导入")
    assert page.dialogs[-1][0] == "confirm" and "新建 3 名" in page.dialogs[-1][1]
    expect(page.locator("#import-result")).to_contain_text("新建 3 名学员")
    shoot(page, "import-done")
    with page.expect_navigation():
        page.click("text=查看学员列表")
    for name in ("王小明", "李小红", "张伟"):
        expect(page.locator("table")).to_contain_text(name)
    shoot(page, "students-roster")
    assert csp_violations(page) == []


def test_print_a_bind_sheet(page, make_admin, make_class, make_student, make_teacher):
    make_admin("boss")
    students = [make_student(name) for name in ("王小明", "李小红", "张伟")]
    make_class("钢琴一班", students=students, teachers=[make_teacher("李老师")])
    make_class("美术二班")
    sign_in(page)
    visit(page, "/console/classes")
    expect(page.locator("table")).to_contain_text("钢琴一班")
    shoot(page, "classes")
    with page.context.expect_page() as opened:
        page.locator("tr", has_text="钢琴一班").locator("text=打印绑定码").click()
    sheet = opened.value
    sheet.wait_for_load_state()
    for student in students:
        expect(sheet.locator("body")).to_contain_text(student.name)
        expect(sheet.locator("body")).to_contain_text(student.bind_code)
    sheet.set_viewport_size({"width": 1366, "height": 768})
    sheet.emulate_media(media="print")
    sheet.screenshot(path=str(SCREENSHOTS / "console-bind-sheet-print.png"), full_page=True)
    sheet.close()
    assert csp_violations(page) == []


def test_a_campus_admin_cannot_see_another_campuss_class_or_student(
    page, make_admin, make_campus, make_class, make_student
):
    home, other = make_campus("东校区"), make_campus("西校区")
    make_class("东校一班", campus_id=home.id, students=[make_student("东校学员", campus_id=home.id)])
    theirs = make_student("西校学员", campus_id=other.id)
    their_class = make_class("西校一班", campus_id=other.id, students=[theirs])
    make_admin("local", campus_id=home.id)
    sign_in(page, "local")
    visit(page, "/console/classes")
    expect(page.locator("table")).to_contain_text("东校一班")
    assert "西校一班" not in page.content() and "新建校区" not in page.content()
    visit(page, "/console/students")
    assert "西校学员" not in page.content() and "西校一班" not in page.content()
    for path in (f"/console/classes/{their_class.id}/edit", f"/console/classes/{their_class.id}/bind-sheet"):
        assert visit(page, path).status == 404
        assert page.locator("h1").inner_text() == "页面不存在"
    assert visit(page, f"/console/students/{theirs.id}/export?format=json").status == 404


def test_the_class_and_teacher_forms(page, make_admin, campus, make_class):
    make_admin("boss")
    make_class("钢琴一班")
    sign_in(page)
    visit(page, "/console/teachers/new")
    page.fill("#f-name", "李老师")
    page.check("text=钢琴一班（总校区）")
    with page.expect_navigation():
        page.click("button:has-text('添加老师')")
    expect(page.locator(".flash-success")).to_contain_text("已添加老师「李老师」")
    shoot(page, "teacher")
    visit(page, "/console/teachers")
    shoot(page, "teachers")
    visit(page, "/console/classes/new")
    page.fill("#f-name", "")
    with page.expect_navigation():
        page.click("button:has-text('新建班级')")
    expect(page.locator("#e-name")).to_have_text("必填")
    shoot(page, "class-form")
    page.fill("#f-name", "<script>alert(1)</script>")
    page.check("text=李老师（总校区）")
    with page.expect_navigation():
        page.click("button:has-text('新建班级')")
    expect(page.locator("table")).to_contain_text("<script>alert(1)</script>")
    expect(page.locator("table")).to_contain_text("李老师")
    assert page.dialogs == [] and csp_violations(page) == []


def test_the_family_data_section_of_a_students_page(page, make_admin, make_student, make_guardian, make_user):
    make_admin("boss")
    student = make_student("王小明", balance=12)
    make_guardian(student, user=make_user(oa_openid="oa-demo"), relation="妈妈")
    make_guardian(student, relation="爸爸")
    sign_in(page)
    visit(page, f"/console/students/{student.id}")
    page.fill("#f-confirm", "王小")
    with page.expect_navigation():
        page.click("button:has-text('删除数据')")
    expect(page.locator("#e-confirm")).to_contain_text("请输入学员当前的完整姓名")
    shoot(page, "student-family")
    with page.expect_navigation():
        page.locator("li", has_text="爸爸").locator("button:has-text('解除绑定')").click()
    expect(page.locator(".flash-success")).to_contain_text("已解除该家长的绑定")
    with page.expect_download() as download:
        page.click("text=导出数据（Excel）")
    assert download.value.suggested_filename.endswith(".xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert workbook.sheetnames
    db.session.commit()
    assert csp_violations(page) == []
