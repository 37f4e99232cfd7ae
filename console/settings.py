"""设置: the school's settings as a form, a section per part of the settings document.

The form is described by `SECTIONS` (labels and help text); what kind of box each entry gets and
how its text becomes a value comes from the staffkit schema itself (`SettingsIn`): an integer is a
number box, a boolean a checkbox, a string with fixed choices a drop-down, a list of integers a
comma-separated box, a list of objects a table of rows. The submitted form is rebuilt into the
settings document, validated by the same schema the API's PATCH uses (field errors keyed by the
dotted path, which is also each box's name) and saved through the same service
(`change_settings`: super admins only, audited). Adding a section of settings is one `Section`
block below.
"""

import re
from dataclasses import dataclass, field

from flask import render_template, request
from marshmallow import fields

from school_points.platform.extensions import db
from school_points.school.scoping import require_super
from school_points.school.settings import NOTIFICATION_FIELD_DEFAULTS, deep_merge, get_settings
from school_points.school.settings_changes import change_settings
from staffkit.schemas import SettingsIn
from webkit.api import schema

from . import bp
from .forms import INTEGER, Form
from .kit import done
from .session import staff_page

LIST_SEPARATORS = re.compile(r"[\s,，、;；]+")
BLANK_ROWS = 3  # empty rows under a table of rows (new behaviours)


@dataclass(frozen=True)
class Entry:
    """One box: `path` inside its section (dots go into objects and maps), its label and help."""

    path: str
    label: str
    hint: str = ""
    choices: tuple = ()  # (value, label) for a string with fixed choices
    columns: tuple = ()  # (name, label) for a table of rows
    wide: bool = False  # a textarea
    ids: bool = True  # a table of rows whose rows carry an `id` (behaviours; tiers do not)


@dataclass(frozen=True)
class Section:
    key: str  # the settings document's key ("" for top-level values)
    title: str
    help: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def name(self, entry) -> str:
        return f"{self.key}.{entry.path}" if self.key else entry.path


NOTIFICATION_NAMES = {
    "redeemed": "兑换成功",
    "issued": "礼品已发放",
    "cancelled": "兑换已取消",
    "points_awarded": "获得积分",
    "expiring": "积分即将过期",
    "level_up": "等级提升",
}
VALUE_LABELS = {
    "student": "学员姓名",
    "goods": "商品",
    "points": "积分",
    "balance": "余额",
    "time": "时间",
    "status": "状态",
    "remark": "备注",
    "level": "等级",
}


def _notification_section(kind, names) -> Section:
    return Section(
        f"notifications.{kind}",
        f"通知：{NOTIFICATION_NAMES.get(kind, kind)}",
        "公众号模板消息。模板 ID 在公众号后台「模板消息」中查看；右侧填模板里对应的关键词名（如 thing1、number3）。",
        (
            Entry("enabled", "发送此通知"),
            Entry("template_id", "模板 ID", "为空时不发送"),
            *(Entry(f"fields.{name}", f"{VALUE_LABELS.get(name, name)} → 关键词") for name in names),
        ),
    )


SECTIONS: tuple[Section, ...] = (
    Section(
        "",
        "积分价值",
        "用于报表把未使用的积分折算成金额。",
        (Entry("point_value_fen", "每积分价值（分）", "100 分 = 1 元；例如填 10 表示每积分 0.10 元"),),
    ),
    Section(
        "evaluation",
        "课堂评价",
        "老师在课堂上给学员加分：预设行为、自定义加分上限和每位老师每天的额度。",
        (
            Entry(
                "behaviors",
                "评价行为",
                "清空某行的名称和分值即可删除该行",
                columns=(("name", "名称"), ("points", "分值")),
            ),
            Entry("max_custom_points", "自定义加分上限", "老师自定义加分时一次最多加多少分"),
            Entry("teacher_daily_budget", "老师每日额度", "每位老师每天最多发出的积分，0 表示不能发放"),
        ),
    ),
    Section(
        "checkin",
        "打卡",
        "学员在公众号打卡获得积分。",
        (
            Entry("points", "每次打卡积分"),
            Entry("daily_count", "每天可打卡次数", "0 表示关闭打卡"),
        ),
    ),
    Section(
        "like",
        "点赞",
        "家长给作品点赞时学员获得积分。",
        (Entry("points", "每个赞的积分"), Entry("daily_cap", "每天点赞积分上限")),
    ),
    Section(
        "share",
        "分享",
        "家长分享时学员获得积分。",
        (Entry("points", "每次分享积分", "0 表示不奖励"), Entry("daily_cap", "每天分享积分上限")),
    ),
    Section(
        "referral",
        "推荐",
        "老学员推荐新学员报名。",
        (Entry("referrer_points", "推荐人获得积分"), Entry("welcome_points", "新学员欢迎积分")),
    ),
    Section(
        "signin",
        "连续签到",
        "按连续签到的天数给分，超过列出的天数后按最后一天计。",
        (Entry("streak_points", "第 1、2、3… 天的积分", "用逗号分隔，例如 1, 1, 2, 2, 3, 3, 5（最多 31 天）"),),
    ),
    Section(
        "birthday",
        "生日",
        "学员生日当天自动发放。",
        (
            Entry("points", "生日积分", "0 表示不发放"),
            Entry("double_on_birthday", "生日当天积分翻倍", "打卡、签到、点赞、分享所得积分在学员生日当天翻倍"),
        ),
    ),
    Section(
        "expiry",
        "积分过期",
        "到期未使用的积分自动清零；提前提醒家长。",
        (
            Entry(
                "policy",
                "过期规则",
                choices=(("none", "永不过期"), ("rolling", "获得后满若干个月过期"), ("year_end", "每年年底清零")),
            ),
            Entry("months", "有效月数", "规则为「获得后满若干个月过期」时使用"),
            Entry("remind_days", "提前提醒天数", "0 表示不提醒"),
        ),
    ),
    Section(
        "mall",
        "积分商城",
        "家长在小程序里看到的商城。",
        (
            Entry("open", "商城开放", "关闭后家长不能下单"),
            Entry("notice", "商城公告", "显示在商城顶部，最多 500 字", wide=True),
            Entry("poster_url", "海报图片地址", "http(s):// 开头的地址，或以 / 开头的站内路径"),
        ),
    ),
    Section(
        "levels",
        "会员等级",
        "按学员的累计积分（只增不减）划分等级；等级越高，打卡、签到、点赞、分享所得积分加成越多，"
        "部分商品可设置等级要求。修改等级规则后，所有学员的等级立即按新规则计算。",
        (
            Entry("enabled", "开启会员等级", "关闭后学员没有等级，商品的等级要求也不生效"),
            Entry(
                "tiers",
                "等级",
                "2 到 10 级，等级从 1 开始依次编号；第 1 级门槛为 0，门槛逐级递增；清空某行即可删除该行",
                columns=(("level", "等级"), ("name", "名称"), ("min_lifetime", "累计积分门槛")),
                ids=False,
            ),
            Entry(
                "earn_bonus_pct",
                "各等级积分加成",
                "打卡、签到、点赞、分享所得积分按等级额外增加的百分比（0–100）；未列出的等级为 0",
                columns=(("key", "等级"), ("value", "加成（%）")),
            ),
        ),
    ),
    *(_notification_section(kind, names) for kind, names in NOTIFICATION_FIELD_DEFAULTS.items()),
    Section(
        "privacy",
        "隐私",
        "归档学员的数据保留多久。",
        (Entry("erase_archived_after_days", "归档多少天后删除学员数据", "0 表示不自动删除，最多 3650 天"),),
    ),
)


# ------------------------------------------------------------------ the schema field behind a box


def schema_field(path):
    """The marshmallow field of a dotted settings path (a map's key names its value field)."""
    current = schema(SettingsIn)
    found = None
    for part in path.split("."):
        if isinstance(found, fields.Dict):
            found = found.value_field
            continue
        if found is not None:
            current = found.schema
        found = next(f for n, f in current.fields.items() if (f.data_key or n) == part)
    return found


def widget(path) -> str:
    """number | checkbox | select | text | int_list | rows."""
    found = schema_field(path)
    if isinstance(found, fields.Integer):
        return "number"
    if isinstance(found, fields.Boolean):
        return "checkbox"
    if isinstance(found, fields.List):
        return "rows" if isinstance(found.inner, fields.Nested) else "int_list"
    if isinstance(found, fields.Dict):
        return "map"
    return "text"


def _get(document, path):
    for part in path.split("."):
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document


def _put(document, path, value):
    *parents, last = path.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    document[last] = value


def _number(text):
    text = text.strip()
    if text == "":
        return None  # the schema says 必填 (never null)
    return int(text) if INTEGER.fullmatch(text) else text


# ------------------------------------------------------------------ form <-> document


def boxes(settings) -> dict:
    """What each box shows for a settings document (an edit form's initial values)."""
    raw = {}
    for section in SECTIONS:
        for entry in section.entries:
            name = section.name(entry)
            value = _get(settings, name)
            kind = widget(name)
            if kind == "int_list":
                raw[name] = ", ".join(str(v) for v in value or [])
            elif kind == "rows":
                for i, row in enumerate(value or []):
                    for key in ("id", *(c for c, _ in entry.columns)) if entry.ids else (c for c, _ in entry.columns):
                        raw[f"{name}.{i}.{key}"] = row.get(key, "")
                raw[f"{name}.count"] = len(value or [])
            elif kind == "map":
                shown = sorted(((k, v) for k, v in (value or {}).items() if v), key=lambda kv: _sort_key(kv[0]))
                (key_column, _), (value_column, _) = entry.columns
                for i, (key, item) in enumerate(shown):
                    raw[f"{name}.{i}.{key_column}"], raw[f"{name}.{i}.{value_column}"] = key, item
                raw[f"{name}.count"] = len(shown)
            else:
                raw[name] = value
    return raw


def submitted(formdata):
    """The submitted form as (boxes as typed, the settings document, {row error key: box key})."""
    raw, document, renames = {}, {}, {}
    for section in SECTIONS:
        for entry in section.entries:
            name = section.name(entry)
            kind = widget(name)
            if kind == "checkbox":
                raw[name] = formdata.get(name, "") not in ("", "0", "false", "off")
                _put(document, name, raw[name])
            elif kind == "number":
                raw[name] = formdata.get(name, "")
                _put(document, name, _number(raw[name]))
            elif kind == "int_list":
                raw[name] = formdata.get(name, "")
                items = [item for item in LIST_SEPARATORS.split(raw[name]) if item]
                _put(document, name, [_number(item) for item in items])
            elif kind == "rows":
                _put(document, name, _rows(formdata, name, entry, raw, renames))
            elif kind == "map":
                _put(document, name, _map(formdata, name, entry, raw, renames))
            else:
                raw[name] = formdata.get(name, "")
                _put(document, name, raw[name])
    return raw, document, renames


def _shown_rows(formdata, name):
    try:
        return max(0, min(int(formdata.get(f"{name}.count", "0")), 200))
    except ValueError:
        return 0


def _sort_key(key):
    return (0, int(key)) if str(key).isdigit() else (1, str(key))


def _map(formdata, name, entry, raw, renames):
    """A map of integers from its (key, value) rows (`entry.columns` names both): an empty row is
    dropped; a stored key left out is saved as 0, so deleting a row clears its value (a PATCH
    merges maps, it would keep the old value)."""
    shown = _shown_rows(formdata, name)
    (key_column, _), (value_column, _) = entry.columns
    document = dict.fromkeys(_get(get_settings(), name) or {}, 0)
    for i in range(shown + BLANK_ROWS):
        key_text = formdata.get(f"{name}.{i}.{key_column}", "")
        value_text = formdata.get(f"{name}.{i}.{value_column}", "")
        raw[f"{name}.{i}.{key_column}"], raw[f"{name}.{i}.{value_column}"] = key_text, value_text
        if key_text.strip() == "" and value_text.strip() == "":
            continue
        key = key_text.strip()
        key = str(int(key)) if key.isdigit() else key
        document[key] = _number(value_text)
        renames[f"{name}.{key}.key"] = f"{name}.{i}.{key_column}"
        renames[f"{name}.{key}.value"] = f"{name}.{i}.{value_column}"
    raw[f"{name}.count"] = shown
    return document


def _rows(formdata, name, entry, raw, renames):
    """The rows of a table: a row left empty is dropped; a new row gets the next free id
    (when the rows carry ids)."""
    shown = _shown_rows(formdata, name)
    count = shown + BLANK_ROWS
    rows, used = [], set()
    for i in range(count):
        cells = {key: formdata.get(f"{name}.{i}.{key}", "") for key, _ in entry.columns}
        row_id = formdata.get(f"{name}.{i}.id", "")
        raw.update({f"{name}.{i}.{key}": text for key, text in cells.items()})
        raw[f"{name}.{i}.id"] = row_id
        if all(text.strip() == "" for text in cells.values()):
            continue
        row = {key: _typed_cell(f"{name}.{key}", text) for key, text in cells.items()}
        if entry.ids:
            row["id"] = int(row_id) if row_id.isdigit() and int(row_id) not in used else None
            if row["id"] is not None:
                used.add(row["id"])
        for key, _ in entry.columns:
            renames[f"{name}.{len(rows)}.{key}"] = f"{name}.{i}.{key}"
        rows.append(row)
    next_id = max(used, default=0) + 1
    for row in rows if entry.ids else ():
        if row["id"] is None:
            row["id"], next_id = next_id, next_id + 1
    raw[f"{name}.count"] = shown
    return rows


def _typed_cell(path, text):
    inner = schema_field(path.rsplit(".", 1)[0]).inner.schema.fields[path.rsplit(".", 1)[1]]
    return _number(text) if isinstance(inner, fields.Integer) else text


def settings_form(formdata) -> Form:
    """The submitted settings, loaded through SettingsIn; each error on the box it is about."""
    raw, document, renames = submitted(formdata)
    form = Form(SettingsIn, initial=raw, data=document)
    if form.valid:  # the stored document with this patch must hold as a whole, as the API checks
        whole = Form(SettingsIn, data=deep_merge(get_settings(), form.data))
        form.errors.update(whole.errors)
    form.errors = _placed(form.errors, raw, renames)
    return form


def _placed(errors, raw, renames):
    """Errors moved onto a box that exists: a row's by its row on the page, a map value's
    ("fields.student.value") onto the map's box, anything else onto the nearest box or the form."""
    placed = {}
    for key, messages in errors.items():
        target = renames.get(key, key)
        while target not in raw and "." in target and not any(k.startswith(target + ".") for k in raw):
            target = target.rsplit(".", 1)[0]  # up to a box, or to a table of rows (its own error)
        if target not in raw and target != "_form":
            target = target if any(k.startswith(target + ".") for k in raw) else "_form"
        placed.setdefault(target, []).extend(messages)
    return placed


# ------------------------------------------------------------------ views


@bp.get("/settings")
@staff_page
def settings_page(staff):
    form = Form(SettingsIn, initial=boxes(get_settings()), load=False)
    return _page(staff, form)


@bp.post("/settings")
@staff_page
def save_settings(staff):
    require_super(staff.scope, "只有总管理员可以修改学校设置")  # as change_settings does: the 403 page
    form = settings_form(request.form)
    if form.valid:
        change_settings(form.data, scope=staff.scope, actor=staff.actor)  # Forbidden → 403 page
        db.session.commit()
        return done("设置已保存", "console.settings_page")
    if "_form" not in form.errors:
        form.fail("有些设置填写有误，请查看标红的项目")
    return _page(staff, form, 422)


def _page(staff, form, status=200):
    return render_template(
        "console/settings/form.html",
        form=form,
        sections=SECTIONS,
        widget=widget,
        blank_rows=BLANK_ROWS,
        editable=staff.is_super,
    ), status
