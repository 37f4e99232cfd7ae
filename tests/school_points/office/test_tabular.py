"""Reading the office's tables: encodings, merged cells, and files that must be refused before a
parser spends time on them."""

import io
import struct
import zipfile

import openpyxl
import pytest

from school_points.office import tabular
from school_points.office.tabular import UnreadableFile, read_table
from tests.roster_files import csv_bytes, xlsx


def rows_of(table, sheet=0):
    return [(number, list(values)) for number, values in table.sheets[sheet].rows()]


def test_csv_in_gb18030_is_read_as_chinese(app):
    table = read_table(csv_bytes([["张小雨", "S1", "总校区", "一班，二班", "2015/3/7"]], encoding="gb18030"))
    assert table.encoding == "gb18030"
    assert rows_of(table)[1] == (2, ["张小雨", "S1", "总校区", "一班，二班", "2015/3/7"])


def test_a_utf8_bom_is_not_part_of_the_first_header(app):
    table = read_table(csv_bytes([["张小雨"]], header=["姓名"], encoding="utf-8-sig"))
    assert (table.encoding, rows_of(table)[0]) == ("utf-8-sig", (1, ["姓名"]))


def test_tab_separated_text_is_read_too(app):
    assert rows_of(read_table("姓名\t班级\n张小雨\t一班,二班\n".encode()))[1] == (2, ["张小雨", "一班,二班"])


def test_bytes_that_decode_only_to_control_characters_are_refused(app):
    with pytest.raises(UnreadableFile, match="编码"):
        read_table(b"\x81\x30\x81\x30\x01\x02\x03\xff\xff")


def test_a_merged_range_gives_its_value_to_every_cell_in_it(app):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in (["校区", "姓名"], ["总校区", "甲"], [None, "乙"], [None, "丙"], ["东校区", "丁"]):
        sheet.append(row)
    sheet.merge_cells("A2:A4")
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = rows_of(read_table(buffer.getvalue(), "a.xlsx"))
    assert [values[0] for _, values in rows] == ["校区", "总校区", "总校区", "总校区", "东校区"]


def test_a_sheet_with_a_wrong_recorded_size_is_read_in_full(app):
    data = xlsx([["张小雨"], ["李小红"]], header=["姓名"])
    patched = _rewrite_member(data, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b'ref="A1:A3"', b'ref="A1"'))
    assert [values for _, values in rows_of(read_table(patched, "a.xlsx"))] == [["姓名"], ["张小雨"], ["李小红"]]


def test_a_sheet_reaching_far_down_is_refused_before_its_rows_are_read(app):
    workbook = openpyxl.Workbook()
    workbook.active.append(["姓名"])
    workbook.active.cell(row=1_000_000, column=1, value="远处的一格")
    buffer = io.BytesIO()
    workbook.save(buffer)
    with pytest.raises(UnreadableFile, match="50000"):
        rows_of(read_table(buffer.getvalue(), "a.xlsx"))


def test_one_densely_compressed_member_is_refused_even_under_the_total(app):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b" " * (8 * 1024 * 1024))
    with pytest.raises(UnreadableFile, match="压缩炸弹"):
        read_table(buffer.getvalue(), "a.xlsx")


def test_a_member_inflates_no_further_than_its_declared_size(app):
    """The bomb check reads declared sizes; it holds because zipfile stops at the declared size."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.xml", b"<" + b"a" * (20 * 1024 * 1024))
    data = bytearray(buffer.getvalue())
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 1000)  # the central directory now claims 1000 bytes
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    assert archive.infolist()[0].file_size == 1000
    with pytest.raises(zipfile.BadZipFile), archive.open("big.xml") as member:
        assert len(member.read()) <= 1000


def test_an_encrypted_zip_member_is_refused(app):
    data = bytearray(xlsx([["张小雨"]], header=["姓名"]))
    offset = 0
    while (offset := data.find(b"PK\x01\x02", offset)) != -1:
        data[offset + 8] |= 0x1  # the encrypted flag in each central directory entry
        offset += 4
    with pytest.raises(UnreadableFile, match="加密"):
        read_table(bytes(data), "a.xlsx")


def test_a_workbook_without_a_sheet_body_is_refused(app):
    data = _rewrite_member(xlsx([["张小雨"]], header=["姓名"]), "xl/worksheets/sheet1.xml", lambda xml: b"<not-xml")
    with pytest.raises(UnreadableFile):
        rows_of(read_table(data, "a.xlsx"))


def test_size_is_checked_before_anything_else(app):
    with pytest.raises(tabular.FileTooLarge):
        read_table(b"PK\x03\x04" + b"\0" * tabular.MAX_FILE_BYTES, "a.xlsx")


def _rewrite_member(data, name, change):
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, change(content) if info.filename == name else content)
    return buffer.getvalue()
