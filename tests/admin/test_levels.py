"""The admin API and member levels: settings validated, goods' min_level, level in student detail,
students by level in the summary, level_up templates."""

import pytest

from school_points.models import AuditLog
from school_points.platform.extensions import db

TIERS = [
    {"level": 1, "name": "新芽", "min_lifetime": 0},
    {"level": 2, "name": "小树", "min_lifetime": 500},
]


def test_settings_hold_levels_and_birthday_doubling_by_default(api):
    settings = api.get("/settings").json
    assert settings["levels"]["enabled"] is False and len(settings["levels"]["tiers"]) == 4
    assert settings["levels"]["earn_bonus_pct"] == {"1": 0, "2": 0, "3": 10, "4": 20}
    assert settings["birthday"] == {"points": 20, "double_on_birthday": False}
    assert settings["notifications"]["level_up"]["fields"]["level"] == "thing2"


def test_patch_switches_levels_on_with_new_tiers(api):
    response = api.patch(
        "/settings", {"levels": {"enabled": True, "tiers": TIERS}, "birthday": {"double_on_birthday": True}}
    )
    assert response.status_code == 200
    assert response.json["levels"]["tiers"] == TIERS
    assert response.json["birthday"]["double_on_birthday"] is True
    assert db.session.query(AuditLog).filter_by(action="settings.update").count() == 1


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        (TIERS[:1], "等级数量必须在 2 到 10 之间"),
        ([TIERS[0], {**TIERS[1], "level": 3}], "等级必须从 1 开始依次编号（1、2、3……）"),
        ([TIERS[1], TIERS[0]], "等级必须从 1 开始依次编号（1、2、3……）"),
        ([{**TIERS[0], "min_lifetime": 10}, TIERS[1]], "第 1 级的累计积分门槛必须是 0"),
        ([TIERS[0], {**TIERS[1], "min_lifetime": 0}], "累计积分门槛必须逐级递增"),
        ([TIERS[0], {**TIERS[1], "name": "新芽"}], "等级名称不能重复"),
    ],
)
def test_bad_tiers_are_refused_with_a_chinese_field_error(api, tiers, message):
    response = api.patch("/settings", {"levels": {"tiers": tiers}})
    assert response.status_code == 422
    assert response.json["error"]["details"] == {"levels": {"tiers": [message]}}
    assert api.get("/settings").json["levels"]["tiers"][0]["name"] == "新芽"  # nothing stored


def test_bad_tier_fields_and_bonus_percent_are_refused(api):
    eleven = [{"level": i + 1, "name": f"L{i}", "min_lifetime": i} for i in range(11)]
    response = api.patch("/settings", {"levels": {"tiers": eleven}})
    assert response.status_code == 422
    assert response.json["error"]["details"]["levels"]["tiers"] == {"10": {"level": ["必须在 1 到 10 之间"]}}
    response = api.patch("/settings", {"levels": {"tiers": [{"level": 1, "name": "", "min_lifetime": -1}]}})
    assert response.status_code == 422 and "tiers" in response.json["error"]["details"]["levels"]
    response = api.patch("/settings", {"levels": {"earn_bonus_pct": {"11": 5}}})
    assert response.status_code == 422
    response = api.patch("/settings", {"levels": {"earn_bonus_pct": {"2": 101}}})
    assert response.status_code == 422
    response = api.patch("/settings", {"birthday": {"double_on_birthday": "yes"}})
    assert response.status_code == 422


def test_goods_carry_min_level_through_create_update_and_list(api):
    body = {"name": "台灯", "points": 300, "stock": 2, "verify_code": "8866", "min_level": 3}
    created = api.post("/goods", body, headers={"Idempotency-Key": "g1"})
    assert created.status_code == 201 and created.json["min_level"] == 3
    goods_id = created.json["id"]
    assert api.get("/goods").json["items"][0]["min_level"] == 3
    assert api.patch(f"/goods/{goods_id}", {"min_level": None}).json["min_level"] is None
    assert api.patch(f"/goods/{goods_id}", {"min_level": 11}).status_code == 422
    assert api.patch(f"/goods/{goods_id}", {"min_level": 0}).status_code == 422


def test_student_detail_has_the_level_or_null(api, make_student):
    student = make_student(balance=600)
    assert api.get(f"/students/{student.id}").json["level"] is None
    api.patch("/settings", {"levels": {"enabled": True}})
    level = api.get(f"/students/{student.id}").json["level"]
    assert level == {
        "level": 2,
        "name": "小树",
        "next": {"level": 3, "name": "大树", "min_lifetime": 2000, "points_to_go": 1400},
    }


def test_summary_counts_active_students_by_level(api, make_student, campus, make_campus):
    make_student(name="甲", balance=0)
    make_student(name="乙", balance=600)
    make_student(name="丙", balance=2500)
    make_student(name="丁", balance=600, campus_id=make_campus("分校区").id)
    assert api.get("/reports/summary").json["students_by_level"] is None
    api.patch("/settings", {"levels": {"enabled": True}})
    rows = api.get("/reports/summary").json["students_by_level"]
    assert [(r["level"], r["name"], r["students"]) for r in rows] == [
        (1, "新芽", 1),
        (2, "小树", 2),
        (3, "大树", 1),
        (4, "森林", 0),
    ]
    by_campus = api.get("/reports/summary", campus_id=campus.id).json["students_by_level"]
    assert [r["students"] for r in by_campus] == [1, 1, 1, 0]
    assert api.get("/reports/summary", format="xlsx").status_code == 200


def test_openapi_documents_min_level_and_level(api):
    schemas = api.client.get("/api/admin/openapi.json").json["components"]["schemas"]
    assert "min_level" in schemas["GoodsOut"]["properties"] and "min_level" in schemas["GoodsIn"]["properties"]
    assert "level" in schemas["StudentDetailOut"]["properties"]
