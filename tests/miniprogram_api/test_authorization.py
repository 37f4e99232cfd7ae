"""Every route, called by every wrong role: no token → 401, not a teacher → 403, someone else's id → 404.

The table below must name every route of the blueprint (the first test checks), so a new route
cannot be added without saying who may call it.
"""

import pytest

from school_points.models import LedgerEntry, PointsAccount, Redemption
from school_points.platform.extensions import db
from tests.miniprogram_api.test_points_and_mall import _goods

# (method, path, who, request): who is public | user (any logged-in user) | guardian | teacher.
# {sid} {order} {record} {goods} {upload} are the victim family's objects.
ROUTES = [
    ("POST", "/auth/login", "public", {"json": {"code": "x"}}),
    ("POST", "/auth/logout", "user", {}),
    ("GET", "/ping-db", "public", {}),
    ("GET", "/uploads/{upload}", "public", {}),
    ("GET", "/me", "user", {}),
    ("POST", "/me/students", "user", {"json": {"bind_code": "ZZZZ2222"}}),
    ("DELETE", "/me/students/{sid}", "guardian", {}),
    ("PUT", "/me/default-student", "guardian", {"json": {"student_id": "{sid}"}}),
    ("POST", "/me/teacher", "user", {"json": {"invite_code": "ZZZZ2222"}}),
    ("POST", "/me/oa-link", "user", {}),
    ("GET", "/me/referral", "user", {}),
    ("POST", "/uploads", "user", {"data": {}}),
    ("GET", "/students/{sid}/points", "guardian", {}),
    ("GET", "/students/{sid}/points/history", "guardian", {}),
    ("POST", "/students/{sid}/signin", "guardian", {}),
    ("GET", "/mall", "guardian", {"query": {"student_id": "{sid}"}}),
    ("GET", "/mall/goods/{goods}", "guardian", {"query": {"student_id": "{sid}"}}),
    ("POST", "/redemptions", "guardian", {"json": {"student_id": "{sid}", "goods_id": "{goods}"}}),
    ("GET", "/redemptions", "guardian", {"query": {"student_id": "{sid}"}}),
    ("GET", "/redemptions/{order}", "guardian", {}),
    ("POST", "/redemptions/{order}/cancel", "guardian", {"json": {}}),
    ("POST", "/redemptions/{order}/confirm", "guardian", {"json": {"verify_code": "8888"}}),
    ("POST", "/growth-records", "guardian", {"json": {"student_id": "{sid}", "content": "x"}}),
    ("GET", "/growth-records", "guardian", {"query": {"student_id": "{sid}"}}),
    ("GET", "/growth-records/{record}", "user", {}),
    ("DELETE", "/growth-records/{record}", "guardian", {}),
    ("POST", "/growth-records/{record}/likes", "user", {}),
    ("POST", "/growth-records/{record}/shares", "guardian", {}),
    ("GET", "/teacher/classes", "teacher", {}),
    ("GET", "/teacher/behaviors", "teacher", {}),
    ("POST", "/teacher/evaluations", "teacher", {"json": {"student_ids": ["{sid}"], "behavior_id": 1}}),
    ("POST", "/teacher/redemptions/verify", "teacher", {"json": {"pickup_code": "{pickup}"}}),
    ("GET", "/teacher/redemptions", "teacher", {}),
]


def test_the_table_names_every_route(app):
    documented = {(m, p) for m, p, _, _ in ROUTES}
    actual = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("miniprogram_api."):
            path = rule.rule[len("/api/v1") :]
            for name in rule.arguments:
                path = path.replace(f"<int:{name}>", "{x}").replace(f"<{name}>", "{x}")
            actual |= {(m, path) for m in rule.methods - {"HEAD", "OPTIONS"}}
    normalised = {(m, _placeholders_to_x(p)) for m, p in documented}
    assert normalised == actual


def _placeholders_to_x(path):
    for name in ("sid", "order", "record", "goods", "upload"):
        path = path.replace("{" + name + "}", "{x}")
    return path


@pytest.fixture
def victim(family, uploaded):
    """A family with a student, an order, a growth record and an upload, and a snapshot of their state."""
    mp, student = family(balance=100)
    goods = _goods(points=10)
    order = mp.post("/redemptions", json={"student_id": student.id, "goods_id": goods.id}).json
    record = mp.post("/growth-records", json={"student_id": student.id, "content": "x"}).json["record"]
    upload = uploaded(mp).rsplit("/", 1)[1]
    return {
        "sid": student.id,
        "order": order["id"],
        "record": record["id"],
        "goods": goods.id,
        "upload": upload,
        "pickup": order["pickup_code"],
    }


def _fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        filled = ids[value[1:-1]]
        return filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _call(mp, method, path, request, ids):
    path = path.format(**dict(ids.items()))
    kwargs = {}
    if "json" in request:
        kwargs["json"] = _fill(request["json"], ids)
    if "data" in request:
        kwargs.update(data=request["data"], content_type="multipart/form-data")
    query = _fill(request.get("query", {}), ids)
    headers = {"Authorization": f"Bearer {mp.token}"} if mp.token else {}
    return mp.client.open("/api/v1" + path, method=method, headers=headers, query_string=query, **kwargs)


def _state():
    db.session.expire_all()
    return (
        db.session.query(LedgerEntry).count(),
        sorted((a.student_id, a.balance) for a in db.session.query(PointsAccount)),
        sorted((r.id, r.status) for r in db.session.query(Redemption)),
    )


def test_no_token_is_401_on_every_private_route(victim, anonymous):
    for method, path, who, request in ROUTES:
        if who == "public":
            continue
        response = _call(anonymous, method, path, request, victim)
        assert response.status_code == 401, (method, path, response.json)
        assert response.json["error"]["code"] == "unauthorized"


def test_another_family_gets_404_on_guardian_routes_and_403_on_teacher_routes(victim, family):
    other, _ = family(balance=50)
    before = _state()
    for method, path, who, request in ROUTES:
        if who not in ("guardian", "teacher"):
            continue
        response = _call(other, method, path, request, victim)
        expected = 404 if who == "guardian" else 403
        assert response.status_code == expected, (method, path, response.json)
    assert _state() == before


def test_a_teacher_gets_404_on_guardian_routes_of_students_they_teach(victim, teacher_of):
    from school_points.models import Student

    teacher_mp, _, _ = teacher_of([db.session.get(Student, victim["sid"])])
    before = _state()
    for method, path, who, request in ROUTES:
        if who != "guardian":
            continue
        response = _call(teacher_mp, method, path, request, victim)
        assert response.status_code == 404, (method, path, response.json)
    assert _state() == before


def test_a_teacher_of_another_class_cannot_evaluate_or_issue(victim, teacher_of, make_campus):
    campus = make_campus("分校")
    outsider, _, _ = teacher_of([], campus_id=campus.id)
    before = _state()
    evaluate = _call(outsider, "POST", "/teacher/evaluations", ROUTES[-3][3], victim)
    verify = _call(outsider, "POST", "/teacher/redemptions/verify", ROUTES[-2][3], victim)
    assert (evaluate.status_code, verify.status_code) == (403, 403)
    assert _call(outsider, "GET", "/teacher/redemptions", {}, victim).json["items"] == []
    assert _state() == before


def test_ids_that_cannot_exist_are_404_not_500(victim, family):
    mp, _ = family()
    for path in (
        "/students/0/points",
        f"/students/{2**63}/points",
        f"/redemptions/{2**40}",
        f"/growth-records/{2**31}",
        f"/mall/goods/{2**70}",
    ):
        assert mp.get(path).status_code == 404, path
