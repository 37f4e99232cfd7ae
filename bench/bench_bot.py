"""Benchmark: bursts of concurrent check-in messages to the official-account callback.

Starts its own redis-server, a fake WeChat API server (tests/fakewechat.py), and the Procfile's
`web` (gunicorn) and `worker` commands as deployed, on free local ports; uses a
PostgreSQL database of its own (created if missing) on the local server, seeds one parent +
student per message, then for each round fires `--concurrency` signed "打卡" messages at once and,
in the same run, the same burst against GET /healthz and GET /readyz (one database query) for
comparison. With Redis the callback only acknowledges a check-in; the workers award it and tell
the parent by customer-service message, so each round waits until its awards landed and reports
how long that took. Finally it re-sends a whole round (WeChat's retries) and, after the workers
drained, checks in the database that every message was awarded exactly once, that every parent
was told once, and that the ledger reconciles.

    .venv/bin/python bench/bench_bot.py [--rounds 5] [--concurrency 100] [--safe-mode]
        [--database-url postgresql://postgres@127.0.0.1:5432/sp_bench_bot] [--workers N --threads N]
        [--rq-workers 2] [--no-redis-jobs]

`--no-redis-jobs` runs without OA app credentials, so the callback answers every check-in in the
request (the synchronous path, as without Redis). All traffic stays on 127.0.0.1; every loop is
bounded and the script stops what it started.
"""

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from servers import CpuMeter, free_port, procfile, wait_for_url, web_shape  # noqa: E402

TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx-bench"
APP_SECRET = "bench-secret"
CHECKIN_POINTS = 5
# BENCH_LEVELS=1 (member levels on, every student's birthday today): each award also brings a
# level bonus of 20 % (rounded down) and a birthday bonus equal to it.
LEVELS = os.environ.get("BENCH_LEVELS") == "1"
EXPECTED_BALANCE = CHECKIN_POINTS * 2 + CHECKIN_POINTS * 20 // 100 if LEVELS else CHECKIN_POINTS
AWARD_TIMEOUT_SECONDS = 120


def wait_for_redis(port, seconds=30):
    import redis

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if redis.Redis(port=port).ping():
                return
        except redis.RedisError:  # not OSError: a refused connection would otherwise end the wait at once
            pass
        time.sleep(0.1)
    raise RuntimeError(f"redis-server did not come up in {seconds}s")


# ---------------------------------------------------------------- services


def spawn(command, env, log=subprocess.DEVNULL, cwd=ROOT):
    """Start a process group of its own (to stop it whole) in this session, as a Procfile runner does.

    Staying in this session keeps every process in one scheduling autogroup (Linux), so a nice
    value ranks the process against the others as it would under honcho or one systemd unit.
    """
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log, process_group=0)


def start_redis(port):
    process = spawn(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        os.environ,
    )
    wait_for_redis(port)
    return process


def procfile_env(env, port=None):
    env = {**env, "PATH": f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}"}
    if port:
        env["PORT"] = str(port)
    return env


def start_gunicorn(port, env):
    """The Procfile's `web` command (WEB_CONCURRENCY / WEB_THREADS from `env`), access log to a file."""
    results = ROOT / "bench" / "results"  # git-ignored
    results.mkdir(exist_ok=True)
    log = open(results / "gunicorn-bench-bot.log", "w")  # noqa: SIM115 - the server writes to it until it is stopped
    process = spawn(["sh", "-c", "exec " + procfile("web")], procfile_env(env, port), log)
    wait_for_url(f"http://127.0.0.1:{port}/healthz")
    return process


def start_fake_wechat(port):
    process = spawn([sys.executable, str(ROOT / "tests/fakewechat.py"), str(port)], os.environ)
    wait_for_url(f"http://127.0.0.1:{port}/cgi-bin/ping")
    return process


def start_rq_workers(count, env):
    """`count` of the Procfile's `worker` processes (which lower their own priority: WORKER_NICE)."""
    return [spawn(["sh", "-c", "exec " + procfile("worker")], procfile_env(env)) for _ in range(count)]


def stop(process):
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()


# ---------------------------------------------------------------- data


def prepare_database(app, parents):
    """Fresh tables and `parents` followers, each bound to a student of their own."""
    from school_points.accounts import ledger
    from school_points.models import Campus, Guardian, Student, WechatUser
    from school_points.platform.codes import new_code
    from school_points.platform.extensions import db

    with app.app_context():
        db.drop_all()
        db.create_all()
        campus = Campus(name="总校区")
        db.session.add(campus)
        db.session.flush()
        for i in range(parents):
            student = Student(name=f"学生{i}", campus_id=campus.id, bind_code=new_code(8))
            user = WechatUser(oa_openid=f"oa-bench-{i}", oa_subscribed=True, referral_code=new_code(8))
            db.session.add_all([student, user])
            db.session.flush()
            db.session.add(Guardian(user_id=user.id, student_id=student.id, relation="妈妈"))
            user.default_student_id = student.id
        db.session.flush()
        ledger.ensure_accounts([s.id for s in db.session.scalars(db.select(Student))])
        if LEVELS:
            # Member levels on, the worst case: every award also writes a level bonus (level 1 at
            # +20 %) and a birthday bonus (every student's birthday is today).
            from school_points.platform.clock import local_today
            from school_points.school.settings import update_settings

            update_settings(
                {
                    "levels": {"enabled": True, "earn_bonus_pct": {"1": 20}},
                    "birthday": {"double_on_birthday": True},
                }
            )
            for student in db.session.scalars(db.select(Student)):
                student.birthday = local_today().replace(year=2016)
        db.session.commit()


def awards_landed(app):
    """(check-in entries, acknowledged check-ins still owed) now."""
    from sqlalchemy import func, select

    from school_points.models import LedgerEntry, ProcessedWechatMessage
    from school_points.platform.extensions import db

    with app.app_context():
        entries = db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "checkin"))
        owed = db.session.scalar(
            select(func.count(ProcessedWechatMessage.id)).where(
                ProcessedWechatMessage.checkin.is_not(None), ProcessedWechatMessage.done_at.is_(None)
            )
        )
        db.session.remove()
        return entries, owed


def wait_for_awards(app, expected, started):
    """Seconds from `started` until `expected` check-in entries exist and nothing is owed."""
    deadline = time.monotonic() + AWARD_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        entries, owed = awards_landed(app)
        if entries >= expected and owed == 0:
            return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError(f"awards did not land in {AWARD_TIMEOUT_SECONDS}s: {awards_landed(app)}")


def award_delays(app):
    """Milliseconds from storing each deferred check-in to its award (done_at - created_at)."""
    from sqlalchemy import select

    from school_points.models import ProcessedWechatMessage
    from school_points.platform.extensions import db

    with app.app_context():
        rows = db.session.execute(
            select(ProcessedWechatMessage.created_at, ProcessedWechatMessage.done_at).where(
                ProcessedWechatMessage.done_at.is_not(None)
            )
        ).all()
        db.session.remove()
    return [(done - created).total_seconds() * 1000 for created, done in rows]


def verify(app):
    """(checkin entries, students not at exactly one award, reconcile differences, result messages by status)."""
    from sqlalchemy import func, select

    from school_points.accounts.reconcile import find_differences
    from school_points.models import LedgerEntry, Notification, PointsAccount
    from school_points.platform.extensions import db

    with app.app_context():
        entries = db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "checkin"))
        wrong = db.session.scalar(
            select(func.count()).select_from(PointsAccount).where(PointsAccount.balance != EXPECTED_BALANCE)
        )
        told = dict(
            db.session.execute(
                select(Notification.status, func.count(Notification.id))
                .where(Notification.kind == "checkin_result")
                .group_by(Notification.status)
            ).all()
        )
        return entries, wrong, find_differences(), told


# ---------------------------------------------------------------- load


def signed_checkin(index, msg_id, safe):
    """(path with query, body) of one signed text message, as WeChat sends it."""
    from urllib.parse import urlencode

    from wechatpy.crypto import WeChatCrypto
    from wechatpy.utils import WeChatSigner

    timestamp, nonce = str(int(time.time())), f"n{msg_id}"
    signer = WeChatSigner()
    signer.add_data(TOKEN, timestamp, nonce)
    query = {"timestamp": timestamp, "nonce": nonce, "signature": signer.signature, "openid": f"oa-bench-{index}"}
    xml = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oa-bench-{index}]]>"
        f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[打卡 练琴 30 分钟]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    if safe:
        import xmltodict

        envelope = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(xml, nonce, timestamp))["xml"]
        query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        xml = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
        )
    return "/wechat?" + urlencode(query), xml.encode()


def burst(port, requests_):
    """Send every (method, path, body) at once; (latencies ms, failures, wall s).

    One asyncio loop on raw sockets, each request on a connection of its own opened inside its
    timing (as WeChat's servers would connect): about a quarter of the CPU that a thread per request
    with http.client costs, which matters because this script shares the two cores with the server.
    """
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_burst(port, requests_))


def _loop_factory():
    """uvloop's event loop when installed (requirements-dev.txt): the client's CPU is taken from the
    same two cores the server runs on, and uvloop's is about half of asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _burst(port, requests_):
    raw = [_raw_request(port, *r) for r in requests_]
    expect_checkin = [bool(r[2]) for r in requests_]
    outcomes = [None] * len(raw)
    started = time.perf_counter()
    await asyncio.gather(*(_send(port, request, i, outcomes) for i, request in enumerate(raw)))
    wall = time.perf_counter() - started
    latencies, failures = [], []
    for (status, payload, elapsed), checkin in zip(outcomes, expect_checkin, strict=True):
        if status == 200 and (not checkin or "打卡".encode() in payload or b"<Encrypt>" in payload):
            latencies.append(elapsed)
        else:
            failures.append((status, payload[:200]))
    return latencies, failures, wall


def _raw_request(port, method, path, body):
    body = body or b""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Encoding: identity\r\n"
        + (f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n" if body else "")
        + "\r\n"
    )
    return head.encode() + body


async def _send(port, request, i, outcomes):
    """One request on its own connection; (status, body, milliseconds) into outcomes[i]."""
    started, writer = time.perf_counter(), None
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 30)
        writer.write(request)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = int(head.split(b" ", 2)[1])
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        payload = await asyncio.wait_for(reader.readexactly(length), 30)
        outcomes[i] = (status, payload, (time.perf_counter() - started) * 1000)
    except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
        outcomes[i] = ("error", str(exc).encode(), None)
    finally:
        if writer is not None:
            writer.close()


def percentile(latencies, fraction):
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else float("nan")


def summary(name, latencies, wall_seconds, failures):
    ordered = sorted(latencies)
    p99 = percentile(ordered, 0.99)
    rate = len(latencies) / wall_seconds if wall_seconds else 0
    return (
        f"{name:<22} n={len(latencies):>4}  {rate:>7.0f} req/s  p50={statistics.median(ordered):7.1f} ms  "
        f"p99={p99:7.1f} ms  max={ordered[-1]:7.1f} ms  failures={len(failures)}"
    )


def run_rounds(app, port, args, meter):
    """Per round: healthz, readyz, then the check-in burst and the wait for its awards.

    Also sums the CPU each group of processes used during the readyz and check-in bursts and while
    the awards landed after a burst (`cpu`: phase -> group -> seconds).
    """
    results = {"healthz": ([], [], 0.0), "readyz": ([], [], 0.0), "wechat check-in": ([], [], 0.0)}
    landed, cpu, round_p99 = [], {}, []

    def add(name, outcome):
        lat, fail, wall = results[name]
        results[name] = (lat + outcome[0], fail + outcome[1], wall + outcome[2])

    def charge(phase, before, after):
        totals = cpu.setdefault(phase, {})
        for group in after:
            totals[group] = totals.get(group, 0.0) + after[group] - before[group]

    first_round = []
    for r in range(args.rounds):
        add("healthz", burst(port, [("GET", "/healthz", None)] * args.concurrency))
        before = meter.sample()
        add("readyz", burst(port, [("GET", "/readyz", None)] * args.concurrency))
        charge("readyz burst", before, meter.sample())
        messages = [
            ("POST", *signed_checkin(r * args.concurrency + i, 880000000 + r * args.concurrency + i, args.safe_mode))
            for i in range(args.concurrency)
        ]
        first_round = first_round or messages
        before, started = meter.sample(), time.perf_counter()
        outcome = burst(port, messages)
        add("wechat check-in", outcome)
        round_p99.append(percentile(outcome[0], 0.99))
        after_burst = meter.sample()
        charge("check-in burst", before, after_burst)
        landed.append(wait_for_awards(app, (r + 1) * args.concurrency, started))
        charge("awarding after the burst", after_burst, meter.sample())
    retry = burst(port, first_round)  # WeChat's retries of a whole round: no second award
    return results, retry, landed, cpu, round_p99


def drain(app, expected):
    """Let the workers finish whatever the retries might have queued, then settle."""
    wait_for_awards(app, expected, time.perf_counter())
    time.sleep(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for the Procfile's web command (default: its own)")
    parser.add_argument("--threads", type=int, help="WEB_THREADS for the Procfile's web command (default: its own)")
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--safe-mode", action="store_true", help="encrypt messages (AES) like safe mode")
    parser.add_argument(
        "--no-redis-jobs",
        action="store_true",
        help="no OA app secret: every check-in is answered in the request (the synchronous path)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sp_bench_bot"),
    )
    args = parser.parse_args()

    from tests.conftest import _ensure_pg_database
    from wsgi import create_app

    _ensure_pg_database(args.database_url)
    redis_port, web_port, wechat_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        # A plaintext-mode account has no AES key: with one, /wechat refuses plaintext.
        "WECHAT_OA_TOKEN": TOKEN,
        "WECHAT_OA_AES_KEY": AES_KEY if args.safe_mode else "",
        "WECHAT_OA_APP_ID": APP_ID,
        "WECHAT_OA_APP_SECRET": "" if args.no_redis_jobs else APP_SECRET,
        "WECHAT_API_BASE_URL": f"http://127.0.0.1:{wechat_port}",
        "APP_ENV": "development",
    }
    env.update(
        {
            name: str(value)
            for name, value in (("WEB_CONCURRENCY", args.workers), ("WEB_THREADS", args.threads))
            if value
        }
    )
    processes, meter = [], CpuMeter(args.database_url.rsplit("/", 1)[-1])
    try:
        processes.append(start_redis(redis_port))
        processes.append(start_fake_wechat(wechat_port))
        app = create_app({"SQLALCHEMY_DATABASE_URI": _normalized(args.database_url), "REDIS_URL": env["REDIS_URL"]})
        prepare_database(app, args.rounds * args.concurrency)
        for worker in start_rq_workers(0 if args.no_redis_jobs else args.rq_workers, env):
            processes.append(worker)
            meter.add("rq workers", worker.pid)
        processes.append(start_gunicorn(web_port, env))
        meter.add("gunicorn", processes[-1].pid)
        meter.add("redis", processes[0].pid)
        meter.add_self("client")
        burst(web_port, [("GET", "/readyz", None)] * 20)  # warm the pools
        results, retry, landed, cpu, round_p99 = run_rounds(app, web_port, args, meter)
        drain(app, args.rounds * args.concurrency)
        report(args, results, retry, landed, award_delays(app), verify(app), round_p99)
        report_cpu(cpu, args.rounds * args.concurrency)
    finally:
        for process in reversed(processes):
            stop(process)


def report(args, results, retry, landed, delays, verification, round_p99):
    mode = "safe (AES)" if args.safe_mode else "plaintext"
    path = (
        "synchronous (no OA secret)" if args.no_redis_jobs else f"acknowledged, awarded by {args.rq_workers} RQ workers"
    )
    workers, threads = web_shape(
        {
            **os.environ,
            **{
                name: str(value)
                for name, value in (("WEB_CONCURRENCY", args.workers), ("WEB_THREADS", args.threads))
                if value
            },
        }
    )
    print(
        f"Procfile web: gunicorn {workers} workers x {threads} threads (gthread); request log "
        f"{os.environ.get('REQUEST_LOG', '1')}, metrics {os.environ.get('METRICS_ENABLED', '1')}; worker WORKER_NICE="
        f"{os.environ.get('WORKER_NICE', 10)}; PostgreSQL, Redis; "
        f"{args.rounds} rounds of "
        f"{args.concurrency} concurrent requests; {mode} mode; check-ins {path}; {os.cpu_count()} cores"
    )
    for name, (latencies, failures, wall) in results.items():
        print(summary(name, latencies, wall, failures))
        for failure in failures[:3]:
            print("   failure:", failure)
    print(f"check-in p99 of each round alone: {', '.join(f'{ms:.0f}' for ms in round_p99)} ms")
    print(summary("wechat retries", retry[0], retry[2], retry[1]))
    if delays:
        ordered = sorted(delays)
        print(
            f"awards landed (burst start -> last award of the round): "
            f"{', '.join(f'{seconds * 1000:.0f}' for seconds in landed)} ms; per message, stored -> awarded: "
            f"p50={statistics.median(ordered):.0f} ms p99={percentile(ordered, 0.99):.0f} ms "
            f"max={ordered[-1]:.0f} ms"
        )
    entries, wrong, differences, told = verification
    expected = args.rounds * args.concurrency
    print(
        f"check-in entries: {entries} (expected {expected}); students not awarded exactly once: {wrong}; "
        f"ledger differences: {len(differences)}; result messages: {told or 'none (answered in the request)'}"
    )
    told_ok = args.no_redis_jobs or told == {"sent": expected}
    if entries != expected or wrong or differences or not told_ok:
        sys.exit(1)


def report_cpu(cpu, messages):
    print("CPU per request, ms (all processes on the 2 cores; client = this script's load threads):")
    for phase, groups in cpu.items():
        shares = "  ".join(f"{group} {seconds * 1000 / messages:.2f}" for group, seconds in groups.items())
        print(f"  {phase:<26} total {sum(groups.values()) * 1000 / messages:5.2f}   {shares}")


def _normalized(url):
    from school_points.platform.config import normalize_database_url

    return normalize_database_url(url)


if __name__ == "__main__":
    main()
