"""Tables written as xlsx and CSV: what a spreadsheet shows when it opens them."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from school_points.office.tabular_writer import Column, Sheet, csv_chunks, xlsx_chunks

COLUMNS = (Column("编号", "int"), Column("时间", "datetime"), Column("日期", "date"), Column("名称"))


def rows(count):
    return ((n, datetime(2026, 1, 1, 8, 0, n % 60), date(2026, 1, 1), f"第{n}行") for n in range(count))


def workbook_of(sheets, **kwargs):
    return load_workbook(io.BytesIO(b"".join(xlsx_chunks(sheets, **kwargs))))


def test_a_sheet_longer_than_the_row_limit_continues_on_a_second_sheet():
    sheet = Sheet("流水", COLUMNS, rows(7))
    workbook = workbook_of([sheet], max_rows=4)
    assert workbook.sheetnames == ["流水", "流水 (2)", "流水 (3)"]
    counts = [len(list(ws.iter_rows(min_row=2, values_only=True))) for ws in workbook.worksheets]
    assert counts == [3, 3, 1] and sheet.written == 7
    assert all(ws["A1"].value == "编号" for ws in workbook.worksheets)  # each part has the header


def test_an_empty_table_is_a_sheet_with_its_header():
    assert [c.value for c in workbook_of([Sheet("空", COLUMNS, [])])["空"][1]] == ["编号", "时间", "日期", "名称"]


def test_cells_keep_their_types_in_xlsx():
    table = Sheet("表", (*COLUMNS, Column("金额", "money")), [(*next(rows(1)), Decimal("1.50"))])
    row = workbook_of([table])["表"][2]
    assert type(row[0].value) is int
    assert row[1].value == datetime(2026, 1, 1, 8, 0, 0) and row[1].is_date
    assert row[2].is_date and row[2].number_format == "yyyy-mm-dd"
    assert row[4].value == 1.5 and row[4].number_format == "0.00"


def test_csv_has_a_bom_crlf_lines_and_arrives_in_chunks():
    chunks = list(csv_chunks(COLUMNS, rows(5000)))
    assert len(chunks) > 1
    data = b"".join(chunks)
    assert data.startswith("\ufeff编号".encode())
    assert b"\r\n" in data
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[1] == ["0", "2026-01-01 08:00:00", "2026-01-01", "第0行"] and len(lines) == 5001


def test_formula_like_text_is_defused_in_csv_but_numbers_are_not():
    data = b"".join(csv_chunks(COLUMNS, [(-5, None, None, "=1+1"), (1, None, None, "@SUM(A1)")]))
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert lines[1] == ["-5", "", "", "'=1+1"] and lines[2][3] == "'@SUM(A1)"


def test_exactly_a_full_sheet_makes_no_empty_second_sheet():
    assert workbook_of([Sheet("满", COLUMNS, rows(3))], max_rows=4).sheetnames == ["满"]


def test_xlsx_arrives_in_chunks_and_text_is_never_a_formula():
    table = Sheet("表", COLUMNS, ((n, None, None, "=1+1 & <b>\x01") for n in range(20000)))
    chunks = list(xlsx_chunks([table]))
    assert len(chunks) > 2
    workbook = load_workbook(io.BytesIO(b"".join(chunks)))
    cell = workbook["表"]["D2"]
    assert (cell.value, cell.data_type) == ("=1+1 & <b>", "s")
    assert workbook["表"].freeze_panes == "A2"
