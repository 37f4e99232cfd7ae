"""A roster file's rows in the school's words: the header row found, each data row's cells read
into a name, a 学号, a campus name, class names and a birthday, with each cell's problem as the
office should read it (Chinese, with the row number Excel shows).

Nothing here touches the database: `roster_import` matches and writes.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from school_points.office.tabular import Table
from school_points.platform.clock import local_today
from school_points.platform.errors import ValidationFailed

MAX_ROWS = 5000
HEADER_SEARCH_ROWS = 20

# Column → the header texts that name it (after _header_text: no spaces, marks or hints).
HEADERS = {
    "name": ("姓名", "学员姓名", "学生姓名", "名字"),
    "student_no": ("学号", "学员编号", "学生编号"),
    "campus": ("校区", "所属校区", "校区名称"),
    "classes": ("班级", "所在班级", "班级名称"),
    "birthday": ("生日", "出生日期", "出生年月日"),
}
LABELS = {"name": "姓名", "student_no": "学号", "campus": "校区", "classes": "班级", "birthday": "生日"}
CLASS_SEPARATORS = re.compile(r"[,，、;；]")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SPACES = re.compile(r"[\s\u3000\u00a0]+")


class RosterRefused(ValidationFailed):
    """The file as a whole cannot be imported (no header, no rows, too many rows)."""

    def __init__(self, code, message) -> None:
        super().__init__(message, code=code, details={"file": [message]})


@dataclass
class RosterRow:
    """One data row as read: values are None where the cell was empty (or its column absent)."""

    number: int
    name: str | None = None
    student_no: str | None = None
    campus: str | None = None
    classes: list[str] = field(default_factory=list)
    birthday: date | None = None
    errors: list[dict] = field(default_factory=list)

    def error(self, column, message) -> None:
        """Note a problem with this row, naming the column as the office knows it."""
        self.errors.append({"row": self.number, "field": LABELS.get(column, column), "message": message})


@dataclass
class Roster:
    """The rows of the file, and which columns it has."""

    columns: set[str]
    rows: list[RosterRow]
    sheet: str


def read_roster(table: Table) -> Roster:
    """The first sheet with a header row (one naming 姓名 within its first rows), its data rows
    read; RosterRefused when no sheet has one, when no row has data, or past MAX_ROWS rows."""
    for sheet in table.sheets:
        rows = sheet.rows()
        header = _find_header(rows)
        if header is None:
            continue
        columns = _columns(header)
        roster = Roster(set(columns.values()), [], sheet.title)
        for number, values in rows:
            if _blank(values):
                continue
            if len(roster.rows) == MAX_ROWS:
                raise RosterRefused(
                    "too_many_rows", f"每次最多导入 {MAX_ROWS} 行学员，这个文件超过了：请分成几个文件分别导入"
                )
            roster.rows.append(_read_row(number, values, columns))
        if not roster.rows:
            raise RosterRefused("roster_empty", "文件里只有表头，没有学员数据")
        return roster
    raise RosterRefused(
        "roster_header_missing", "找不到表头：表格前几行中须有一行写着“姓名”（可选：学号、校区、班级、生日）"
    )


def _find_header(rows):
    """Consume rows up to and including the header row; the header's cells, or None."""
    for number, values in rows:
        texts = [_header_text(value) for value in values]
        if any(text in HEADERS["name"] for text in texts):
            return texts
        if number >= HEADER_SEARCH_ROWS:
            return None
    return None


def _header_text(value):
    """A header cell as compared: no spaces, no required-marks (*), no hints in brackets, no colon."""
    if value is None:
        return ""
    text = SPACES.sub("", str(value))
    text = re.sub(r"[（(【\[][^）)】\]]*[）)】\]]", "", text)
    return text.strip("*＊:：")


def _columns(header):
    """Column index → field. A field may span several columns (a merged header, or 班级1, 班级2)."""
    columns = {}
    for index, text in enumerate(header):
        for field_name, names in HEADERS.items():
            if text in names or (field_name == "classes" and re.fullmatch(r"班级\d{1,2}", text)):
                columns[index] = field_name
    return columns


def _blank(values):
    return all(value is None or (isinstance(value, str) and not SPACES.sub("", value)) for value in values)


def _read_row(number, values, columns):
    row = RosterRow(number)
    cells = {}
    for index, field_name in columns.items():
        if index < len(values) and (value := values[index]) is not None and _text(value):
            cells.setdefault(field_name, []).append(value)
    row.name = _single_text(row, cells, "name", 64)
    if row.name is None and not row.errors:
        row.error("name", "缺少姓名")
    row.student_no = _student_no(row, cells.get("student_no", []))
    row.campus = _single_text(row, cells, "campus", 64)
    row.classes = _classes(row, cells.get("classes", []))
    row.birthday = _birthday(row, cells.get("birthday", []))
    return row


def _text(value):
    """A cell as text: numbers without a needless '.0', surrounding spaces gone; '' when empty."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    return str(value).strip(" \t\r\n\u3000\u00a0")


def _single_text(row, cells, field_name, max_length):
    texts = list(dict.fromkeys(_text(value) for value in cells.get(field_name, [])))
    if not texts:
        return None
    label = LABELS[field_name]
    if len(texts) > 1:
        row.error(field_name, f"{label}有多个不同的值：{'、'.join(texts[:3])}")
        return None
    text = texts[0]
    if CONTROL.search(text):
        row.error(field_name, f"{label}中不能有换行或控制字符")
        return None
    if len(text) > max_length:
        row.error(field_name, f"{label}不能超过 {max_length} 个字")
        return None
    return text


def _student_no(row, values):
    number = _single_text(row, {"student_no": values}, "student_no", 32)
    if number is not None and SPACES.search(number):
        row.error("student_no", "学号中不能有空格")
        return None
    return number


def _classes(row, values):
    names = []
    for value in values:
        for part in CLASS_SEPARATORS.split(_text(value)):
            name = part.strip(" \t\u3000\u00a0")
            if not name:
                continue
            if CONTROL.search(name) or len(name) > 64:
                row.error("classes", f"班级名“{name[:20]}”不合适：不能超过 64 个字，不能有换行")
                continue
            if name not in names:
                names.append(name)
    return names


EXCEL_EPOCH = date(1899, 12, 30)  # day 0 of Excel's 1900 date system, past its 1900 leap-year bug
DATE_TEXT = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
DATE_HINT = "生日格式不对：请写成 2015-03-07、2015/3/7 或 2015年3月7日，或使用 Excel 的日期格式"


def _birthday(row, values):
    days = list(dict.fromkeys(_day(value) for value in values))
    if not days:
        return None
    if len(days) > 1:
        row.error("birthday", "生日有多个不同的值")
        return None
    day = days[0]
    if day is None:
        row.error("birthday", DATE_HINT)
    elif day == "invalid":
        row.error("birthday", "生日不是一个真实存在的日期")
    elif not date(1900, 1, 1) <= day <= local_today():
        row.error("birthday", "生日必须在 1900-01-01 到今天之间")
    else:
        return day
    return None


def _day(value):
    """A cell as a date: an Excel date cell, an Excel date number, or text in a common form; None
    when it is none of those, 'invalid' when it names no real day (2015-02-30)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _excel_day(value)
    text = _text(value)
    if (match := DATE_TEXT.fullmatch(text)) or (match := re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)):
        parts = match.groups()
    elif re.fullmatch(r"\d{5}(?:\.0+)?", text):  # an Excel date number that arrived as text (CSV)
        return _excel_day(float(text))
    else:
        return None
    try:
        return date(*(int(part) for part in parts))
    except ValueError:
        return "invalid"


def _excel_day(number):
    if not 1 <= number < 2958466:  # 9999-12-31 is Excel's last day
        return "invalid"
    return EXCEL_EPOCH + timedelta(days=int(number))
