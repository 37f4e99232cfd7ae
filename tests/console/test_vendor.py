"""The vendored JavaScript is exactly what vendor.json says npm served (scripts/vendor-assets.sh)."""

import hashlib
import json
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "console" / "static" / "vendor"


def test_every_vendored_file_matches_its_recorded_sha256():
    manifest = json.loads((VENDOR / "vendor.json").read_text(encoding="utf-8"))
    files = [entry for package in manifest["packages"] for entry in package["files"]]
    assert {entry["file"] for entry in files} == {"htmx.min.js", "chart.umd.min.js"}
    for entry in files:
        assert hashlib.sha256((VENDOR / entry["file"]).read_bytes()).hexdigest() == entry["sha256"], entry["file"]
    for package in manifest["packages"]:
        assert package["version"].count(".") == 2 and package["version"][0].isdigit()  # pinned exactly
        assert package["integrity"].startswith("sha512-")


def test_no_page_or_script_loads_anything_from_another_site():
    console = VENDOR.parents[1]
    for path in [*console.rglob("*.html"), console / "static" / "console.js", console / "static" / "console.css"]:
        body = path.read_text(encoding="utf-8")
        assert "http://" not in body and "https://" not in body and "//cdn" not in body, path
