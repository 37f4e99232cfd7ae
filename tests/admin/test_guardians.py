"""A student's guardians as the school office sees them, and unbinding one."""

from sqlalchemy import select

from school_points.models import AuditLog, Guardian, WechatUser
from school_points.platform.extensions import db


def test_guardians_list_relation_since_and_how_each_can_be_reached(api, make_student, make_guardian, make_user):
    student = make_student()
    follower = make_guardian(student, make_user(oa_openid="oa-mum"), relation="妈妈")
    follower.oa_subscribed = True
    db.session.commit()
    mp_only = make_guardian(student, make_user(), relation="爸爸")
    unfollowed = make_user(mp_openid=None, oa_openid="oa-gran")
    unfollowed.mp_openid = None
    db.session.commit()
    make_guardian(student, unfollowed, relation="奶奶")

    response = api.get(f"/students/{student.id}/guardians")
    assert response.status_code == 200
    rows = response.json
    assert [(g["user_id"], g["relation"], g["official_account"], g["mini_program"]) for g in rows] == [
        (follower.id, "妈妈", True, True),
        (mp_only.id, "爸爸", False, True),
        (unfollowed.id, "奶奶", False, False),  # followed once, unfollowed since: templates cannot reach her
    ]
    assert rows[0]["since"].endswith("+08:00")
    assert "oa-mum" not in response.get_data(as_text=True)  # no openid ever leaves


def test_a_student_without_guardians_has_an_empty_list(api, make_student):
    assert api.get(f"/students/{make_student().id}/guardians").json == []


def test_unbinding_a_guardian_is_204_and_audited(api, make_student, make_guardian):
    student, sibling = make_student(), make_student(name="王小红")
    parent = make_guardian(student, relation="妈妈")
    make_guardian(sibling, parent)
    response = api.delete(f"/students/{student.id}/guardians/{parent.id}")
    assert response.status_code == 204 and response.data == b""
    db.session.expire_all()
    assert db.session.scalars(select(Guardian.student_id).where(Guardian.user_id == parent.id)).all() == [sibling.id]
    assert db.session.get(WechatUser, parent.id).default_student_id == sibling.id  # the default moved on
    (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "guardian.unbind"))
    assert (entry.target_type, entry.target_id, entry.campus_id) == ("student", str(student.id), student.campus_id)
    assert entry.changes == {"user_id": parent.id, "relation": "妈妈"}
    assert api.get(f"/students/{student.id}/guardians").json == []


def test_unbinding_someone_not_bound_is_404(api, make_student, make_guardian, make_user):
    student, other = make_student(), make_student(name="李四")
    someone_elses = make_guardian(other)
    for user_id in (someone_elses.id, make_user().id, 99999, 2**40):
        response = api.delete(f"/students/{student.id}/guardians/{user_id}")
        assert response.status_code == 404, user_id
    assert api.delete(f"/students/{student.id}/guardians/{someone_elses.id}").json["error"]["code"] == (
        "guardian_not_found"
    )
    assert db.session.scalars(select(Guardian.user_id).where(Guardian.student_id == other.id)).all() == [
        someone_elses.id
    ]
    assert db.session.scalars(select(AuditLog).where(AuditLog.action == "guardian.unbind")).first() is None


def test_a_campus_admin_reaches_only_its_own_campus_families(
    campus_api, campus, other_campus, make_student, make_guardian
):
    mine, theirs = make_student(), make_student(campus_id=other_campus.id)
    parent = make_guardian(mine)
    their_parent = make_guardian(theirs)
    assert campus_api.get(f"/students/{mine.id}/guardians").status_code == 200
    not_mine = campus_api.get(f"/students/{theirs.id}/guardians")
    assert not_mine.status_code == 404 and not_mine.json["error"]["code"] == "student_not_found"
    assert campus_api.delete(f"/students/{theirs.id}/guardians/{their_parent.id}").status_code == 404
    # Naming my student with another family's user is a plain "not bound".
    assert campus_api.delete(f"/students/{mine.id}/guardians/{their_parent.id}").status_code == 404
    assert db.session.scalars(select(Guardian.user_id).where(Guardian.student_id == theirs.id)).all() == [
        their_parent.id
    ]
    assert campus_api.delete(f"/students/{mine.id}/guardians/{parent.id}").status_code == 204


def test_an_unknown_student_is_404(api):
    assert api.get("/students/99999/guardians").json["error"]["code"] == "student_not_found"
    assert api.get(f"/students/{2**40}/guardians").status_code == 404
    assert api.delete("/students/99999/guardians/1").status_code == 404


def test_the_list_of_guardians_takes_a_fixed_number_of_queries(api, make_student, make_guardian, count_queries):
    student = make_student()
    make_guardian(student)
    with count_queries() as one:
        api.get(f"/students/{student.id}/guardians")
    for _ in range(5):
        make_guardian(student)
    with count_queries() as six:
        assert len(api.get(f"/students/{student.id}/guardians").json) == 6
    assert six.count == one.count
