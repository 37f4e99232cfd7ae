"""Logging in to the admin API and the token guard on every other route."""
from school_points.extensions import db

from tests.admin.admin_testkit import PASSWORD, AdminApi


def test_login_returns_a_token_that_opens_the_api(fresh_api, make_admin):
    make_admin("boss")
    response = fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD})
    assert response.status_code == 200
    admin = response.json["admin"]
    assert (admin["username"], admin["role"], admin["campus_id"]) == ("boss", "super", None)
    assert response.json["expires_in"] > 0
    authed = AdminApi(fresh_api.client, response.json["token"])
    assert authed.get("/campuses").status_code == 200


def test_wrong_password_is_401_invalid_credentials(fresh_api, make_admin):
    make_admin("boss")
    response = fresh_api.post("/auth/login", {"username": "boss", "password": "wrong-password"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"
    assert "token" not in response.json


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(fresh_api):
    response = fresh_api.post("/auth/login", {"username": "nobody", "password": "whatever-123"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_credentials"


def test_deactivated_admin_cannot_log_in_nor_use_an_old_token(fresh_api, make_admin):
    admin = make_admin("boss")
    token = fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD}).json["token"]
    admin.active = False
    db.session.commit()
    assert fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD}).status_code == 401
    response = AdminApi(fresh_api.client, token).get("/campuses")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_routes_need_a_token(fresh_api):
    response = fresh_api.get("/students")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_forged_token_is_refused(fresh_api):
    response = AdminApi(fresh_api.client, "not-a-real-token").get("/students")
    assert response.status_code == 401


def test_a_user_token_is_not_an_admin_token(app, fresh_api, make_admin):
    from school_points import tokens

    admin = make_admin("boss")
    user_token, _ = tokens.issue("user", admin.id)  # same id, other kind
    assert AdminApi(fresh_api.client, user_token).get("/students").status_code == 401


def test_login_body_is_validated(fresh_api):
    response = fresh_api.post("/auth/login", {"username": "boss", "password": 12345678})
    assert response.status_code == 422
    assert "password" in response.json["error"]["details"]


def test_repeated_wrong_passwords_are_rate_limited(fresh_api, make_admin):
    make_admin("boss")
    codes = [fresh_api.post("/auth/login", {"username": "boss", "password": "guess-%d" % i}).status_code
             for i in range(11)]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
    # Even the right password waits out the window: guessing cannot continue in the meantime.
    limited = fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD})
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers
