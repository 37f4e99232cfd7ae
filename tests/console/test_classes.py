"""班级 and 校区: the list with counts, creating, editing and deleting a class, campuses, and a
class's printable bind sheet under the console session; campus scope and CSRF."""

from sqlalchemy import select

from school_points.models import AuditLog, Campus, SchoolClass, Student
from school_points.platform.extensions import db
from tests.conftest import balance_of
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


def test_the_list_shows_each_class_with_its_counts_and_teachers(boss, make_class, make_student, make_teacher):
    teacher = make_teacher("李老师")
    make_class("钢琴一班", students=[make_student("王小明"), make_student("李小红")], teachers=[teacher])
    make_class("空班")
    page = text(boss.get("/console/classes"))
    assert "钢琴一班" in page and "李老师" in page and '<td class="num">2</td>' in page
    assert "空班" in page and "打印绑定码" in page and "总校区" in page


def test_an_empty_school_says_so(boss, campus):
    assert "还没有班级" in text(boss.get("/console/classes"))


def test_creating_a_class_with_teachers(boss, campus, make_teacher):
    teacher = make_teacher("李老师")
    boss.get("/console/classes/new")
    done = boss.post(
        "/console/classes/new", {"name": "钢琴一班", "campus_id": str(campus.id), "teacher_ids": ["", str(teacher.id)]}
    )
    assert done.status_code == 302
    assert "已新建班级「钢琴一班」" in text(boss.get(done.headers["Location"]))
    klass = db.session.scalars(select(SchoolClass)).one()
    assert [t.id for t in klass.teachers] == [teacher.id]
    assert len(audits("class.create")) == 1


def test_class_form_errors_are_beside_their_fields(boss, campus, make_campus, make_teacher):
    other = make_campus("分校")
    stranger = make_teacher("王老师", campus_id=other.id)
    boss.get("/console/classes/new")
    blank = boss.post("/console/classes/new", {"name": "", "campus_id": str(campus.id)})
    assert blank.status_code == 422 and "必填" in text(blank)
    wrong = boss.post(
        "/console/classes/new", {"name": "一班", "campus_id": str(campus.id), "teacher_ids": [str(stranger.id)]}
    )
    assert wrong.status_code == 422 and "不属于该校区" in text(wrong) and 'id="e-teacher_ids"' in text(wrong)
    assert db.session.scalars(select(SchoolClass)).first() is None


def test_editing_renames_and_unticking_removes_every_teacher(boss, make_class, make_teacher):
    teacher = make_teacher("李老师")
    klass = make_class("一班", teachers=[teacher])
    form = text(boss.get(f"/console/classes/{klass.id}/edit"))
    assert 'value="一班"' in form and "checked" in form
    done = boss.post(
        f"/console/classes/{klass.id}/edit", {"name": "二班", "campus_id": str(klass.campus_id), "teacher_ids": ""}
    )
    assert done.status_code == 302
    db.session.expire_all()
    klass = db.session.get(SchoolClass, klass.id)
    assert klass.name == "二班" and klass.teachers == []
    assert len(audits("class.update")) == 1


def test_deleting_a_class_keeps_its_students_and_points(boss, make_class, make_student):
    student = make_student("王小明", balance=30)
    klass = make_class("一班", students=[student])
    boss.get("/console/classes")
    done = boss.post(f"/console/classes/{klass.id}/delete")
    assert "学员和积分保留" in text(boss.get(done.headers["Location"]))
    assert db.session.get(SchoolClass, klass.id) is None
    assert db.session.get(Student, student.id) is not None and balance_of(student.id) == 30
    assert len(audits("class.delete")) == 1


def test_campuses_are_created_and_renamed_by_super_admins(boss, campus, make_campus):
    make_campus("分校")
    boss.get("/console/classes")
    created = boss.post("/console/campuses", {"name": "东校区"})
    assert "已新建校区「东校区」" in text(boss.get(created.headers["Location"]))
    taken = boss.post("/console/campuses", {"name": "分校"})
    assert taken.status_code == 422 and "已有同名校区" in text(taken)
    renamed = boss.post(f"/console/campuses/{campus.id}", {"name": "本部"})
    assert renamed.status_code == 302
    clash = boss.post(f"/console/campuses/{campus.id}", {"name": "分校"})
    assert clash.status_code == 422 and "已有同名校区" in text(clash)
    db.session.expire_all()
    assert db.session.get(Campus, campus.id).name == "本部"
    assert len(audits("campus.create")) == 1 and len(audits("campus.update")) == 1


def test_a_campus_admin_sees_only_their_campus(app, make_admin, make_campus, make_class):
    mine, other = make_campus("本校"), make_campus("分校")
    make_class("本校一班", campus_id=mine.id)
    theirs = make_class("分校一班", campus_id=other.id)
    browser = campus_admin(app, make_admin, mine.id)
    page = text(browser.get("/console/classes"))
    assert "本校一班" in page and "分校一班" not in page and "新建校区" not in page
    for path in (f"/console/classes/{theirs.id}/edit", f"/console/classes/{theirs.id}/bind-sheet"):
        assert browser.get(path).status_code == 404
    assert browser.post(f"/console/classes/{theirs.id}/delete").status_code == 404
    assert browser.get(f"/console/classes?campus_id={other.id}").status_code == 404
    assert browser.post("/console/campuses", {"name": "新校区"}).status_code == 403
    assert browser.post(f"/console/campuses/{mine.id}", {"name": "改名"}).status_code == 403
    assert db.session.get(SchoolClass, theirs.id) is not None


def test_the_bind_sheet_is_the_printable_page_audited(boss, make_class, make_student):
    student = make_student("王小明")
    klass = make_class("钢琴一班", students=[student])
    sheet = boss.client.get(f"/console/classes/{klass.id}/bind-sheet")
    assert sheet.status_code == 200 and sheet.mimetype == "text/html"
    html = text(sheet)
    assert "王小明" in html and student.bind_code in html
    assert sheet.headers["Cache-Control"] == "no-store"
    assert "style-src 'self' 'sha256-" in sheet.headers["Content-Security-Policy"]
    assert "script-src 'self'" in sheet.headers["Content-Security-Policy"]
    assert len(audits("class.bind_sheet")) == 1
    chosen = boss.client.get(f"/console/classes/bind-sheet?class_id={klass.id}")
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith(f"/console/classes/{klass.id}/bind-sheet")
    assert boss.get("/console/classes/bind-sheet?class_id=").status_code == 400


def test_class_changes_need_the_csrf_token(boss, make_class):
    klass = make_class("一班")
    assert boss.post(f"/console/classes/{klass.id}/delete", csrf=False).status_code == 400
    assert boss.post("/console/classes/new", {"name": "二班"}, csrf=False).status_code == 400
    assert boss.post("/console/campuses", {"name": "东校区"}, csrf=False).status_code == 400
    assert db.session.scalars(select(SchoolClass.name)).all() == ["一班"]
