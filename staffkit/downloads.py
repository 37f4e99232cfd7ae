"""The office's downloads as both staff adapters send them: tables as an xlsx workbook or a CSV,
streamed while the rows are read (office.tabular_writer, webkit.downloads)."""

import itertools

from flask import Response

from school_points.office.tabular_writer import CSV_MIME, XLSX_MIME, csv_chunks, xlsx_chunks
from webkit.downloads import streamed_download


def download(sheets, file_format, name, ascii_name) -> Response:
    """The sheets as an xlsx workbook (a sheet per table) or the first sheet as CSV, streamed.

    The view itself produces the first chunk, so a database failure at the start is still a
    clean error page or 503; the rest is read batch by batch while the client downloads."""
    if file_format == "xlsx":
        chunks, mimetype = xlsx_chunks(sheets), XLSX_MIME
    else:
        chunks, mimetype = csv_chunks(sheets[0].columns, sheets[0].rows), CSV_MIME
    first = next(chunks)
    filename, ascii_filename = f"{name}.{file_format}", f"{ascii_name}.{file_format}"
    return streamed_download(itertools.chain([first], chunks), mimetype, filename, ascii_filename)
