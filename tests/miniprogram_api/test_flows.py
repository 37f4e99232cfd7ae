"""Whole journeys as the mini-program makes them, over HTTP, with WeChat faked at its HTTP boundary."""

import io
from datetime import timedelta

import pytest

from school_points.accounts.reconcile import find_differences
from school_points.platform import clock
from school_points.platform.extensions import db
from school_points.school.settings import update_settings
from tests.miniprogram_api.conftest import PNG
from tests.miniprogram_api.test_points_and_mall import _goods


@pytest.fixture
def travel(monkeypatch):
    """Move the school's clock forward by whole days (day boundaries go through school_points.platform.clock)."""
    real = clock.utcnow

    def to_day(offset):
        monkeypatch.setattr(clock, "utcnow", lambda: real() + timedelta(days=offset))

    return to_day


def test_parent_checks_in_gets_likes_signs_in_redeems_and_the_teacher_hands_out(
    login, make_student, make_teacher, make_class, travel
):
    update_settings({"like": {"daily_cap": 1}})
    db.session.commit()
    student = make_student(name="刘小华")
    teacher = make_teacher(name="周老师")
    make_class(teachers=[teacher], students=[student])
    invite = teacher.invite_code
    goods = _goods(name="贴纸", points=8, stock=3, stock_received=3)

    parent = login(openid="mp-parent")
    bound = parent.post("/me/students", json={"bind_code": student.bind_code.lower(), "relation": "妈妈"})
    assert bound.status_code == 201
    sid = bound.json["id"]

    url = parent.post("/uploads", data={"file": (io.BytesIO(PNG), "p.png")}, content_type="multipart/form-data").json[
        "url"
    ]
    checkin = parent.post("/growth-records", json={"student_id": sid, "content": "练字", "media": [url]}, key="rec-1")
    assert (checkin.status_code, checkin.json["awarded"]) == (201, 5)
    rid = checkin.json["record"]["id"]

    assert parent.post(f"/growth-records/{rid}/likes").json["awarded"] == 0  # own likes earn nothing
    friend_a, friend_b = login(openid="mp-a"), login(openid="mp-b")
    assert friend_a.get(f"/growth-records/{rid}").json["student_name"] == "小华"
    assert friend_a.post(f"/growth-records/{rid}/likes").json == {"liked": True, "like_count": 2, "awarded": 1}
    assert friend_b.post(f"/growth-records/{rid}/likes").json == {"liked": True, "like_count": 3, "awarded": 0}  # cap

    streak = []
    for day in range(3):
        travel(day)
        streak.append(parent.post(f"/students/{sid}/signin").json)
    assert [(s["streak"], s["awarded"]) for s in streak] == [(1, 1), (2, 1), (3, 2)]
    assert parent.get(f"/students/{sid}/points").json["balance"] == 5 + 1 + 4

    order = parent.post("/redemptions", json={"student_id": sid, "goods_id": goods.id}, key="buy-1")
    assert order.status_code == 201
    assert parent.get(f"/students/{sid}/points").json["balance"] == 2

    teacher_mp = login(openid="mp-teacher")
    assert teacher_mp.post("/me/teacher", json={"invite_code": invite}).status_code == 200
    pending = teacher_mp.get("/teacher/redemptions").json["items"]
    assert [o["id"] for o in pending] == [order.json["id"]]
    issued = teacher_mp.post("/teacher/redemptions/verify", json={"pickup_code": order.json["pickup_code"]})
    assert issued.json["status"] == "issued"

    history = parent.get("/redemptions", student_id=sid).json["items"]
    assert [(o["goods_name"], o["status"]) for o in history] == [("贴纸", "issued")]
    kinds = [e["kind"] for e in parent.get(f"/students/{sid}/points/history").json["items"]]
    assert kinds == ["redemption", "signin", "signin", "signin", "like", "checkin"]
    assert find_differences() == []


def test_a_referral_travels_from_the_share_path_to_the_reward(login, make_student):
    old_student = make_student(name="老学员")
    parent = login(openid="mp-old-family")
    parent.post("/me/students", json={"bind_code": old_student.bind_code})
    share_path = parent.get("/me/referral").json["share_path"]
    ref = share_path.split("ref=")[1]

    friend = login(openid="mp-new-family", ref=ref)  # opened the shared page: a new person
    summary = parent.get("/me/referral").json
    assert (summary["referred"], summary["rewarded"]) == (1, 0)
    new_student = make_student(name="新学员")  # the school enrols the friend's child
    bound = friend.post("/me/students", json={"bind_code": new_student.bind_code, "relation": "爸爸"})
    assert bound.status_code == 201

    assert parent.get("/me/referral").json["rewarded"] == 1
    assert parent.get(f"/students/{old_student.id}/points").json["balance"] == 100
    assert friend.get(f"/students/{new_student.id}/points").json["balance"] == 50
    kinds = [e["kind"] for e in friend.get(f"/students/{new_student.id}/points/history").json["items"]]
    assert kinds == ["welcome"]


def test_a_teacher_evaluates_a_class_of_40_in_one_request(
    login, make_student, make_teacher, make_class, as_user, make_guardian
):
    students = [make_student(name=f"学生{i:02d}") for i in range(40)]
    teacher = make_teacher()
    make_class(name="四十人班", teachers=[teacher], students=students)
    parent = as_user(make_guardian(students[7]))
    teacher_mp = login()
    teacher_mp.post("/me/teacher", json={"invite_code": teacher.invite_code})
    roster = teacher_mp.get("/teacher/classes").json["items"][0]["students"]
    assert len(roster) == 40
    response = teacher_mp.post(
        "/teacher/evaluations",
        key="class-1",
        json={"student_ids": [s["id"] for s in roster], "behavior_id": 2, "comment": "积极"},
    )
    assert response.status_code == 201
    assert len(response.json["awarded"]) == 40 and response.json["total_points"] == 80
    replay = teacher_mp.post(
        "/teacher/evaluations",
        key="class-1",
        json={"student_ids": [s["id"] for s in roster], "behavior_id": 2, "comment": "积极"},
    )
    assert replay.json == response.json
    assert parent.get(f"/students/{students[7].id}/points").json["balance"] == 2
    assert teacher_mp.get("/teacher/behaviors").json["used_today"] == 80
