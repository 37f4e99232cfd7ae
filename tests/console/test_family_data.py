"""学员 page additions: guardians (unbinding), a new bind code, the families' data export and the
erasure (super admins), and the roster export on the list page; each as the admin API does it."""

import io
import json

import openpyxl
from sqlalchemy import select

from school_points.models import AuditLog, Guardian, Student
from school_points.platform.extensions import db
from tests.console.conftest import ConsoleClient


def text(response):
    return response.get_data(as_text=True)


def audits(action):
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def campus_admin(app, make_admin, campus_id, username="xiaoqu"):
    make_admin(username, campus_id=campus_id)
    browser = ConsoleClient(app.test_client())
    assert browser.login(username).status_code == 302
    return browser


def test_the_page_lists_guardians_with_how_to_reach_them(boss, make_student, make_guardian, make_user):
    student = make_student()
    make_guardian(student, user=make_user(oa_openid="oa-1"), relation="爸爸")
    page = text(boss.get(f"/console/students/{student.id}"))
    assert "爸爸" in page and "解除绑定" in page and "未用小程序" not in page
    assert student.bind_code in page and "重新生成绑定码" in page


def test_unbinding_a_guardian_is_audited(boss, make_student, make_guardian):
    student = make_student()
    user = make_guardian(student, relation="妈妈")
    boss.get(f"/console/students/{student.id}")
    done = boss.post(f"/console/students/{student.id}/guardians/{user.id}/unbind")
    assert done.status_code == 302
    assert "已解除该家长的绑定" in text(boss.get(done.headers["Location"]))
    assert db.session.scalars(select(Guardian).where(Guardian.student_id == student.id)).first() is None
    assert len(audits("guardian.unbind")) == 1
    again = boss.post(f"/console/students/{student.id}/guardians/{user.id}/unbind")
    assert again.status_code == 404 and "页面不存在" in text(again)


def test_a_new_bind_code_replaces_the_old_and_is_shown(boss, make_student):
    student = make_student()
    old = student.bind_code
    done = boss.post(f"/console/students/{student.id}/bind-code")
    db.session.expire_all()
    new = db.session.get(Student, student.id).bind_code
    assert new != old
    assert f"新的绑定码：{new}" in text(boss.get(done.headers["Location"]))
    assert len(audits("student.bind_code")) == 1


def test_the_family_export_downloads_json_and_xlsx_audited(boss, make_student):
    student = make_student("王小明", balance=7)
    as_json = boss.get(f"/console/students/{student.id}/export?format=json")
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    assert "attachment" in as_json.headers["Content-Disposition"] and as_json.headers["Cache-Control"] == "no-store"
    assert json.loads(as_json.data)["student"]["name"] == "王小明"
    as_xlsx = boss.client.get(f"/console/students/{student.id}/export?format=xlsx")
    assert as_xlsx.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(as_xlsx.data)).sheetnames
    assert len(audits("student.export")) == 2
    assert boss.get(f"/console/students/{student.id}/export?format=pdf").status_code == 400


def test_erasing_needs_the_current_name(boss, make_student):
    student = make_student("王小明")
    path = f"/console/students/{student.id}/erase"
    wrong = boss.post(path, {"confirm": "王小"})
    assert wrong.status_code == 422
    assert "请输入学员当前的完整姓名" in text(wrong) and 'value="王小"' in text(wrong)
    empty = boss.post(path, {"confirm": ""})
    assert empty.status_code == 422 and "必填" in text(empty)
    db.session.expire_all()
    assert db.session.get(Student, student.id).status == "active"
    done = boss.post(path, {"confirm": "王小明"})
    assert done.status_code == 302
    assert "个人数据已删除" in text(boss.get(done.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(Student, student.id).status == "erased"
    assert len(audits("student.erase")) == 1


def test_a_campus_admin_can_neither_erase_nor_see_the_form(app, make_admin, make_student, campus):
    student = make_student("王小明")
    browser = campus_admin(app, make_admin, campus.id)
    assert "删除数据" not in text(browser.get(f"/console/students/{student.id}"))
    refused = browser.post(f"/console/students/{student.id}/erase", {"confirm": "王小明"})
    assert refused.status_code == 403
    db.session.expire_all()
    assert db.session.get(Student, student.id).status == "active"


def test_another_campuss_student_is_not_found_for_every_action(app, make_admin, make_student, make_campus):
    other = make_campus("分校")
    mine = make_campus("本校")
    student = make_student("王小明", campus_id=other.id)
    browser = campus_admin(app, make_admin, mine.id)
    assert browser.get(f"/console/students/{student.id}/export?format=json").status_code == 404
    assert browser.post(f"/console/students/{student.id}/bind-code").status_code == 404
    assert browser.post(f"/console/students/{student.id}/guardians/1/unbind").status_code == 404
    assert audits("student.export") == [] and audits("student.bind_code") == []


def test_actions_without_the_csrf_token_are_refused(boss, make_student, make_guardian):
    student = make_student()
    user = make_guardian(student)
    for path, data in (
        (f"/console/students/{student.id}/bind-code", {}),
        (f"/console/students/{student.id}/guardians/{user.id}/unbind", {}),
        (f"/console/students/{student.id}/erase", {"confirm": "王小明"}),
    ):
        refused = boss.post(path, data, csrf=False)
        assert refused.status_code == 400 and "页面已过期" in text(refused)
    db.session.expire_all()
    assert db.session.get(Student, student.id).status == "active"
    assert db.session.scalars(select(Guardian)).first() is not None


def test_the_roster_export_streams_xlsx_and_csv_audited(boss, make_student, make_class):
    a = make_student("王小明")
    make_student("李小红")
    klass = make_class("钢琴一班", students=[a])
    page = text(boss.get("/console/students"))
    assert "导出名单" in page and "包含绑定码" in page and "打印绑定码" in page
    xlsx = boss.client.get(f"/console/students/export?format=xlsx&class_id={klass.id}")
    assert xlsx.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(xlsx.data)).active.values)
    assert rows[0][:5] == ("姓名", "学号", "校区", "班级", "生日") and "绑定码" not in rows[0]
    assert [row[0] for row in rows[1:]] == ["王小明"]
    csv = boss.client.get("/console/students/export?format=csv&include_bind_codes=true")
    body = csv.data.decode("utf-8-sig")
    assert "绑定码" in body.splitlines()[0] and a.bind_code in body and "李小红" in body
    entries = audits("export")
    assert [entry.changes["include_bind_codes"] for entry in entries] == [False, True]
    assert boss.get("/console/students/export?format=pdf").status_code == 400


def test_a_campus_admin_cannot_export_another_campuss_class(app, make_admin, make_class, make_campus):
    other, mine = make_campus("分校"), make_campus("本校")
    klass = make_class("分校一班", campus_id=other.id)
    browser = campus_admin(app, make_admin, mine.id)
    assert browser.get(f"/console/students/export?class_id={klass.id}").status_code == 404
    assert "分校一班" not in text(browser.get("/console/students"))
    assert audits("export") == []
