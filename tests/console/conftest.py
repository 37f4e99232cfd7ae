"""Console fixtures: admins, a test client that signs in through the login form, and for the
browser tests a live server on a free local port plus Playwright driving Debian's chromium."""

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from school_points.people.admins import create_admin
from school_points.platform.extensions import db

PASSWORD = "correct-horse-battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def make_admin(app):
    def make(username="boss", campus_id=None, password=PASSWORD):
        admin = create_admin(username, password, campus_id=campus_id)
        db.session.commit()
        return admin

    return make


class ConsoleClient:
    """Flask's test client as a browser on the console: keeps the cookie, reads the page's CSRF
    token and posts forms with it."""

    def __init__(self, client):
        self.client = client
        self.csrf = None

    def get(self, path, **kwargs):
        response = self.client.get(path, **kwargs)
        found = CSRF_META.search(response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path, data=None, *, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            if self.csrf is None:
                self.get("/console/")
            data.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=data, **kwargs)

    def login(self, username="boss", password=PASSWORD, **kwargs):
        """Sign in through the form; on success the page it leads to is loaded (a new session has a
        new CSRF token, as after any sign-in)."""
        self.get("/console/")
        response = self.post("/console/login", {"username": username, "password": password}, **kwargs)
        if response.status_code == 302:
            self.get(response.headers["Location"])
        return response


@pytest.fixture
def console(app):
    """A visitor's browser, not signed in."""
    return ConsoleClient(app.test_client())


@pytest.fixture
def boss(app, make_admin):
    """A super admin's browser, signed in."""
    make_admin("boss")
    browser = ConsoleClient(app.test_client())
    assert browser.login("boss").status_code == 302
    return browser


# ---------------------------------------------------------------- the browser tests


@pytest.fixture
def live_server(app):
    """The app served on a free local port by a real HTTP server thread, on the test database."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def _required():
    return bool(os.environ.get("CI") or os.environ.get("REQUIRE_SERVICES"))


@pytest.fixture(scope="session")
def chromium():
    """Playwright's chromium: Debian's /usr/bin/chromium (never a downloaded browser). Skipped
    where it is missing, unless CI or REQUIRE_SERVICES is set (then the test fails)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if _required():
            raise
        pytest.skip("playwright is not installed")
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        if _required():
            pytest.fail(f"{CHROMIUM} is missing (CI/REQUIRE_SERVICES is set)")
        pytest.skip(f"{CHROMIUM} is missing")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser context (no cookies) at 1366×768, with `page.base` the live server's URL;
    any browser dialog (alert, confirm) is recorded in `page.dialogs` and accepted."""
    context = chromium.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    tab = context.new_page()
    tab.base = live_server
    tab.dialogs = []
    tab.console_errors = []

    def on_dialog(dialog):
        tab.dialogs.append((dialog.type, dialog.message))
        dialog.accept()

    tab.on("dialog", on_dialog)
    tab.on("console", lambda msg: tab.console_errors.append(msg.text) if msg.type == "error" else None)
    yield tab
    context.close()


def shoot(page, name):
    """Save screenshots of the page as it is now at 1366×768 and at 390 px wide into
    docs/screenshots/console-<name>-desktop.png and -phone.png (full page); the viewport is put
    back afterwards."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    for suffix, size in (("desktop", {"width": 1366, "height": 768}), ("phone", {"width": 390, "height": 844})):
        page.set_viewport_size(size)
        page.wait_for_timeout(150)  # let the chart resize
        page.screenshot(path=str(SCREENSHOTS / f"console-{name}-{suffix}.png"), full_page=True)
    page.set_viewport_size(before)


def visit(page, path):
    """Open a console path in the browser. The test's own transaction ends first: on SQLite every
    transaction takes the write lock (db_setup), so a row the test just read (`student.id` after a
    commit reloads it) would make the server wait for the test, which waits for the page."""
    db.session.commit()
    return page.goto(page.base + path)


def sign_in(page, username="boss", password=PASSWORD):
    visit(page, "/console/")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
