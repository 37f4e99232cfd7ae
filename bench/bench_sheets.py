"""What printing a class's bind sheet costs, in-process: first print (asks the fake WeChat server for
every permanent QR code over loopback), a reprint (stored codes, drawn again), a print without the
official account, and the page rendering alone.

    .venv/bin/python bench/bench_sheets.py [--students 40] [--repeat 20] [--pg-url postgresql://...]

Flask's test client, no HTTP server in front. SQLite in a temporary directory by default; with
--pg-url the database `sp_bench_sheets` there (dropped and created). The fake WeChat server
(tests/fakewechat.py) answers on 127.0.0.1, so the first print's figure is this code's cost plus
loopback round trips, not WeChat's own latency (~100-300 ms a call from China).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg-url", default="")
    args = parser.parse_args()
    from sqlalchemy import create_engine, text

    if args.pg_url:
        admin = create_engine(f"{args.pg_url.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "sp_bench_sheets" WITH (FORCE)'))
            conn.execute(text('CREATE DATABASE "sp_bench_sheets"'))
        admin.dispose()
        database_url = f"{args.pg_url.rstrip('/')}/sp_bench_sheets"
    else:
        database_url = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "sheets.sqlite3")
    os.environ.update({"DATABASE_URL": database_url, "SECRET_KEY": "bench-only", "APP_ENV": "bench"})
    for name in ("REDIS_URL", "WECHAT_OA_APP_ID", "WECHAT_OA_APP_SECRET"):
        os.environ.pop(name, None)

    from school_points.models import Campus, SchoolClass, Student
    from school_points.office import sheet_page, sheets
    from school_points.people.admins import create_admin
    from school_points.platform.codes import new_code
    from school_points.platform.extensions import db
    from tests.fakewechat import FakeWechat
    from wsgi import create_app

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
    fake = FakeWechat().start()
    with app.app_context():
        db.drop_all()
        db.create_all()
        campus = Campus(name="总校区")
        db.session.add(campus)
        db.session.flush()
        students = [Student(name=f"学生{i}", campus_id=campus.id, bind_code=new_code(8)) for i in range(args.students)]
        klass = SchoolClass(name="一班", campus_id=campus.id, students=students)
        db.session.add(klass)
        create_admin("bench", "bench-password-1")
        db.session.commit()
        class_id = klass.id

    client = app.test_client()
    token = client.post("/api/admin/v1/auth/login", json={"username": "bench", "password": "bench-password-1"}).json[
        "token"
    ]
    path = f"/api/admin/v1/classes/{class_id}/bind-sheet"

    def print_sheet():
        started = time.perf_counter()
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.data[:300]
        return elapsed, response.get_data(as_text=True)

    def median_of(fn):
        return statistics.median(fn()[0] for _ in range(args.repeat))

    lines = [f"bind sheet of {args.students} students ({'PostgreSQL' if args.pg_url else 'SQLite'}), in-process"]
    without_wechat = median_of(print_sheet)
    lines.append(f"  print without the official account: {without_wechat:.1f} ms (median of {args.repeat})")

    app.config.update(
        WECHAT_API_BASE_URL=fake.base_url, WECHAT_OA_APP_ID="wx-bench", WECHAT_OA_APP_SECRET="bench-secret"
    )
    first, html = print_sheet()
    calls = fake.count("/cgi-bin/qrcode/create")
    assert html.count("<svg") == args.students, "every card should carry its QR code"
    lines.append(
        f"  first print, {calls} codes asked of the fake WeChat: {first:.1f} ms ({first / calls:.2f} ms a code)"
    )
    reprint = median_of(print_sheet)
    assert fake.count("/cgi-bin/qrcode/create") == calls, "a reprint must not ask WeChat again"
    lines.append(f"  reprint with the stored codes: {reprint:.1f} ms (median of {args.repeat})")
    lines.append(f"  page size: {len(html.encode()) / 1024:.0f} KiB, {sheet_page.CARDS_PER_PAGE} cards a page")

    with app.app_context():
        stored = sheets.permanent_qr.stored_contents(
            f"bind_{s.bind_code}" for s in db.session.scalars(db.select(Student))
        )

    def draw_uncached():
        started = time.perf_counter()
        for content in stored.values():
            sheet_page.qr_svg.__wrapped__(content)
        return (time.perf_counter() - started) * 1000, None

    drawing = median_of(draw_uncached)
    lines.append(f"  drawing the {len(stored)} QR codes as SVG (segno), uncached: {drawing:.1f} ms (median)")
    fake.stop()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
