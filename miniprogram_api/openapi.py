"""The OpenAPI 3 document of the mini-program API, built from the views' `api` declarations and the
marshmallow schemas, and a self-contained HTML page that renders it (no CDN: the page must work on a
closed network).
"""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify
from werkzeug.routing import IntegerConverter

from . import docs_bp, schemas
from .docs_page import render_docs

PREFIX = "miniprogram_api."
MESSAGES = {
    400: "请求体不是合法的 JSON 对象", 401: "未登录或 token 无效/过期/用户已停用", 403: "无权执行此操作",
    404: "资源不存在（包括不属于你的学员、订单、记录）", 409: "业务规则拒绝", 413: "请求内容过大",
    422: "参数校验失败，details 指出字段", 429: "操作过于频繁", 502: "微信服务不可用", 503: "依赖服务不可用",
}


@docs_bp.get("/openapi.json")
def openapi_json():
    return jsonify(app_spec(current_app))


@docs_bp.get("/docs")
def docs_html():
    return render_docs(app_spec(current_app))


def app_spec(app):
    """The app's document, built on first use and kept: routes and schemas do not change while it
    runs, and building it introspects every route (the two pages need no login)."""
    spec = app.extensions.get("miniprogram_openapi")
    if spec is None:
        spec = app.extensions["miniprogram_openapi"] = build_spec(app)
    return spec


def build_spec(app):
    """The OpenAPI document (a dict) for every route of the mini-program blueprint."""
    spec = APISpec(
        title="School Points 小程序 API", version="1.0.0", openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "校园积分小程序接口（docs/MINIPROGRAM_API.md）。"
                             "除登录外都需要 `Authorization: Bearer <token>`。"
                             "错误统一为 `{\"error\": {\"code\", \"message\", \"details\"}}`。"},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", schema=schemas.ErrorOut)
    paths = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith(PREFIX):
            continue
        doc = app.view_functions[rule.endpoint].api_doc
        path, parameters = _path_and_parameters(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule, doc, parameters)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def _path_and_parameters(rule):
    parameters = []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
        else:
            schema = {"type": "string", "maxLength": 64}
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), parameters


def _operation(rule, doc, path_parameters):
    operation = {
        "summary": doc["summary"], "operationId": rule.endpoint[len(PREFIX):], "tags": doc["tags"] or ["其他"],
        "parameters": list(path_parameters), "responses": _responses(rule, doc),
    }
    if doc["description"]:
        operation["description"] = doc["description"]
    if doc["auth"]:
        operation["security"] = [{"bearer": []}]
    else:
        operation["security"] = []
    if doc["query"] is not None:
        operation["parameters"].append({"in": "query", "schema": doc["query"]})
    if doc["idempotent"]:
        operation["parameters"].append({
            "in": "header", "name": "Idempotency-Key", "required": False,
            "description": "同一个键和同样的请求体重复提交时返回第一次的结果；不同请求体 → 422 idempotency_key_reused",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
        })
    if doc["body"] is not None:
        operation["requestBody"] = {"required": True, "content": {doc["content_type"]: {"schema": doc["body"]}}}
    return operation


def _responses(rule, doc):
    success = {"description": "成功"}
    if doc["out"] is not None:
        success["content"] = {"application/json": {"schema": doc["out"]}}
    elif doc["content_type"].startswith("image/"):
        success["content"] = {doc["content_type"]: {"schema": {"type": "string", "format": "binary"}}}
    responses = {str(doc["status"]): success}
    for status, codes in sorted(_error_codes(rule, doc).items()):
        responses[str(status)] = {
            "description": f"{MESSAGES.get(status, '错误')}：{', '.join(sorted(codes))}",
            "content": {"application/json": {"schema": "Error"}},
        }
    return responses


def _error_codes(rule, doc):
    """Every error status this route can answer, with its codes."""
    errors = {status: set(codes) for status, codes in doc["errors"].items()}

    def add(status, *codes):
        errors.setdefault(status, set()).update(codes)

    if doc["auth"]:
        add(401, "unauthorized")
    if doc["auth"] == "teacher":
        add(403, "not_a_teacher")
    if rule.arguments:
        add(404, "not_found")
    if doc["body"] is not None:
        add(422, "validation_error")
        add(413, "payload_too_large")
        if doc["content_type"] == "application/json":
            add(400, "malformed_json")
    if doc["query"] is not None:
        add(422, "validation_error")
    if _names_an_owned_id(doc):
        add(404, "not_found")
    if doc["idempotent"]:
        add(422, "idempotency_key_reused")
        add(409, "request_in_progress")
    return errors


def _names_an_owned_id(doc):
    """Bodies and queries that name a student, goods or order answer 404 for one the caller cannot reach."""
    fields = set()
    for schema in (doc["body"], doc["query"]):
        if schema is not None:
            fields.update(schema().fields)
    return bool(fields & {"student_id", "goods_id", "student_ids"})
