"""The roster import: a school office's student list (.xlsx or CSV) in one request (docs/ROSTER_IMPORT.md)."""

from flask import g, request
from marshmallow import Schema, fields

from school_points.office import roster_import, tabular
from school_points.platform.errors import ValidationFailed
from webkit.api import load_query
from webkit.errors import ApiError
from webkit.fields import Str, StrictSchema, one_of
from webkit.responses import respond

from . import bp
from .kit import api


class RosterImportIn(Schema):
    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": ".xlsx，或 UTF-8 / GBK 编码的 .csv；≤ 5 MB"},
    )


class RosterImportQuery(StrictSchema):
    dry_run = Str(validate=one_of(("true", "false")), metadata={"description": "true：只检查并报告结果，不写入"})


class RosterImportError(Schema):
    row = fields.Integer(required=True, metadata={"description": "Excel 中看到的行号"})
    field = fields.String(required=True, metadata={"description": "列名：姓名、学号、校区、班级、生日"})
    message = fields.String(required=True)


class RosterImportOut(Schema):
    rows = fields.Integer(required=True, metadata={"description": "数据行数（不含表头和空行）"})
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    classes_created = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)
    written = fields.Boolean(required=True, metadata={"description": "false：有错误或 dry_run，没有写入任何数据"})
    errors = fields.List(fields.Nested(RosterImportError), required=True)


@bp.post("/students/import")
@api(
    "导入学员名单（.xlsx 或 .csv；有任何一行出错则全部不写入）",
    body=RosterImportIn,
    query=RosterImportQuery,
    out=RosterImportOut,
    idempotent=True,
    content_type="multipart/form-data",
    tags=["学员"],
    description="表头：姓名（必填）、学号、校区（学校只有一个校区时可省略）、班级（多个用逗号分隔）、生日。"
    "先按学号、再按姓名+校区+生日匹配已有学员。errors 非空时没有写入任何数据。"
    "每次最多 5000 行。详见 docs/ROSTER_IMPORT.md。",
    errors={
        409: ["import_conflict"],
        413: ["file_too_large", "payload_too_large"],
        422: ["unreadable_file", "roster_header_missing", "roster_empty", "too_many_rows", "no_campus"],
    },
)
def import_students():
    dry_run = load_query(RosterImportQuery).get("dry_run") == "true"
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed("请选择要导入的文件", details={"file": ["请选择要导入的 .xlsx 或 .csv 文件"]})
    data = upload.stream.read(tabular.MAX_FILE_BYTES + 1)
    try:
        summary = roster_import.import_roster(
            data, upload.filename or "", scope=g.scope, actor=g.actor, dry_run=dry_run
        )
    except tabular.FileTooLarge as exc:
        raise ApiError(413, exc.code, exc.message) from None
    return respond(summary)
