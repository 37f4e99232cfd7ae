"""OpenAPI 3 documents built from the views' `@api` declarations (webkit.api) and their marshmallow
schemas (apispec), and the blueprint that serves one: `/openapi.json`, `/docs` (webkit.docs_page)
and the page's stylesheet `/docs.css`.

The statuses a route can answer come from its declaration: what it says outright (`errors`) plus
what follows from it (a body → 400/413/422, an id in the path → 404, idempotent → 409/422, the
adapter's `auth_errors` for its kinds of `auth`, every route → 503 while the database is down).
"""

import re
from pathlib import Path

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify, send_from_directory, url_for
from werkzeug.routing import IntegerConverter

from webkit.docs_page import render_docs
from webkit.fields import MAX_ID, ErrorOut

STATIC_DIR = Path(__file__).parent / "static"
MESSAGES = {
    400: "请求体不是合法的 JSON 对象",
    401: "未登录或 token 无效/过期/已停用",
    403: "无权执行此操作",
    404: "资源不存在",
    409: "业务规则拒绝",
    413: "请求内容过大",
    422: "参数校验失败，details 指出字段",
    429: "操作过于频繁（Retry-After 说明等待秒数）",
    502: "微信服务不可用",
    503: "服务暂不可用（Retry-After 说明等待秒数）",
}


class ApiDocument:
    """How to document one adapter: which endpoints (by blueprint), title and description, and the
    error statuses its kinds of `auth` imply (`auth_errors(auth) -> {status: [codes]}`).
    `implied_errors(rule, doc) -> {status: [codes]}` adds the adapter's own rules."""

    def __init__(self, blueprint_name, *, title, description, auth_errors, implied_errors=None, version="1.0.0"):
        self.prefix = blueprint_name + "."
        self.title, self.description, self.version = title, description, version
        self.auth_errors = auth_errors
        self.implied_errors = implied_errors or (lambda rule, doc: {})

    def for_app(self, app):
        """The app's document, built on first use and kept: routes and schemas do not change while
        it runs, and building it introspects every route (the pages need no login)."""
        key = f"openapi:{self.prefix}"
        if key not in app.extensions:
            app.extensions[key] = self.build(app)
        return app.extensions[key]

    def build(self, app):
        """The OpenAPI document (a dict) for every route of the blueprint."""
        spec = APISpec(
            title=self.title,
            version=self.version,
            openapi_version="3.0.3",
            plugins=[MarshmallowPlugin()],
            info={"description": self.description},
        )
        spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
        spec.components.schema("Error", schema=ErrorOut)
        paths = {}
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if not rule.endpoint.startswith(self.prefix):
                continue
            view = app.view_functions[rule.endpoint]
            doc = getattr(view, "api_doc", None)
            if doc is None:
                raise LookupError(f"{rule.endpoint} has no @api declaration")
            path, parameters = _path_and_parameters(rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                paths.setdefault(path, {})[method.lower()] = self._operation(rule, doc, parameters)
        for path, operations in paths.items():
            spec.path(path=path, operations=operations)
        return spec.to_dict()

    def _operation(self, rule, doc, path_parameters):
        operation = {
            "summary": doc["summary"],
            "operationId": rule.endpoint[len(self.prefix) :],
            "tags": doc["tags"] or ["其他"],
            "parameters": list(path_parameters),
            "responses": self._responses(rule, doc),
            "security": [{"bearer": []}] if doc["auth"] else [],
        }
        if doc["description"]:
            operation["description"] = doc["description"]
        if doc["query"] is not None:
            operation["parameters"].append({"in": "query", "schema": doc["query"]})
        if doc["idempotent"]:
            operation["parameters"].append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "description": "同一个键和同样的请求体重复提交时返回第一次的结果；"
                    "不同请求体 → 422 idempotency_key_reused",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                }
            )
        if doc["body"] is not None:
            operation["requestBody"] = {"required": True, "content": {doc["content_type"]: {"schema": doc["body"]}}}
        return operation

    def _responses(self, rule, doc):
        success = {"description": "成功"}
        if doc["out"] is not None:
            success["content"] = {"application/json": {"schema": doc["out"]}}
        elif doc["content_type"].startswith("image/"):
            success["content"] = {doc["content_type"]: {"schema": {"type": "string", "format": "binary"}}}
        elif doc["content_type"] == "text/html":  # a page (printable sheets), not a JSON document
            success["content"] = {"text/html": {"schema": {"type": "string"}}}
        for media_type in doc.get("files", ()):  # a download: the file's bytes
            success.setdefault("content", {})[media_type] = {"schema": {"type": "string", "format": "binary"}}
        responses = {str(doc["status"]): success}
        for status, codes in sorted(self.error_codes(rule, doc).items()):
            responses[str(status)] = {
                "description": f"{MESSAGES.get(status, '错误')}：{', '.join(sorted(codes))}",
                "content": {"application/json": {"schema": "Error"}},
            }
        return responses

    def error_codes(self, rule, doc):
        """Every error status this route can answer, with its codes."""
        errors = {}

        def add(status, codes):
            errors.setdefault(status, set()).update(codes)

        for status, codes in doc["errors"].items():
            add(status, codes)
        if doc["auth"]:
            for status, codes in self.auth_errors(doc["auth"]).items():
                add(status, codes)
        if rule.arguments:
            add(404, ["not_found"])
        if doc["body"] is not None:
            add(422, ["validation_error"])
            add(413, ["payload_too_large"])
            if doc["content_type"] == "application/json":
                add(400, ["malformed_json"])
        if doc["query"] is not None:
            add(422, ["validation_error"])
        if doc["idempotent"]:
            add(422, ["idempotency_key_reused", "validation_error"])
            add(409, ["request_in_progress"])
        for status, codes in self.implied_errors(rule, doc).items():
            add(status, codes)
        add(503, ["service_unavailable"])  # any route, while the database is down
        return errors

    def blueprint(self, name):
        """A blueprint serving this document at /openapi.json and its page at /docs (+ /docs.css)."""
        bp = Blueprint(name, __name__)
        document = self

        @bp.get("/openapi.json")
        def openapi_json():
            return jsonify(document.for_app(current_app))

        @bp.get("/docs")
        def docs_html():
            return render_docs(
                document.for_app(current_app),
                json_url=url_for(f"{name}.openapi_json"),
                css_url=url_for(f"{name}.docs_css"),
            )

        @bp.get("/docs.css")
        def docs_css():
            """The docs page's stylesheet: a file, since the page's CSP allows no inline style."""
            return send_from_directory(STATIC_DIR, "docs.css", mimetype="text/css", max_age=3600)

        return bp


def _path_and_parameters(rule):
    parameters = []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
        else:
            schema = {"type": "string", "maxLength": 64}
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), parameters
