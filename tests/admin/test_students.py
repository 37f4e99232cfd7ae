"""Students: enrolment with bind codes and points accounts, search, edits, campus scope."""

from sqlalchemy import func, select

from school_points.models import AuditLog, PointsAccount, Student
from school_points.platform.extensions import db
from tests.admin.admin_testkit import db_state


def test_create_returns_bind_code_and_opens_a_points_account(api, campus, make_class):
    klass = make_class()
    response = api.post(
        "/students", {"name": "张小雨", "campus_id": campus.id, "class_ids": [klass.id], "birthday": "2016-05-01"}
    )
    assert response.status_code == 201
    student = response.json
    assert len(student["bind_code"]) == 8
    assert (student["balance"], student["lifetime_points"]) == (0, 0)
    assert student["class_ids"] == [klass.id]
    assert student["birthday"] == "2016-05-01"
    assert student["status"] == "active"
    assert student["created_at"].endswith("+08:00")
    assert db.session.get(PointsAccount, student["id"]) is not None


def test_detail_shows_balance_and_lifetime_points(api, make_student):
    student = make_student(balance=120)
    api.post(f"/students/{student.id}/adjustments", {"delta": -20, "reason": "扣除测试"})
    detail = api.get(f"/students/{student.id}").json
    assert (detail["balance"], detail["lifetime_points"]) == (100, 120)
    assert detail["bind_code"] == student.bind_code


def test_search_by_name(api, make_student):
    make_student(name="王小明")
    make_student(name="李小红")
    make_student(name="王大明")
    names = [s["name"] for s in api.get("/students", q="明").json["items"]]
    assert sorted(names) == ["王大明", "王小明"]
    assert api.get("/students", q="%").json["items"] == []  # wildcards are text, not patterns


def test_list_filters_by_class_and_status(api, make_student, make_class):
    a, b = make_student(name="甲"), make_student(name="乙")
    klass = make_class(students=[a])
    api.patch(f"/students/{b.id}", {"status": "archived"})
    assert [s["id"] for s in api.get("/students", class_id=klass.id).json["items"]] == [a.id]
    assert [s["id"] for s in api.get("/students", status="archived").json["items"]] == [b.id]
    assert api.get("/students", status="gone").status_code == 422
    assert api.get("/students", unknown="1").status_code == 422


def test_list_pages_newest_first(api, make_student):
    ids = [make_student(name=f"学员{i}").id for i in range(5)]
    first = api.get("/students", limit=2).json
    assert [s["id"] for s in first["items"]] == ids[:-3:-1]
    second = api.get("/students", limit=2, cursor=first["next_cursor"]).json
    third = api.get("/students", limit=2, cursor=second["next_cursor"]).json
    assert [s["id"] for s in second["items"] + third["items"]] == ids[2::-1]
    assert third["next_cursor"] is None
    assert api.get("/students", limit=0).status_code == 422
    assert api.get("/students", cursor="garbage!").status_code == 422


def test_listing_fifty_students_takes_a_fixed_number_of_queries(api, make_student, make_class, count_queries):
    klass = make_class()
    for i in range(50):
        make_student(name=f"学员{i}", balance=i + 1, classes=[klass])
    with count_queries() as counter:
        response = api.get("/students", limit=50)
    assert len(response.json["items"]) == 50
    assert response.json["items"][0]["balance"] == 50
    assert counter.count <= 6  # admin, students, classes, accounts (+ transaction bookkeeping)


def test_patch_edits_and_archives(api, make_student):
    student = make_student(name="王小明")
    response = api.patch(f"/students/{student.id}", {"name": "王晓明", "status": "archived", "birthday": None})
    assert response.status_code == 200
    assert (response.json["name"], response.json["status"], response.json["birthday"]) == ("王晓明", "archived", None)
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "student.update")).one()
    assert entry.changes["old"]["status"] == "active" and entry.changes["new"]["status"] == "archived"


def test_new_bind_code_replaces_the_old_one(api, make_student):
    student = make_student()
    old = student.bind_code
    response = api.post(f"/students/{student.id}/bind-code")
    assert response.status_code == 201
    assert response.json["bind_code"] != old
    db.session.expire_all()
    assert db.session.scalars(select(Student).where(Student.bind_code == old)).first() is None


def test_invalid_student_bodies_are_422_and_create_nothing(api, campus):
    bad_bodies = [
        {},
        {"name": ""},
        {"name": "名" * 65},
        {"name": 123},
        {"name": "王", "campus_id": "1"},
        {"name": "王", "campus_id": 10**12},
        {"name": "王", "birthday": "2016-13-01"},
        {"name": "王", "birthday": "2999-01-01"},
        {"name": "王", "class_ids": [1, 1]},
        {"name": "王", "class_ids": "1"},
        {"name": "王", "status": "archived"},
        {"name": "王", "balance": 100},
    ]
    for bad in bad_bodies:
        response = api.post("/students", bad)
        assert response.status_code == 422, (bad, response.json)
    assert db.session.scalar(select(func.count()).select_from(Student)) == 0


def test_unknown_campus_or_class_is_422_naming_the_field(api, campus, other_campus, make_class):
    foreign_class = make_class(campus_id=other_campus.id)
    response = api.post("/students", {"name": "王", "campus_id": 999})
    assert response.status_code == 422 and "campus_id" in response.json["error"]["details"]
    response = api.post("/students", {"name": "王", "campus_id": campus.id, "class_ids": [foreign_class.id]})
    assert response.status_code == 422 and "class_ids" in response.json["error"]["details"]
    assert db.session.scalar(select(func.count()).select_from(Student)) == 0


def test_moving_a_student_drops_classes_of_the_old_campus(api, make_student, make_class, other_campus):
    student = make_student()
    make_class(students=[student])
    response = api.patch(f"/students/{student.id}", {"campus_id": other_campus.id})
    assert response.status_code == 200
    assert (response.json["campus_id"], response.json["class_ids"]) == (other_campus.id, [])


def test_unknown_student_is_404(api):
    assert api.get("/students/999").status_code == 404
    assert api.get("/students/99999999999999999999").status_code == 404
    assert api.patch("/students/999", {"name": "x"}).status_code == 404
    assert api.post("/students/999/bind-code").status_code == 404


def test_campus_admin_sees_and_changes_only_its_campus(campus_api, campus, other_campus, make_student):
    mine = make_student(name="本校", campus_id=campus.id)
    theirs = make_student(name="他校", campus_id=other_campus.id, balance=50)
    listed = campus_api.get("/students").json["items"]
    assert [s["id"] for s in listed] == [mine.id]
    before = db_state()
    for response in (
        campus_api.get(f"/students/{theirs.id}"),
        campus_api.patch(f"/students/{theirs.id}", {"name": "改名"}),
        campus_api.post(f"/students/{theirs.id}/bind-code"),
        campus_api.post(f"/students/{theirs.id}/adjustments", {"delta": -50, "reason": "越权"}),
        campus_api.get(f"/students/{theirs.id}/points/history"),
        campus_api.get("/students", campus_id=other_campus.id),
    ):
        assert response.status_code == 404, response.json
    assert db_state() == before
    db.session.expire_all()
    assert db.session.get(Student, theirs.id).name == "他校"


def test_campus_admin_creates_at_its_own_campus_only(campus_api, campus, other_campus):
    created = campus_api.post("/students", {"name": "新生"})
    assert created.status_code == 201 and created.json["campus_id"] == campus.id
    refused = campus_api.post("/students", {"name": "新生", "campus_id": other_campus.id})
    assert refused.status_code == 422 and "campus_id" in refused.json["error"]["details"]
    moved = campus_api.patch(f"/students/{created.json['id']}", {"campus_id": other_campus.id})
    assert moved.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Student)) == 1


def test_create_with_idempotency_key_creates_once(api, campus):
    headers = {"Idempotency-Key": "enrol-1"}
    first = api.post("/students", {"name": "王小明"}, headers=headers)
    first_again = api.post("/students", {"name": "王小明", "campus_id": campus.id}, headers=headers)
    assert first.status_code == 422  # super admins must say which campus
    ok = api.post("/students", {"name": "王小明", "campus_id": campus.id}, headers={"Idempotency-Key": "enrol-2"})
    repeat = api.post("/students", {"name": "王小明", "campus_id": campus.id}, headers={"Idempotency-Key": "enrol-2"})
    assert ok.status_code == repeat.status_code == 201
    assert repeat.json == ok.json
    assert repeat.headers.get("Idempotent-Replayed") == "true"
    assert first_again.status_code == 201  # a failed first attempt did not burn the key
    other = api.post("/students", {"name": "李", "campus_id": campus.id}, headers={"Idempotency-Key": "enrol-2"})
    assert other.status_code == 422
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert db.session.scalar(select(func.count()).select_from(Student)) == 2
