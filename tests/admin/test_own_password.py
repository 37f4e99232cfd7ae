"""An admin changing their own password: the old one first, every other session ends, and guessing
the old password with a stolen token is rate-limited like login."""

import json

from sqlalchemy import select

from school_points.models import AuditLog
from school_points.platform.extensions import db
from tests.admin.admin_testkit import PASSWORD, AdminApi

NEW_PASSWORD = "brand-new-horse-5"


def log_in(client, username="boss", password=PASSWORD):
    return AdminApi(client).post("/auth/login", {"username": username, "password": password})


def change(api, old=PASSWORD, new=NEW_PASSWORD):
    return api.post("/auth/password", {"old_password": old, "new_password": new})


def test_the_answer_carries_a_new_token_and_every_earlier_one_ends(app, api):
    elsewhere = AdminApi(app.test_client(), log_in(app.test_client()).json["token"])
    response = change(api)
    assert response.status_code == 200, response.json
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json["admin"]["username"] == "boss" and response.json["expires_in"] > 0
    assert api.get("/campuses").status_code == 401  # the token that made the change
    assert elsewhere.get("/campuses").status_code == 401  # the admin's other sessions
    assert AdminApi(api.client, response.json["token"]).get("/campuses").status_code == 200
    assert log_in(app.test_client()).status_code == 401
    assert log_in(app.test_client(), password=NEW_PASSWORD).status_code == 200


def test_other_admins_keep_their_sessions(app, api, make_admin):
    make_admin("desk")
    desk = AdminApi(app.test_client(), log_in(app.test_client(), "desk").json["token"])
    assert change(api).status_code == 200
    assert desk.get("/campuses").status_code == 200


def test_a_campus_admin_changes_their_own_password(app, campus_api):
    assert change(campus_api).status_code == 200
    assert log_in(app.test_client(), "campus-boss", NEW_PASSWORD).status_code == 200


def test_a_wrong_old_password_is_422_and_changes_nothing(app, api):
    response = change(api, old="not-my-password")
    assert response.status_code == 422
    assert response.json["error"]["code"] == "wrong_password"
    assert response.json["error"]["details"] == {"old_password": ["原密码不正确"]}
    assert api.get("/campuses").status_code == 200
    assert log_in(app.test_client()).status_code == 200


def test_guessing_the_old_password_is_rate_limited(app, api):
    codes = [change(api, old=f"guess-number-{i}").status_code for i in range(6)]
    assert codes == [422] * 5 + [429]
    limited = change(api)  # even the right one waits out the window
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert log_in(app.test_client()).status_code == 200  # and nothing changed


def test_a_refused_new_password_does_not_count_as_a_guess(api):
    for _ in range(6):
        assert change(api, new="short").status_code == 422
    assert change(api).status_code == 200


def test_the_new_password_follows_the_rules(api):
    cases = {
        "short-pw": "密码至少 10 个字符，最多 128 个字符",
        "BOSS": "密码至少 10 个字符，最多 128 个字符",
        PASSWORD: "新密码不能与原密码相同",
    }
    for new, message in cases.items():
        response = change(api, new=new)
        assert response.status_code == 422, new
        assert response.json["error"]["details"] == {"new_password": [message]}


def test_the_username_itself_is_not_a_password(app, make_admin):
    make_admin("boss-of-everything")
    token = log_in(app.test_client(), "boss-of-everything").json["token"]
    response = change(AdminApi(app.test_client(), token), new="Boss-Of-Everything")
    assert response.json["error"]["details"] == {"new_password": ["密码不能与用户名相同"]}


def test_bad_bodies_are_refused(api):
    for body in ({"old_password": PASSWORD}, {"old_password": PASSWORD, "new_password": 12345678901}, {"x": 1}):
        assert api.post("/auth/password", body).status_code == 422
    assert api.post("/auth/password", data="{", content_type="application/json").status_code == 400
    assert AdminApi(api.client).post("/auth/password", {"old_password": "a", "new_password": "b"}).status_code == 401


def test_the_change_is_audited_without_either_password(api):
    assert change(api).status_code == 200
    db.session.expire_all()
    (entry,) = db.session.scalars(select(AuditLog).where(AuditLog.action == "admin.password"))
    assert entry.changes == {"password_changed": True, "sessions_ended": True}
    assert PASSWORD not in json.dumps(entry.changes) and NEW_PASSWORD not in json.dumps(entry.changes)
