"""GET/PATCH /settings: the whole §4 document, validated, merged, audited."""

from sqlalchemy import select

from school_points.models import AuditLog, SchoolSetting
from school_points.platform.extensions import db
from school_points.school.settings import DEFAULTS
from tests.admin.admin_testkit import AdminApi
from tests.conftest import requires_pg, run_concurrently


def stored():
    db.session.expire_all()
    row = db.session.get(SchoolSetting, 1)
    return row.data if row else None


def test_settings_start_at_the_documented_defaults(api):
    response = api.get("/settings")
    assert response.status_code == 200
    assert response.json == DEFAULTS
    assert response.json["signin"]["streak_points"] == [1, 1, 2, 2, 3, 3, 5]


def test_patch_merges_objects_key_by_key(api):
    response = api.patch("/settings", {"like": {"daily_cap": 30}, "mall": {"notice": "周六闭馆"}})
    assert response.status_code == 200
    assert response.json["like"] == {"points": 1, "daily_cap": 30}
    assert response.json["mall"] == {"open": True, "poster_url": "", "notice": "周六闭馆"}
    assert api.get("/settings").json["like"]["daily_cap"] == 30


def test_patch_replaces_lists_whole(api):
    behaviors = [{"id": 7, "name": "乐于助人", "points": 4}]
    response = api.patch("/settings", {"evaluation": {"behaviors": behaviors}, "signin": {"streak_points": [2, 4]}})
    assert response.status_code == 200
    assert response.json["evaluation"]["behaviors"] == behaviors
    assert response.json["evaluation"]["max_custom_points"] == 10
    assert response.json["signin"]["streak_points"] == [2, 4]


def test_patch_sets_notification_templates(api):
    patch = {"notifications": {"issued": {"enabled": True, "template_id": "tpl-1", "fields": {"goods": "thing7"}}}}
    response = api.patch("/settings", patch)
    assert response.status_code == 200
    issued = response.json["notifications"]["issued"]
    assert issued["enabled"] is True and issued["template_id"] == "tpl-1"
    assert issued["fields"]["goods"] == "thing7"
    assert issued["fields"]["student"] == "thing1"  # merged, not replaced


def test_unknown_keys_are_422_naming_them(api):
    response = api.patch("/settings", {"likes": {"points": 2}, "like": {"point": 2}})
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert "likes" in details
    assert "point" in details["like"]
    assert stored() is None


def test_wrong_types_and_ranges_are_422_and_change_nothing(api):
    api.patch("/settings", {"checkin": {"points": 6}})
    before = stored()
    bad = {
        "point_value_fen": True,
        "checkin": {"points": "5", "daily_count": -1},
        "like": {"points": 1.5},
        "expiry": {"policy": "weekly", "months": 10**12},
        "mall": {"open": "yes", "notice": "长" * 501},
        "signin": {"streak_points": []},
        "evaluation": {"behaviors": [{"id": 1, "name": "a", "points": 2}, {"id": 1, "name": "b", "points": 0}]},
        "notifications": {"redeemed": {"fields": {"price": "thing1"}}, "birthday": {}},
    }
    response = api.patch("/settings", bad)
    assert response.status_code == 422
    details = response.json["error"]["details"]
    assert set(details) == set(bad)
    assert set(details["checkin"]) == {"points", "daily_count"}
    assert set(details["expiry"]) == {"policy", "months"}
    assert "birthday" in details["notifications"]
    assert stored() == before


def test_null_is_not_a_setting(api):
    response = api.patch("/settings", {"mall": None})
    assert response.status_code == 422
    assert "mall" in response.json["error"]["details"]


def test_patch_writes_old_and_new_to_the_audit_log(api):
    api.patch("/settings", {"point_value_fen": 2, "birthday": {"points": 30}})
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "settings.update")).one()
    assert entry.actor_type == "admin"
    assert entry.changes["old"] == {"point_value_fen": 1, "birthday": {"points": 20, "double_on_birthday": False}}
    assert entry.changes["new"] == {"point_value_fen": 2, "birthday": {"points": 30, "double_on_birthday": False}}


def test_campus_admin_reads_but_cannot_change_settings(campus_api):
    assert campus_api.get("/settings").status_code == 200
    response = campus_api.patch("/settings", {"point_value_fen": 5})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "super_admin_required"
    assert stored() is None


def test_malformed_json_is_400(api):
    response = api.patch("/settings", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "malformed_json"


@requires_pg
def test_concurrent_first_patches_both_land(app, api):
    patches = [{"like": {"points": 2}}, {"birthday": {"points": 30}}, {"checkin": {"points": 9}}]

    def send(patch):
        return AdminApi(app.test_client(), api.token).patch("/settings", patch).status_code

    assert run_concurrently(app, send, patches) == [200, 200, 200]
    final = api.get("/settings").json
    assert (final["like"]["points"], final["birthday"]["points"], final["checkin"]["points"]) == (2, 30, 9)
