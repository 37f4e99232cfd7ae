"""File downloads: the Content-Disposition header browsers agree on, and a body streamed as it
is produced."""

import re
from collections.abc import Iterable
from urllib.parse import quote

from flask import Response, stream_with_context

_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def content_disposition(filename, ascii_filename) -> str:
    """`attachment` with an ASCII `filename` for old clients and the real (Chinese) name as
    RFC 5987 `filename*`, which browsers, Excel's download dialog and WPS prefer."""
    fallback = _NOT_ASCII_SAFE.sub("_", ascii_filename).strip("_") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _download(body, mimetype, filename, ascii_filename):
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename, ascii_filename)
    # Exports hold children's names and the school's accounts: no cache keeps a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def streamed_download(chunks: Iterable[bytes], mimetype, filename, ascii_filename) -> Response:
    """Send bytes as they are produced (chunked), inside the request's context, so the producer
    may keep reading the database while the client downloads."""
    return _download(stream_with_context(iter(chunks)), mimetype, filename, ascii_filename)
