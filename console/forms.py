"""Forms: a submitted form loaded through a `staffkit` marshmallow schema (the same rules as the
admin API's JSON bodies), with each field's Chinese error kept for the template to show beside
the field (templates/console/macros/forms.html).

    form = Form(AdjustmentIn)                  # loads request.form (POST) through the schema
    if form.valid:
        try:
            adjust(..., form.data["delta"], form.data["reason"], ...)
        except DomainError as exc:
            form.fail_with(exc)                # the error's details land on their fields
    return render_template("...", form=form)  # {{ f.number(form, "delta", "积分") }}

A form carries text; the schema's fields want JSON types. So, per schema field: an integer field
takes "12" as 12 (anything else stays text, and the schema says 必须是整数); a boolean field is a
checkbox (present = true, absent = false); a list field takes every value of a repeated key; an
empty box of an optional field, or of a required field, counts as not filled in.
"""

import re

from flask import request
from marshmallow import ValidationError, fields

from webkit.api import schema

INTEGER = re.compile(r"[+-]?\d{1,18}")
# marshmallow's words for a field left out, as someone looking at a form would put it.
FORM_WORDS = {"缺少必填字段": "必填", "不能为空": "必填"}


class Form:
    """A form's values (`raw`, to show again), loaded `data` when valid, and `errors`
    ({field: [messages]}, `"_form"` for the form as a whole)."""

    def __init__(self, schema_class, formdata=None, *, load=None, only=None, partial=False, initial=None, data=None):
        """`formdata` defaults to request.form; `load` defaults to "the request is a POST";
        `only` limits the form to some of the schema's fields; `initial` fills the boxes of a form
        not yet submitted (an edit form); `data` loads a dict built by the view instead (nested
        documents such as the settings)."""
        self.schema = schema(schema_class)
        self.only = tuple(only) if only else None
        self.partial = partial
        self.raw = dict(initial or {})
        self.errors: dict[str, list[str]] = {}
        self.data = None
        if data is not None:
            self._load(data)
        elif load if load is not None else request.method == "POST":
            self._load(self._values(request.form if formdata is None else formdata))

    @property
    def valid(self):
        """Loaded, and nothing failed since."""
        return self.data is not None and not self.errors

    def value(self, name, default=""):
        """What the box of field `name` shows."""
        value = self.raw.get(name, default)
        return "" if value is None else value

    def error(self, name):
        """The first error of field `name` (or "_form"), or ""."""
        return (self.errors.get(name) or [""])[0]

    def fail(self, message, field="_form"):
        """Record an error found after loading (a domain rule, a wrong password)."""
        self.errors.setdefault(field, []).append(message)

    def fail_with(self, exc):
        """Record a DomainError: its details on the fields they name, else its message on the form."""
        placed = False
        for name, messages in (exc.details or {}).items():
            if name in self.schema.fields and isinstance(messages, list):
                for message in messages:
                    self.fail(FORM_WORDS.get(str(message), str(message)), name)
                placed = True
        if not placed:
            self.fail(exc.message)

    def _fields(self):
        for name, field in self.schema.fields.items():
            if field.dump_only or (self.only and name not in self.only):
                continue
            yield field.data_key or name, field

    def _values(self, formdata):
        values = {}
        for key, field in self._fields():
            if isinstance(field, fields.Boolean):
                checked = formdata.get(key, "") not in ("", "0", "false", "off")
                self.raw[key] = values[key] = checked
            elif isinstance(field, fields.List):
                items = [item for item in formdata.getlist(key) if item.strip() != ""]
                self.raw[key] = items
                if items or key in formdata:
                    values[key] = [_typed(field.inner, item) for item in items]
            elif key in formdata:
                text = formdata.get(key, "")
                self.raw[key] = text
                if text.strip() == "" and (field.required or not _takes_blank(field)):
                    continue  # an empty box: "not filled in", which a required field then names
                values[key] = _typed(field, text)
        return values

    def _load(self, values):
        try:
            self.data = self.schema.load(values, partial=self.partial)
        except ValidationError as exc:
            self.data = None
            for name, messages in _flat(exc.normalized_messages()):
                for message in messages:
                    self.fail(FORM_WORDS.get(message, message), name)


def _takes_blank(field):
    """Whether an optional field means something by "" (a description cleared); otherwise an empty
    box, such as a filter's 全部 or a blank 对象类型, is simply left out."""
    if not isinstance(field, fields.String):
        return False
    try:
        field.deserialize("")
    except ValidationError:
        return False
    return True


def _typed(field, text):
    if isinstance(field, fields.Integer) and INTEGER.fullmatch(text.strip()):
        return int(text.strip())
    return text


def _flat(messages, prefix=""):
    """marshmallow's nested messages as ("a.b.c", [messages]) pairs (list indexes included)."""
    if isinstance(messages, dict):
        for key, inner in messages.items():
            yield from _flat(inner, f"{prefix}{key}." if key != "_schema" or prefix else "_form.")
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        yield prefix.rstrip(".") or "_form", messages
    else:
        yield prefix.rstrip(".") or "_form", [str(messages)]
