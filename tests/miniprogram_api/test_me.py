"""The user's own things: /me, binding students, default student, teacher invite, OA link, referral."""

from sqlalchemy import select

from school_points.models import Guardian, WechatUser
from school_points.people import account_links
from school_points.platform.extensions import db


def test_me_lists_students_with_balance_and_lifetime_points(family):
    mp, student = family(balance=40)
    body = mp.get("/me").json
    assert body["roles"] == ["guardian"]
    assert body["teacher"] is None
    assert body["referral_code"] == body["user"]["referral_code"]
    [summary] = body["students"]
    assert summary == {
        "id": student.id,
        "name": student.name,
        "campus_id": student.campus_id,
        "campus_name": "总校区",
        "relation": "妈妈",
        "balance": 40,
        "lifetime_points": 40,
        "level": None,  # levels are switched off by default
        "is_default": True,
    }


def test_binding_with_the_bind_code_adds_the_student(login, make_student):
    student = make_student(name="张小红")
    mp = login()
    response = mp.post("/me/students", json={"bind_code": student.bind_code, "relation": "爸爸"})
    assert response.status_code == 201
    assert (response.json["id"], response.json["relation"], response.json["is_default"]) == (student.id, "爸爸", True)
    assert [s["id"] for s in mp.get("/me").json["students"]] == [student.id]


def test_unknown_bind_code_is_404_bind_code_not_found(login):
    response = login().post("/me/students", json={"bind_code": "NOPE2345"})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "bind_code_not_found"


def test_bind_attempts_are_rate_limited(app, login):
    mp = login()
    app.config["MP_BIND_RATE_LIMIT"] = (2, 3600)
    try:
        statuses = [mp.post("/me/students", json={"bind_code": f"WRONG{i}"}).status_code for i in range(3)]
    finally:
        app.config.pop("MP_BIND_RATE_LIMIT")
    assert statuses == [404, 404, 429]


def test_unbinding_removes_the_student(family):
    mp, student = family()
    response = mp.delete(f"/me/students/{student.id}")
    assert response.status_code == 200
    assert response.json == {"student_id": student.id, "bound": False}
    assert mp.get("/me").json["students"] == []
    assert mp.get(f"/students/{student.id}/points").status_code == 404


def test_default_student_can_be_changed_to_another_own_student(family, make_student, make_guardian):
    mp, first = family()
    second = make_student(name="王小刚")
    make_guardian(second, user=mp.user)
    response = mp.put("/me/default-student", json={"student_id": second.id})
    assert response.status_code == 200 and response.json == {"default_student_id": second.id}
    defaults = {s["id"]: s["is_default"] for s in mp.get("/me").json["students"]}
    assert defaults == {first.id: False, second.id: True}


def test_default_student_must_be_ones_own(family, make_student):
    mp, _ = family()
    stranger = make_student(name="别人家")
    assert mp.put("/me/default-student", json={"student_id": stranger.id}).status_code == 404


def test_invite_code_makes_the_user_that_teacher_once(login, make_teacher, make_class):
    teacher = make_teacher(name="陈老师")
    make_class(name="三班", teachers=[teacher])
    code = teacher.invite_code
    mp = login()
    response = mp.post("/me/teacher", json={"invite_code": code})
    assert response.status_code == 200
    assert response.json["name"] == "陈老师" and [c["name"] for c in response.json["classes"]] == ["三班"]
    assert mp.get("/me").json["roles"] == ["teacher"]
    other = login()
    assert other.post("/me/teacher", json={"invite_code": code}).status_code == 404


def test_oa_link_gives_a_one_time_link_scene_with_a_qr_url(login, fake_wechat):
    mp = login()
    response = mp.post("/me/oa-link")
    assert response.status_code == 201
    scene = response.json["scene"]
    assert scene.startswith("link_") and len(scene) <= 64
    assert response.json["qr_url"].startswith("https://")
    assert response.json["expires_at"]
    [call] = fake_wechat.calls("/cgi-bin/qrcode/create")
    assert call.json["action_info"]["scene"]["scene_str"] == scene


def test_consuming_the_link_joins_the_official_account_follower(login, make_user, make_student, make_guardian):
    mp = login()
    scene = mp.post("/me/oa-link").json["scene"]
    follower = make_user(oa_openid="oa-55")
    follower.mp_openid = None
    db.session.commit()
    student = make_student()
    make_guardian(student, user=follower)
    user = account_links.consume_link(scene, "oa-55")
    db.session.commit()
    assert user.id == mp.user_id
    assert db.session.get(WechatUser, mp.user_id).oa_openid == "oa-55"
    assert db.session.scalars(select(Guardian.user_id)).all() == [mp.user_id]
    assert mp.get("/me").json["user"]["oa_linked"] is True


def test_a_link_works_once(login):
    mp = login()
    scene = mp.post("/me/oa-link").json["scene"]
    account_links.consume_link(scene, "oa-1")
    db.session.commit()
    assert account_links.consume_link(scene, "oa-1").id == mp.user_id  # WeChat's retry: same result
    try:
        account_links.consume_link(scene, "oa-2")
    except account_links.LinkNotFound:
        db.session.rollback()
    else:
        raise AssertionError("a used link joined a second account")


def test_referral_info_has_code_share_path_and_scene(login):
    body = login().get("/me/referral").json
    code = body["code"]
    assert body == {
        "code": code,
        "share_path": f"pages/index/index?ref={code}",
        "qr_scene": f"ref_{code}",
        "referred": 0,
        "rewarded": 0,
    }
