"""Tables as files staff open in Excel or WPS: xlsx and CSV, streamed from row iterators.

Both formats are produced as a stream of byte chunks while rows are read, so a download's first
bytes leave after the first batch of rows and memory stays flat however many rows follow:
- **xlsx** is written here directly: the parts of a minimal SpreadsheetML package (content types,
  relationships, styles, one worksheet per table, the workbook) go into a zip archive
  (`zipfile` on a write-only sink, so each entry carries a data descriptor instead of a size
  known in advance), strings inline in their cells (no shared-strings table to keep in memory).
  openpyxl's write-only workbook was the first choice; without lxml it serialises about 3,000
  ledger rows a second on this hardware and can only start sending once the whole zip is saved,
  which for a million rows means minutes of silence (proxies time out) and a temporary file of
  several hundred MB. openpyxl still reads every file back in the tests.
- **CSV** is UTF-8 with a byte-order mark (Excel and WPS on Chinese Windows otherwise read UTF-8 as
  the local code page and show mojibake), CRLF line ends.

Numbers stay numbers, dates and times become real Excel dates (school-local, naive: Excel has no
timezones). Text never becomes a formula: xlsx cells hold inline strings, and CSV text that a
spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is prefixed with `'` (the usual
CSV-injection guard). A table longer than an Excel sheet continues on "<title> (2)", and so on.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from xml.sax.saxutils import escape

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
BOM = "\ufeff"
# An Excel sheet holds 1,048,576 rows; a longer table continues on a sheet named "<title> (2)".
EXCEL_MAX_ROWS = 1_048_576
CHUNK_BYTES = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot carry at all (a cell with one would make the whole file unreadable).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_EXCEL_EPOCH = datetime(1899, 12, 30)
# Cell styles (xl/styles.xml's cellXfs, in this order): plain, bold header, date-time, date, money.
_STYLE = {"header": 1, "datetime": 2, "date": 3, "money": 4}


@dataclass(frozen=True)
class Column:
    """A column: its header and what its cells hold (text, int, money, date or datetime)."""

    title: str
    kind: str = "text"
    width: int = 12


@dataclass
class Sheet:
    """One table: a sheet title, its columns and its rows (tuples in column order)."""

    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    # rows written so far; counted while writing
    written: int = field(default=0, init=False)


# ------------------------------------------------------------------ xlsx

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Worksheets get the default content type of .xml parts, so this part can go first, before the
# number of sheets (which grows past Excel's row limit) is known.
_CONTENT_TYPES = (
    _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_STYLES = (
    _HEAD + f"<styleSheet {_NS}>"
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


class _Sink(io.RawIOBase):
    """Where the zip archive is written: bytes collected until the stream takes them. Not
    seekable, so zipfile writes each entry's sizes after its data."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._size = 0
        self._offset = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self._size += len(data)
        self._offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self._offset

    def pending(self) -> int:
        return self._size

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        return data


def xlsx_chunks(sheets: Iterable[Sheet], *, max_rows: int = EXCEL_MAX_ROWS) -> Iterator[bytes]:
    """The sheets as one xlsx workbook, in chunks of about 64 KiB, produced as rows are read."""
    sink = _Sink()
    titles: list[str] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/styles.xml", _STYLES)
        for sheet in sheets:
            yield from _sheet_parts(archive, sink, sheet, titles, max_rows)
        archive.writestr("xl/workbook.xml", _workbook(titles))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(titles)))
    yield sink.take()


def _sheet_parts(archive, sink, sheet, titles, max_rows):
    """One table as one or more worksheet parts (Excel's row limit), yielding what is written."""
    rows = iter(sheet.rows)
    writers = _writers(sheet.columns)
    part = 1
    while True:
        title = sheet.title if part == 1 else f"{sheet.title} ({part})"
        titles.append(title[:31])  # Excel's limit on sheet names
        with archive.open(f"xl/worksheets/sheet{len(titles)}.xml", "w") as out:
            out.write(_sheet_start(sheet.columns).encode())
            line = 1
            buffer: list[str] = []
            for row in rows:
                line += 1
                buffer.append(_row_xml(line, writers, row))
                sheet.written += 1
                if len(buffer) >= 200:
                    out.write("".join(buffer).encode())
                    buffer.clear()
                    if sink.pending() >= CHUNK_BYTES:
                        yield sink.take()
                if line >= max_rows:
                    break
            out.write(("".join(buffer) + "</sheetData></worksheet>").encode())
        if line < max_rows:
            return
        # The sheet is full: go on with the next part only if another row follows.
        following = next(rows, None)
        if following is None:
            return
        rows = _prepend(following, rows)
        part += 1


def _prepend(first, rest):
    yield first
    yield from rest


def _column_letters(index):
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


_LETTERS = [_column_letters(n) for n in range(1, 101)]


def _sheet_start(columns):
    widths = "".join(
        f'<col min="{n}" max="{n}" width="{column.width}" customWidth="1"/>'
        for n, column in enumerate(columns, start=1)
    )
    header = "".join(
        f'<c r="{_LETTERS[n]}1" t="inlineStr" s="1"><is><t>{_text(column.title)}</t></is></c>'
        for n, column in enumerate(columns)
    )
    return (
        _HEAD + f'<worksheet {_NS} xmlns:r="{_REL_NS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        "</sheetView></sheetViews>"
        f"<cols>{widths}</cols><sheetData>"
        f'<row r="1">{header}</row>'
    )


def _row_xml(line, writers, row):
    cells = [
        write(letter, line, value) for (letter, write), value in zip(writers, row, strict=True) if value is not None
    ]
    return f'<row r="{line}">{"".join(cells)}</row>'


def _text_cell(letter, line, value):
    if value == "":
        return ""
    return f'<c r="{letter}{line}" t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'


def _number_cell(letter, line, value):
    return f'<c r="{letter}{line}"><v>{value}</v></c>'


def _money_cell(letter, line, value):
    return f'<c r="{letter}{line}" s="{_STYLE["money"]}"><v>{value}</v></c>'


def _datetime_cell(letter, line, value):
    serial = (value.replace(tzinfo=None) - _EXCEL_EPOCH).total_seconds() / 86400
    return f'<c r="{letter}{line}" s="{_STYLE["datetime"]}"><v>{serial!r}</v></c>'


def _date_cell(letter, line, value):
    if isinstance(value, datetime):
        value = value.date()
    return f'<c r="{letter}{line}" s="{_STYLE["date"]}"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'


def _any_cell(letter, line, value):
    """A column of mixed values (a report's figures): each cell by its own type."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | date):
        return _text_cell(letter, line, value)
    if isinstance(value, datetime):
        return _datetime_cell(letter, line, value)
    if isinstance(value, date):
        return _date_cell(letter, line, value)
    return _money_cell(letter, line, value) if isinstance(value, Decimal) else _number_cell(letter, line, value)


_CELL_WRITERS = {"int": _number_cell, "money": _money_cell, "datetime": _datetime_cell, "date": _date_cell}


def _writers(columns):
    """(column letter, cell writer) per column, chosen once per sheet by the column's kind."""
    return [(_LETTERS[n], _CELL_WRITERS.get(column.kind, _any_cell)) for n, column in enumerate(columns)]


@lru_cache(maxsize=8192)
def _text(value):
    """Text as XML character data; remembered, since names, classes and kinds repeat row after row."""
    return escape(_NOT_XML.sub("", str(value)))


def _workbook(titles):
    sheets = "".join(
        f'<sheet name="{escape(title, {chr(34): "&quot;"})}" sheetId="{n}" r:id="rId{n}"/>'
        for n, title in enumerate(titles, start=1)
    )
    return _HEAD + f'<workbook {_NS} xmlns:r="{_REL_NS}"><sheets>{sheets}</sheets></workbook>'


def _workbook_rels(count):
    rels = "".join(
        f'<Relationship Id="rId{n}" Type="{_REL_NS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, count + 1)
    )
    styles = f'<Relationship Id="rId{count + 1}" Type="{_REL_NS}/styles" Target="styles.xml"/>'
    return _HEAD + f'<Relationships xmlns="{_PKG_REL_NS}">{rels}{styles}</Relationships>'


# ------------------------------------------------------------------ CSV


def csv_chunks(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The table as UTF-8 CSV with a BOM, in chunks of about 64 KiB, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([column.title for column in columns])
    for row in rows:
        writer.writerow([_csv_value(column, value) for column, value in zip(columns, row, strict=True)])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def _csv_value(column, value):
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, str) and column.kind == "text" and value.startswith(_FORMULA_START):
        return "'" + value
    return value
