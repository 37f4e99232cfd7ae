"""Login with code2session, tokens, logout, joining one person's records, referrals at login."""

import pytest
from sqlalchemy import func, select

from school_points.models import Guardian, Referral, RevokedToken, WechatUser
from school_points.platform.extensions import db
from tests.fakewechat import HTTP
from tests.proxying import behind_proxies, via_proxy  # noqa: F401  (fixture)


def test_first_login_creates_a_wechat_user_and_returns_a_working_token(client, fake_wechat):
    fake_wechat.add_code("c1", openid="mp-1")
    response = client.post("/api/v1/auth/login", json={"code": "c1"})
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"token", "expires_in", "user"}
    assert body["expires_in"] > 0
    assert db.session.scalar(select(WechatUser.mp_openid).where(WechatUser.id == body["user"]["id"])) == "mp-1"
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json["user"]["id"] == body["user"]["id"]


def test_session_key_never_leaves_the_server(client, fake_wechat):
    fake_wechat.add_code("c1", openid="mp-1", session_key="SECRET-SESSION-KEY")
    response = client.post("/api/v1/auth/login", json={"code": "c1"})
    assert b"SECRET-SESSION-KEY" not in response.data
    assert "session_key" not in response.json["user"]


def test_second_login_finds_the_same_user_by_openid(login):
    first, second = login(openid="mp-1"), login(openid="mp-1")
    assert first.user_id == second.user_id
    assert db.session.scalar(select(func.count()).select_from(WechatUser)) == 1


def test_unionid_joins_the_official_account_record_of_the_same_person(login, make_user, make_student):
    follower = make_user(mp_openid=None, oa_openid="oa-1", unionid="union-1")
    follower.mp_openid = None
    db.session.commit()
    student = make_student()
    db.session.add(Guardian(user_id=follower.id, student_id=student.id, relation="爸爸"))
    db.session.commit()
    mp = login(openid="mp-9", unionid="union-1")
    assert mp.user_id == follower.id
    students = mp.get("/me").json["students"]
    assert [s["id"] for s in students] == [student.id]


def test_two_existing_records_of_one_person_are_merged_at_login(login, make_user, make_student, make_guardian):
    mp_only = login(openid="mp-7")
    oa_only = make_user(oa_openid="oa-7", unionid="union-7")
    oa_only.mp_openid = None
    db.session.commit()
    student = make_student()
    make_guardian(student, user=oa_only)
    again = login(openid="mp-7", unionid="union-7")
    assert again.user_id == mp_only.user_id
    user = db.session.get(WechatUser, mp_only.user_id)
    db.session.refresh(user)
    assert (user.oa_openid, user.unionid) == ("oa-7", "union-7")
    assert db.session.scalar(select(func.count()).select_from(WechatUser)) == 1
    assert [s["id"] for s in again.get("/me").json["students"]] == [student.id]


def test_bad_code_answers_401_invalid_code(client, fake_wechat):
    fake_wechat.script("/sns/jscode2session", 40029)
    response = client.post("/api/v1/auth/login", json={"code": "nope"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_code"
    assert db.session.scalar(select(func.count()).select_from(WechatUser)) == 0


def test_wechat_down_answers_502_wechat_unavailable(client, fake_wechat):
    fake_wechat.add_code("c1", openid="mp-1")
    fake_wechat.script("/sns/jscode2session", HTTP(500))
    response = client.post("/api/v1/auth/login", json={"code": "c1"})
    assert response.status_code == 502
    assert response.json["error"]["code"] == "wechat_unavailable"


def test_login_without_code_is_422_naming_the_field(client, fake_wechat):
    response = client.post("/api/v1/auth/login", json={})
    assert response.status_code == 422
    assert "code" in response.json["error"]["details"]


def test_login_is_rate_limited_per_address(app, client, fake_wechat, monkeypatch):
    monkeypatch.setitem(app.config, "MP_LOGIN_RATE_LIMIT", (3, 60))
    statuses = [client.post("/api/v1/auth/login", json={"code": f"x{i}"}).status_code for i in range(4)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3] == 429


def test_no_token_or_a_forged_token_is_401(client, anonymous):
    assert anonymous.get("/me").status_code == 401
    forged = client.get("/api/v1/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert forged.json["error"]["code"] == "unauthorized"


def test_tokens_expire(app, login, virtual_clock, monkeypatch):
    mp = login()
    assert mp.get("/me").status_code == 200  # its signature is checked once and remembered...
    monkeypatch.setitem(app.config, "TOKEN_TTL_SECONDS", 60)
    virtual_clock.advance(30)
    assert mp.get("/me").status_code == 200
    virtual_clock.advance(60)
    assert mp.get("/me").status_code == 401  # ...its age is checked on every request


def test_a_token_stops_working_when_the_secret_key_changes(app, login):
    mp = login()
    assert mp.get("/me").status_code == 200
    saved = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "rotated-secret"
    try:
        assert mp.get("/me").status_code == 401
    finally:
        app.config["SECRET_KEY"] = saved
    assert mp.get("/me").status_code == 200


def test_tampered_and_absurdly_long_tokens_are_401(app, login, client):
    from school_points.people import tokens

    mp = login()
    token = mp.token
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, token + "x", "x" * 100_000, token * 20):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401, bad[:40]
    with app.app_context():
        assert tokens.verify("admin", token) is None  # a user's token is no admin's


def test_a_disabled_user_token_stops_working_and_login_is_refused(login, client, fake_wechat):
    mp = login(openid="mp-1")
    user = mp.user
    user.disabled = True
    db.session.commit()
    assert mp.get("/me").status_code == 401
    fake_wechat.add_code("again", openid="mp-1")
    assert client.post("/api/v1/auth/login", json={"code": "again"}).status_code == 403


def test_login_with_ref_records_a_referral_for_a_new_person(login):
    referrer = login(openid="mp-parent")
    code = referrer.get("/me/referral").json["code"]
    newcomer = login(openid="mp-friend", ref=code)
    referral = db.session.scalars(select(Referral)).one()
    assert (referral.referrer_user_id, referral.referred_user_id) == (referrer.user_id, newcomer.user_id)
    assert referrer.get("/me/referral").json["referred"] == 1


def test_ref_is_ignored_for_a_person_the_school_already_knew(login):
    referrer = login(openid="mp-parent")
    login(openid="mp-known")
    code = referrer.get("/me/referral").json["code"]
    login(openid="mp-known", ref=code)
    assert db.session.scalar(select(func.count()).select_from(Referral)) == 0


# ---------------------------------------------------------------- limits behind a proxy


def test_default_login_limit_lets_a_parents_meeting_behind_one_nat_in(app, client, fake_wechat):
    for i in range(120):
        fake_wechat.add_code(f"meeting-{i}", openid=f"mp-parent-{i}")
    statuses = [client.post("/api/v1/auth/login", json={"code": f"meeting-{i}"}).status_code for i in range(120)]
    assert statuses == [200] * 120
    assert client.post("/api/v1/auth/login", json={"code": "one-more"}).status_code == 429


def test_behind_the_proxy_two_parents_at_different_addresses_have_separate_limits(
    app, client, fake_wechat, behind_proxies, monkeypatch
):
    monkeypatch.setitem(app.config, "MP_LOGIN_RATE_LIMIT", (2, 60))
    behind_proxies(1)
    for i in range(3):
        fake_wechat.add_code(f"a{i}", openid="mp-a")
    fake_wechat.add_code("b0", openid="mp-b")
    first = [
        client.post("/api/v1/auth/login", json={"code": f"a{i}"}, **via_proxy("203.0.113.1")).status_code
        for i in range(3)
    ]
    assert first == [200, 200, 429]
    other = client.post("/api/v1/auth/login", json={"code": "b0"}, **via_proxy("203.0.113.2"))
    assert other.status_code == 200


def test_a_client_cannot_escape_the_login_limit_by_forging_forwarded_addresses(
    app, client, fake_wechat, behind_proxies, monkeypatch
):
    monkeypatch.setitem(app.config, "MP_LOGIN_RATE_LIMIT", (2, 60))
    behind_proxies(1)
    statuses = [
        client.post(
            "/api/v1/auth/login", json={"code": f"z{i}"}, **via_proxy("203.0.113.1", forged=[f"192.0.2.{i}"])
        ).status_code
        for i in range(3)
    ]
    assert statuses == [401, 401, 429]


# ---------------------------------------------------------------- token hygiene and logout


def test_login_response_with_the_token_is_not_cacheable(client, fake_wechat):
    fake_wechat.add_code("c1", openid="mp-1")
    response = client.post("/api/v1/auth/login", json={"code": "c1"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


@pytest.mark.parametrize("subject", [0, -1, 2**31, 2**40, 2**64])
def test_a_signed_token_naming_an_impossible_user_id_is_401_not_500(app, client, family, subject):
    from school_points.people import tokens

    student = family()[1].id
    forged = tokens._serializer("user").dumps({"sub": subject, "jti": "a" * 32})
    headers = {"Authorization": f"Bearer {forged}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    redeem = client.post("/api/v1/redemptions", json={"student_id": student, "goods_id": 1}, headers=headers)
    assert redeem.status_code == 401  # the hot path that checks only the token
    assert redeem.json["error"]["code"] == "unauthorized"


def test_logout_ends_that_token_at_once_and_only_that_token(login, client):
    phone = login(openid="mp-1")
    tablet = login(openid="mp-1")
    assert phone.get("/me").status_code == 200  # the token's signature check is now cached
    response = phone.post("/auth/logout")
    assert response.status_code == 204 and response.data == b""
    assert response.headers["Cache-Control"] == "no-store"
    assert phone.get("/me").status_code == 401
    assert phone.post("/redemptions", {"student_id": 1, "goods_id": 1}).status_code == 401
    assert tablet.get("/me").status_code == 200


def test_logout_is_idempotent(login):
    phone = login()
    assert phone.post("/auth/logout").status_code == 204
    assert phone.post("/auth/logout").status_code == 204
    assert db.session.scalar(select(func.count()).select_from(RevokedToken)) == 1


def test_logout_without_a_genuine_token_is_401(anonymous, client):
    assert anonymous.post("/auth/logout").status_code == 401
    forged = client.post("/api/v1/auth/logout", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert forged.json["error"]["code"] == "unauthorized"
    assert db.session.scalar(select(func.count()).select_from(RevokedToken)) == 0


def test_a_token_from_before_logout_existed_must_log_in_again(app, client, login):
    from school_points.people import tokens

    user_id = login().user_id
    old_style = tokens._serializer("user").dumps({"sub": user_id})  # no token id: cannot be revoked
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {old_style}"}).status_code == 401
