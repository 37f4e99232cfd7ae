"""The mini-program takes bodies by the same field rules and messages as the admin API (webkit.fields).

What a family would see: a growth record or a redemption with a control character in it is
refused with a 422 naming the field, and nothing is written (before, the mini-program stored it)."""

from sqlalchemy import func, select

from school_points.models import GrowthRecord
from school_points.platform.extensions import db


def _records():
    return db.session.scalar(select(func.count()).select_from(GrowthRecord))


def test_control_characters_are_refused_and_nothing_is_written(family):
    mp, student = family()
    response = mp.post("/growth-records", json={"student_id": student.id, "content": "今天\x07练字"})
    assert response.status_code == 422
    assert response.json["error"] == {
        "code": "validation_error",
        "message": "参数不正确",
        "details": {"content": ["不能包含控制字符"]},
    }
    assert _records() == 0
    # Newlines and tabs are text, not control characters to refuse.
    assert mp.post("/growth-records", json={"student_id": student.id, "content": "第一行\n\t第二行"}).status_code == 201


def test_missing_and_unknown_fields_speak_the_shared_messages(family):
    mp, _ = family()
    response = mp.post("/redemptions", json={"goods_id": 1, "colour": "red"})
    assert response.status_code == 422
    assert response.json["error"]["details"] == {"student_id": ["缺少必填字段"], "colour": ["不支持的字段"]}


def test_a_bool_is_not_a_number(family):
    mp, student = family()
    response = mp.post("/redemptions", json={"student_id": student.id, "goods_id": 1, "quantity": True})
    assert response.status_code == 422
    assert response.json["error"]["details"] == {"quantity": ["必须是整数"]}
