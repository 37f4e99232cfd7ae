"""JSON the parser cannot take: 400 `malformed_json` on every JSON route, nothing stored.

A lone surrogate is valid JSON syntax (`"\\ud800"`) but no valid text: before, it reached the
database or WeChat's client and the caller got a 500, even on the logins nobody needs a token for.
"""

import json

import pytest
from sqlalchemy import func, select

from school_points.models import AuditLog, Campus, GrowthRecord, Guardian, Student, WechatUser
from school_points.people import tokens
from school_points.people.admins import create_admin
from school_points.platform.extensions import db
from tests.fakewechat import fake_wechat  # noqa: F401  (fixture)

# What goes between the quotes of one string in an otherwise valid body, as a client that got its
# encoding wrong would send it.
BAD_TEXT = {
    "lone high surrogate escape": b"\\ud800",
    "lone low surrogate escape": b"\\udc00",
    "high surrogate escape before a letter": b"\\ud800\\u0041",
    "surrogate encoded as UTF-8 bytes": b"\xed\xa0\x80",
    "invalid UTF-8": b"\xff\xfe",
    "truncated UTF-8 sequence": b"\xe4\xb8",
}
cases = pytest.mark.parametrize("bad", BAD_TEXT.values(), ids=BAD_TEXT.keys())


def body_with(bad, template):
    """`template` (a dict) as JSON, its string "@BAD@" replaced by the raw bytes `bad`."""
    return json.dumps(template).encode().replace(b"@BAD@", bad)


def rows():
    """Everything a refused body could have written, counted."""
    db.session.expire_all()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (WechatUser, AuditLog, Campus, Student, GrowthRecord, Guardian)
    )


def assert_malformed(response):
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"]["code"] == "malformed_json"
    assert response.json["error"]["message"] == "请求体不是合法的 JSON"
    assert response.json["error"]["details"] == {}


def send(client, method, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.open(path, method=method, data=body, content_type="application/json", headers=headers)


@pytest.fixture
def admin_token(app):
    admin = create_admin("boss", "correct-horse-9")
    db.session.commit()
    return tokens.issue("admin", admin.id)[0]


@cases
def test_admin_login_refuses_unparsable_json_with_400(client, admin_token, bad):
    before = rows()
    for template in ({"username": "@BAD@", "password": "correct-horse-9"}, {"username": "boss", "password": "@BAD@"}):
        assert_malformed(send(client, "POST", "/api/admin/v1/auth/login", body_with(bad, template)))
    assert rows() == before


@cases
def test_miniprogram_login_refuses_unparsable_json_with_400(client, fake_wechat, bad):  # noqa: F811
    before = rows()
    assert_malformed(send(client, "POST", "/api/v1/auth/login", body_with(bad, {"code": "@BAD@"})))
    assert_malformed(send(client, "POST", "/api/v1/auth/login", body_with(bad, {"code": "c-1", "ref": "@BAD@"})))
    assert rows() == before
    assert fake_wechat.count("/sns/jscode2session") == 0  # WeChat was never asked


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/admin/v1/auth/login"])
def test_a_lone_surrogate_in_a_key_is_malformed_too(client, app, path):
    assert_malformed(send(client, "POST", path, b'{"\\udc00": 1}'))


@cases
def test_authenticated_admin_routes_refuse_unparsable_json(client, admin_token, campus, bad):
    before = rows()
    for method, path, template in (
        ("POST", "/campuses", {"name": "@BAD@"}),
        ("POST", "/students", {"name": "@BAD@", "campus_id": campus.id}),
        ("PATCH", "/settings", {"mall": {"notice": "@BAD@"}}),
    ):
        assert_malformed(send(client, method, "/api/admin/v1" + path, body_with(bad, template), admin_token))
    assert rows() == before


@cases
def test_authenticated_miniprogram_routes_refuse_unparsable_json(client, make_student, make_guardian, bad):
    student = make_student()
    token, _ = tokens.issue("user", make_guardian(student).id)
    before = rows()
    for method, path, template in (
        ("POST", "/growth-records", {"student_id": student.id, "content": "@BAD@", "media": []}),
        ("POST", "/me/students", {"bind_code": "@BAD@", "relation": "妈妈"}),
        ("POST", "/me/teacher", {"invite_code": "@BAD@"}),
    ):
        assert_malformed(send(client, method, "/api/v1" + path, body_with(bad, template), token))
    assert rows() == before


def test_paired_surrogate_escapes_are_ordinary_text(client, admin_token):
    """An emoji written as a surrogate pair escape is valid JSON text and still works."""
    response = client.post(
        "/api/admin/v1/campuses",
        data=b'{"name": "\\ud83c\\udf31\xe6\xa0\xa1\xe5\x8c\xba"}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert response.status_code == 201, response.json
    assert response.json["name"] == "\U0001f331校区"
