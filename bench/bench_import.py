"""The roster import on PostgreSQL: seconds and SQL statements for one file of new students, then the
same file again (all unchanged), then a file that moves every student to another class.

    .venv/bin/python bench/bench_import.py [--rows 1000] [--format xlsx|csv] [--pg-url URL]

Uses the database `sp_bench_import` (dropped and created) on the local PostgreSQL and Flask's test
client, so the figure is the request as the server handles it (multipart parsing, reading the
workbook, matching, writing, commit) without the network. After the runs it checks that every
student has exactly one points account and that `flask points check` finds no difference.
"""

import argparse
import io
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
DB_NAME = "sp_bench_import"
PASSWORD = "bench-import-password"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    os.environ.update(
        {"DATABASE_URL": f"{args.pg_url.rstrip('/')}/{DB_NAME}", "SECRET_KEY": "bench-only", "APP_ENV": "bench"}
    )
    os.environ.pop("REDIS_URL", None)
    _create_database(args.pg_url)
    import seed
    from sqlalchemy import event

    from school_points.platform.extensions import db

    app = seed.make_app()
    token = _school(app)
    client = app.test_client()
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2]))

    first = _file(args, shift=0)
    moved = _file(args, shift=1)
    print(f"{args.rows} rows, {args.classes} classes, {args.format}: {len(first) / 1024:.0f} KB")
    for label, data, dry_run in (
        ("dry run, all new", first, True),
        ("import, all new", first, False),
        ("same file again", first, False),
        ("every student to another class", moved, False),
    ):
        statements.clear()
        started = time.perf_counter()
        response = client.post(
            "/api/admin/v1/students/import" + ("?dry_run=true" if dry_run else ""),
            data={"file": (io.BytesIO(data), f"roster.{args.format}")},
            content_type="multipart/form-data",
            headers={"Authorization": f"Bearer {token}"},
        )
        elapsed = time.perf_counter() - started
        body = response.json
        assert response.status_code == 200 and not body["errors"], body
        print(
            f"  {label:32s} {elapsed:6.2f} s  {len(statements):5d} SQL statements  "
            f"created {body['created']}, updated {body['updated']}, unchanged {body['unchanged']}, "
            f"classes created {body['classes_created']}"
        )
    _check(app)


def _create_database(pg_url):
    import psycopg

    with psycopg.connect(f"{pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _school(app):
    """One campus and a super admin; the admin's token."""
    from school_points.models import Campus
    from school_points.people.admins import create_admin
    from school_points.platform.extensions import db

    with app.app_context():
        db.session.add(Campus(name="总校区"))
        create_admin("bench", PASSWORD)
        db.session.commit()
    response = app.test_client().post("/api/admin/v1/auth/login", json={"username": "bench", "password": PASSWORD})
    return response.json["token"]


def _file(args, *, shift):
    """The roster: every student with a 学号, a birthday and one class (`shift` moves them on by one)."""
    rows = [
        [
            f"学员{i:05d}",
            f"B{i:05d}",
            "总校区",
            f"{(i + shift) % args.classes + 1}班",
            (date(2014, 1, 1) + timedelta(days=i % 1500)).isoformat(),
        ]
        for i in range(args.rows)
    ]
    header = ["姓名", "学号", "校区", "班级", "生日"]
    if args.format == "csv":
        return "\r\n".join(",".join(row) for row in [header, *rows]).encode("utf-8-sig")
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _check(app):
    from sqlalchemy import func, select

    from school_points.accounts.reconcile import find_differences
    from school_points.models import PointsAccount, Student
    from school_points.platform.extensions import db

    with app.app_context():
        students = db.session.scalar(select(func.count()).select_from(Student))
        accounts = db.session.scalar(
            select(func.count()).select_from(PointsAccount).join(Student, Student.id == PointsAccount.student_id)
        )
        differences = find_differences()
    print(f"students {students}, points accounts {accounts}, points check differences: {len(differences)}")
    if students != accounts or differences:
        sys.exit(1)


if __name__ == "__main__":
    main()
