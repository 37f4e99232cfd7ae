"""Server time of every staff-console page (or, with --api, the admin API's list and report routes)
on a school-scale database: median / p95 / max per page, against a 150 ms budget.

    .venv/bin/python bench/bench_console.py [--build] [--api] [-n 20] [--url URL] [--only students audit]

The database is bench/console_dataset.py's (10,000 students, a million ledger rows; `--build`
re-creates it first, otherwise it must exist). One gunicorn process serves it, started with the
project's gunicorn.conf.py but one worker and one thread, and requests go one at a time, so a
request never waits for another. **Server time** is read from gunicorn's access log (`%(D)s`,
microseconds from the request read to the response written; the access-log format is the one
setting overridden); the client's wall time over loopback is printed beside it.

Console mode signs in as each admin through the login form (the CSRF token read from the form,
the session cookie kept) and exits with a message when /console/ is not there. API mode signs in
at /api/admin/v1/auth/login and sends the bearer token. Every page is asked for once to warm up,
then `-n` times; pages that answer 404 are skipped with a note (a page not built yet). Each page
is run as the super admin and as the campus admin of campus 1 (`roles`), with ids picked from
the data: the student with the longest history (page deep into it with `cursor`), a name fragment,
a pickup code, date ranges of 30 days and a year. To add a page, add a line to CONSOLE_PAGES or
API_PAGES; `{placeholders}` are the keys of `Targets`.

Exit status 0 when every page measured has p95 under the budget, 1 otherwise.
"""

import argparse
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from html.parser import HTMLParser
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import quote, urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, Request, build_opener

sys.path.insert(0, str(Path(__file__).resolve().parent))

import console_dataset  # noqa: E402
from servers import free_port, wait_for_url  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 150
BOTH = ("super", "campus")

# (label, path, roles). Placeholders: see Targets.
CONSOLE_PAGES = [
    ("dashboard", "/console/", BOTH),
    ("students", "/console/students", BOTH),
    ("students ?q= name", "/console/students?q={name_fragment}", BOTH),
    ("students ?q= rare", "/console/students?q={rare_fragment}", BOTH),
    ("students ?class_id=", "/console/students?class_id={class_id}", BOTH),
    ("student (long history)", "/console/students/{student}", BOTH),
    ("student ledger, deep page", "/console/students/{student}?cursor={deep_cursor}", BOTH),
    ("student ledger, oldest page", "/console/students/{student}?cursor={oldest_cursor}", BOTH),
    ("classes", "/console/classes", BOTH),
    ("teachers", "/console/teachers", BOTH),
    ("goods", "/console/goods", BOTH),
    ("redemptions", "/console/redemptions", BOTH),
    ("redemptions ?status=pending", "/console/redemptions?status=pending", BOTH),
    ("redemptions ?status=cancelled&campus", "/console/redemptions?status=cancelled&campus_id={campus}", BOTH),
    ("redemptions ?from&to", "/console/redemptions?from={d30}&to={today}", BOTH),
    ("redemptions pickup code", "/console/redemptions?code={pickup_code}", BOTH),
    ("settings", "/console/settings", ("super",)),
    ("reports 30 days", "/console/reports?from={d30}&to={today}", BOTH),
    ("reports 1 year", "/console/reports?from={d365}&to={today}", BOTH),
    ("audit", "/console/audit", BOTH),
    ("audit ?action=", "/console/audit?action=settings.update", BOTH),
    ("audit ?target", "/console/audit?target_type=student&target_id={student}", BOTH),
    ("notifications", "/console/notifications", BOTH),
    ("notifications ?status=failed", "/console/notifications?status=failed", BOTH),
    ("notifications ?kind=expiring", "/console/notifications?kind=expiring", BOTH),
    ("admins", "/console/admins", ("super",)),
    ("audit ?actor&from&to", "/console/audit?actor_type=admin&actor_id=1&from={d30}&to={today}", BOTH),
    ("notifications ?student_id=", "/console/notifications?student_id={student}", BOTH),
    ("password", "/console/password", BOTH),
    ("import", "/console/import", BOTH),
    # 班级 and 老师: forms and filters (the lists are above)
    ("classes ?campus_id=", "/console/classes?campus_id={campus}", BOTH),
    ("class edit", "/console/classes/{class_id}/edit", BOTH),
    ("class new", "/console/classes/new", BOTH),
    ("teacher new", "/console/teachers/new", BOTH),
]

# The admin API's routes the console's pages will query alike (runnable before the console lands).
API_PAGES = [
    ("students", "/students", BOTH),
    ("students ?q= name", "/students?q={name_fragment}", BOTH),
    ("students ?q= rare", "/students?q={rare_fragment}", BOTH),
    ("students ?class_id=", "/students?class_id={class_id}", BOTH),
    ("student", "/students/{student}", BOTH),
    ("student ledger", "/students/{student}/points/history", BOTH),
    ("student ledger, deep page", "/students/{student}/points/history?cursor={deep_cursor}", BOTH),
    ("student ledger, oldest page", "/students/{student}/points/history?cursor={oldest_cursor}", BOTH),
    ("teachers", "/teachers", BOTH),
    ("classes", "/classes", BOTH),
    ("goods", "/goods", BOTH),
    ("redemptions", "/redemptions", BOTH),
    ("redemptions ?status=pending", "/redemptions?status=pending", BOTH),
    ("redemptions ?status=cancelled&campus", "/redemptions?status=cancelled&campus_id={campus}", BOTH),
    ("redemptions ?student_id=", "/redemptions?student_id={student}", BOTH),
    ("audit-log", "/audit-log", BOTH),
    ("audit-log ?action=", "/audit-log?action=settings.update", BOTH),
    ("audit-log ?target", "/audit-log?target_type=student&target_id={student}", BOTH),
    ("notifications", "/notifications", BOTH),
    ("notifications ?status=failed", "/notifications?status=failed", BOTH),
    ("notifications ?kind=expiring", "/notifications?kind=expiring", BOTH),
    ("notifications ?student_id=", "/notifications?student_id={student}", BOTH),
    ("reports/summary (month)", "/reports/summary", BOTH),
    ("reports/summary 30 days", "/reports/summary?from={d30}&to={today}", BOTH),
    ("reports/summary 1 year", "/reports/summary?from={d365}&to={today}", BOTH),
    ("reports/daily (30 days)", "/reports/daily", BOTH),
    ("reports/daily 1 year", "/reports/daily?from={d365}&to={today}", BOTH),
    ("settings", "/settings", BOTH),
    ("admins", "/admins", ("super",)),
]


@dataclass
class Targets:
    """What the pages' placeholders stand for, for one admin (a campus admin gets its campus's)."""

    student: int  # the student with the most ledger rows the admin may see
    deep_cursor: str  # a ledger page halfway into that student's history
    oldest_cursor: str  # the last page of it
    name_fragment: str  # a surname: many matches
    rare_fragment: str  # matches nobody: the whole table is looked through
    class_id: int
    campus: int
    pickup_code: str
    today: str
    d30: str
    d365: str


def cursor_for(entry_id):
    """webkit.pagination's cursor of a keyset position."""
    return base64.urlsafe_b64encode(json.dumps(entry_id).encode()).decode().rstrip("=")


def targets(url, campus_id=None):
    """Ids for one admin's pages: school-wide, or inside campus `campus_id`."""
    engine = create_engine(url)
    where = "" if campus_id is None else "WHERE s.campus_id = :campus"
    with engine.connect() as conn:
        student, rows = conn.execute(
            text(
                f"SELECT l.student_id, count(*) FROM ledger_entry l JOIN student s ON s.id = l.student_id {where} "
                "GROUP BY l.student_id ORDER BY 2 DESC LIMIT 1"
            ),
            {"campus": campus_id},
        ).one()
        position = conn.execute(
            text("SELECT id FROM ledger_entry WHERE student_id = :s ORDER BY id DESC OFFSET :o LIMIT 1"),
            {"s": student, "o": rows // 2},
        ).scalar()
        oldest = conn.execute(
            text("SELECT id FROM ledger_entry WHERE student_id = :s ORDER BY id OFFSET 10 LIMIT 1"), {"s": student}
        ).scalar()
        pickup = conn.execute(
            text("SELECT pickup_code FROM redemption WHERE campus_id = :c ORDER BY id LIMIT 1 OFFSET 777"),
            {"c": campus_id or 2},
        ).scalar()
        class_id = conn.execute(
            text("SELECT id FROM school_class WHERE campus_id = :c ORDER BY id LIMIT 1"), {"c": campus_id or 2}
        ).scalar()
        today = conn.execute(text("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")).scalar()
    engine.dispose()
    return Targets(
        student=student,
        deep_cursor=cursor_for(position),
        oldest_cursor=cursor_for(oldest),
        name_fragment="王",
        rare_fragment="欧阳",
        class_id=class_id,
        campus=campus_id or 2,
        pickup_code=pickup,
        today=today.isoformat(),
        d30=(today - timedelta(days=29)).isoformat(),
        d365=(today - timedelta(days=364)).isoformat(),
    )


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # every call is exactly one request (one access-log line)


class _Inputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.values.setdefault(attrs["name"], attrs.get("value") or "")


class Client:
    """One admin's HTTP client: cookies kept, redirects not followed; (status, body, wall ms)."""

    def __init__(self, base, log):
        self.base = base
        self.log = log
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()), _NoRedirect())
        self.headers = {}

    def call(self, path, data=None, headers=None):
        request = Request(self.base + path, data=data, headers={**self.headers, **(headers or {})})
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=120) as response:
                status, body = response.status, response.read()
        except HTTPError as exc:
            status, body = exc.code, exc.read()
        wall = (time.perf_counter() - started) * 1000
        self.log.expect()
        return status, body, wall

    def console_login(self, username, password):
        statuses = []
        for path in ("/console/login", "/console/"):  # a login page, or the dashboard showing the form
            status, body, _ = self.call(path)
            statuses.append(status)
            form = _Inputs()
            form.feed(body.decode("utf-8", "replace"))
            if status == 200 and "csrf_token" in form.values:
                break
        else:
            if statuses[-1] == 404:
                raise SystemExit("the staff console is not there (/console/ answers 404): nothing to measure yet")
            raise SystemExit(f"no login form with a csrf_token at /console/login or /console/ (status {statuses})")
        fields = {**form.values, "username": username, "password": password}
        status, body, _ = self.call(
            "/console/login",
            urlencode(fields).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": self.base + "/console/login"},
        )
        if status not in (302, 303):
            raise SystemExit(f"console login as {username} answered {status}, not a redirect")
        status, _, _ = self.call("/console/")
        if status != 200:
            raise SystemExit(f"after logging in as {username}, /console/ answered {status}")

    def api_login(self, username, password):
        body = json.dumps({"username": username, "password": password}).encode()
        status, answer, _ = self.call("/api/admin/v1/auth/login", body, {"Content-Type": "application/json"})
        if status != 200:
            raise SystemExit(f"admin API login as {username} answered {status}: {answer[:200]!r}")
        self.headers["Authorization"] = f"Bearer {json.loads(answer)['token']}"


class AccessLog:
    """gunicorn's access log, one line a request: `<status> <microseconds> <path>`."""

    LINE = re.compile(r"^(\d{3}) (\d+) (\S+)$")

    def __init__(self, path):
        self.path = path
        self.expected = 0
        self.offset = 0
        self.pending = []

    def expect(self):
        self.expected += 1

    def server_ms(self, count):
        """The server times of the last `count` requests (waits for their lines to be written)."""
        deadline = time.monotonic() + 10
        lines = []
        while True:
            with self.path.open() as handle:
                handle.seek(self.offset)
                chunk = handle.read()
            for line in chunk.splitlines():
                match = self.LINE.match(line.strip())
                if match:
                    lines.append(int(match.group(2)) / 1000)
            self.offset += len(chunk.encode())
            self.pending += lines
            lines = []
            if len(self.pending) >= self.expected or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        if len(self.pending) != self.expected:
            raise SystemExit(f"access log has {len(self.pending)} lines for {self.expected} requests")
        return self.pending[-count:]


def start_gunicorn(url, port, workdir, app_dir=ROOT):
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "--config",
        "gunicorn.conf.py",
        "wsgi:create_app()",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "1",
        "--timeout",
        "120",
        "--access-logformat",
        "%(s)s %(D)s %(U)s",
        "--access-logfile",
        str(workdir / "access.log"),
    ]
    env = console_dataset.app_env(url)
    env.update(UPLOAD_DIR=str(workdir / "uploads"), TMPDIR=str(workdir))
    errors = (workdir / "gunicorn.log").open("w")
    env["PYTHONPATH"] = str(app_dir)
    return subprocess.Popen(command, cwd=app_dir, env=env, stdout=subprocess.DEVNULL, stderr=errors)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    args = _parse()
    if args.build:
        facts = console_dataset.build(args.url)
        print(f"built the dataset in {facts['seconds']:.0f} s")
        code, output = console_dataset.points_check(args.url)
        print(f"flask points check (exit {code}): {output}")
    pages = API_PAGES if args.api else CONSOLE_PAGES
    if args.only:
        pages = [page for page in pages if any(word in page[0] for word in args.only)]
    try:
        per_role = {"super": targets(args.url), "campus": targets(args.url, campus_id=1)}
    except Exception as exc:  # noqa: BLE001 - a missing database is the usual cause: say so plainly
        raise SystemExit(f"cannot read the dataset at {args.url} ({type(exc).__name__}); run with --build") from None
    workdir = Path(tempfile.mkdtemp(prefix="sp-bench-console-"))
    (workdir / "access.log").touch()
    log = AccessLog(workdir / "access.log")
    port = free_port()
    server = start_gunicorn(args.url, port, workdir, Path(args.app_dir).resolve())
    results, skipped = [], []
    try:
        wait_for_url(f"http://127.0.0.1:{port}/healthz")
        base = f"http://127.0.0.1:{port}"
        for role, username in (("super", console_dataset.SUPER), ("campus", console_dataset.CAMPUS_ADMIN)):
            client = Client(base, log)
            _sync(log)
            if args.api:
                client.api_login(username, console_dataset.PASSWORD)
            else:
                client.console_login(username, console_dataset.PASSWORD)
            prefix = "/api/admin/v1" if args.api else ""
            values = {key: quote(str(value)) for key, value in asdict(per_role[role]).items()}
            for label, template, roles in pages:
                if role not in roles:
                    continue
                path = prefix + template.format(**values)
                status, _, _ = client.call(path)  # warm-up: imports, templates, caches
                if status == 404:
                    skipped.append(f"{label} ({role}): 404 at {path}")
                    continue
                walls, statuses = [], set()
                for _ in range(args.n):
                    status, _, wall = client.call(path)
                    walls.append(wall)
                    statuses.add(status)
                server_times = log.server_ms(args.n)
                results.append((label, role, statuses, server_times, walls))
    finally:
        server.terminate()
        server.wait(timeout=30)
    _report(results, skipped, args)
    slow = [r for r in results if percentile(r[3], 0.95) >= BUDGET_MS or r[2] - {200}]
    sys.exit(1 if slow else 0)


def _sync(log):
    """Start counting from here: skip the lines already written (the health checks, the last role's)."""
    time.sleep(0.2)
    log.offset = len(log.path.read_bytes())
    log.pending = []
    log.expected = 0


def _report(results, skipped, args):
    mode = "admin API" if args.api else "console"
    print(
        f"\n{mode}: server time from gunicorn's access log (1 worker, 1 thread, requests one at a time), {args.n} runs"
    )
    print("| page | admin | status | median ms | p95 ms | max ms | client median ms | p95 < 150 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for label, role, statuses, server_times, walls in results:
        p95 = percentile(server_times, 0.95)
        ok = p95 < BUDGET_MS and statuses == {200}
        print(
            f"| {label} | {role} | {','.join(map(str, sorted(statuses)))} | {statistics.median(server_times):.1f} "
            f"| {p95:.1f} | {max(server_times):.1f} | {statistics.median(walls):.1f} | {'yes' if ok else '**NO**'} |"
        )
    for note in skipped:
        print(f"skipped (not there yet): {note}")


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=console_dataset.DEFAULT_URL)
    parser.add_argument("--build", action="store_true", help="re-create the dataset first")
    parser.add_argument("--api", action="store_true", help="time the admin API's routes instead of the console")
    parser.add_argument(
        "--app-dir", default=str(ROOT), help="the checkout whose app gunicorn serves (another branch's worktree)"
    )
    parser.add_argument("-n", type=int, default=20, help="timed requests per page (after one warm-up)")
    parser.add_argument("--only", nargs="+", help="pages whose label contains one of these words")
    args = parser.parse_args()
    if args.n < 1:
        parser.error("-n must be at least 1")
    return args


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
