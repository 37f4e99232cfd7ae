"""Readable API docs rendered on the server from the OpenAPI document: one HTML page, no scripts, no CDN.

Its stylesheet is a static file served next to it (`docs.css`, webkit/static/), not an inline
<style>: HTML responses carry a Content-Security-Policy that allows styles and scripts from this
origin only (webkit/security_headers.py).
"""

from flask import render_template_string
from markupsafe import Markup, escape

TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ spec.info.title }}</title>
<link rel="stylesheet" href="{{ css_url }}"></head><body>
<h1>{{ spec.info.title }} <small class="muted">v{{ spec.info.version }}</small></h1>
<p>{{ spec.info.description }}</p>
<p>机器可读文档：<a href="{{ json_url }}"><code>{{ json_url }}</code></a>（OpenAPI {{ spec.openapi }}）</p>
<nav>{% for tag in tags %}<a href="#tag-{{ loop.index }}">{{ tag }}</a>{% endfor %}<a href="#schemas">数据结构</a></nav>
{% for tag in tags %}<h2 id="tag-{{ loop.index }}">{{ tag }}</h2>
{% for op in ops if op.tag == tag %}<div class="op" id="{{ op.id }}">
<p><span class="m {{ op.method }}">{{ op.method|upper }}</span><code>{{ op.path }}</code> — {{ op.summary }}
{% if not op.auth %}<span class="muted">（无需 token）</span>{% endif %}</p>
{% if op.description %}<p>{{ op.description }}</p>{% endif %}
{% if op.parameters %}<table><tr><th>参数</th><th>位置</th><th>类型</th><th>必填</th><th>说明</th></tr>
{% for p in op.parameters %}<tr><td><code>{{ p.name }}</code></td><td>{{ p['in'] }}</td><td>{{ type_of(p.schema) }}</td>
<td>{{ '是' if p.required else '' }}</td><td>{{ p.description or '' }}</td></tr>{% endfor %}</table>{% endif %}
{% if op.body %}<p>请求体 <code>{{ op.body[0] }}</code>：{{ link(op.body[1]) }}</p>{% endif %}
<table><tr><th>状态</th><th>说明</th><th>内容</th></tr>
{% for status, r in op.responses %}<tr><td>{{ status }}</td><td>{{ r.description }}</td>
<td>{% for ctype, c in (r.content or {}).items() %}<code>{{ ctype }}</code> {{ link(c.schema) }}{% endfor %}</td></tr>
{% endfor %}</table></div>{% endfor %}{% endfor %}
<h2 id="schemas">数据结构</h2>
{% for name, schema in schemas %}<h3 id="schema-{{ name }}">{{ name }}</h3>
<table><tr><th>字段</th><th>类型</th><th>必填</th><th>说明</th></tr>
{% for field, prop in (schema.properties or {}).items() %}<tr><td><code>{{ field }}</code></td>
<td>{{ link(prop) }}</td><td>{{ '是' if field in (schema.required or []) else '' }}</td>
<td>{{ describe(prop) }}</td></tr>{% endfor %}</table>{% endfor %}
</body></html>"""


def render_docs(spec, *, json_url, css_url):
    """The HTML page for an OpenAPI document served at `json_url`."""
    ops = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            body = None
            if "requestBody" in op:
                ctype, content = next(iter(op["requestBody"]["content"].items()))
                body = (ctype, content["schema"])
            ops.append(
                {
                    "id": op["operationId"],
                    "tag": op["tags"][0],
                    "method": method,
                    "path": path,
                    "summary": op["summary"],
                    "description": op.get("description", ""),
                    "auth": bool(op["security"]),
                    "parameters": op.get("parameters", []),
                    "body": body,
                    "responses": sorted(op["responses"].items()),
                }
            )
    tags = list(dict.fromkeys(op["tag"] for op in ops))
    return render_template_string(
        TEMPLATE,
        spec=spec,
        json_url=json_url,
        css_url=css_url,
        ops=ops,
        tags=tags,
        schemas=sorted(spec["components"]["schemas"].items()),
        type_of=_type_of,
        link=_link,
        describe=_describe,
    )


def _type_of(schema):
    if not schema:
        return ""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "object")
    if kind == "array":
        return f"{_type_of(schema.get('items', {}))}[]"
    if schema.get("nullable"):
        return f"{kind} | null"
    return kind


def _link(schema):
    name = _type_of(schema)
    target = schema.get("items", schema) if isinstance(schema, dict) else {}
    if isinstance(target, dict) and "$ref" in target:
        return Markup(f'<a href="#schema-{escape(target["$ref"].rsplit("/", 1)[-1])}">{escape(name)}</a>')
    return name


def _describe(prop):
    parts = []
    if prop.get("description"):
        parts.append(prop["description"])
    if "enum" in prop:
        parts.append("取值：" + " / ".join(map(str, prop["enum"])))
    for key, label in (("minimum", "最小"), ("maximum", "最大"), ("minLength", "最短"), ("maxLength", "最长")):
        if key in prop:
            parts.append(f"{label} {prop[key]}")
    if "default" in prop:
        parts.append(f"默认 {prop['default']}")
    return "；".join(parts)
