"""The one marshmallow field set of every JSON adapter: JSON types taken at their word, one set of
Chinese messages, and the stricter rule wherever the adapters used to differ.

- `Int` is a JSON integer: `true`, `5.0` and `"5"` are refused (422 naming the field).
  Query strings carry text, so their numbers use `QueryInt` ("12" → 12).
- `Str` refuses control characters (NUL included: PostgreSQL cannot store it; the others are
  never meant in a name, a note or a code; tab, newline and carriage return are allowed) and is
  stripped of surrounding whitespace unless `strip=False` (passwords).
- `StrictSchema` refuses unknown keys (marshmallow's default, stated here with its message).
"""

import copy
import re

from marshmallow import RAISE, Schema, ValidationError, fields, validate

MAX_ID = 2**31 - 1  # PostgreSQL int4: the largest id a row can have
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
COMMON = {"required": "缺少必填字段", "null": "不能为空", "validator_failed": "取值无效"}
INT_MESSAGES = {**COMMON, "invalid": "必须是整数", "too_large": "数值过大"}


class Int(fields.Integer):
    """A JSON integer (never a bool, a float or a string of digits)."""

    default_error_messages = INT_MESSAGES

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._validated(value)


class QueryInt(fields.Integer):
    """An integer from the query string ("12"), as marshmallow reads numbers from text."""

    default_error_messages = INT_MESSAGES


class Bool(fields.Boolean):
    """A JSON true/false."""

    default_error_messages = {**COMMON, "invalid": "必须是 true 或 false"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Str(fields.String):
    """A JSON string without control characters, stripped unless `strip=False`."""

    default_error_messages = {
        **COMMON,
        "invalid": "必须是字符串",
        "invalid_utf8": "必须是 UTF-8 字符串",
        "control": "不能包含控制字符",
    }

    def __init__(self, *, strip=True, **kwargs):
        super().__init__(**kwargs)
        self.strip = strip

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if CONTROL_CHARS.search(value):
            raise self.make_error("control")
        return value.strip() if self.strip else value


class Date(fields.Date):
    """A date as YYYY-MM-DD."""

    default_error_messages = {**COMMON, "invalid": "必须是 YYYY-MM-DD 格式的日期", "format": "无法格式化日期"}


class List(fields.List):
    default_error_messages = {**COMMON, "invalid": "必须是数组"}


class Nested(fields.Nested):
    default_error_messages = {**COMMON, "type": "必须是对象"}


class Dict(fields.Dict):
    default_error_messages = {**COMMON, "invalid": "必须是对象"}


def int_range(low, high):
    """A Range validator with a Chinese message."""
    return validate.Range(min=low, max=high, error=f"必须在 {low} 到 {high} 之间")


def length(low=None, high=None):
    """A Length validator with a Chinese message (`length(high=200)`: at most 200)."""
    if low is None:
        return validate.Length(max=high, error=f"长度不能超过 {high}")
    return validate.Length(min=low, max=high, error=f"长度必须在 {low} 到 {high} 之间")


def one_of(choices):
    """A OneOf validator with a Chinese message."""
    return validate.OneOf(choices, error=f"必须是以下之一: {', '.join(map(str, choices))}")


def id_field(**kwargs):
    """A row id in a JSON body: a positive 32-bit integer."""
    return Int(validate=int_range(1, MAX_ID), **kwargs)


def query_id(**kwargs):
    """A row id in a query string."""
    return QueryInt(validate=int_range(1, MAX_ID), **kwargs)


def id_list(**kwargs):
    """A list of row ids, at most 500 and without repeats."""
    return List(id_field(), validate=[length(0, 500), no_repeats], **kwargs)


def no_repeats(values):
    if len(values) != len(set(values)):
        raise ValidationError("不能有重复的 id")


class StrictSchema(Schema):
    """Request bodies and query strings: unknown keys are refused (422 naming them)."""

    error_messages = {"unknown": "不支持的字段", "type": "必须是 JSON 对象"}

    class Meta:
        unknown = RAISE


class PageQuery(StrictSchema):
    """`limit` and `cursor` of every list; webkit.pagination reads them."""

    limit = QueryInt(load_default=20, validate=int_range(1, 100))
    cursor = Str(load_default=None, validate=length(high=200))


# ---------------------------------------------------------------- the error shape, for documents


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "snake_case error code"})
    message = fields.String(required=True, metadata={"description": "中文说明"})
    details = fields.Dict(required=True)


class ErrorOut(Schema):
    error = fields.Nested(ErrorBody, required=True)


def page_of(item_schema, name):
    """The output schema of a list page of `item_schema`, named `name` in documents."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(required=True, allow_none=True),
        },
        name=name,
    )


def optional(schema_class, name):
    """`schema_class` with every field optional: what a PATCH takes (loaded with partial=True),
    documented as such; validators and options are inherited."""
    overrides = {}
    for field_name, field in schema_class._declared_fields.items():
        overrides[field_name] = copy.copy(field)
        overrides[field_name].required = False
    return type(name, (schema_class,), overrides)
