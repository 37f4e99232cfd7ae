"""Families' data on a school-sized PostgreSQL database: how long an export and an erasure take.

    .venv/bin/python bench/bench_family.py [--students 2000] [--rows 200000]

Needs PostgreSQL on 127.0.0.1 (PG_URL overrides). Creates (drops first) the database
`sp_bench_family` (`BENCH_FAMILY_DB` to change), seeds `--students` students with a guardian each
and, spread over them, `--rows` notifications, half as many audit entries, processed WeChat
messages and idempotency records, and `--rows` ledger entries (bulk SQL, consistent with the
accounts). Erasure searches those tables for the child's strings (office/redaction.py), so it is
the figure that grows with the school. Runs in-process: erasure is a rare office action, not a
hot path. Prints export (JSON, xlsx) and erasure times, then the retention job for 20 students.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

DB_NAME = os.environ.get("BENCH_FAMILY_DB", "sp_bench_family")


def main():
    args = _parse()
    os.environ.update(
        {"DATABASE_URL": f"{args.pg_url.rstrip('/')}/{DB_NAME}", "SECRET_KEY": "bench-only", "APP_ENV": "bench"}
    )
    os.environ.pop("REDIS_URL", None)
    _create_database(args.pg_url)
    from sqlalchemy import text

    from school_points.office import erasure, family_export
    from school_points.platform.clock import utcnow
    from school_points.platform.extensions import db
    from school_points.school.actors import SYSTEM
    from school_points.school.scoping import Scope
    from school_points.school.settings import update_settings
    from wsgi import create_app

    app = create_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        _seed(db, text, args.students, args.rows)
        print(
            f"seeded {args.students} students, {args.rows} notifications and ledger entries, "
            f"{args.rows // 2} audit entries, messages and idempotency records in "
            f"{time.perf_counter() - started:.1f} s"
        )
        scope = Scope()
        timings = {"export json": [], "export xlsx": [], "erase": []}
        for sid in range(1, 6):
            t0 = time.perf_counter()
            document = family_export.export_student(sid, scope=scope, actor=SYSTEM)
            family_export.as_json(document)
            t1 = time.perf_counter()
            family_export.workbook(document)
            t2 = time.perf_counter()
            db.session.commit()
            erasure.erase_student(sid, scope=scope, actor=SYSTEM)
            db.session.commit()
            t3 = time.perf_counter()
            timings["export json"].append(t1 - t0)
            timings["export xlsx"].append(t2 - t0)
            timings["erase"].append(t3 - t2)
        ledger_rows = len(document["ledger"])
        for name, values in timings.items():
            print(
                f"{name:12s} median {statistics.median(values) * 1000:8.1f} ms  "
                f"max {max(values) * 1000:8.1f} ms  (5 students, ~{ledger_rows} ledger rows each)"
            )
        db.session.execute(
            text("UPDATE student SET status = 'archived', archived_at = :at WHERE id BETWEEN 100 AND 119"),
            {"at": utcnow() - timedelta(days=40)},
        )
        update_settings({"privacy": {"erase_archived_after_days": 30}})
        db.session.commit()
        t0 = time.perf_counter()
        erased = erasure.erase_expired_archives()
        print(f"retention job: {erased} students erased in {time.perf_counter() - t0:.2f} s")


def _seed(db, text, students, rows):
    per = max(1, rows // students)
    statements = [
        "INSERT INTO campus (name, created_at) VALUES ('总校区', now())",
        f"""INSERT INTO student (name, campus_id, status, bind_code, birthday, created_at)
            SELECT '学生' || i || '号', 1, 'active', 'B' || lpad(i::text, 9, '0'),
                   date '2015-01-01' + (i % 1500), now()
            FROM generate_series(1, {students}) i""",
        f"""INSERT INTO wechat_user (mp_openid, oa_openid, nickname, referral_code, default_student_id,
                   oa_subscribed, disabled, created_at)
            SELECT 'mp-' || i, 'oa-' || i, '', 'R' || i, i, true, false, now()
            FROM generate_series(1, {students}) i""",
        """INSERT INTO guardian (user_id, student_id, relation, created_at)
            SELECT id, id, '妈妈', now() FROM wechat_user""",
        f"""INSERT INTO ledger_entry (student_id, delta, balance_after, kind, note, idempotency_key,
                   local_day, created_at, actor_type)
            SELECT 1 + (i - 1) / {per}, 1, 1 + (i - 1) % {per}, 'evaluation',
                   '学生' || (1 + (i - 1) / {per}) || '号 认真',
                   'bench:' || i, current_date, now(), 'system'
            FROM generate_series(1, {per * students}) i""",
        f"""INSERT INTO points_account (student_id, balance, lifetime, updated_at)
            SELECT id, {per}, {per}, now() FROM student""",
        f"""INSERT INTO notification (kind, dedupe_key, user_id, student_id, channel, template_id, values, page,
                   status, attempts, last_error, client_msg_id, delivery_status, created_at)
            SELECT 'points_awarded', 'bench:' || i, 1 + i % {students}, 1 + i % {students}, '', '',
                   json_build_object('student', '学生' || (1 + i % {students}) || '号', 'points', 2), '',
                   'sent', 1, '', '', '', now()
            FROM generate_series(1, {rows}) i""",
        f"""INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, changes, created_at)
            SELECT 'admin', 1, 'student.update', 'student', (1 + i % {students})::text,
                   json_build_object('old', json_build_object('name', '学生' || (1 + i % {students}) || '号')),
                   now()
            FROM generate_series(1, {rows // 2}) i""",
        f"""INSERT INTO processed_wechat_message (dedupe_key, reply, created_at)
            SELECT 'msg:' || i, '<xml><ToUserName>oa-' || (1 + i % {students}) || '</ToUserName>'
                   || '学生' || (1 + i % {students}) || '号 积分 10</xml>', now()
            FROM generate_series(1, {rows // 2}) i""",
        f"""INSERT INTO idempotency_record (scope, key, request_hash, status_code, response, created_at)
            SELECT 'u1:POST:/api/v1/growth-records', 'k' || i, md5(i::text), 201,
                   json_build_object('record', json_build_object('content', '练琴' || i)), now()
            FROM generate_series(1, {rows // 2}) i""",
    ]
    for statement in statements:
        db.session.execute(text(statement))
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def _create_database(pg_url):
    import psycopg

    with psycopg.connect(f"{pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _parse():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    return parser.parse_args()


if __name__ == "__main__":
    main()
