"""The mini-program and member levels: level in /me and points, locked goods, level_too_low."""

import pytest

from school_points.platform.extensions import db
from school_points.school.settings import update_settings

LEVELS = {
    "enabled": True,
    "tiers": [
        {"level": 1, "name": "新芽", "min_lifetime": 0},
        {"level": 2, "name": "小树", "min_lifetime": 100},
        {"level": 3, "name": "大树", "min_lifetime": 500},
    ],
    "earn_bonus_pct": {"1": 0, "2": 10, "3": 20},
}


@pytest.fixture
def levels_on(app):
    update_settings({"levels": LEVELS})
    db.session.commit()


def test_me_and_points_show_the_level_and_what_the_next_one_needs(family, levels_on):
    mp, student = family(balance=120)
    level = {"level": 2, "name": "小树", "next": {"level": 3, "name": "大树", "min_lifetime": 500, "points_to_go": 380}}
    assert mp.get("/me").json["students"][0]["level"] == level
    assert mp.get(f"/students/{student.id}/points").json["level"] == level


def test_the_top_level_has_no_next(family, levels_on):
    mp, student = family(balance=600)
    assert mp.get(f"/students/{student.id}/points").json["level"] == {"level": 3, "name": "大树", "next": None}


def test_level_is_null_while_levels_are_off(family):
    mp, student = family(balance=600)
    assert mp.get("/me").json["students"][0]["level"] is None
    assert mp.get(f"/students/{student.id}/points").json["level"] is None


def test_mall_lists_goods_above_the_level_as_locked(family, levels_on, make_goods):
    mp, student = family(balance=120)
    make_goods(name="铅笔")
    for_level_2, for_level_3 = make_goods(name="书包"), make_goods(name="台灯")
    for_level_2.min_level, for_level_3.min_level = 2, 3
    db.session.commit()
    goods = {g["name"]: (g["locked"], g["min_level"]) for g in mp.get("/mall", student_id=student.id).json["goods"]}
    assert goods == {"铅笔": (False, None), "书包": (False, 2), "台灯": (True, 3)}
    detail = mp.get(f"/mall/goods/{for_level_3.id}", student_id=student.id).json
    assert (detail["locked"], detail["min_level"]) == (True, 3)


def test_redeeming_locked_goods_is_refused_with_both_levels(family, levels_on, make_goods):
    mp, student = family(balance=120)
    goods = make_goods(points=30)
    goods.min_level = 3
    db.session.commit()
    response = mp.post("/redemptions", {"student_id": student.id, "goods_id": goods.id}, key="r1")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "level_too_low"
    assert response.json["error"]["details"] == {"required_level": 3, "student_level": 2}
    assert mp.get(f"/students/{student.id}/points").json["balance"] == 120


def test_with_levels_off_no_goods_are_locked(family, make_goods):
    mp, student = family(balance=120)
    goods = make_goods(points=30)
    goods.min_level = 3
    db.session.commit()
    assert mp.get("/mall", student_id=student.id).json["goods"][0]["locked"] is False
    assert mp.post("/redemptions", {"student_id": student.id, "goods_id": goods.id}, key="r2").status_code == 201


def test_signin_and_checkin_report_the_points_with_their_bonus(family, levels_on):
    mp, student = family(balance=600)  # level 3: +20 %
    update_settings({"signin": {"streak_points": [10]}})
    db.session.commit()
    assert mp.post(f"/students/{student.id}/signin", key="s").json["awarded"] == 12
    response = mp.post("/growth-records", {"student_id": student.id, "content": "练琴"}, key="g")
    assert response.json["awarded"] == 6  # 5 + floor(1.0)


def test_openapi_documents_level_and_locked(anonymous):
    schemas = anonymous.client.get("/api/openapi.json").json["components"]["schemas"]
    assert "level" in schemas["PointsOut"]["properties"] and "level" in schemas["StudentSummary"]["properties"]
    assert {"locked", "min_level"} <= set(schemas["GoodsOut"]["properties"])
    assert schemas["LevelOut"]["properties"]["next"]
