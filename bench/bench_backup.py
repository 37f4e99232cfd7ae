"""Backup and restore timings: a database with a million ledger rows, backed up, verified and restored.

    .venv/bin/python bench/bench_backup.py [--rows 1000000] [--students 2000] [--no-sqlite]

PostgreSQL: a dedicated database (BENCH_BACKUP_PG, default postgresql://postgres@127.0.0.1:5432,
databases sp_bench_backup_src and sp_bench_backup_dst) is built from the models, filled with
generate_series in a few statements, and dropped at the end. SQLite: the same rows in a file under a
temporary folder. Each phase is the code operators run (`flask backup create|verify|restore`):
restore includes its own verification, the figures' comparison and the `points check`.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from school_points.office import backups  # noqa: E402
from school_points.platform.config import normalize_database_url  # noqa: E402
from school_points.platform.extensions import db  # noqa: E402

PG_SERVER = os.environ.get("BENCH_BACKUP_PG", "postgresql://postgres@127.0.0.1:5432")
SOURCE, TARGET = "sp_bench_backup_src", "sp_bench_backup_dst"


def fill(conn, rows, students, dialect):
    """Students, accounts and `rows` +1 evaluation entries spread over them, consistent for `points check`."""
    series = "generate_series(0, :n - 1) AS s(g)" if dialect == "postgresql" else "s"
    with_series = (
        ""
        if dialect == "postgresql"
        else "WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g < :n - 1) "
    )
    conn.execute(text("INSERT INTO campus (id, name, created_at) VALUES (1, '基准校区', CURRENT_TIMESTAMP)"))
    conn.execute(
        text(
            "INSERT INTO student (id, name, campus_id, status, bind_code, created_at) "
            f"{with_series}SELECT g + 1, '学生' || g, 1, 'active', 'B' || g, CURRENT_TIMESTAMP FROM {series}"
        ),
        {"n": students},
    )
    conn.execute(
        text(
            "INSERT INTO ledger_entry (student_id, delta, balance_after, kind, actor_type, note, idempotency_key,"
            " local_day, created_at) "
            f"{with_series}SELECT g % :students + 1, 1, g / :students + 1, 'evaluation', 'system', '基准测试',"
            f" 'bench:' || g, CURRENT_DATE, CURRENT_TIMESTAMP FROM {series}"
        ),
        {"n": rows, "students": students},
    )
    conn.execute(
        text(
            "INSERT INTO points_account (student_id, balance, lifetime, updated_at) "
            "SELECT student_id, SUM(delta), SUM(delta), CURRENT_TIMESTAMP FROM ledger_entry GROUP BY student_id"
        )
    )


def run(label, source_url, target_url, rows, students, workdir):
    from wsgi import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": source_url, "REDIS_URL": None, "BACKUP_DIR": str(workdir)})
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        with db.engine.begin() as conn:
            fill(conn, rows, students, db.engine.dialect.name)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        fill_seconds = time.perf_counter() - started
        size = _database_size(source_url)
        timings = {}
        started = time.perf_counter()
        path, manifest = backups.create_backup(directory=workdir)
        timings["create"] = time.perf_counter() - started
        started = time.perf_counter()
        with backups.checked_backup(path):
            pass
        timings["verify"] = time.perf_counter() - started
        started = time.perf_counter()
        report = backups.restore_backup(path, target_url)
        timings["restore"] = time.perf_counter() - started
        db.engine.dispose()
    file_mb = path.stat().st_size / 1e6
    print(f"\n== {label}: {manifest['tables']['ledger_entry']:,} ledger rows, {students:,} students")
    print(f"   filled in {fill_seconds:.1f} s; database {size / 1e6:.0f} MB; backup file {file_mb:.1f} MB")
    for phase, seconds in timings.items():
        print(f"   {phase:8} {seconds:6.1f} s   ({rows / seconds:,.0f} ledger rows/s)")
    print(f"   restore clean (figures match, points check clean): {report.clean}")
    if not report.clean:
        print("   ", report.figure_differences[:5], report.check_differences[:5])
    return report.clean


def _database_size(url):
    if url.startswith("sqlite"):
        return Path(make_url(url).database).stat().st_size
    engine = create_engine(url)
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    return size


def _pg_admin(statements):
    engine = create_engine(normalize_database_url(f"{PG_SERVER}/postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--students", type=int, default=2_000)
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        workdir = Path(tmp)
        names = (SOURCE, TARGET)
        _pg_admin(
            [f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names] + [f'CREATE DATABASE "{n}"' for n in names]
        )
        try:
            ok &= run(
                "PostgreSQL",
                normalize_database_url(f"{PG_SERVER}/{SOURCE}"),
                normalize_database_url(f"{PG_SERVER}/{TARGET}"),
                args.rows,
                args.students,
                workdir,
            )
        finally:
            _pg_admin([f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names])
        if not args.no_sqlite:
            (workdir / "sqlite").mkdir()
            ok &= run(
                "SQLite",
                f"sqlite:///{workdir / 'source.sqlite3'}",
                f"sqlite:///{workdir / 'restored.sqlite3'}",
                args.rows,
                args.students,
                workdir / "sqlite",
            )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
