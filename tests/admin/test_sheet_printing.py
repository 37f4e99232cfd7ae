"""The bind sheet as a browser prints it: headless Chromium renders the page the admin API answers
(served with its own headers, so its Content-Security-Policy applies), a QR reader decodes the
codes from the rendered pixels, and a scan of one binds the student; the PDF has one A4 page per
eight cards.

Skipped when Chromium is not installed, unless the run requires every service (CI=true or
REQUIRE_SERVICES=1, as scripts/test.sh and .ci/run set): then a missing Chromium fails.
Set SHEET_SCREENSHOT=<path.png> to keep the rendered first page (docs/screenshots/bind-sheet.png).
"""

import os
import re
import shutil
import subprocess
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from sqlalchemy import select

from school_points.models import Guardian, Student
from school_points.platform.extensions import db
from tests.fakewechat import fake_wechat  # noqa: F401 - fixture
from tests.wechat_bot.officialaccount import OfficialAccount, oa_config  # noqa: F401 - fixture

try:  # pyzbar loads Debian's libzbar0 at import: a newcomer's `make test` must collect without it
    from pyzbar.pyzbar import ZBarSymbol, decode
except ImportError:  # the rendering tests skip (or fail, when this run requires them) below
    ZBarSymbol = decode = None

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
]
A4_POINTS = (595, 842)  # 210 x 297 mm in PDF points, rounded
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ["小明", "思远", "雨桐", "子涵"]


def _services_required():
    value = os.environ.get("REQUIRE_SERVICES") or os.environ.get("CI") or ""
    return value.lower() not in ("", "0", "false")


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        if _services_required():
            pytest.fail("chromium is not installed and this run requires it (CI / REQUIRE_SERVICES)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    if decode is None:
        if _services_required():
            pytest.fail("libzbar0 is not installed and this run requires it (CI / REQUIRE_SERVICES)")
        pytest.skip("libzbar0 is not installed (apt-get install libzbar0): no QR decoder")
    return path


@pytest.fixture
def forty_students(make_class, make_student):
    """一班 with forty active students of ordinary names."""
    students = [make_student(name=SURNAMES[i % 10] + GIVEN[i // 10]) for i in range(40)]
    return make_class("一班", students=students)


@contextmanager
def served(response):
    """Serve one admin API response (body and headers, its CSP included) at a local URL."""
    body = response.get_data()
    headers = [(k, v) for k, v in response.headers.items() if k.lower() not in ("content-length", "connection")]

    class Replay(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/sheet":
                self.send_error(404)
                return
            self.send_response(200)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Replay)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sheet"
    finally:
        server.shutdown()
        server.server_close()


def run_chromium(chromium, tmp_path, url, *outputs):
    """Chromium on a fresh profile; returns its log (the page's console messages are in it)."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *outputs, url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


def console_complaints(log):
    """What the page's console said about the Content-Security-Policy (nothing, when it holds)."""
    return [line for line in log.splitlines() if "CONSOLE" in line or "Content Security Policy" in line]


def test_the_rendered_sheet_carries_qr_codes_a_phone_reads_and_a_scan_binds(
    app, api, forty_students, fake_wechat, oa_config, chromium, tmp_path
):
    response = api.get(f"/classes/{forty_students.id}/bind-sheet")
    assert response.status_code == 200
    png = tmp_path / "sheet.png"
    with served(response) as url:
        # A4 at 96 px per inch is 794 x 1123: the first page, at twice the pixels (a phone's camera
        # sees a printed code far sharper than a screen's 96 dpi).
        log = run_chromium(
            chromium, tmp_path, url, "--window-size=794,1123", "--force-device-scale-factor=2", f"--screenshot={png}"
        )
    assert console_complaints(log) == []  # the inline stylesheet was allowed by its digest
    if os.environ.get("SHEET_SCREENSHOT"):
        shutil.copyfile(png, os.environ["SHEET_SCREENSHOT"])

    read = decode(Image.open(png), symbols=[ZBarSymbol.QRCODE])
    urls = sorted(symbol.data.decode() for symbol in read)
    assert len(urls) == 8  # the first page's eight cards, every one readable
    scenes = [fake_wechat.qr_scenes[url] for url in urls]  # each is a code WeChat made
    first_page = response.get_data(as_text=True).split('<section class="page">')[1]
    for scene in scenes:
        assert scene.startswith("bind_") and f"绑定 {scene.removeprefix('bind_')}" in first_page

    # A parent scans the first decoded code with WeChat: WeChat reports its scene on subscribe.
    reply = OfficialAccount(app.test_client()).event("oa-scanning-parent", "subscribe", key=f"qrscene_{scenes[0]}")
    student = db.session.scalars(select(Student).where(Student.bind_code == scenes[0].removeprefix("bind_"))).one()
    assert f"已为您绑定孩子：{student.name}" in reply
    assert db.session.scalars(select(Guardian.student_id)).all() == [student.id]


def test_forty_students_print_on_five_a4_pages(api, forty_students, fake_wechat, chromium, tmp_path):
    response = api.get(f"/classes/{forty_students.id}/bind-sheet")
    pdf_path = tmp_path / "sheet.pdf"
    with served(response) as url:
        log = run_chromium(chromium, tmp_path, url, "--no-pdf-header-footer", f"--print-to-pdf={pdf_path}")
    assert console_complaints(log) == []
    pdf = pdf_path.read_bytes()
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)) == 5
    sizes = {
        tuple(round(float(v)) for v in box) for box in re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)", pdf)
    }
    assert sizes == {A4_POINTS}


def test_a_sheet_without_qr_codes_prints_the_words_and_no_code(api, forty_students, chromium, tmp_path):
    response = api.get(f"/classes/{forty_students.id}/bind-sheet")  # the official account is not configured
    png = tmp_path / "words.png"
    with served(response) as url:
        log = run_chromium(chromium, tmp_path, url, "--window-size=794,1123", f"--screenshot={png}")
    assert console_complaints(log) == []
    assert decode(Image.open(png), symbols=[ZBarSymbol.QRCODE]) == []
