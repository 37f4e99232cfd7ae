"""Renaming a campus and deleting a class: the school's structure changes, the points stay."""

from sqlalchemy import func, select

from school_points.models import AuditLog, Campus, LedgerEntry, SchoolClass, Student, class_student, class_teacher
from school_points.platform.extensions import db
from tests.admin.admin_testkit import AdminApi, db_state
from tests.conftest import balance_of, requires_pg, run_concurrently


def audit(action):
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


# ------------------------------------------------------------------ renaming a campus


def test_a_super_admin_renames_a_campus(api, campus):
    response = api.patch(f"/campuses/{campus.id}", {"name": "  东湖校区 "})
    assert response.status_code == 200
    assert response.json["name"] == "东湖校区" and response.json["id"] == campus.id
    (entry,) = audit("campus.update")
    assert entry.changes == {"old": "总校区", "new": "东湖校区"} and entry.campus_id == campus.id


def test_the_same_name_or_an_empty_patch_changes_nothing(api, campus):
    assert api.patch(f"/campuses/{campus.id}", {"name": "总校区"}).json["name"] == "总校区"
    assert api.patch(f"/campuses/{campus.id}", {}).json["name"] == "总校区"
    assert audit("campus.update") == []


def test_campus_names_stay_unique(api, campus, other_campus):
    response = api.patch(f"/campuses/{campus.id}", {"name": other_campus.name})
    assert response.status_code == 409 and response.json["error"]["code"] == "campus_name_taken"
    db.session.expire_all()
    assert db.session.get(Campus, campus.id).name == "总校区"


def test_a_campus_admin_may_not_rename_campuses(campus_api, campus, other_campus):
    own = campus_api.patch(f"/campuses/{campus.id}", {"name": "我的校区"})
    assert own.status_code == 403 and own.json["error"]["code"] == "super_admin_required"
    other = campus_api.patch(f"/campuses/{other_campus.id}", {"name": "别人的校区"})
    assert other.status_code == 404 and other.json["error"]["code"] == "campus_not_found"
    db.session.expire_all()
    assert {c.name for c in db.session.scalars(select(Campus))} == {"总校区", "分校区"}


def test_bad_campus_patches_are_refused(api, campus):
    for body in ({"name": ""}, {"name": 5}, {"name": "x" * 65}, {"title": "x"}, {"name": "a\x00b"}):
        assert api.patch(f"/campuses/{campus.id}", body).status_code == 422, body
    assert api.patch("/campuses/99999", {"name": "x"}).status_code == 404
    assert api.patch(f"/campuses/{2**40}", {"name": "x"}).status_code == 404


@requires_pg
def test_two_campuses_renamed_to_one_name_at_once_get_one(app, api, make_campus):
    ids = [make_campus("甲").id, make_campus("乙").id]

    def rename(campus_id):
        return AdminApi(app.test_client(), api.token).patch(f"/campuses/{campus_id}", {"name": "丙"}).status_code

    assert sorted(run_concurrently(app, rename, ids)) == [200, 409]


# ------------------------------------------------------------------ deleting a class


def test_deleting_a_class_keeps_its_students_and_their_points(api, make_class, make_student, make_teacher):
    student = make_student(balance=120)
    teacher = make_teacher()
    klass = make_class(students=[student], teachers=[teacher])
    kept = make_class(name="二班", students=[student])
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))

    response = api.delete(f"/classes/{klass.id}")
    assert response.status_code == 204 and response.data == b""
    db.session.expire_all()
    assert db.session.get(SchoolClass, klass.id) is None
    assert db.session.get(Student, student.id).status == "active"
    assert balance_of(student.id) == 120
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries
    assert db.session.scalars(select(class_student.c.class_id)).all() == [kept.id]
    assert db.session.scalars(select(class_teacher.c.class_id)).all() == []
    assert api.get(f"/students/{student.id}").json["class_ids"] == [kept.id]
    assert api.get(f"/teachers/{teacher.id}").json["class_ids"] == []
    assert api.get(f"/classes/{klass.id}").status_code == 404
    assert api.delete(f"/classes/{klass.id}").status_code == 404  # once only


def test_deleting_a_class_is_audited_with_what_it_was(api, make_class, make_student, make_teacher):
    student, teacher = make_student(), make_teacher()
    klass = make_class(students=[student], teachers=[teacher])
    assert api.delete(f"/classes/{klass.id}").status_code == 204
    (entry,) = audit("class.delete")
    assert (entry.target_type, entry.target_id, entry.campus_id) == ("class", str(klass.id), klass.campus_id)
    assert entry.changes == {
        "old": {"name": "一班", "campus_id": klass.campus_id, "teacher_ids": [teacher.id], "student_ids": [student.id]}
    }


def test_a_campus_admin_deletes_only_its_own_campus_classes(campus_api, other_campus, make_class):
    theirs = make_class(campus_id=other_campus.id)
    mine = make_class(name="本校区班")
    before = db_state()
    refused = campus_api.delete(f"/classes/{theirs.id}")
    assert refused.status_code == 404 and refused.json["error"]["code"] == "class_not_found"
    assert db_state() == before
    assert db.session.get(SchoolClass, theirs.id) is not None
    assert campus_api.delete(f"/classes/{mine.id}").status_code == 204


def test_deleting_an_unknown_class_is_404(api):
    assert api.delete("/classes/99999").status_code == 404
    assert api.delete(f"/classes/{2**40}").status_code == 404
