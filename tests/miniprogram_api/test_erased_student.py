"""A family and a teacher after the school erased a child's data: the child is gone, nothing breaks."""

import pytest

from school_points.office.erasure import ALL_CAMPUSES, erase_student
from school_points.platform.extensions import db
from school_points.school.actors import SYSTEM


def erase(student):
    erase_student(student.id, scope=ALL_CAMPUSES, actor=SYSTEM)
    db.session.commit()


@pytest.fixture
def erased_family(family, make_student, make_guardian):
    """(mp, erased student, sibling): a parent with two children, one of them erased."""
    mp, student = family(balance=50)
    sibling = make_student(name="王小红")
    make_guardian(sibling, user=mp.user)
    record = mp.post("/growth-records", {"student_id": student.id, "content": "练琴"}, key="r1").json["record"]
    erase(student)
    return mp, student, sibling, record["id"]


def test_the_erased_child_disappears_from_the_familys_lists(erased_family):
    mp, student, sibling, _ = erased_family

    me = mp.get("/me")

    assert me.status_code == 200
    assert [s["id"] for s in me.json["students"]] == [sibling.id]


@pytest.mark.parametrize(
    "path",
    [
        "/students/{sid}/points",
        "/students/{sid}/points/history",
        "/redemptions?student_id={sid}",
        "/growth-records?student_id={sid}",
        "/growth-records/{rid}",
        "/mall?student_id={sid}",
    ],
)
def test_asking_about_the_erased_child_answers_as_if_it_never_existed(erased_family, path):
    mp, student, _, rid = erased_family

    response = mp.client.get(
        "/api/v1" + path.format(sid=student.id, rid=rid), headers={"Authorization": f"Bearer {mp.token}"}
    )

    assert response.status_code == 404, response.json


def test_a_parent_whose_only_child_was_erased_still_signs_in_to_an_empty_list(family):
    mp, student = family()
    erase(student)

    me = mp.get("/me")

    assert me.status_code == 200 and me.json["students"] == []
    assert mp.post(f"/students/{student.id}/signin").status_code == 404


def test_teachers_class_lists_skip_erased_students(make_student, teacher_of):
    kept, gone = make_student(name="李明"), make_student(name="张华")
    mp, _, _ = teacher_of([kept, gone])
    erase(gone)

    classes = mp.get("/teacher/classes").json["items"]

    assert [s["id"] for s in classes[0]["students"]] == [kept.id]
    refused = mp.post("/teacher/evaluations", {"student_ids": [gone.id], "points": 2}, key="e1")
    assert refused.status_code in (403, 404)
