"""marshmallow fields that take JSON types at their word and speak Chinese.

JSON `true` is not the integer 1, `"5"` is not 5 and `5.0` is not a count of points: the admin
API rejects all of them with a 422 naming the field.
"""
import re

from marshmallow import Schema, ValidationError, fields, validate

CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
COMMON = {"required": "必填", "null": "不能为空", "validator_failed": "取值无效"}


class StrictInt(fields.Integer):
    """A JSON integer (never a bool, a float or a string of digits)."""

    default_error_messages = {**COMMON, "invalid": "必须是整数", "too_large": "数值过大"}

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictBool(fields.Boolean):
    """A JSON true/false."""

    default_error_messages = {**COMMON, "invalid": "必须是 true 或 false"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Str(fields.String):
    """A JSON string, stripped of surrounding whitespace unless `strip=False` (passwords)."""

    default_error_messages = {
        **COMMON, "invalid": "必须是字符串", "invalid_utf8": "必须是 UTF-8 字符串", "control": "不能包含控制字符",
    }

    def __init__(self, *, strip=True, **kwargs):
        super().__init__(**kwargs)
        self.strip = strip

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        # PostgreSQL cannot store NUL at all; other control characters are never meant in names or notes.
        if CONTROL_CHARS.search(value):
            raise self.make_error("control")
        return value.strip() if self.strip else value


class QueryInt(fields.Integer):
    """An integer from the query string ("12"), as marshmallow reads numbers from text."""

    default_error_messages = {**COMMON, "invalid": "必须是整数", "too_large": "数值过大"}


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


def length(low, high):
    """A Length validator with a Chinese message."""
    return validate.Length(min=low, max=high, error=f"长度必须在 {low} 到 {high} 之间")


def one_of(choices):
    """A OneOf validator with a Chinese message."""
    return validate.OneOf(choices, error=f"必须是以下之一: {', '.join(map(str, choices))}")


def id_field(**kwargs):
    """A row id: a positive 32-bit integer."""
    return StrictInt(validate=int_range(1, 2**31 - 1), **kwargs)


def id_list(**kwargs):
    """A list of row ids, at most 500 and without repeats."""
    return List(id_field(), validate=[length(0, 500), no_repeats], **kwargs)


def no_repeats(values):
    if len(values) != len(set(values)):
        raise ValidationError("不能有重复的 id")


class StrictSchema(Schema):
    """Unknown keys are rejected (422 naming them); messages in Chinese."""

    error_messages = {"unknown": "不支持的字段", "type": "必须是 JSON 对象"}
