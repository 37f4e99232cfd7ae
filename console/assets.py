"""The console's static files: served by the app itself (no CDN), with URLs that carry a hash of
the file's content, so a browser may keep each for a year and still never runs a stale one."""

import hashlib
from functools import cache
from pathlib import Path

from flask import Blueprint, request, url_for

YEAR = 365 * 24 * 3600
STATIC = Path(__file__).parent / "static"


class ConsoleBlueprint(Blueprint):
    """A blueprint whose static files are cached for a year when asked for by a versioned URL
    (`?v=<hash>`, what `asset_url` writes) and revalidated every time otherwise."""

    def get_send_file_max_age(self, filename):
        return YEAR if request.args.get("v") else 0

    def send_static_file(self, filename):
        response = super().send_static_file(filename)
        if request.args.get("v"):
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return response


@cache
def content_version(filename) -> str:
    """The first 12 hex digits of the file's SHA-256 (read once per process: files change only
    with a deployment, which starts new processes)."""
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def asset_url(filename) -> str:
    """The versioned URL of a file under console/static/ (templates: `asset('console.css')`)."""
    return url_for("console.static", filename=filename, v=content_version(filename))
