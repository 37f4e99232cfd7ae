"""导入: a roster file previewed as a dry run (counts, row errors in Chinese), then 确认导入 imports
the same file kept server-side under the session's token; the template download."""

import io
import os
import time

import openpyxl
import pytest
from sqlalchemy import func, select

from console import roster
from school_points.models import AuditLog, SchoolClass, Student
from school_points.platform.extensions import db
from tests.console.conftest import ConsoleClient

TOKEN_FIELD = 'name="token" value="'


@pytest.fixture(autouse=True)
def _upload_dir(tmp_path, monkeypatch):
    """Each test's kept uploads in a folder of its own (the instance folder is shared)."""
    monkeypatch.setattr(roster, "upload_dir", lambda: tmp_path / "console-imports")


def text(response):
    return response.get_data(as_text=True)


def workbook(rows, header=("姓名", "学号", "校区", "班级", "生日")) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(browser, data, name="名单.xlsx"):
    browser.get("/console/import")
    return browser.post("/console/import", {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def token_of(page):
    html = text(page)
    start = html.index(TOKEN_FIELD) + len(TOKEN_FIELD)
    return html[start : html.index('"', start)]


def students():
    return db.session.scalar(select(func.count()).select_from(Student))


def kept_files():
    folder = roster.upload_dir()
    return sorted(folder.glob("*.upload")) if folder.is_dir() else []


def test_the_page_offers_the_upload_and_the_template(boss):
    page = text(boss.get("/console/import"))
    assert "上传并预览" in page and "下载导入模板" in page and 'enctype="multipart/form-data"' in page


def test_the_template_is_an_xlsx_with_the_header_and_an_example(boss, campus):
    response = boss.client.get("/console/import/template.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(response.data)).active.values)
    assert rows[0] == ("姓名", "学号", "校区", "班级", "生日")
    assert rows[1][0] == "王小明" and rows[1][2] == "总校区" and len(rows) == 2


def test_a_file_with_errors_shows_them_and_writes_nothing(boss, campus):
    page = upload(boss, workbook([("王小明", "S1", "总校区", "一班", "2018-05-01"), ("", "S2", "总校区", "一班", "")]))
    assert page.status_code == 422
    html = text(page)
    assert "没有导入任何数据" in html and "姓名" in html and "确认导入" not in html
    assert '<td class="num">3</td>' in html  # the row number Excel shows
    assert students() == 0 and kept_files() == []


def test_a_clean_file_previews_then_imports_the_same_file(boss, campus):
    data = workbook([("王小明", "S1", "总校区", "一班", "2018-05-01"), ("李小红", "S2", "总校区", "一班, 二班", "")])
    preview = upload(boss, data)
    assert preview.status_code == 200
    html = text(preview)
    assert "检查通过，尚未写入" in html and "确认导入" in html
    assert students() == 0 and len(kept_files()) == 1
    done = boss.post("/console/import/confirm", {"token": token_of(preview)})
    assert done.status_code == 200 and "导入完成" in text(done)
    assert "新建 2 名学员" in text(done) and "新建班级 2 个" in text(done)
    assert students() == 2 and db.session.scalar(select(func.count()).select_from(SchoolClass)) == 2
    assert kept_files() == []
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.import")).one()
    assert entry.changes["created"] == 2
    again = boss.post("/console/import/confirm", {"token": token_of(preview)})
    assert again.status_code == 302
    assert "预览已过期" in text(boss.get(again.headers["Location"]))
    assert students() == 2


def test_another_session_cannot_confirm_the_upload(app, boss, make_admin, campus):
    preview = upload(boss, workbook([("王小明", "S1", "", "", "")]))
    make_admin("other")
    other = ConsoleClient(app.test_client())
    other.login("other")
    refused = other.post("/console/import/confirm", {"token": token_of(preview)})
    assert refused.status_code == 302 and students() == 0
    assert boss.post("/console/import/confirm", {"token": "x" * 32}).status_code == 302
    assert students() == 0


def test_a_new_upload_replaces_the_kept_one_and_old_files_are_swept(boss, campus):
    upload(boss, workbook([("王小明", "S1", "", "", "")]))
    first = kept_files()
    upload(boss, workbook([("李小红", "S2", "", "", "")]))
    assert len(kept_files()) == 1 and kept_files() != first
    stale = kept_files()[0]
    old = time.time() - roster.UPLOAD_TTL_SECONDS - 5
    os.utime(stale, (old, old))
    upload(boss, b"not a roster", "x.csv")
    assert kept_files() == []


def test_an_unreadable_or_missing_file_is_a_field_error(boss, campus):
    missing = boss.post("/console/import", {}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "请选择要导入的" in text(missing)
    broken = upload(boss, b"PK\x03\x04 broken", "名单.xlsx")
    assert broken.status_code == 422 and 'class="field-error"' in text(broken)
    empty = upload(boss, workbook([]))
    assert empty.status_code == 422 and 'class="field-error"' in text(empty)


def test_the_upload_needs_the_csrf_token(boss, campus):
    refused = boss.post(
        "/console/import",
        {"file": (io.BytesIO(workbook([("王小明", "S1", "", "", "")])), "a.xlsx")},
        content_type="multipart/form-data",
        csrf=False,
    )
    assert refused.status_code == 400 and kept_files() == []


def test_a_campus_admin_imports_into_their_campus_only(app, make_admin, make_campus):
    mine, other = make_campus("本校"), make_campus("分校")
    make_admin("xiaoqu", campus_id=mine.id)
    browser = ConsoleClient(app.test_client())
    browser.login("xiaoqu")
    refused = upload(browser, workbook([("王小明", "S1", "分校", "", "")]))
    assert refused.status_code == 422 and "校区" in text(refused)
    preview = upload(browser, workbook([("王小明", "S1", "", "", "")]))
    browser.post("/console/import/confirm", {"token": token_of(preview)})
    assert db.session.scalars(select(Student.campus_id)).all() == [mine.id]
    assert other.id
