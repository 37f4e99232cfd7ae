"""Whatever arrives over HTTP gets the documented 4xx, never a 500, and changes nothing."""

import pytest
from sqlalchemy import func, select

from school_points.models import Goods, Student
from school_points.platform.extensions import db
from tests.admin.admin_testkit import db_state

TEN_MB = b'{"name": "' + b"x" * (10 * 1024 * 1024) + b'"}'


def test_ten_megabyte_bodies_are_413(api, campus):
    for path in ("/students", "/goods", "/campuses"):
        response = api.post(path, data=TEN_MB, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, path
        assert response.json["error"]["code"] == "payload_too_large"
    assert api.patch("/settings", data=TEN_MB, headers={"Content-Type": "application/json"}).status_code == 413
    assert db.session.scalar(select(func.count()).select_from(Student)) == 0


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b'"text"', b"\xff\xfe", b"null"])
def test_bodies_that_are_not_json_objects_are_400(api, make_student, raw):
    student = make_student(balance=10)
    before = db_state()
    response = api.post(f"/students/{student.id}/adjustments", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"
    assert db_state() == before


def test_ids_beyond_any_row_are_404_not_500(api):
    huge = 2**63
    for path in (
        f"/students/{huge}",
        f"/goods/{huge}",
        f"/teachers/{huge}",
        f"/classes/{huge}",
        f"/redemptions/{huge}",
        f"/students/{huge}/points/history",
    ):
        assert api.get(path).status_code == 404, path


def test_ids_beyond_any_row_in_bodies_are_422(api, campus):
    response = api.post("/classes", {"name": "班", "campus_id": campus.id, "student_ids": [2**63]})
    assert response.status_code == 422
    response = api.get("/redemptions", student_id=str(2**63))
    assert response.status_code == 422


def test_unsupported_methods_are_405(api, make_goods):
    goods = make_goods()
    assert api.delete("/students").status_code == 405
    assert (
        api.client.put(
            f"/api/admin/v1/goods/{goods.id}", json={}, headers={"Authorization": f"Bearer {api.token}"}
        ).status_code
        == 405
    )
    assert db.session.get(Goods, goods.id).deleted is False


def test_idempotency_keys_that_are_too_long_are_422(api, campus):
    response = api.post("/campuses", {"name": "新"}, headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 422


def test_absurdly_deep_json_is_400_not_500(api):
    deep = b"[" * 100_000 + b"]" * 100_000
    response = api.post("/campuses", data=deep, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


def test_control_characters_in_text_are_422(api, campus, make_student):
    student = make_student(balance=10)
    assert api.post("/campuses", {"name": "东\x00区"}).status_code == 422
    assert api.post("/students", {"name": "王\x07", "campus_id": campus.id}).status_code == 422
    response = api.post(f"/students/{student.id}/adjustments", {"delta": 1, "reason": "a\x00"})
    assert response.status_code == 422 and "reason" in response.json["error"]["details"]
    assert api.patch("/settings", {"mall": {"notice": "周六\x00闭馆"}}).status_code == 422
    ok = api.post(f"/students/{student.id}/adjustments", {"delta": 1, "reason": "第一行\n第二行"})
    assert ok.status_code == 201


def test_cursors_beyond_any_id_are_handled(api, make_student):
    from webkit.pagination import encode_cursor

    student = make_student(balance=3)
    assert len(api.get("/students", cursor=encode_cursor(2**31)).json["items"]) == 1
    history = api.get(f"/students/{student.id}/points/history", cursor=encode_cursor(2**40))
    assert len(history.json["items"]) == 1
    assert api.get("/students", cursor=encode_cursor(2**63)).status_code == 422
    assert api.get("/students", cursor=encode_cursor(2**70)).status_code == 422


def test_missing_and_unknown_fields_speak_the_shared_messages(api, campus):
    """The admin API and the mini-program name a missing or unknown field in the same words
    (webkit.fields); before, the admin API said "必填" where the mini-program said "缺少必填字段"."""
    response = api.post("/campuses", {"colour": "red"})
    assert response.status_code == 422
    assert response.json["error"] == {
        "code": "validation_error",
        "message": "参数不正确",
        "details": {"name": ["缺少必填字段"], "colour": ["不支持的字段"]},
    }


def test_unknown_list_parameters_are_422_on_every_list(api, make_student):
    """Every list takes exactly what its document lists: a typo in a filter is named, not ignored."""
    student = make_student()
    for path in ("/campuses", f"/students/{student.id}/points/history"):
        response = api.get(path, colour="red")
        assert response.status_code == 422, path
        assert response.json["error"]["details"] == {"colour": ["不支持的字段"]}
