"""A million-row ledger exported over HTTP, as CSV and as xlsx: the web process's memory and time.

    .venv/bin/python bench/bench_export.py [--rows 1000000] [--formats csv xlsx] [--pg-url URL]

Creates a dedicated PostgreSQL database (`school_points_bench_export_<random>`, dropped at the
end), migrates it, generates the ledger with one `generate_series` INSERT (5,000 students in 2
campuses and 40 classes, entries spread over the last 365 school days, one in five with a note
of its own), starts gunicorn as the Procfile does but with one process (gthread, 3 threads, the deployed
gunicorn.conf.py, --timeout 30) and downloads `/api/admin/v1/ledger/export` for the whole range. While
a download runs, the worker's resident memory is sampled from /proc every 20 ms, after its peak
counter (VmHWM) was reset. Printed per format: time to the first byte, total time, file size, rows
per second, RSS before and at its peak, and whether the deltas in the file add up to the
database's sum (the xlsx is read back with openpyxl in read-only mode). Exits non-zero when the
sums differ or the memory growth reaches 100 MB.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.request import Request, urlopen

from servers import free_port, wait_for_url
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-export-password"
MEMORY_LIMIT_MB = 100


def main():
    args = _parse()
    base = make_url(args.pg_url)
    name = f"school_points_bench_export_{uuid.uuid4().hex[:8]}"
    server_admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    workdir = Path(tempfile.mkdtemp(prefix="sp-bench-export-"))
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": "", "SECRET_KEY": "bench-only", "APP_ENV": "development"}
    env.update(UPLOAD_DIR=str(workdir / "uploads"), PYTHONPATH=str(ROOT), TMPDIR=str(workdir))
    server = None
    failed = False
    try:
        flask = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi"]
        subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([*flask, "admin", "create", "bench", "--password", PASSWORD], cwd=ROOT, env=env, check=True)
        engine = create_engine(url)
        started = time.monotonic()
        first_day, last_day, db_sum, rows = _generate(engine, args.rows)
        print(f"generated {rows:,} ledger rows in {time.monotonic() - started:.1f} s; sum of deltas {db_sum:,}")
        port = free_port()
        server = _start_web(env, port, workdir)
        wait_for_url(f"http://127.0.0.1:{port}/healthz")
        worker = _worker_pid(server.pid)
        token = _login(port)
        _get(port, token, "/reports/summary")  # warm the worker: imports, first queries, pools
        print(f"web: {' '.join(server.args[1:])} (worker pid {worker})")
        print("| format | first byte | total | file | rows/s | RSS before | RSS peak | growth | sum matches |")
        print("|---|---|---|---|---|---|---|---|---|")
        for file_format in args.formats:
            result = _export(port, token, worker, file_format, first_day, last_day, workdir)
            file_sum, file_rows = _sum_file(result["path"], file_format)
            ok = file_sum == db_sum and file_rows == rows
            growth = result["peak"] - result["before"]
            failed |= not ok or growth >= MEMORY_LIMIT_MB
            print(
                f"| {file_format} | {result['first_byte']:.2f} s | {result['total']:.1f} s "
                f"| {result['size'] / 1e6:.0f} MB | {rows / result['total']:,.0f} | {result['before']:.0f} MB "
                f"| {result['peak']:.0f} MB | {growth:+.0f} MB | {'yes' if ok else f'NO {file_sum:,}/{file_rows:,}'} |"
            )
            result["path"].unlink()
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with server_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server_admin.dispose()
    sys.exit(1 if failed else 0)


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", nargs="+", default=["csv", "xlsx"], choices=["csv", "xlsx"])
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    )
    return parser.parse_args()


def _generate(engine, rows):
    """The school and its ledger, in a few set-based statements; returns the range and the sum."""
    with engine.begin() as conn:
        today = conn.scalar(text("SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date"))
        conn.execute(text("INSERT INTO campus (name, created_at) VALUES ('总校区', now()), ('东校区', now())"))
        conn.execute(
            text(
                "INSERT INTO school_class (name, campus_id, created_at) "
                "SELECT '班级' || g, 1 + g % 2, now() FROM generate_series(1, 40) g"
            )
        )
        conn.execute(
            text(
                "INSERT INTO student (name, campus_id, student_no, status, bind_code, created_at) "
                "SELECT '学员' || g, 1 + g % 2, 'S' || lpad(g::text, 6, '0'), 'active', 'B' || g, now() "
                "FROM generate_series(1, 5000) g"
            )
        )
        conn.execute(text("INSERT INTO class_student (class_id, student_id) SELECT 1 + id % 40, id FROM student"))
        conn.execute(
            text(
                "INSERT INTO points_account (student_id, balance, lifetime, updated_at) "
                "SELECT id, 0, 0, now() FROM student"
            )
        )
        conn.execute(
            text(
                """
                INSERT INTO ledger_entry (student_id, delta, balance_after, kind, actor_type, actor_id, note,
                                          idempotency_key, local_day, created_at)
                SELECT 1 + g % 5000,
                       CASE WHEN g % 10 = 0 THEN -(1 + g % 30) ELSE 1 + g % 7 END,
                       100 + g % 900,
                       (ARRAY['evaluation','checkin','like','signin','adjustment','redemption_refund',
                              'share','referral','birthday','redemption'])[1 + g % 10],
                       (ARRAY['teacher','user','system','admin'])[1 + g % 4],
                       CASE WHEN g % 4 = 2 THEN NULL ELSE 1 END,
                       CASE WHEN g % 5 = 0 THEN '兑换订单 #' || g || ' 文具奖品' ELSE '' END,
                       'bench:' || g,
                       :today - (g % 365),
                       ((:today - (g % 365))::timestamp + make_interval(secs => 28800 + g % 36000))
                           AT TIME ZONE 'Asia/Shanghai'
                FROM generate_series(1, :rows) g
                """
            ),
            {"today": today, "rows": rows},
        )
        conn.execute(text("ANALYZE ledger_entry"))
        first_day = today - timedelta(days=364)
        total = conn.scalar(
            text("SELECT sum(delta) FROM ledger_entry WHERE local_day BETWEEN :a AND :b"), {"a": first_day, "b": today}
        )
        count = conn.scalar(
            text("SELECT count(*) FROM ledger_entry WHERE local_day BETWEEN :a AND :b"), {"a": first_day, "b": today}
        )
    return first_day, today, int(total), int(count)


def _start_web(env, port, workdir):
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
        "3",
        "--timeout",
        "30",
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(workdir / "gunicorn.log", "w"),  # noqa: SIM115 - the server's for its lifetime
    )


def _worker_pid(master):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise SystemExit("gunicorn started no worker")


def _login(port):
    request = Request(
        f"http://127.0.0.1:{port}/api/admin/v1/auth/login",
        data=json.dumps({"username": "bench", "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def _get(port, token, path):
    request = Request(f"http://127.0.0.1:{port}/api/admin/v1{path}", headers={"Authorization": f"Bearer {token}"})
    with urlopen(request, timeout=60) as response:
        return response.read()


def _rss_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _hwm_mb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _export(port, token, worker, file_format, first_day, last_day, workdir):
    """Download one export to a file while sampling the worker's memory."""
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM: the peak from here on
    before = _rss_mb(worker)
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mb(worker))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    path = workdir / f"ledger.{file_format}"
    query = f"from={first_day.isoformat()}&to={last_day.isoformat()}&format={file_format}"
    request = Request(
        f"http://127.0.0.1:{port}/api/admin/v1/ledger/export?{query}", headers={"Authorization": f"Bearer {token}"}
    )
    started = time.monotonic()
    first_byte = None
    size = 0
    with urlopen(request, timeout=900) as response, path.open("wb") as out:
        while chunk := response.read(256 * 1024):
            if first_byte is None:
                first_byte = time.monotonic() - started
            out.write(chunk)
            size += len(chunk)
    total = time.monotonic() - started
    done.set()
    sampler.join()
    peak_mb = max(peak[0], _hwm_mb(worker))
    return {
        "path": path,
        "first_byte": first_byte or total,
        "total": total,
        "size": size,
        "before": before,
        "peak": peak_mb,
    }


def _sum_file(path, file_format):
    """(sum of the 积分变动 column, data rows) of a downloaded export."""
    if file_format == "csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            column = next(reader).index("积分变动")
            total = rows = 0
            for row in reader:
                total += int(row[column])
                rows += 1
        return total, rows
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    total = rows = 0
    for sheet in workbook.worksheets:  # a ledger past Excel's row limit continues on more sheets
        values = sheet.iter_rows(values_only=True)
        column = list(next(values)).index("积分变动")
        for row in values:
            total += row[column]
            rows += 1
    workbook.close()
    return total, rows


if __name__ == "__main__":
    main()
