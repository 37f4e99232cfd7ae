"""Reading a table the school office sends: .xlsx (openpyxl in read-only mode) or CSV (UTF-8, UTF-8
with BOM, or GB18030/GBK as Excel on Chinese Windows saves it).

The file comes from outside, so it is judged before any parser sees it: its size, its kind by its
first bytes (not its name), and for a workbook the zip's declared member sizes and compression
ratios (a zip bomb is refused before openpyxl opens it; Python's zipfile never inflates a member
past its declared size, so the declared sizes bound the work). Every refusal is an
`UnreadableFile` (422) with a Chinese message; nothing here raises anything else on bad input.

A table is read as sheets of rows: `(row number as Excel shows it, [cell values])`. Values are
str, int, float, datetime or None. A merged range's value applies to every cell of the range (a
title merged over a row, a 校区 merged down a column), as the office sees it on screen.
"""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from school_points.platform.errors import DomainError, ValidationFailed

MAX_FILE_BYTES = 5 * 1024 * 1024  # a 5,000-row roster is ~0.3 MB as .xlsx, ~0.4 MB as CSV
MAX_UNCOMPRESSED_BYTES = 40 * 1024 * 1024  # every member of a workbook's zip together, as declared
MAX_RATIO = 100  # declared uncompressed / compressed size, for members above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
MAX_MEMBERS = 1000
MAX_COLUMNS = 64  # columns read; anything further right is ignored
MAX_SHEET_ROWS = 50_000  # rows of a sheet at most (headers, data and blank rows together)
TOO_MANY_ROWS = "表格超过 50000 行（包括空行）：请删去多余的行，或把名单复制到一个新的工作表"
MAX_MERGES = 20_000

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and every password-protected .xlsx
XLSX_NAMES = (".xlsx", ".xlsm")


class UnreadableFile(ValidationFailed):
    """The file is not a table we can read; the message says why, in words the office knows."""

    code, message = "unreadable_file", "无法读取该文件"

    def __init__(self, message) -> None:
        super().__init__(message, details={"file": [message]})


class FileTooLarge(DomainError):
    """Over MAX_FILE_BYTES; the HTTP adapter answers 413."""

    code, message, kind = "file_too_large", "文件不能超过 5 MB", "validation"


Row = tuple[int, list]


@dataclass
class Sheet:
    """One sheet of a table: its title and a way to iterate its rows (once per call)."""

    title: str
    rows: Callable[[], Iterator[Row]] = field(repr=False)


@dataclass
class Table:
    """What was read: its format ('xlsx' or 'csv'), its encoding for CSV, and its sheets in order."""

    format: str
    sheets: list[Sheet]
    encoding: str | None = None


def read_table(data: bytes, filename: str = "") -> Table:
    """Judge and open the uploaded bytes; raises UnreadableFile or FileTooLarge."""
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge()
    if not data.strip():
        raise UnreadableFile("文件是空的")
    if data.startswith(OLE_MAGIC):
        raise UnreadableFile("文件已加密（设置了打开密码）或是旧版 .xls 格式：请取消密码，另存为 .xlsx 或 CSV 后再导入")
    if data.startswith(ZIP_MAGIC):
        return _open_workbook(data)
    if filename.lower().endswith(XLSX_NAMES):
        raise UnreadableFile("文件不是有效的 .xlsx 工作簿（可能已损坏，或只是改了扩展名）")
    if data.startswith((b"PK", b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        raise UnreadableFile("文件不是表格：请上传 .xlsx 或 CSV 文件")
    return _open_csv(data)


# ---------------------------------------------------------------- CSV


def _open_csv(data):
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile("不支持 UTF-16 编码的文本：请在 Excel 中另存为“CSV UTF-8（逗号分隔）”或 .xlsx")
    if b"\x00" in data:
        raise UnreadableFile("文件中含有空字符（NUL），不是文本格式的 CSV：请上传 .xlsx 或 CSV 文件")
    text, encoding = _decode(data)
    delimiter = _delimiter(text)

    def rows():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            for number, values in enumerate(reader, start=1):
                if number > MAX_SHEET_ROWS:
                    raise UnreadableFile(TOO_MANY_ROWS)
                yield number, list(values[:MAX_COLUMNS])
        except csv.Error:
            raise UnreadableFile("CSV 格式有误（引号不成对或单元格过长）") from None

    return Table("csv", [Sheet("CSV", rows)], encoding)


def _decode(data):
    """UTF-8 (a BOM says so outright), else GB18030 (a superset of GBK, what Chinese Excel writes)."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise UnreadableFile("文件标明是 UTF-8 编码，但含有无法解码的字节") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnreadableFile("无法识别文件的文字编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 .xlsx") from None
    if _CONTROL.search(text):
        raise UnreadableFile("无法识别文件的文字编码：请另存为 UTF-8 或 GBK 编码的 CSV，或 .xlsx")
    return text, "gb18030"


# Control characters other than tab and line ends: never in a roster; in decoded text they mean
# the bytes were not text in that encoding (GB18030 maps nearly any byte sequence to something).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _delimiter(text):
    """Comma, unless the first line holds tabs and no comma (a sheet pasted or saved as text)."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    return "\t" if "\t" in first and "," not in first and "，" not in first else ","


# ---------------------------------------------------------------- xlsx


def _open_workbook(data):
    archive = _checked_zip(data)
    import openpyxl  # the import is slow; only workbooks need it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - a hostile or broken file can make openpyxl raise anything
        raise UnreadableFile("无法打开该 Excel 工作簿（文件可能已损坏）") from None
    sheets = []
    for worksheet in workbook.worksheets:
        if not hasattr(worksheet, "iter_rows"):  # a chart sheet
            continue
        sheets.append(Sheet(str(worksheet.title), _sheet_rows(archive, worksheet)))
    if not sheets:
        raise UnreadableFile("工作簿里没有工作表")
    return Table("xlsx", sheets)


def _checked_zip(data):
    """The zip, once its declared sizes show no bomb and its members show a workbook."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError):
        raise UnreadableFile("文件不是有效的 .xlsx 工作簿（压缩包已损坏）") from None
    if len(members) > MAX_MEMBERS:
        raise UnreadableFile("文件不是有效的 .xlsx 工作簿（压缩包内文件过多）")
    total = 0
    for member in members:
        total += member.file_size
        too_dense = member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1)
        if too_dense or total > MAX_UNCOMPRESSED_BYTES:
            raise UnreadableFile("文件解压后过大，疑似压缩炸弹，已拒绝")
        if member.flag_bits & 0x1:
            raise UnreadableFile("文件已加密（设置了密码）：请取消密码后再导入")
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names or "[Content_Types].xml" not in names:
        raise UnreadableFile("压缩包不是 Excel 工作簿：请上传 .xlsx 或 CSV 文件")
    return archive


def _sheet_rows(archive, worksheet):
    def rows():
        worksheet.reset_dimensions()  # some writers record a wrong size; read what is there
        merges = _Merges(_merged_ranges(archive, worksheet._worksheet_path))
        try:
            # No max_row: openpyxl would stop there silently; past it, the sheet is refused instead.
            cells = worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
            for number, values in enumerate(cells, start=1):
                if number > MAX_SHEET_ROWS:
                    raise UnreadableFile(TOO_MANY_ROWS)
                row = merges.fill(number, list(values))
                while row and row[-1] is None:  # max_col pads every row to MAX_COLUMNS
                    row.pop()
                yield number, row
        except UnreadableFile:
            raise
        except Exception:  # noqa: BLE001 - as above: openpyxl's parse of a hostile sheet
            raise UnreadableFile("工作表内容无法读取（文件可能已损坏）") from None

    return rows


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]{1,3})(\d{1,7})(?::([A-Z]{1,3})(\d{1,7}))?"')


def _merged_ranges(archive, path):
    """(min_row, min_col, max_row, max_col) of every merged range, scanning the sheet's XML in
    chunks (read-only openpyxl does not report merges); bounded like everything in the zip."""
    ranges, tail = [], b""
    try:
        with archive.open(path.lstrip("/")) as stream:
            while chunk := stream.read(1 << 20):
                buffer = tail + chunk
                end = 0
                for match in _MERGE.finditer(buffer):
                    ranges.append(_cell_range(*match.groups()))
                    end = match.end()
                    if len(ranges) > MAX_MERGES:
                        raise UnreadableFile("工作表中合并单元格过多")
                tail = buffer[max(end, len(buffer) - 200) :]
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise UnreadableFile("工作表内容无法读取（文件可能已损坏）") from None
    return ranges


def _cell_range(col1, row1, col2, row2):
    first_row, first_col = int(row1), _column_number(col1)
    last_row, last_col = (int(row2), _column_number(col2)) if col2 else (first_row, first_col)
    return min(first_row, last_row), min(first_col, last_col), max(first_row, last_row), max(first_col, last_col)


def _column_number(letters):
    number = 0
    for letter in letters.decode():
        number = number * 26 + ord(letter) - 64
    return number


class _Merges:
    """Spreads each merged range's top-left value over the range, row by row as the rows stream by."""

    def __init__(self, ranges) -> None:
        self.pending = sorted((r for r in ranges if r[1] <= MAX_COLUMNS and r[0] <= MAX_SHEET_ROWS), reverse=True)
        self.active = []  # [max_row, min_col, max_col, value]

    def fill(self, number, values):
        while self.pending and self.pending[-1][0] <= number:
            first_row, first_col, last_row, last_col = self.pending.pop()
            top_left = values[first_col - 1] if first_row == number and first_col <= len(values) else None
            self.active.append([last_row, first_col, min(last_col, MAX_COLUMNS), top_left])
        if not self.active:
            return values
        self.active = [merge for merge in self.active if merge[0] >= number]
        for _last_row, first_col, last_col, value in self.active:
            if value is None:
                continue
            if len(values) < last_col:
                values.extend([None] * (last_col - len(values)))
            for column in range(first_col, last_col + 1):
                values[column - 1] = value
        return values
