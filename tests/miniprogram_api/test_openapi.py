"""The OpenAPI document: valid, complete, and true to what the routes answer."""

from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from tests.miniprogram_api.test_points_and_mall import _goods


def _spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_document_is_valid_openapi_3(client):
    validate(_spec(client))


def test_every_route_is_documented_with_its_methods(app, client):
    paths = _spec(client)["paths"]
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("miniprogram_api."):
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        assert path in paths, path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            assert operation["summary"] and operation["responses"]


def test_private_routes_document_401_and_bodies_document_422(client):
    for path, operations in _spec(client)["paths"].items():
        for method, operation in operations.items():
            if operation["security"]:
                assert "401" in operation["responses"], (method, path)
            if "requestBody" in operation:
                assert "422" in operation["responses"], (method, path)


def test_the_docs_page_renders_every_path_without_external_resources(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.data.decode()
    for path in _spec(client)["paths"]:
        assert path in html
    assert "http://" not in html and "https://" not in html and "<script" not in html


def _check(spec, path, method, response):
    """The response's status is documented and its body matches the documented schema."""
    documented = spec["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (path, response.status_code, response.json)
    schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
    validator = OAS30Validator({**schema, "components": spec["components"]})
    validator.validate(response.json)


def test_real_responses_match_their_documented_schemas(client, family, login, teacher_of):
    spec = _spec(client)
    mp, student = family(balance=100)
    goods = _goods(points=10)
    sid = student.id
    _check(spec, "/api/v1/me", "get", mp.get("/me"))
    _check(spec, "/api/v1/me/referral", "get", mp.get("/me/referral"))
    _check(spec, "/api/v1/students/{sid}/points", "get", mp.get(f"/students/{sid}/points"))
    _check(spec, "/api/v1/students/{sid}/signin", "post", mp.post(f"/students/{sid}/signin"))
    _check(spec, "/api/v1/students/{sid}/signin", "post", mp.post(f"/students/{sid}/signin"))
    _check(spec, "/api/v1/students/{sid}/points/history", "get", mp.get(f"/students/{sid}/points/history"))
    _check(spec, "/api/v1/mall", "get", mp.get("/mall"))
    _check(spec, "/api/v1/mall/goods/{gid}", "get", mp.get(f"/mall/goods/{goods.id}"))
    order = mp.post("/redemptions", json={"student_id": sid, "goods_id": goods.id})
    _check(spec, "/api/v1/redemptions", "post", order)
    _check(spec, "/api/v1/redemptions", "get", mp.get("/redemptions"))
    _check(spec, "/api/v1/redemptions/{rid}", "get", mp.get(f"/redemptions/{order.json['id']}"))
    _check(
        spec,
        "/api/v1/redemptions/{rid}/confirm",
        "post",
        mp.post(f"/redemptions/{order.json['id']}/confirm", json={"verify_code": "0"}),
    )
    record = mp.post("/growth-records", json={"student_id": sid, "content": "x"})
    _check(spec, "/api/v1/growth-records", "post", record)
    _check(spec, "/api/v1/growth-records", "get", mp.get("/growth-records", student_id=sid))
    like = login().post(f"/growth-records/{record.json['record']['id']}/likes")
    _check(spec, "/api/v1/growth-records/{rid}/likes", "post", like)
    _check(spec, "/api/v1/redemptions", "post", mp.post("/redemptions", json={"student_id": "x"}))
    teacher, _, _ = teacher_of([student])
    _check(spec, "/api/v1/teacher/classes", "get", teacher.get("/teacher/classes"))
    _check(spec, "/api/v1/teacher/behaviors", "get", teacher.get("/teacher/behaviors"))
    _check(
        spec,
        "/api/v1/teacher/evaluations",
        "post",
        teacher.post("/teacher/evaluations", json={"student_ids": [sid], "points": 2}),
    )
    _check(spec, "/api/v1/teacher/redemptions", "get", teacher.get("/teacher/redemptions"))
    _check(spec, "/api/v1/ping-db", "get", client.get("/api/v1/ping-db"))


def test_logout_is_documented_with_its_bearer_token_and_204(client):
    operation = _spec(client)["paths"]["/api/v1/auth/logout"]["post"]
    assert operation["security"] == [{"bearer": []}]
    assert set(operation["responses"]) == {"204", "401", "503"}
    assert "幂等" in operation["description"]


def test_upload_and_media_refusals_are_documented(app, client, family, monkeypatch):
    import io

    from tests.miniprogram_api.conftest import PNG

    spec = _spec(client)
    mp, student = family()
    monkeypatch.setitem(app.config, "UPLOAD_DAILY_FILES", 1)

    def upload(data):
        return mp.post("/uploads", data={"file": (io.BytesIO(data), "a.png")}, content_type="multipart/form-data")

    _check(spec, "/api/v1/uploads", "post", upload(PNG))
    _check(spec, "/api/v1/uploads", "post", upload(PNG[:40]))  # 422 invalid_image
    quota = upload(PNG)
    assert quota.json["error"]["code"] == "upload_quota_exceeded"
    _check(spec, "/api/v1/uploads", "post", quota)  # 429
    assert "upload_quota_exceeded" in spec["paths"]["/api/v1/uploads"]["post"]["responses"]["429"]["description"]
    bad = mp.post("/growth-records", json={"student_id": student.id, "media": ["javascript:alert(1)"]})
    assert bad.json["error"]["code"] == "invalid_media"
    _check(spec, "/api/v1/growth-records", "post", bad)
    assert "invalid_media" in spec["paths"]["/api/v1/growth-records"]["post"]["responses"]["422"]["description"]
