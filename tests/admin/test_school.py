"""Campuses, classes and teachers as school staff set them up."""

from sqlalchemy import func, select

from school_points.models import AuditLog, Campus, SchoolClass, Teacher
from school_points.people.teachers import accept_invite
from school_points.platform.extensions import db
from tests.admin.admin_testkit import AdminApi
from tests.conftest import requires_pg, run_concurrently


def count(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# ------------------------------------------------------------------ campuses


def test_super_admin_creates_and_lists_campuses(api):
    created = api.post("/campuses", {"name": "东区校区"})
    assert created.status_code == 201
    assert created.json["name"] == "东区校区"
    assert [c["name"] for c in api.get("/campuses").json["items"]] == ["东区校区"]


def test_campus_names_are_unique(api):
    api.post("/campuses", {"name": "东区"})
    response = api.post("/campuses", {"name": " 东区 "})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "campus_name_taken"
    assert count(Campus) == 1


def test_campus_admin_sees_only_its_campus_and_cannot_add_one(campus_api, campus, other_campus):
    assert [c["id"] for c in campus_api.get("/campuses").json["items"]] == [campus.id]
    response = campus_api.post("/campuses", {"name": "新校区"})
    assert response.status_code == 403
    assert count(Campus) == 2


def test_campus_name_is_validated(api):
    for bad in ({}, {"name": ""}, {"name": "x" * 65}, {"name": ["a"]}):
        assert api.post("/campuses", bad).status_code == 422
    assert count(Campus) == 0


# ------------------------------------------------------------------ classes


def test_class_with_teachers_and_students_of_its_campus(api, campus, make_teacher, make_student):
    teacher, student = make_teacher(), make_student()
    response = api.post(
        "/classes",
        {"name": "钢琴一班", "campus_id": campus.id, "teacher_ids": [teacher.id], "student_ids": [student.id]},
    )
    assert response.status_code == 201
    assert (response.json["teacher_ids"], response.json["student_ids"]) == ([teacher.id], [student.id])
    assert api.get(f"/classes/{response.json['id']}").json == response.json


def test_members_of_another_campus_are_refused(api, campus, other_campus, make_teacher, make_student):
    foreign_teacher = make_teacher(campus_id=other_campus.id)
    foreign_student = make_student(campus_id=other_campus.id)
    response = api.post(
        "/classes",
        {
            "name": "一班",
            "campus_id": campus.id,
            "teacher_ids": [foreign_teacher.id],
            "student_ids": [foreign_student.id, 999],
        },
    )
    assert response.status_code == 422
    assert set(response.json["error"]["details"]) == {"teacher_ids", "student_ids"}
    assert count(SchoolClass) == 0


def test_patch_class_replaces_members(api, make_class, make_student, make_teacher):
    a, b = make_student(name="甲"), make_student(name="乙")
    klass = make_class(students=[a])
    response = api.patch(f"/classes/{klass.id}", {"student_ids": [b.id], "name": "二班"})
    assert response.status_code == 200
    assert (response.json["name"], response.json["student_ids"]) == ("二班", [b.id])


def test_moving_a_class_needs_its_members_to_move_too(api, make_class, make_student, other_campus):
    klass = make_class(students=[make_student()])
    response = api.patch(f"/classes/{klass.id}", {"campus_id": other_campus.id})
    assert response.status_code == 422
    assert "student_ids" in response.json["error"]["details"]
    moved = api.patch(f"/classes/{klass.id}", {"campus_id": other_campus.id, "student_ids": []})
    assert moved.status_code == 200 and moved.json["campus_id"] == other_campus.id


def test_campus_admin_and_classes_of_other_campuses(campus_api, campus, other_campus, make_class, make_student):
    mine, theirs = make_class(name="本校班"), make_class(name="他校班", campus_id=other_campus.id)
    assert [c["id"] for c in campus_api.get("/classes").json["items"]] == [mine.id]
    assert campus_api.get(f"/classes/{theirs.id}").status_code == 404
    assert campus_api.patch(f"/classes/{theirs.id}", {"name": "改"}).status_code == 404
    assert campus_api.get("/classes", campus_id=other_campus.id).status_code == 404
    created = campus_api.post("/classes", {"name": "新班"})
    assert created.status_code == 201 and created.json["campus_id"] == campus.id
    db.session.expire_all()
    assert db.session.get(SchoolClass, theirs.id).name == "他校班"


def test_listing_fifty_classes_takes_a_fixed_number_of_queries(
    api, make_class, make_student, make_teacher, count_queries
):
    students, teacher = [make_student(name=f"学员{i}") for i in range(3)], make_teacher()
    for i in range(50):
        make_class(name=f"班{i}", students=students, teachers=[teacher])
    with count_queries() as counter:
        items = api.get("/classes", limit=50).json["items"]
    assert len(items) == 50 and all(len(c["student_ids"]) == 3 for c in items)
    assert counter.count <= 6


# ------------------------------------------------------------------ teachers


def test_create_teacher_returns_an_invite_code(api, campus, make_class):
    klass = make_class()
    response = api.post("/teachers", {"name": "李老师", "campus_id": campus.id, "class_ids": [klass.id]})
    assert response.status_code == 201
    assert len(response.json["invite_code"]) == 8
    assert response.json["bound"] is False
    assert response.json["class_ids"] == [klass.id]


def test_invite_code_works_once(api, campus, make_user):
    code = api.post("/teachers", {"name": "李老师", "campus_id": campus.id}).json["invite_code"]
    first, second = make_user(), make_user()
    teacher = accept_invite(first, code.lower())
    db.session.commit()
    assert teacher.user_id == first.id
    shown = api.get(f"/teachers/{teacher.id}").json
    assert shown["bound"] is True and shown["invite_code"] is None
    try:
        accept_invite(second, code)
    except Exception as exc:  # noqa: BLE001 - the domain error is what the parent's app shows
        assert getattr(exc, "code", None) == "invite_code_not_found"
    else:
        raise AssertionError("an invite code worked twice")


def test_new_invite_code_rebinds_a_teacher_who_changed_phones(api, make_teacher, make_user):
    teacher = make_teacher(user=make_user())
    response = api.post(f"/teachers/{teacher.id}/invite-code")
    assert response.status_code == 201
    assert response.json["bound"] is False and response.json["invite_code"]
    new_user = make_user()
    assert accept_invite(new_user, response.json["invite_code"]).user_id == new_user.id


def test_patch_teacher(api, make_teacher, make_class):
    teacher, klass = make_teacher(), make_class()
    response = api.patch(f"/teachers/{teacher.id}", {"name": "李明老师", "active": False, "class_ids": [klass.id]})
    assert response.status_code == 200
    assert (response.json["name"], response.json["active"], response.json["class_ids"]) == (
        "李明老师",
        False,
        [klass.id],
    )
    assert db.session.scalars(select(AuditLog).where(AuditLog.action == "teacher.update")).one()
    assert api.patch(f"/teachers/{teacher.id}", {"active": "no"}).status_code == 422


def test_campus_admin_and_teachers_of_other_campuses(campus_api, other_campus, make_teacher):
    theirs = make_teacher(campus_id=other_campus.id)
    assert campus_api.get("/teachers").json["items"] == []
    assert campus_api.get(f"/teachers/{theirs.id}").status_code == 404
    assert campus_api.patch(f"/teachers/{theirs.id}", {"name": "x"}).status_code == 404
    assert campus_api.post(f"/teachers/{theirs.id}/invite-code").status_code == 404
    refused = campus_api.post("/teachers", {"name": "王老师", "campus_id": other_campus.id})
    assert refused.status_code == 422
    assert count(Teacher) == 1


def test_create_teacher_with_idempotency_key_creates_once(api, campus):
    headers = {"Idempotency-Key": "t-1"}
    first = api.post("/teachers", {"name": "李老师", "campus_id": campus.id}, headers=headers)
    again = api.post("/teachers", {"name": "李老师", "campus_id": campus.id}, headers=headers)
    assert again.json == first.json
    assert count(Teacher) == 1


def test_admin_routes_reject_a_token_of_another_app(app, campus):
    assert AdminApi(app.test_client(), "x.y.z").post("/campuses", {"name": "x"}).status_code == 401
    assert count(Campus) == 1


@requires_pg
def test_two_admins_adding_the_same_campus_at_once_get_one_campus(app, api):
    def add(_):
        return AdminApi(app.test_client(), api.token).post("/campuses", {"name": "西区"}).status_code

    assert sorted(run_concurrently(app, add, range(3))) == [201, 409, 409]
    assert count(Campus) == 1


@requires_pg
def test_an_invite_code_raced_by_two_phones_binds_one(app, campus, make_teacher, make_user):
    code = make_teacher().invite_code
    user_ids = [make_user().id, make_user().id]

    def accept(user_id):
        from school_points.models import WechatUser

        try:
            accept_invite(db.session.get(WechatUser, user_id), code)
            db.session.commit()
            return "bound"
        except Exception as exc:  # noqa: BLE001 - the domain error's code is the outcome
            return getattr(exc, "code", repr(exc))

    assert sorted(run_concurrently(app, accept, user_ids)) == ["bound", "invite_code_not_found"]


def test_listing_fifty_teachers_takes_a_fixed_number_of_queries(api, make_teacher, make_class, count_queries):
    teachers = [make_teacher(name=f"老师{i}") for i in range(50)]
    make_class(teachers=teachers)
    make_class(name="二班", teachers=teachers[:10])
    with count_queries() as counter:
        items = api.get("/teachers", limit=50).json["items"]
    assert len(items) == 50 and sum(len(t["class_ids"]) for t in items) == 60
    assert counter.count <= 5
