"""The `dev:<name>` login: a developer acts as a parent or a teacher with curl, without WeChat.

Only with APP_ENV=development and no WECHAT_MP_APP_ID; anywhere else the code is an invalid code.
"""

import pytest
from sqlalchemy import func, select

from school_points.models import WechatUser
from school_points.platform.extensions import db


@pytest.fixture
def development(app, monkeypatch):
    """A developer's machine: APP_ENV=development, no mini-program credentials."""
    for key, value in {"APP_ENV": "development", "WECHAT_MP_APP_ID": "", "WECHAT_MP_APP_SECRET": ""}.items():
        monkeypatch.setitem(app.config, key, value)


def dev_login(client, name):
    return client.post("/api/v1/auth/login", json={"code": f"dev:{name}"})


def users():
    return db.session.scalar(select(func.count()).select_from(WechatUser))


def test_dev_code_logs_in_a_local_user_in_development(client, development):
    response = dev_login(client, "mum")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["user"]["nickname"] == "dev-mum"
    user = db.session.get(WechatUser, body["user"]["id"])
    assert user.mp_openid == "dev-mum"
    # The token is an ordinary user token: the developer can use every user route with it.
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json["user"]["id"] == user.id


def test_same_name_twice_is_the_same_user_and_two_names_are_two_users(client, development):
    first, again, other = dev_login(client, "mum"), dev_login(client, "mum"), dev_login(client, "teacher_li")
    assert first.json["user"]["id"] == again.json["user"]["id"]
    assert other.json["user"]["id"] != first.json["user"]["id"]
    assert other.json["user"]["nickname"] == "dev-teacher_li"
    assert users() == 2


def test_a_dev_user_can_bind_a_student_like_any_parent(client, development, make_student):
    student = make_student()
    token = dev_login(client, "dad").json["token"]
    bound = client.post(
        "/api/v1/me/students",
        json={"bind_code": student.bind_code, "relation": "爸爸"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert bound.status_code == 201 and bound.json["id"] == student.id


@pytest.mark.parametrize("name", ["", "a" * 33, "two words", "名字", "../x", "a:b", "mum\n"])
def test_a_bad_name_is_an_invalid_code_and_creates_nobody(client, development, name):
    response = dev_login(client, name)
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_code"
    assert users() == 0


def test_longest_name_is_accepted(client, development):
    response = dev_login(client, "A-z_9" * 6 + "ab")
    assert response.status_code == 200
    assert response.json["user"]["nickname"] == "dev-" + "A-z_9" * 6 + "ab"


def test_in_production_without_wechat_a_dev_code_is_an_invalid_code(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    monkeypatch.setitem(app.config, "WECHAT_MP_APP_ID", "")
    monkeypatch.setitem(app.config, "WECHAT_MP_APP_SECRET", "")
    response = dev_login(client, "mum")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_code"
    assert users() == 0


@pytest.mark.parametrize("app_env", ["development", "production"])
def test_with_a_mini_program_app_id_a_dev_code_goes_to_wechat_like_any_code(
    client, app, monkeypatch, fake_wechat, app_env
):
    monkeypatch.setitem(app.config, "APP_ENV", app_env)  # fake_wechat set WECHAT_MP_APP_ID
    response = dev_login(client, "mum")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_code"
    assert [call.params.get("js_code") for call in fake_wechat.calls("/sns/jscode2session")] == ["dev:mum"]
    assert users() == 0


def test_other_app_envs_do_not_get_the_dev_login(client, app, monkeypatch):
    """Only APP_ENV=development exactly: a staging box without WeChat is not a developer's machine."""
    monkeypatch.setitem(app.config, "APP_ENV", "staging")
    monkeypatch.setitem(app.config, "WECHAT_MP_APP_ID", "")
    response = dev_login(client, "mum")
    assert response.status_code == 401 and response.json["error"]["code"] == "invalid_code"


def test_openapi_description_of_login_tells_about_the_dev_login(client):
    login = client.get("/api/openapi.json").json["paths"]["/api/v1/auth/login"]["post"]
    assert "dev:<name>" in login["description"] and "APP_ENV=development" in login["description"]
