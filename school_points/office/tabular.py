"""Tables as files staff open in Excel or WPS: xlsx and CSV, written from row iterators.

- **xlsx**: openpyxl's write-only workbook. Each appended row is serialised at once into the
  worksheet's own temporary XML file (openpyxl 3.1 writes strings inline, so no shared-strings
  table grows in memory); `save` then zips the parts into the target, which the caller gives as a
  file on disk. Memory stays flat whatever the row count; the file exists only once every row is
  written, so an xlsx response starts when the workbook is complete.
- **CSV**: UTF-8 with a byte-order mark (Excel and WPS on Chinese Windows otherwise read UTF-8 as
  the local code page and show mojibake), CRLF line ends, yielded in chunks of about 64 KiB as rows
  arrive: the first bytes leave after the first batch of rows.

Numbers stay numbers, dates and times become real Excel dates (school-local, naive: Excel has no
timezones). Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is kept as
text: forced to a string cell in xlsx, prefixed with `'` in CSV (the usual CSV-injection guard).
"""

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
BOM = "\ufeff"
# An Excel sheet holds 1,048,576 rows; a longer table continues on a sheet named "<title> (2)".
EXCEL_MAX_ROWS = 1_048_576
CSV_CHUNK_CHARS = 64 * 1024
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_FORMATS = {"datetime": "yyyy-mm-dd hh:mm:ss", "date": "yyyy-mm-dd", "money": "0.00"}


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
    # rows written to the sheet(s); set while writing
    written: int = field(default=0, init=False)


def write_xlsx(sheets: Iterable[Sheet], target: BinaryIO | str, *, max_rows: int = EXCEL_MAX_ROWS) -> None:
    """Write the sheets as one workbook into `target` (a path or a seekable binary file)."""
    workbook = Workbook(write_only=True)
    for sheet in sheets:
        _write_sheet(workbook, sheet, max_rows)
    workbook.save(target)


def _write_sheet(workbook, sheet, max_rows):
    part, rows_here, worksheet = 1, 0, None
    for row in sheet.rows:
        if worksheet is None or rows_here >= max_rows - 1:  # -1: the header row
            worksheet = _new_worksheet(workbook, sheet, part)
            part, rows_here = part + 1, 0
        worksheet.append(
            [_xlsx_cell(worksheet, column, value) for column, value in zip(sheet.columns, row, strict=True)]
        )
        rows_here += 1
        sheet.written += 1
    if worksheet is None:  # no rows: still a sheet with its header
        _new_worksheet(workbook, sheet, part)


def _new_worksheet(workbook, sheet, part):
    title = sheet.title if part == 1 else f"{sheet.title} ({part})"
    worksheet = workbook.create_sheet(title[:31])  # Excel's limit on sheet names
    worksheet.freeze_panes = "A2"
    for index, column in enumerate(sheet.columns, start=1):
        worksheet.column_dimensions[get_column_letter(index)].width = column.width
    header = []
    for column in sheet.columns:
        cell = WriteOnlyCell(worksheet, value=column.title)
        cell.font = Font(bold=True)
        header.append(cell)
    worksheet.append(header)
    return worksheet


def _xlsx_cell(worksheet, column, value):
    if value is None:
        return None
    if column.kind in _NUMBER_FORMATS:
        cell = WriteOnlyCell(worksheet, value=value)
        cell.number_format = _NUMBER_FORMATS[column.kind]
        return cell
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(worksheet, value=value)
        cell.data_type = "s"  # openpyxl would write it as a formula
        return cell
    return value


def csv_chunks(columns: Sequence[Column], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The table as UTF-8 CSV with a BOM, in chunks of about 64 KiB, header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([column.title for column in columns])
    for row in rows:
        writer.writerow([_csv_value(column, value) for column, value in zip(columns, row, strict=True)])
        if buffer.tell() >= CSV_CHUNK_CHARS:
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
