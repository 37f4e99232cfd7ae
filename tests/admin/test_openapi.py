"""The admin API's OpenAPI document (/api/admin/openapi.json) and docs page (/api/admin/docs):
valid, complete, and true to what the routes answer. A staff developer reads the page or feeds the
document to a client generator instead of reading the code."""

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from tests.admin.test_redemptions import place

PREFIX = "/api/admin/v1"


def _spec(client):
    response = client.get("/api/admin/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_document_is_valid_openapi_3_with_the_bearer_scheme(client):
    spec = _spec(client)
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["info"]["title"] == "School Points 管理后台 API"


def test_every_admin_route_is_declared_and_documented_with_its_methods(app, client):
    paths = _spec(client)["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        assert hasattr(app.view_functions[rule.endpoint], "api_doc"), rule.endpoint
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert path in paths, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            assert operation["summary"] and operation["responses"]


def test_statuses_follow_from_each_declaration(client):
    paths = _spec(client)["paths"]
    for path, operations in paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "503" in responses, (method, path)
            if path == f"{PREFIX}/auth/login":
                assert operation["security"] == [] and {"401", "429", "422", "400"} <= set(responses)
                continue
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert "401" in responses, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= set(responses), (method, path)
                if "application/json" in operation["requestBody"]["content"]:  # not a multipart upload
                    assert "400" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
    assert "403" in paths[f"{PREFIX}/settings"]["patch"]["responses"]
    assert "super_admin_required" in paths[f"{PREFIX}/campuses"]["post"]["responses"]["403"]["description"]
    assert (
        "insufficient_points"
        in paths[f"{PREFIX}/students/{{student_id}}/adjustments"]["post"]["responses"]["409"]["description"]
    )
    issue = paths[f"{PREFIX}/redemptions/{{order_id}}/issue"]["post"]
    assert {"409", "422"} <= set(issue["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in issue["parameters"])
    assert set(paths[f"{PREFIX}/auth/logout"]["post"]["responses"]) == {"204", "401", "503"}


def test_a_patch_documents_every_field_as_optional(client):
    schemas = _spec(client)["components"]["schemas"]
    assert "name" in schemas["GoodsIn"]["required"]
    assert "required" not in schemas["GoodsPatch"]


def test_the_docs_page_renders_every_path_with_its_own_stylesheet(client):
    page = client.get("/api/admin/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.data.decode()
    for path in _spec(client)["paths"]:
        assert path in html
    assert 'href="/api/admin/openapi.json"' in html and 'href="/api/admin/docs.css"' in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert client.get("/api/admin/docs.css").mimetype == "text/css"


def _check(spec, path, method, response, status=None):
    """The response's status is documented and its body matches the documented schema."""
    if status is not None:
        assert response.status_code == status, response.json
    documented = spec["paths"][PREFIX + path][method]["responses"]
    assert str(response.status_code) in documented, (path, response.status_code, response.json)
    content = documented[str(response.status_code)].get("content")
    if content is None:
        assert not response.data
        return
    schema = content["application/json"]["schema"]
    OAS30Validator({**schema, "components": spec["components"]}).validate(response.json)


@pytest.fixture
def family_order(make_student, make_goods):
    """A pending order, as a family places it in the mini-program."""
    return place(make_student(balance=100), make_goods(points=10)).id


def test_real_responses_match_their_documented_schemas(client, api, fresh_api, campus, make_student, make_goods):
    spec = _spec(client)
    student = make_student(balance=100)
    goods = make_goods(points=10, campus_id=campus.id)
    sid, gid, cid = student.id, goods.id, campus.id
    _check(spec, "/auth/login", "post", fresh_api.post("/auth/login", {"username": "boss", "password": "x"}), 401)
    _check(spec, "/auth/login", "post", fresh_api.post("/auth/login", {"username": "boss"}), 422)
    _check(spec, "/settings", "get", api.get("/settings"), 200)
    _check(spec, "/settings", "patch", api.patch("/settings", {"like": {"points": 2}}), 200)
    _check(spec, "/campuses", "get", api.get("/campuses"), 200)
    _check(spec, "/campuses", "post", api.post("/campuses", {"name": "东校区"}), 201)
    _check(spec, "/campuses", "post", api.post("/campuses", {"name": "东校区"}), 409)
    klass = api.post("/classes", {"name": "一班", "campus_id": cid, "student_ids": [sid]})
    _check(spec, "/classes", "post", klass, 201)
    _check(spec, "/classes", "get", api.get("/classes", campus_id=cid), 200)
    _check(spec, "/classes", "get", api.get("/classes", campus_id=99999), 404)
    _check(spec, "/classes/{class_id}", "get", api.get(f"/classes/{klass.json['id']}"), 200)
    _check(spec, "/classes/{class_id}", "patch", api.patch(f"/classes/{klass.json['id']}", {"name": "二班"}), 200)
    _check(spec, "/students", "get", api.get("/students", q="王"), 200)
    _check(spec, "/students", "post", api.post("/students", {"name": "李小红", "campus_id": cid}), 201)
    _check(spec, "/students/{student_id}", "get", api.get(f"/students/{sid}"), 200)
    _check(spec, "/students/{student_id}", "get", api.get("/students/99999"), 404)
    _check(spec, "/students/{student_id}", "patch", api.patch(f"/students/{sid}", {"birthday": None}), 200)
    _check(spec, "/students/{student_id}/bind-code", "post", api.post(f"/students/{sid}/bind-code"), 201)
    _check(
        spec,
        "/students/{student_id}/adjustments",
        "post",
        api.post(f"/students/{sid}/adjustments", {"delta": 5, "reason": "奖励"}),
        201,
    )
    _check(
        spec,
        "/students/{student_id}/adjustments",
        "post",
        api.post(f"/students/{sid}/adjustments", {"delta": -999999, "reason": "扣"}),
        409,
    )
    _check(spec, "/students/{student_id}/points/history", "get", api.get(f"/students/{sid}/points/history"), 200)
    teacher = api.post("/teachers", {"name": "李老师", "campus_id": cid})
    _check(spec, "/teachers", "post", teacher, 201)
    _check(spec, "/teachers", "get", api.get("/teachers"), 200)
    _check(spec, "/teachers/{teacher_id}", "get", api.get(f"/teachers/{teacher.json['id']}"), 200)
    tid = teacher.json["id"]
    _check(spec, "/teachers/{teacher_id}", "patch", api.patch(f"/teachers/{tid}", {"active": False}), 200)
    _check(
        spec, "/teachers/{teacher_id}/invite-code", "post", api.post(f"/teachers/{teacher.json['id']}/invite-code"), 201
    )
    _check(spec, "/goods", "post", api.post("/goods", {"name": "橡皮", "points": 3, "verify_code": "1234"}), 201)
    _check(spec, "/goods", "post", api.post("/goods", {"name": "橡皮", "points": True, "verify_code": "1"}), 422)
    _check(spec, "/goods", "get", api.get("/goods", on_shelf="true"), 200)
    _check(spec, "/goods/{goods_id}", "get", api.get(f"/goods/{gid}"), 200)
    _check(spec, "/goods/{goods_id}", "patch", api.patch(f"/goods/{gid}", {"stock": 20}), 200)
    _check(spec, "/goods/{goods_id}", "delete", api.delete(f"/goods/{gid}"), 200)
    _check(spec, "/redemptions", "get", api.get("/redemptions", status="pending"), 200)
    _check(spec, "/redemptions/{order_id}", "get", api.get("/redemptions/5"), 404)
    _check(spec, "/redemptions/{order_id}/issue", "post", api.post("/redemptions/5/issue"), 404)
    _check(spec, "/redemptions/{order_id}/cancel", "post", api.post("/redemptions/5/cancel", {"reason": "x"}), 404)
    _check(spec, "/reports/summary", "get", api.get("/reports/summary"), 200)
    _check(spec, "/audit-log", "get", api.get("/audit-log"), 200)
    _check(spec, "/settings", "get", fresh_api.get("/settings"), 401)
    _check(spec, "/auth/logout", "post", api.post("/auth/logout"), 204)


def test_orders_answer_as_documented(client, api, family_order):
    spec = _spec(client)
    order_id = family_order
    _check(spec, "/redemptions", "get", api.get("/redemptions"), 200)
    _check(spec, "/redemptions/{order_id}", "get", api.get(f"/redemptions/{order_id}"), 200)
    _check(spec, "/redemptions/{order_id}/issue", "post", api.post(f"/redemptions/{order_id}/issue"), 200)
    _check(spec, "/redemptions/{order_id}/issue", "post", api.post(f"/redemptions/{order_id}/issue"), 409)
    _check(spec, "/redemptions/{order_id}/cancel", "post", api.post(f"/redemptions/{order_id}/cancel", {}), 409)
