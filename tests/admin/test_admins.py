"""Admin accounts as a super admin manages them: create, list, change, disable; and what a change
does to the sessions of the admin it changes."""

import json

import pytest
from sqlalchemy import select

from school_points.models import Admin, AuditLog
from school_points.people import tokens
from school_points.platform.extensions import db
from tests.admin.admin_testkit import PASSWORD, AdminApi
from tests.conftest import requires_pg, run_concurrently

NEW_PASSWORD = "another-horse-42"


def log_in(client, username, password=PASSWORD):
    response = AdminApi(client).post("/auth/login", {"username": username, "password": password})
    assert response.status_code == 200, response.json
    return AdminApi(client, response.json["token"])


def new_admin(api, **fields):
    body = {"username": "desk", "password": NEW_PASSWORD, "role": "super", **fields}
    response = api.post("/admins", body)
    assert response.status_code == 201, response.json
    return response.json


def audit_entries(action):
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


# ------------------------------------------------------------------ creating and listing


def test_super_admin_creates_a_campus_admin_who_then_sees_only_its_campus(app, api, campus, other_campus):
    created = new_admin(api, role="campus", campus_id=campus.id)
    assert {k: created[k] for k in ("username", "role", "campus_id", "active")} == {
        "username": "desk",
        "role": "campus",
        "campus_id": campus.id,
        "active": True,
    }
    assert "password" not in created and "password_hash" not in created
    desk = log_in(app.test_client(), "desk", NEW_PASSWORD)
    assert [c["id"] for c in desk.get("/campuses").json["items"]] == [campus.id]


def test_admin_list_is_paged_newest_first(api, make_admin):
    for i in range(3):
        make_admin(f"staff{i}")
    first = api.get("/admins", limit=2)
    assert first.status_code == 200
    assert [a["username"] for a in first.json["items"]] == ["staff2", "staff1"]
    rest = api.get("/admins", limit=2, cursor=first.json["next_cursor"])
    assert [a["username"] for a in rest.json["items"]] == ["staff0", "boss"]
    assert rest.json["next_cursor"] is None
    assert api.get("/admins", role="super").status_code == 422  # no such filter


def test_one_admin_is_read_by_id(api, make_admin):
    desk = make_admin("desk")
    assert api.get(f"/admins/{desk.id}").json["username"] == "desk"
    assert api.get("/admins/99999").json["error"]["code"] == "admin_not_found"
    assert api.get(f"/admins/{2**40}").status_code == 404


def test_a_campus_admin_may_not_manage_admin_accounts(campus_api, make_admin, campus):
    other = make_admin("desk")
    refused = [
        campus_api.get("/admins"),
        campus_api.get(f"/admins/{other.id}"),
        campus_api.post("/admins", {"username": "x1", "password": NEW_PASSWORD, "role": "super"}),
        campus_api.patch(f"/admins/{other.id}", {"active": False}),
    ]
    for response in refused:
        assert response.status_code == 403, response.json
        assert response.json["error"]["code"] == "super_admin_required"
        assert response.json["error"]["message"]
    db.session.expire_all()
    assert db.session.get(Admin, other.id).active
    assert db.session.scalars(select(Admin).where(Admin.username == "x1")).first() is None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-1", "密码至少 10 个字符，最多 128 个字符"),
        ("x" * 129, "密码至少 10 个字符，最多 128 个字符"),
        ("Desk-Admin-1", "密码不能与用户名相同"),
        ("  desk-admin-1  ", "密码不能与用户名相同"),
    ],
)
def test_passwords_have_ten_characters_and_are_not_the_username(api, password, message):
    response = api.post("/admins", {"username": "desk-admin-1", "password": password, "role": "super"})
    assert response.status_code == 422
    assert response.json["error"]["details"]["password"] == [message]


def test_a_campus_admin_needs_a_campus_and_a_super_admin_has_none(api, campus):
    body = {"username": "desk", "password": NEW_PASSWORD}
    no_campus = api.post("/admins", {**body, "role": "campus"})
    assert no_campus.status_code == 422 and "campus_id" in no_campus.json["error"]["details"]
    super_with_campus = api.post("/admins", {**body, "role": "super", "campus_id": campus.id})
    assert super_with_campus.status_code == 422 and "campus_id" in super_with_campus.json["error"]["details"]
    unknown = api.post("/admins", {**body, "role": "campus", "campus_id": 99999})
    assert unknown.status_code == 422 and unknown.json["error"]["details"] == {"campus_id": ["校区不存在"]}
    assert api.post("/admins", {**body, "role": "owner"}).json["error"]["details"]["role"]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "desk", "password": NEW_PASSWORD},  # role missing
        {"username": "desk", "password": NEW_PASSWORD, "role": "super", "is_root": True},
        {"username": 7, "password": NEW_PASSWORD, "role": "super"},
        {"username": "desk", "password": 1234567890, "role": "super"},
        {"username": "desk", "password": NEW_PASSWORD, "role": "super", "active": "yes"},
        {"username": "desk", "password": NEW_PASSWORD, "role": "campus", "campus_id": "1"},
        {"username": "de\x00sk", "password": NEW_PASSWORD, "role": "super"},
    ],
)
def test_bad_bodies_are_422_and_create_nothing(api, body):
    response = api.post("/admins", body)
    assert response.status_code == 422, response.json
    assert db.session.scalars(select(Admin).where(Admin.username != "boss")).first() is None


def test_usernames_are_unique(api, make_admin):
    make_admin("desk")
    taken = api.post("/admins", {"username": "desk", "password": NEW_PASSWORD, "role": "super"})
    assert taken.status_code == 409 and taken.json["error"]["code"] == "username_taken"
    other = make_admin("front")
    renamed = api.patch(f"/admins/{other.id}", {"username": "desk"})
    assert renamed.status_code == 409 and renamed.json["error"]["code"] == "username_taken"


def test_creating_with_an_idempotency_key_creates_once(api):
    body = {"username": "desk", "password": NEW_PASSWORD, "role": "super"}
    first = api.post("/admins", body, headers={"Idempotency-Key": "k-1"})
    again = api.post("/admins", body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json == again.json and again.headers["Idempotent-Replayed"] == "true"
    other = api.post("/admins", {**body, "username": "front"}, headers={"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"
    assert len(db.session.scalars(select(Admin)).all()) == 2


def test_the_audit_log_records_account_changes_but_never_a_password(api):
    created = new_admin(api)
    assert api.patch(f"/admins/{created['id']}", {"password": "third-horse-77", "active": False}).status_code == 200
    (create,) = audit_entries("admin.create")
    (update,) = audit_entries("admin.update")
    assert create.changes == {"username": "desk", "role": "super", "campus_id": None, "active": True}
    assert update.changes["password_changed"] is True and update.changes["sessions_ended"] is True
    assert update.changes["new"]["active"] is False
    stored = json.dumps([create.changes, update.changes])
    password_hash = db.session.get(Admin, created["id"]).password_hash
    for secret in (NEW_PASSWORD, "third-horse-77", password_hash):
        assert secret not in stored


# ------------------------------------------------------------------ changing, and sessions


def test_disabling_an_admin_refuses_their_token_on_the_next_request(app, api, make_admin):
    desk_id = make_admin("desk").id
    desk = log_in(app.test_client(), "desk")
    assert desk.get("/campuses").status_code == 200  # the token's signature check is now cached
    assert api.patch(f"/admins/{desk_id}", {"active": False}).json["active"] is False
    refused = desk.get("/campuses")
    assert refused.status_code == 401 and refused.json["error"]["code"] == "invalid_token"
    assert (
        AdminApi(app.test_client()).post("/auth/login", {"username": "desk", "password": PASSWORD}).status_code == 401
    )
    # Enabled again, the account needs a new login: the old token stays dead.
    assert api.patch(f"/admins/{desk_id}", {"active": True}).status_code == 200
    assert desk.get("/campuses").status_code == 401
    assert log_in(app.test_client(), "desk").get("/campuses").status_code == 200


@pytest.mark.parametrize("change", ["password", "role", "campus_id"])
def test_a_new_password_role_or_campus_ends_every_session_of_that_admin(
    app, api, make_admin, campus, other_campus, change
):
    desk_id = make_admin("desk", campus_id=campus.id).id
    sessions = [log_in(app.test_client(), "desk") for _ in range(2)]
    body = {
        "password": {"password": NEW_PASSWORD},
        "role": {"role": "super", "campus_id": None},
        "campus_id": {"campus_id": other_campus.id},
    }[change]
    assert api.patch(f"/admins/{desk_id}", body).status_code == 200
    for session in sessions:
        assert session.get("/campuses").status_code == 401
    password = NEW_PASSWORD if change == "password" else PASSWORD
    assert log_in(app.test_client(), "desk", password).get("/campuses").status_code == 200


def test_a_rename_or_an_empty_patch_keeps_the_sessions(app, api, make_admin):
    desk_id = make_admin("desk").id
    desk = log_in(app.test_client(), "desk")
    assert api.patch(f"/admins/{desk_id}", {}).status_code == 200
    assert api.patch(f"/admins/{desk_id}", {"username": "front-desk"}).json["username"] == "front-desk"
    assert desk.get("/campuses").status_code == 200


def test_demoting_to_campus_admin_needs_the_campus_and_promoting_drops_it(api, make_admin, campus):
    desk_id = make_admin("desk").id
    missing = api.patch(f"/admins/{desk_id}", {"role": "campus"})
    assert missing.status_code == 422 and "campus_id" in missing.json["error"]["details"]
    demoted = api.patch(f"/admins/{desk_id}", {"role": "campus", "campus_id": campus.id})
    assert (demoted.json["role"], demoted.json["campus_id"]) == ("campus", campus.id)
    promoted = api.patch(f"/admins/{desk_id}", {"role": "super"})
    assert (promoted.json["role"], promoted.json["campus_id"]) == ("super", None)


def test_the_last_active_super_admin_cannot_disable_or_demote_themselves(api, campus, make_admin):
    boss_id = db.session.scalars(select(Admin.id).where(Admin.username == "boss")).one()
    make_admin("desk", campus_id=campus.id)
    for body in ({"active": False}, {"role": "campus", "campus_id": campus.id}):
        response = api.patch(f"/admins/{boss_id}", body)
        assert response.status_code == 409 and response.json["error"]["code"] == "last_super_admin"
        assert response.json["error"]["message"] == "至少要保留一个启用的总管理员"
    assert api.get("/campuses").status_code == 200  # nothing changed, the session included
    make_admin("deputy")
    assert api.patch(f"/admins/{boss_id}", {"active": False}).status_code == 200
    assert api.get("/campuses").status_code == 401


def test_an_unknown_admin_or_a_bad_patch_is_refused(api, make_admin):
    desk_id = make_admin("desk").id
    assert api.patch("/admins/99999", {"active": False}).status_code == 404
    for body in ({"active": 0}, {"password": "short"}, {"created_at": "x"}, {"campus_id": True}):
        response = api.patch(f"/admins/{desk_id}", body)
        assert response.status_code == 422, (body, response.json)
    # The new username counts: the password may not be the name the account is being given.
    same = api.patch(f"/admins/{desk_id}", {"username": "front-desk-1", "password": "front-desk-1"})
    assert same.status_code == 422 and same.json["error"]["details"] == {"password": ["密码不能与用户名相同"]}


def test_a_token_with_a_forged_session_generation_is_refused(app, fresh_api, make_admin):
    admin = make_admin("boss")
    for generation in ("0", True, -1, 2**40):
        forged = tokens._serializer("admin").dumps({"sub": admin.id, "jti": "b" * 32, "gen": generation})
        assert AdminApi(fresh_api.client, forged).get("/campuses").status_code == 401


@requires_pg
def test_two_super_admins_disabling_each_other_at_once_leave_one_active(app, api, make_admin):
    boss_id = db.session.scalars(select(Admin.id).where(Admin.username == "boss")).one()
    deputy_id = make_admin("deputy").id
    deputy = log_in(app.test_client(), "deputy")

    def disable(pair):
        actor, target = pair
        return AdminApi(app.test_client(), actor.token).patch(f"/admins/{target}", {"active": False}).status_code

    outcomes = run_concurrently(app, disable, [(api, deputy_id), (deputy, boss_id)])
    db.session.expire_all()
    active_supers = db.session.scalars(select(Admin).where(Admin.role == "super", Admin.active.is_(True))).all()
    assert len(active_supers) == 1
    assert 200 in outcomes and set(outcomes) <= {200, 401, 409}
