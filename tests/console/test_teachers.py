"""老师: the list, adding and editing a teacher (name, campus, classes, active), the invite code
(shown, regenerated) and the printable invite sheet; campus scope and CSRF."""

from sqlalchemy import select

from school_points.models import AuditLog, Teacher
from school_points.platform.extensions import db
from tests.console.conftest import ConsoleClient


def text(response):
    return response.get_data(as_text=True)


def audits(action):
    return db.session.scalars(select(AuditLog).where(AuditLog.action == action)).all()


def test_the_list_shows_teachers_with_classes_and_whether_they_joined(boss, make_teacher, make_class, make_user):
    joined = make_teacher("李老师", user=make_user())
    waiting = make_teacher("王老师")
    make_class("钢琴一班", teachers=[joined])
    page = text(boss.get("/console/teachers"))
    assert "李老师" in page and "钢琴一班" in page and "已加入" in page
    assert "王老师" in page and waiting.invite_code in page and "打印邀请码" in page


def test_an_empty_list_says_what_to_do(boss, campus):
    assert "还没有老师" in text(boss.get("/console/teachers"))


def test_adding_a_teacher_shows_the_invite_code(boss, campus, make_class):
    klass = make_class("钢琴一班")
    boss.get("/console/teachers/new")
    done = boss.post(
        "/console/teachers/new", {"name": "李老师", "campus_id": str(campus.id), "class_ids": [str(klass.id)]}
    )
    assert done.status_code == 302
    teacher = db.session.scalars(select(Teacher)).one()
    page = text(boss.get(done.headers["Location"]))
    assert f"邀请码 {teacher.invite_code}" in page and "code-large" in page
    assert [c.id for c in teacher.classes] == [klass.id]
    assert len(audits("teacher.create")) == 1


def test_teacher_form_errors_are_beside_their_fields(boss, campus, make_campus, make_class):
    other = make_campus("分校")
    stranger = make_class("分校一班", campus_id=other.id)
    boss.get("/console/teachers/new")
    blank = boss.post("/console/teachers/new", {"name": "  ", "campus_id": str(campus.id)})
    assert blank.status_code == 422 and 'id="e-name"' in text(blank)
    wrong = boss.post(
        "/console/teachers/new", {"name": "李老师", "campus_id": str(campus.id), "class_ids": [str(stranger.id)]}
    )
    assert wrong.status_code == 422 and 'id="e-class_ids"' in text(wrong)
    assert db.session.scalars(select(Teacher)).first() is None


def test_editing_a_teacher_deactivates_and_clears_classes(boss, make_teacher, make_class):
    teacher = make_teacher("李老师")
    make_class("一班", teachers=[teacher])
    form = text(boss.get(f"/console/teachers/{teacher.id}/edit"))
    assert 'value="李老师"' in form and teacher.invite_code in form
    done = boss.post(
        f"/console/teachers/{teacher.id}/edit",
        {"name": "李老师（钢琴）", "campus_id": str(teacher.campus_id), "class_ids": ""},
    )
    assert done.status_code == 302
    db.session.expire_all()
    teacher = db.session.get(Teacher, teacher.id)
    assert teacher.name == "李老师（钢琴）" and teacher.active is False and teacher.classes == []
    assert len(audits("teacher.update")) == 1


def test_a_new_invite_code_unbinds_the_wechat_user(boss, make_teacher, make_user):
    teacher = make_teacher("李老师", user=make_user())
    boss.get(f"/console/teachers/{teacher.id}/edit")
    done = boss.post(f"/console/teachers/{teacher.id}/invite-code")
    db.session.expire_all()
    teacher = db.session.get(Teacher, teacher.id)
    assert teacher.user_id is None and teacher.invite_code
    assert f"新的邀请码：{teacher.invite_code}" in text(boss.get(done.headers["Location"]))
    assert len(audits("teacher.invite_code")) == 1


def test_the_invite_sheet_is_the_printable_page_audited(boss, make_teacher):
    teacher = make_teacher("王老师")
    sheet = boss.client.get("/console/teachers/invite-sheet")
    assert sheet.status_code == 200 and sheet.mimetype == "text/html"
    assert "王老师" in text(sheet) and teacher.invite_code in text(sheet)
    assert sheet.headers["Cache-Control"] == "no-store"
    assert len(audits("teacher.invite_sheet")) == 1
    assert boss.get("/console/teachers/invite-sheet?campus_id=abc").status_code == 400


def test_a_campus_admin_sees_only_their_campus(app, make_admin, make_campus, make_teacher):
    mine, other = make_campus("本校"), make_campus("分校")
    make_teacher("本校老师", campus_id=mine.id)
    theirs = make_teacher("分校老师", campus_id=other.id)
    make_admin("xiaoqu", campus_id=mine.id)
    browser = ConsoleClient(app.test_client())
    browser.login("xiaoqu")
    page = text(browser.get("/console/teachers"))
    assert "本校老师" in page and "分校老师" not in page
    assert browser.get(f"/console/teachers/{theirs.id}/edit").status_code == 404
    assert browser.post(f"/console/teachers/{theirs.id}/invite-code").status_code == 404
    assert browser.get(f"/console/teachers/invite-sheet?campus_id={other.id}").status_code == 404
    sheet = text(browser.client.get("/console/teachers/invite-sheet"))
    assert "本校老师" in sheet and "分校老师" not in sheet


def test_teacher_changes_need_the_csrf_token(boss, make_teacher, campus):
    teacher = make_teacher("李老师")
    old = teacher.invite_code
    assert boss.post(f"/console/teachers/{teacher.id}/invite-code", csrf=False).status_code == 400
    assert boss.post("/console/teachers/new", {"name": "王老师"}, csrf=False).status_code == 400
    db.session.expire_all()
    assert db.session.scalars(select(Teacher.invite_code)).all() == [old]
