"""The teacher's routes: classes, behaviours, evaluating a class, pickup codes, pending orders."""

from sqlalchemy import event

from school_points.platform.extensions import db
from school_points.school.settings import update_settings
from tests.conftest import balance_of
from tests.miniprogram_api.test_points_and_mall import _goods


def test_classes_list_students_with_balances(make_student, teacher_of):
    a, b = make_student(name="甲", balance=3), make_student(name="乙")
    mp, _, klass = teacher_of([a, b])
    body = mp.get("/teacher/classes").json
    assert body == {
        "items": [
            {
                "id": klass.id,
                "name": klass.name,
                "students": [
                    {"id": a.id, "name": "甲", "balance": 3, "lifetime_points": 3},
                    {"id": b.id, "name": "乙", "balance": 0, "lifetime_points": 0},
                ],
            }
        ]
    }


def test_behaviors_show_the_list_and_todays_budget(make_student, teacher_of):
    student = make_student()
    mp, _, _ = teacher_of([student])
    mp.post("/teacher/evaluations", json={"student_ids": [student.id], "behavior_id": 4})
    body = mp.get("/teacher/behaviors").json
    assert [b["name"] for b in body["behaviors"]] == ["认真听讲", "积极发言", "完成作业", "进步明显"]
    assert (body["max_custom_points"], body["daily_budget"], body["used_today"]) == (10, 300, 5)


def test_evaluating_a_whole_class_awards_each_student(make_student, teacher_of):
    students = [make_student(name=f"学生{i}") for i in range(5)]
    mp, _, _ = teacher_of(students)
    response = mp.post(
        "/teacher/evaluations", json={"student_ids": [s.id for s in students], "points": 3, "comment": "表现很好"}
    )
    assert response.status_code == 201
    assert response.json["total_points"] == 15
    assert {a["student_id"]: a["balance"] for a in response.json["awarded"]} == {s.id: 3 for s in students}


def test_evaluating_a_student_outside_own_classes_is_403_and_awards_nobody(make_student, teacher_of):
    mine, other = make_student(name="我的"), make_student(name="别班")
    mp, _, _ = teacher_of([mine])
    response = mp.post("/teacher/evaluations", json={"student_ids": [mine.id, other.id], "behavior_id": 1})
    assert response.status_code == 403
    assert balance_of(mine.id) == 0 and balance_of(other.id) == 0


def test_budget_exceeded_is_409(make_student, teacher_of):
    update_settings({"evaluation": {"teacher_daily_budget": 8}})
    db.session.commit()
    students = [make_student(name=f"学生{i}") for i in range(3)]
    mp, _, _ = teacher_of(students)
    response = mp.post("/teacher/evaluations", json={"student_ids": [s.id for s in students], "points": 3})
    assert (response.status_code, response.json["error"]["code"]) == (409, "budget_exceeded")


def test_behavior_or_points_exactly_one(make_student, teacher_of):
    student = make_student()
    mp, _, _ = teacher_of([student])
    both = mp.post("/teacher/evaluations", json={"student_ids": [student.id], "points": 1, "behavior_id": 1})
    neither = mp.post("/teacher/evaluations", json={"student_ids": [student.id]})
    assert both.status_code == neither.status_code == 422


def test_scanning_the_pickup_code_issues_the_order_once(family, teacher_of):
    parent, student = family(balance=100)
    order = parent.post("/redemptions", json={"student_id": student.id, "goods_id": _goods().id}).json
    mp, teacher, _ = teacher_of([student])
    assert [o["id"] for o in mp.get("/teacher/redemptions").json["items"]] == [order["id"]]
    response = mp.post("/teacher/redemptions/verify", json={"pickup_code": order["pickup_code"]})
    assert response.status_code == 200
    assert (response.json["status"], response.json["issue_method"]) == ("issued", "pickup_code")
    again = mp.post("/teacher/redemptions/verify", json={"pickup_code": order["pickup_code"]})
    assert (again.status_code, again.json["error"]["code"]) == (409, "already_issued")
    assert mp.get("/teacher/redemptions").json["items"] == []
    assert [o["id"] for o in mp.get("/teacher/redemptions", status="issued").json["items"]] == [order["id"]]


def test_a_teacher_of_another_campus_gets_403_for_the_pickup_code(family, teacher_of, make_campus):
    parent, student = family(balance=100)
    order = parent.post("/redemptions", json={"student_id": student.id, "goods_id": _goods().id}).json
    mp, _, _ = teacher_of([], campus_id=make_campus("分校").id)
    response = mp.post("/teacher/redemptions/verify", json={"pickup_code": order["pickup_code"]})
    assert response.status_code == 403
    assert mp.get("/teacher/redemptions").json["items"] == []


def test_evaluating_40_students_is_one_request_with_a_bounded_query_count(make_student, teacher_of):
    students = [make_student(name=f"学生{i}") for i in range(40)]
    mp, _, _ = teacher_of(students)
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        response = mp.post("/teacher/evaluations", json={"student_ids": [s.id for s in students], "behavior_id": 3})
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert response.status_code == 201
    assert response.json["total_points"] == 120
    assert all(balance_of(s.id) == 3 for s in students)
    # Locks, checks and the audit are batched; what is left per student is its ledger row and its
    # notification lookup, so the count grows by a small constant per student, never per class.
    assert len(statements) <= 20 + 4 * 40, statements
