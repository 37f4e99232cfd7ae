"""Logging in to the admin API, logging out, and the token guard on every other route."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from school_points.models import AuditLog, RevokedToken
from school_points.platform.clock import utcnow
from school_points.platform.extensions import db
from tests.admin.admin_testkit import PASSWORD, AdminApi
from tests.proxying import NGINX, behind_proxies, via_proxy  # noqa: F401  (fixture)


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
    from school_points.people import tokens

    admin = make_admin("boss")
    user_token, _ = tokens.issue("user", admin.id)  # same id, other kind
    assert AdminApi(fresh_api.client, user_token).get("/students").status_code == 401


def test_login_body_is_validated(fresh_api):
    response = fresh_api.post("/auth/login", {"username": "boss", "password": 12345678})
    assert response.status_code == 422
    assert "password" in response.json["error"]["details"]


def test_repeated_wrong_passwords_are_rate_limited(fresh_api, make_admin):
    make_admin("boss")
    codes = [
        fresh_api.post("/auth/login", {"username": "boss", "password": f"guess-{i}"}).status_code for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    # Even the right password waits out the window from this address: guessing cannot go on meanwhile.
    limited = fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD})
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


# ---------------------------------------------------------------- limits behind a proxy


def test_sixty_wrong_passwords_from_one_address_do_not_lock_the_real_admin_out(
    app, fresh_api, make_admin, behind_proxies
):
    make_admin("boss")
    behind_proxies(1)
    attacker = [
        fresh_api.post(
            "/auth/login", {"username": "boss", "password": f"guess-{i}"}, **via_proxy("198.51.100.66")
        ).status_code
        for i in range(60)
    ]
    assert attacker[:5] == [401] * 5 and set(attacker[5:]) == {429}
    real = fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD}, **via_proxy("203.0.113.10"))
    assert real.status_code == 200
    assert AdminApi(fresh_api.client, real.json["token"]).get("/campuses").status_code == 200


def test_forged_forwarded_addresses_do_not_buy_an_attacker_more_guesses(app, fresh_api, make_admin, behind_proxies):
    make_admin("boss")
    behind_proxies(1)
    codes = [
        fresh_api.post(
            "/auth/login",
            {"username": "boss", "password": f"guess-{i}"},
            **via_proxy("198.51.100.66", forged=[f"192.0.2.{i}"]),
        ).status_code
        for i in range(8)
    ]
    assert codes == [401] * 5 + [429] * 3


def test_wrong_passwords_sprayed_over_many_usernames_stop_at_fifty_per_address(
    app, fresh_api, make_admin, behind_proxies
):
    make_admin("boss")
    behind_proxies(1)
    codes = [
        fresh_api.post(
            "/auth/login", {"username": f"user{i}", "password": "guess-123"}, **via_proxy("198.51.100.66")
        ).status_code
        for i in range(51)
    ]
    assert codes == [401] * 50 + [429]
    # The school's real admin at another address is unaffected.
    real = fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD}, **via_proxy("203.0.113.10"))
    assert real.status_code == 200


def test_right_passwords_never_use_up_an_address_allowance(app, fresh_api, make_admin, monkeypatch):
    from school_points.people import admin_login

    monkeypatch.setattr(admin_login, "WRONG_PASSWORDS_PER_ADDRESS", 3)
    make_admin("boss")
    codes = [fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD}).status_code for _ in range(10)]
    assert codes == [200] * 10


def test_audit_log_records_the_address_the_outermost_proxy_saw(app, api, behind_proxies):
    behind_proxies(1)
    response = api.client.post(
        "/api/admin/v1/campuses",
        json={"name": "滨江校区"},
        headers={"Authorization": f"Bearer {api.token}", "X-Forwarded-For": "192.0.2.1, 203.0.113.9"},
        environ_base=NGINX,
    )
    assert response.status_code == 201, response.json
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "campus.create")).one()
    assert entry.client_address == "203.0.113.9"
    listed = api.get("/audit-log").json["items"][0]
    assert listed["client_address"] == "203.0.113.9"


# ---------------------------------------------------------------- token hygiene and logout


def test_login_response_with_the_token_is_not_cacheable(fresh_api, make_admin):
    make_admin("boss")
    response = fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


@pytest.mark.parametrize("subject", [0, -1, 2**31, 2**40, 2**64])
def test_a_signed_token_naming_an_impossible_admin_id_is_401_not_500(app, fresh_api, subject):
    from school_points.people import tokens

    forged = tokens._serializer("admin").dumps({"sub": subject, "jti": "a" * 32})
    response = AdminApi(fresh_api.client, forged).get("/campuses")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_logout_ends_that_token_at_once_and_only_that_token(api, make_admin, fresh_api):
    other_session = login_again(fresh_api)
    assert api.get("/campuses").status_code == 200  # the token's signature check is now cached
    response = api.post("/auth/logout")
    assert response.status_code == 204 and response.data == b""
    refused = api.get("/campuses")
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "invalid_token"
    assert other_session.get("/campuses").status_code == 200  # the same admin elsewhere stays in


def test_logout_is_idempotent(api):
    assert api.post("/auth/logout").status_code == 204
    assert api.post("/auth/logout").status_code == 204
    assert db.session.scalar(select(func.count()).select_from(RevokedToken)) == 1


def test_logout_without_a_genuine_token_is_401_and_stores_nothing(fresh_api):
    assert fresh_api.post("/auth/logout").status_code == 401
    assert AdminApi(fresh_api.client, "not-a-token").post("/auth/logout").status_code == 401
    assert db.session.scalar(select(func.count()).select_from(RevokedToken)) == 0


def test_logout_prunes_ids_of_tokens_that_have_expired_anyway(api):
    past = utcnow() - timedelta(seconds=1)
    db.session.add(RevokedToken(jti="e" * 32, expires_at=past))
    db.session.commit()
    assert api.post("/auth/logout").status_code == 204
    db.session.expire_all()
    assert db.session.get(RevokedToken, "e" * 32) is None


def test_a_token_from_before_logout_existed_must_log_in_again(app, fresh_api, make_admin):
    from school_points.people import tokens

    admin = make_admin("boss")
    old_style = tokens._serializer("admin").dumps({"sub": admin.id})  # no token id: cannot be revoked
    assert AdminApi(fresh_api.client, old_style).get("/campuses").status_code == 401


def login_again(fresh_api):
    response = fresh_api.post("/auth/login", {"username": "boss", "password": PASSWORD})
    assert response.status_code == 200
    return AdminApi(fresh_api.client, response.json["token"])
