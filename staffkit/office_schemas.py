"""Query strings of the office's downloads and daily report; the goods-image upload's form and answer."""

from marshmallow import Schema, ValidationError, fields, validates_schema

from school_points.models import ORDER_STATUSES
from school_points.office.daily_report import MAX_DAYS
from webkit.fields import Date, Str, StrictSchema, one_of, query_id

from .schemas import ReportQuery, report_day

FILE_FORMATS = ("xlsx", "csv")
TRUE_FALSE = ("true", "false")


def format_field(choices, default):
    """`?format=`: one of `choices`, `default` when left out."""
    return Str(load_default=default, validate=one_of(choices))


class LedgerExportQuery(ReportQuery):
    format = format_field(FILE_FORMATS, "xlsx")


class SummaryQuery(ReportQuery):
    format = format_field(("json", "xlsx"), "json")


class DailyQuery(ReportQuery):
    format = format_field(("json", *FILE_FORMATS), "json")

    @validates_schema
    def _at_most_a_year(self, data, **kwargs):
        if "from_" in data and "to" in data and (data["to"] - data["from_"]).days + 1 > MAX_DAYS:
            raise ValidationError(f"时间范围不能超过 {MAX_DAYS} 天", "from")


class RedemptionExportQuery(StrictSchema):
    status = Str(validate=one_of(ORDER_STATUSES))
    campus_id = query_id()
    student_id = query_id()
    goods_id = query_id()
    from_ = Date(data_key="from", validate=report_day)
    to = Date(validate=report_day)
    format = format_field(FILE_FORMATS, "xlsx")

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "from_" in data and "to" in data and data["from_"] > data["to"]:
            raise ValidationError("开始日期不能晚于结束日期", "from")


class RosterExportQuery(StrictSchema):
    campus_id = query_id()
    class_id = query_id()
    status = Str(validate=one_of(("active", "archived", "erased")))
    include_bind_codes = Str(load_default="false", validate=one_of(TRUE_FALSE))
    format = format_field(FILE_FORMATS, "xlsx")


class DayOut(Schema):
    date = fields.String(required=True, metadata={"format": "date"})
    issued = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    spent = fields.Integer(required=True)
    refunded = fields.Integer(required=True)
    expired = fields.Integer(required=True)


class DailyOut(Schema):
    """The daily report (docs/ADMIN_API.md, Exports and the daily report)."""

    from_ = fields.String(required=True, data_key="from")
    to = fields.String(required=True)
    campus_id = fields.Integer(allow_none=True, required=True)
    days = fields.List(fields.Nested(DayOut), required=True)


class UploadOut(Schema):
    url = fields.String(required=True)


class UploadIn(Schema):
    """A multipart form with one image under `file` (documentation only: the view reads the form)."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
