"""Roster files as the school office makes them, built in the tests: workbooks with openpyxl, CSV in
the encodings Excel writes, and hostile files."""

import io
import zipfile

import openpyxl

HEADER = ["姓名", "学号", "校区", "班级", "生日"]


def xlsx(rows, *, header=HEADER, title=None, merges=(), blank_after=0, sheet_title="学员名单"):
    """A workbook: an optional title row (merged across the header), the header, the rows, then
    `blank_after` formatted-but-empty rows (what Excel leaves after deleted data)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = sheet_title
    if title is not None:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    last = sheet.max_row
    for offset in range(1, blank_after + 1):
        sheet.cell(row=last + offset, column=1).number_format = "@"
        sheet.cell(row=last + offset, column=2).value = "  "
    for cell_range in merges:
        sheet.merge_cells(cell_range)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, *, header=HEADER, encoding="utf-8-sig", line_end="\r\n"):
    """A CSV as Excel saves it: quoted only where needed, CRLF line ends."""
    lines = []
    for row in [header, *rows]:
        cells = ["" if value is None else str(value) for value in row]
        lines.append(",".join(f'"{c}"' if ("," in c or '"' in c) else c for c in cells))
    return (line_end.join(lines) + line_end).encode(encoding)


def zip_bomb(size=100 * 1024**2):
    """A zip that looks like a workbook whose sheet inflates to `size` bytes of zeros (declared)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        chunk = b"\0" * (1 << 20)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()


def plain_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "不是工作簿")
    return buffer.getvalue()
