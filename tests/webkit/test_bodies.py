"""Bad bodies on any JSON route: the documented 4xx, nothing stored."""

from school_points.models import GrowthRecord
from school_points.platform.extensions import db


def test_nul_characters_anywhere_in_a_body_are_refused_before_any_work(client, make_student, make_guardian):
    from school_points.people import tokens

    student = make_student()
    user = make_guardian(student)
    token, _ = tokens.issue("user", user.id)
    response = client.post(
        "/api/v1/growth-records",
        json={"student_id": student.id, "content": "练琴\u0000半小时", "media": []},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json["error"]["details"] == {"content": ["不能包含空字符"]}
    assert db.session.query(GrowthRecord).count() == 0


def test_deeply_nested_json_is_malformed_not_a_crash(client):
    body = "[" * 100000 + "]" * 100000
    response = client.post("/api/admin/v1/auth/login", data=body, content_type="application/json")
    assert response.status_code in (400, 413)
    assert response.json["error"]["code"] in ("malformed_json", "payload_too_large")


def test_json_nested_as_deep_as_the_parser_allows_is_checked_without_a_crash(client):
    for depth in (500, 900, 990):
        body = '{"username": ' + "[" * depth + '"\\ud800"' + "]" * depth + ', "password": "x"}'
        response = client.post("/api/admin/v1/auth/login", data=body, content_type="application/json")
        assert response.status_code == 400, (depth, response.json)
        assert response.json["error"]["code"] == "malformed_json"
