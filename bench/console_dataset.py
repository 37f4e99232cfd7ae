"""A school-scale PostgreSQL database for the staff console's benchmarks (bench/bench_console.py).

    .venv/bin/python bench/console_dataset.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/sp_bench_console]
                                              [--students 10000] [--rows 1000000] [--keep]

Drops and re-creates the database named in the URL, migrates it with `flask db upgrade` (the
app's migrations, so its indexes are the deployed ones), then fills it with a few set-based
`INSERT ... SELECT` statements over `generate_series`:

- 3 campuses, 300 classes (100 a campus), 100 teachers (1-2 a class), 10,000 students with
  Chinese names (70% with a 学号), in one class each, one in five in a second class of its campus;
- the ledger: `--rows` entries (default a million) over the past 365 school-local days, skewed
  so low ids have more (student 1 has the most), kinds as in real use (evaluations, check-ins,
  sign-ins, likes, shares, adjustments, birthdays, referrals, redemptions and their refunds);
  ids follow time, `balance_after` is each student's running sum and never negative, and every
  points account holds the ledger's balance and lifetime (`flask points check` is clean);
- 50 goods, 20,000 orders (pending, issued, cancelled) made from redemption entries of the
  ledger, goods' stock agreeing with the live orders;
- 6,000 WeChat users as guardians of 6,000 students (some students have two), 40 of them teachers;
- 50,000 audit-log entries, 100,000 outbox notifications (sent, skipped, pending, failed);
- admins `bench` (super) and `bench_campus` (campus 1), password `bench-console-pw`.

Ends with `flask points check` on the database and prints its verdict; exits non-zero when it
is not clean. `build(url, ...)` does the same from Python and returns the facts a benchmark needs.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = os.environ.get("BENCH_CONSOLE_DB", "postgresql+psycopg://postgres@127.0.0.1:5432/sp_bench_console")
PASSWORD = "bench-console-pw"
SUPER, CAMPUS_ADMIN = "bench", "bench_campus"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "子涵梓轩浩然欣怡雨桐一诺宇航思远佳琪明轩若曦俊杰诗涵博文可馨嘉怡天佑语嫣铭泽紫萱晨阳梦瑶"
GOODS = (
    "铅笔 橡皮 笔记本 水彩笔 尺子 文具盒 书签 贴纸 拼图 魔方 绘本 跳绳 篮球 足球 羽毛球拍 保温杯 书包 台灯 耳机 积木"
)


def app_env(url):
    """The environment the app's commands (and gunicorn) run with against this database."""
    return {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": "",
        "SECRET_KEY": "bench-only",
        "APP_ENV": "development",
        "PYTHONPATH": str(ROOT),
    }


def flask(url, *args, check=True):
    """Run `flask --app wsgi <args>` against the database; the CompletedProcess (output captured)."""
    command = [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", *args]
    return subprocess.run(command, cwd=ROOT, env=app_env(url), check=check, capture_output=True, text=True)


def recreate(url):
    """Drop and create the URL's database (connecting to the server's `postgres` database)."""
    target = make_url(url)
    if not target.drivername.startswith("postgresql"):
        raise SystemExit("console_dataset builds a PostgreSQL database: give a postgresql:// URL")
    server = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()


def build(url=DEFAULT_URL, *, students=10_000, rows=1_000_000, orders=20_000, audit=50_000, notifications=100_000):
    """Re-create and fill the database; returns facts about it (ids and names a benchmark asks for)."""
    timings = {}
    started = time.monotonic()
    recreate(url)
    flask(url, "db", "upgrade")
    timings["migrate"] = time.monotonic() - started
    engine = create_engine(url)
    params = {"students": students, "rows": rows, "orders": orders, "audit": audit, "notifications": notifications}
    for label, statements in STEPS:
        step_started = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("SELECT setseed(0.42)"))
            # Bulk loading: more memory for the sorts, no per-row foreign-key triggers (every id
            # written is made here), and the big tables' secondary indexes built once at the end.
            conn.execute(text("SET LOCAL work_mem = '256MB'"))
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            indexes = _drop_indexes(conn, BULK_TABLES.get(label, ()))
            for statement in statements:
                conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
            for definition in indexes:
                conn.execute(text(definition))
        timings[label] = time.monotonic() - step_started
    step_started = time.monotonic()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    timings["vacuum analyze"] = time.monotonic() - step_started
    step_started = time.monotonic()
    flask(url, "admin", "create", SUPER, "--password", PASSWORD)
    flask(url, "admin", "create", CAMPUS_ADMIN, "--password", PASSWORD, "--campus", "1")
    timings["admins"] = time.monotonic() - step_started
    facts = _facts(engine)
    engine.dispose()
    facts["timings"] = timings
    facts["seconds"] = time.monotonic() - started
    return facts


def points_check(url):
    """`flask points check` on the database: (exit code, its output)."""
    result = flask(url, "points", "check", check=False)
    return result.returncode, (result.stdout + result.stderr).strip()


# The tables each step fills by the hundred thousand: their plain indexes are dropped first.
BULK_TABLES = {"ledger": ("ledger_entry",), "audit log": ("audit_log",), "notifications": ("notification",)}


def _drop_indexes(conn, tables):
    """Drop the tables' indexes that back no constraint; returns their definitions, to build again."""
    definitions = []
    for table in tables:
        rows = conn.execute(
            text(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' AND i.tablename = :t"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
            ),
            {"t": table},
        ).all()
        for name, definition in rows:
            conn.execute(text(f'DROP INDEX "{name}"'))
            definitions.append(definition)
    return definitions


def _facts(engine):
    with engine.connect() as conn:
        one = conn.execute
        heavy = one(
            text("SELECT student_id, count(*) FROM ledger_entry GROUP BY student_id ORDER BY 2 DESC LIMIT 1")
        ).one()
        heavy_campus1 = one(
            text(
                "SELECT l.student_id, count(*) FROM ledger_entry l JOIN student s ON s.id = l.student_id "
                "WHERE s.campus_id = 1 GROUP BY l.student_id ORDER BY 2 DESC LIMIT 1"
            )
        ).one()
        counts = {
            table: one(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608 - our own table names
            for table in (
                "campus",
                "school_class",
                "student",
                "class_student",
                "teacher",
                "wechat_user",
                "guardian",
                "ledger_entry",
                "goods",
                "redemption",
                "audit_log",
                "notification",
            )
        }
        pickup = one(
            text("SELECT pickup_code FROM redemption WHERE campus_id = 1 ORDER BY id LIMIT 1 OFFSET 777")
        ).scalar()
        size = one(text("SELECT pg_database_size(current_database())")).scalar()
    return {
        "heavy_student": heavy[0],
        "heavy_rows": heavy[1],
        "heavy_student_campus1": heavy_campus1[0],
        "heavy_rows_campus1": heavy_campus1[1],
        "pickup_code": pickup,
        "counts": counts,
        "size_mb": size / 1e6,
    }


# Every step is one transaction; `setseed` first, so the same arguments give the same database.
STEPS = [
    (
        "school",
        [
            "INSERT INTO campus (id, name, created_at) VALUES (1, '总校区', now() - interval '2 years'),"
            " (2, '东校区', now() - interval '2 years'), (3, '西校区', now() - interval '1 year')",
            "SELECT setval(pg_get_serial_sequence('campus', 'id'), 3)",
            # class k is at campus 1 + k % 3: 100 a campus
            "INSERT INTO school_class (id, name, campus_id, created_at) "
            "SELECT k, (ARRAY['钢琴','美术','书法','舞蹈','围棋','英语','编程','口才','数学','声乐'])[1 + k % 10]"
            " || (1 + k / 10) || '班', 1 + k % 3, now() - interval '1 year' FROM generate_series(1, 300) k",
            "SELECT setval(pg_get_serial_sequence('school_class', 'id'), 300)",
            "INSERT INTO teacher (id, name, campus_id, invite_code, active, created_at) "
            f"SELECT t, substr('{SURNAMES}', 1 + (t * 7) % 50, 1) || '老师' || t, 1 + t % 3,"
            " CASE WHEN t % 3 = 0 THEN 'T' || lpad(t::text, 6, '0') END, t % 25 <> 0, now() - interval '1 year'"
            " FROM generate_series(1, 100) t",
            "SELECT setval(pg_get_serial_sequence('teacher', 'id'), 100)",
            # teacher t teaches classes of its own campus: k = t + 3j lands on campus 1 + t % 3 too
            "INSERT INTO class_teacher (class_id, teacher_id)"
            " SELECT k, 1 + ((k - 1) % 100) FROM generate_series(1, 300) k"
            " UNION SELECT k, 1 + ((k + 2) % 100) FROM generate_series(1, 300) k WHERE k % 2 = 0",
        ],
    ),
    (
        "students",
        [
            "INSERT INTO student (id, name, campus_id, birthday, student_no, status, archived_at, bind_code,"
            "                     created_at) "
            f"SELECT s, substr('{SURNAMES}', 1 + (s * 13) % 50, 1)"
            f" || substr('{GIVEN}', 1 + 2 * ((s * 7) % 25), 2)"
            f" || CASE WHEN s % 4 = 0 THEN substr('{GIVEN}', 1 + 2 * ((s * 11) % 25), 1) ELSE '' END,"
            " 1 + s % 3, date '2012-01-01' + (s * 37) % 3000,"
            " CASE WHEN s % 10 < 7 THEN '2026' || lpad(s::text, 5, '0') END,"
            " CASE WHEN s % 100 = 99 THEN 'archived' ELSE 'active' END,"
            " CASE WHEN s % 100 = 99 THEN now() - interval '30 days' END,"
            " 'B' || lpad(s::text, 7, '0'), now() - interval '400 days' + s * interval '30 minutes'"
            " FROM generate_series(1, :students) s",
            "SELECT setval(pg_get_serial_sequence('student', 'id'), :students)",
            # student s (campus 1 + s % 3) joins class 3m + s % 3 of the same campus (0 stands for 300)
            "INSERT INTO class_student (class_id, student_id) "
            "SELECT CASE WHEN k = 0 THEN 300 ELSE k END, s FROM"
            " (SELECT s, 3 * ((s / 3) % 100) + s % 3 AS k FROM generate_series(1, :students) s) x",
            "INSERT INTO class_student (class_id, student_id) "
            "SELECT CASE WHEN k = 0 THEN 300 ELSE k END, s FROM"
            " (SELECT s, 3 * ((s / 3 + 37) % 100) + s % 3 AS k FROM generate_series(1, :students) s"
            "  WHERE s % 5 = 0) x ON CONFLICT DO NOTHING",
        ],
    ),
    (
        "ledger",
        [
            # Who and when: student ids skewed towards 1, times over the past 365 days in school hours.
            "CREATE TEMP TABLE gen ON COMMIT DROP AS "
            "SELECT g, 1 + floor(power(random(), 1.6) * :students)::int AS student_id,"
            " date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') - make_interval(days => floor(random() * 365)::int)"
            "   + make_interval(secs => 28800 + floor(random() * 43200)) AS local_ts"
            " FROM generate_series(1, :rows) g",
            # A tenth of the rows go to student 1: the student with a long history to page through.
            "UPDATE gen SET student_id = 1 WHERE g % 100 = 0",
            "CREATE TEMP TABLE seq ON COMMIT DROP AS "
            "SELECT g, student_id, local_ts,"
            " row_number() OVER (PARTITION BY student_id ORDER BY local_ts, g) AS n FROM gen",
            # Each student's n-th entry: every 10th a redemption that spends at most what the 9
            # before it earned (each earns >= 1), so the running balance never goes below zero.
            "CREATE TEMP TABLE shaped ON COMMIT DROP AS "
            "SELECT g, student_id, local_ts, n,"
            " CASE WHEN n % 10 = 0 THEN 'redemption'"
            "      WHEN n % 10 = 1 AND n % 40 = 11 THEN 'redemption_refund'"
            "      WHEN n % 97 = 50 THEN 'adjustment'"
            "      WHEN n % 211 = 5 THEN 'birthday'"
            "      WHEN n % 173 = 7 THEN 'referral'"
            "      ELSE (ARRAY['evaluation','evaluation','evaluation','evaluation','checkin','checkin','signin',"
            "                  'signin','like','share'])[1 + (g % 10)] END AS kind,"
            " CASE WHEN n % 10 = 0 THEN -(5 + g % 5)"
            "      WHEN n % 10 = 1 AND n % 40 = 11 THEN 5 + g % 5"
            "      WHEN n % 97 = 50 THEN 1 + g % 20"
            "      WHEN n % 211 = 5 THEN 50"
            "      WHEN n % 173 = 7 THEN 100"
            "      ELSE 1 + g % 7 END AS delta FROM seq",
            "INSERT INTO ledger_entry (student_id, delta, balance_after, kind, ref_type, ref_id, actor_type, actor_id,"
            "                          note, idempotency_key, local_day, created_at) "
            "SELECT student_id, delta, sum(delta) OVER (PARTITION BY student_id ORDER BY local_ts, g), kind,"
            " CASE WHEN kind IN ('redemption', 'redemption_refund') THEN 'redemption' END,"
            " CASE WHEN kind IN ('redemption', 'redemption_refund') THEN 'bench-' || g END,"
            " CASE kind WHEN 'evaluation' THEN 'teacher' WHEN 'adjustment' THEN 'admin'"
            "           WHEN 'redemption' THEN 'user' WHEN 'redemption_refund' THEN 'admin'"
            "           WHEN 'birthday' THEN 'system' ELSE 'user' END,"
            " CASE kind WHEN 'evaluation' THEN 1 + g % 100 WHEN 'adjustment' THEN 1 WHEN 'redemption_refund' THEN 1"
            "           WHEN 'birthday' THEN NULL ELSE 1 + g % 6000 END,"
            " CASE kind WHEN 'evaluation' THEN (ARRAY['课堂表现好','按时完成作业','练习认真','进步明显'])[1 + g % 4]"
            "           WHEN 'adjustment' THEN '活动奖励' WHEN 'redemption' THEN '兑换' ELSE '' END,"
            " 'bench:' || g, local_ts::date, local_ts AT TIME ZONE 'Asia/Shanghai'"
            # qualified: the output column `local_ts::date` is named local_ts too (and has no time)
            " FROM shaped ORDER BY shaped.local_ts, shaped.g",
            "INSERT INTO points_account (student_id, balance, lifetime, updated_at) "
            "SELECT s.id, coalesce(sum(l.delta), 0),"
            " coalesce(sum(l.delta) FILTER (WHERE l.delta > 0 AND l.kind IN ('evaluation','checkin','like','share',"
            "  'referral','welcome','signin','birthday','adjustment')), 0), now()"
            " FROM student s LEFT JOIN ledger_entry l ON l.student_id = s.id GROUP BY s.id",
        ],
    ),
    (
        "mall",
        [
            "INSERT INTO goods (id, name, description, image_url, points, stock, stock_received, limit_per_student,"
            "                   campus_id, on_shelf, sort, verify_code, deleted, created_at, updated_at) "
            "SELECT k, (string_to_array(:goods, ' '))[1 + (k - 1) % 20]"
            " || CASE WHEN k > 20 THEN '（' || k || '）' ELSE '' END,"
            " '奖品说明', '', 5 + k % 5, 0, 0, CASE WHEN k % 7 = 0 THEN 2 END,"
            " CASE WHEN k % 5 = 0 THEN 1 + k % 3 END, k % 10 <> 0, k, '', k = 50,"
            " now() - interval '1 year', now() - interval '1 year' FROM generate_series(1, 50) k".replace(
                ":goods", f"'{GOODS}'"
            ),
            "SELECT setval(pg_get_serial_sequence('goods', 'id'), 50)",
            # The newest `orders` redemption entries become orders (ids follow time, so do the orders').
            "INSERT INTO redemption (student_id, goods_id, campus_id, quantity, points_each, total_points, goods_name,"
            "                        goods_image_url, status, pickup_code, idempotency_key, created_by_type,"
            "                        created_by_id, created_at, issued_at, issued_by_type, issued_by_id,"
            "                        issue_method, cancelled_at, cancelled_by_type, cancelled_by_id, cancel_reason) "
            "SELECT l.student_id, 1 + l.id % 49, s.campus_id, 1, -l.delta, -l.delta, '奖品' || (1 + l.id % 49), '',"
            " st, 'P' || lpad(l.id::text, 9, '0'), 'order:' || l.id, 'user', l.actor_id, l.created_at,"
            " CASE WHEN st = 'issued' THEN l.created_at + interval '2 days' END,"
            " CASE WHEN st = 'issued' THEN 'teacher' END, CASE WHEN st = 'issued' THEN 1 + l.id % 100 END,"
            " CASE WHEN st = 'issued' THEN 'scan' END,"
            " CASE WHEN st = 'cancelled' THEN l.created_at + interval '1 day' END,"
            " CASE WHEN st = 'cancelled' THEN 'admin' END, CASE WHEN st = 'cancelled' THEN 1 END,"
            " CASE WHEN st = 'cancelled' THEN '家长取消' ELSE '' END"
            " FROM (SELECT l.*, CASE WHEN l.created_at > now() - interval '14 days' AND l.id % 3 <> 0 THEN 'pending'"
            "                        WHEN l.id % 20 = 0 THEN 'cancelled' ELSE 'issued' END AS st"
            "       FROM ledger_entry l WHERE l.kind = 'redemption' ORDER BY l.id DESC LIMIT :orders) l"
            " JOIN student s ON s.id = l.student_id ORDER BY l.id",
            "UPDATE goods SET stock = 20 + id % 30, stock_received = 20 + id % 30 + coalesce("
            " (SELECT sum(quantity) FROM redemption r WHERE r.goods_id = goods.id AND r.status <> 'cancelled'), 0)",
        ],
    ),
    (
        "families",
        [
            "INSERT INTO wechat_user (id, mp_openid, oa_openid, unionid, nickname, referral_code, default_student_id,"
            "                         oa_subscribed, disabled, created_at) "
            "SELECT u, 'mp-bench-' || u, CASE WHEN u % 2 = 0 THEN 'oa-bench-' || u END, 'un-bench-' || u,"
            " '家长' || u, 'R' || lpad(u::text, 7, '0'), CASE WHEN u <= 6000 THEN u END, u % 2 = 0, false,"
            " now() - interval '300 days' FROM generate_series(1, 6040) u",
            "SELECT setval(pg_get_serial_sequence('wechat_user', 'id'), 6040)",
            "INSERT INTO guardian (user_id, student_id, relation, created_at) "
            "SELECT u, u, (ARRAY['妈妈','爸爸','奶奶','爷爷'])[1 + u % 4], now() - interval '300 days'"
            " FROM generate_series(1, 6000) u",
            # a second guardian for 1,000 of them (users 1..1000 also look after student u + 3000)
            "INSERT INTO guardian (user_id, student_id, relation, created_at) "
            "SELECT u, u + 3000, '妈妈', now() - interval '200 days' FROM generate_series(1, 1000) u",
            "UPDATE teacher SET user_id = 6000 + id WHERE id <= 40",
        ],
    ),
    (
        "audit log",
        [
            "INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, campus_id, changes,"
            "                       client_address, created_at) "
            "SELECT CASE WHEN a % 4 = 0 THEN 'teacher' ELSE 'admin' END, 1 + a % 5,"
            " (ARRAY['points.adjust','redemption.issue','redemption.cancel','student.update','student.create',"
            "        'goods.update','settings.update','class.update','teacher.update',"
            "        'bind_code.regenerate'])[1 + a % 10],"
            " (ARRAY['student','redemption','redemption','student','student','goods','settings','class','teacher',"
            "        'student'])[1 + a % 10],"
            " (1 + (a * 7919) % :students)::text, CASE WHEN a % 10 = 6 THEN NULL ELSE 1 + a % 3 END,"
            " json_build_object('note', '基准测试', 'n', a), '127.0.0.1',"
            " now() - make_interval(secs => (:audit - a) * (31536000.0 / :audit))"
            " FROM generate_series(1, :audit) a",
        ],
    ),
    (
        "notifications",
        [
            "INSERT INTO notification (kind, dedupe_key, user_id, student_id, channel, template_id, values, page,"
            "                          status, attempts, last_error_code, last_error, wechat_msgid, client_msg_id,"
            "                          delivery_status, next_attempt_at, created_at, sent_at) "
            "SELECT (ARRAY['points_awarded','points_awarded','points_awarded','redeemed','issued','cancelled',"
            "              'expiring'])[1 + n % 7],"
            " 'bench:' || n, CASE WHEN n % 50 = 0 THEN NULL ELSE 1 + n % 6000 END,"
            " CASE WHEN n % 50 = 0 THEN NULL ELSE 1 + n % 6000 END,"
            " CASE WHEN n % 3 = 0 THEN 'mp_subscribe' ELSE 'oa_template' END, 'tpl-bench', '{}'::json, '', st,"
            " CASE st WHEN 'failed' THEN 5 WHEN 'pending' THEN 1 + n % 3 WHEN 'sent' THEN 1 ELSE 0 END,"
            " CASE st WHEN 'failed' THEN 43101 END,"
            " CASE st WHEN 'failed' THEN 'user refuse to accept the msg' ELSE '' END,"
            " CASE st WHEN 'sent' THEN 'msg' || n END, 'c' || n, '',"
            " CASE st WHEN 'pending' THEN ts + interval '5 minutes' END, ts, CASE st WHEN 'sent' THEN ts END"
            " FROM (SELECT n,"
            "       now() - make_interval(secs => (:notifications - n) * (31536000.0 / :notifications)) AS ts,"
            "       CASE WHEN n % 100 IN (1, 2) THEN 'failed' WHEN n > :notifications - 30 THEN 'pending'"
            "            WHEN n % 100 < 9 THEN 'skipped' ELSE 'sent' END AS st"
            "       FROM generate_series(1, :notifications) n) x",
        ],
    ),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="the database to (re)create (default %(default)s)")
    parser.add_argument("--students", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=1_000_000, help="ledger entries")
    args = parser.parse_args()
    if args.students < 6_000 or args.rows < args.students * 20:
        raise SystemExit("need at least 6,000 students (the guardians) and 20 ledger rows a student")
    facts = build(args.url, students=args.students, rows=args.rows)
    print(f"built {make_url(args.url).database} in {facts['seconds']:.1f} s ({facts['size_mb']:.0f} MB):")
    print("  " + ", ".join(f"{label} {seconds:.1f} s" for label, seconds in facts["timings"].items()))
    print("  " + ", ".join(f"{table} {count:,}" for table, count in facts["counts"].items()))
    print(
        f"  most ledger rows: student {facts['heavy_student']} ({facts['heavy_rows']:,}); at campus 1: student "
        f"{facts['heavy_student_campus1']} ({facts['heavy_rows_campus1']:,})"
    )
    print(f"  admins: {SUPER} (super), {CAMPUS_ADMIN} (campus 1), password {PASSWORD}")
    code, output = points_check(args.url)
    print(f"flask points check (exit {code}): {output}")
    sys.exit(code)


if __name__ == "__main__":
    main()
