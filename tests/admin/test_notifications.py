"""The notification outbox as staff read it: delivery facts, no openid and no message values."""

from datetime import timedelta

import pytest

from school_points.models import Notification
from school_points.platform.clock import utcnow
from school_points.platform.codes import new_code
from school_points.platform.extensions import db

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz1"  # 28 characters, like WeChat's


@pytest.fixture
def outbox(make_student, make_guardian, make_user):
    """Write outbox rows straight into the table, as the delivery job leaves them."""

    def add(student=None, *, kind="points_awarded", status="sent", **columns):
        user = make_guardian(student) if student is not None else make_user(oa_openid=OPENID)
        row = Notification(
            kind=kind,
            dedupe_key=f"test:{new_code(10)}",
            user_id=user.id,
            student_id=student.id if student is not None else None,
            status=status,
            values={"student": student.name if student else "", "points": "5", "remark": "家庭住址"},
            created_at=utcnow(),
            **columns,
        )
        db.session.add(row)
        db.session.commit()
        return row

    return add


def test_rows_carry_delivery_facts_and_nothing_of_the_message(api, make_student, outbox):
    student = make_student()
    later = utcnow() + timedelta(minutes=5)
    row = outbox(
        student,
        status="pending",
        channel="oa_template",
        attempts=2,
        last_error_code=45009,
        last_error=f"wechat_error: errcode=45009 http_status=200 reach max api daily quota limit for {OPENID}",
        next_attempt_at=later,
    )
    response = api.get("/notifications")
    assert response.status_code == 200
    (item,) = response.json["items"]
    assert item == {
        "id": row.id,
        "kind": "points_awarded",
        "channel": "oa_template",
        "status": "pending",
        "attempts": 2,
        "last_error_code": 45009,
        "last_error_message": "wechat_error: errcode=45009 http_status=200 reach max api daily quota limit for o***",
        "delivery_status": "",
        "student_id": student.id,
        "user_id": row.user_id,
        "created_at": item["created_at"],
        "sent_at": None,
        "next_attempt_at": item["next_attempt_at"],
    }
    assert item["next_attempt_at"].endswith("+08:00")
    text = response.get_data(as_text=True)
    for private in (OPENID, "家庭住址", student.name):
        assert private not in text


def test_filters_by_status_kind_and_student(api, make_student, outbox):
    a, b = make_student(), make_student(name="李四")
    sent = outbox(a, status="sent", kind="redeemed")
    failed = outbox(a, status="failed", kind="points_awarded")
    other = outbox(b, status="failed", kind="redeemed")

    def ids(**params):
        response = api.get("/notifications", **params)
        assert response.status_code == 200, response.json
        return [item["id"] for item in response.json["items"]]

    assert ids() == [other.id, failed.id, sent.id]
    assert ids(status="failed") == [other.id, failed.id]
    assert ids(kind="redeemed") == [other.id, sent.id]
    assert ids(student_id=a.id) == [failed.id, sent.id]
    assert ids(status="failed", kind="redeemed", student_id=b.id) == [other.id]
    assert ids(kind="checkin_result") == []


def test_the_list_is_paged(api, make_student, outbox):
    student = make_student()
    rows = [outbox(student) for _ in range(3)]
    first = api.get("/notifications", limit=2)
    assert [i["id"] for i in first.json["items"]] == [rows[2].id, rows[1].id]
    rest = api.get("/notifications", limit=2, cursor=first.json["next_cursor"])
    assert [i["id"] for i in rest.json["items"]] == [rows[0].id] and rest.json["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [{"status": "lost"}, {"kind": "spam"}, {"student_id": "x"}, {"student_id": "0"}, {"limit": "0"}, {"openid": "o"}],
)
def test_bad_filters_are_422(api, params):
    response = api.get("/notifications", **params)
    assert response.status_code == 422 and response.json["error"]["code"] == "validation_error"


def test_a_campus_admin_sees_its_campus_students_rows_only(campus_api, api, campus, other_campus, make_student, outbox):
    mine, theirs = make_student(), make_student(campus_id=other_campus.id)
    my_row = outbox(mine)
    their_row = outbox(theirs)
    chat_reply = outbox(None, kind="checkin_result", channel="oa_custom")
    assert [i["id"] for i in campus_api.get("/notifications").json["items"]] == [my_row.id]
    not_mine = campus_api.get("/notifications", student_id=theirs.id)
    assert not_mine.status_code == 404 and not_mine.json["error"]["code"] == "student_not_found"
    assert campus_api.get("/notifications", student_id=99999).status_code == 404
    # Super admins see every row, the school-wide chat replies included.
    assert [i["id"] for i in api.get("/notifications").json["items"]] == [chat_reply.id, their_row.id, my_row.id]
