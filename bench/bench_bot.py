"""Benchmark: bursts of concurrent check-in messages to the official-account callback.

Starts its own redis-server and gunicorn on free local ports, uses a PostgreSQL database of its
own (created if missing) on the local server, seeds one parent + student per message, then for
each round fires `--concurrency` signed "打卡" messages at once and, in the same run, the same
burst against GET /healthz and GET /readyz (one database query) for comparison. Finally it
re-sends a whole round (WeChat's retries) and checks in the database that every message was
awarded exactly once and that the ledger reconciles.

    .venv/bin/python bench/bench_bot.py [--rounds 5] [--concurrency 100] [--safe-mode]
        [--database-url postgresql://postgres@127.0.0.1:5432/sp_bench_bot] [--workers 3 --threads 16]

All traffic stays on 127.0.0.1; every loop is bounded and the script stops what it started.
"""
import argparse
import http.client
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx-bench"
CHECKIN_POINTS = 5


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, what, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {seconds}s")


# ---------------------------------------------------------------- services


def start_redis(port):
    process = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    import redis

    wait_for(lambda: redis.Redis(port=port).ping(), "redis-server")
    return process


def start_gunicorn(port, env, workers, threads):
    command = [str(ROOT / ".venv/bin/gunicorn"), "wsgi:create_app()", "--bind", f"127.0.0.1:{port}",
               "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
               "--backlog", "2048", "--timeout", "30", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    def healthy():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200

    wait_for(healthy, "gunicorn")
    return process


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
    from school_points import ledger
    from school_points.codes import new_code
    from school_points.extensions import db
    from school_points.models import Campus, Guardian, Student, WechatUser

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
        db.session.commit()


def verify(app, expected_entries):
    """(checkin entries, students not at exactly one award, reconcile differences)."""
    from sqlalchemy import func, select

    from school_points.extensions import db
    from school_points.models import LedgerEntry, PointsAccount
    from school_points.reconcile import find_differences

    with app.app_context():
        entries = db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "checkin"))
        wrong = db.session.scalar(select(func.count()).select_from(PointsAccount)
                                  .where(PointsAccount.balance != CHECKIN_POINTS))
        return entries, wrong, find_differences()


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
    xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oa-bench-{index}]]>"
           f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           f"<Content><![CDATA[打卡 练琴 30 分钟]]></Content><MsgId>{msg_id}</MsgId></xml>")
    if safe:
        import xmltodict

        envelope = xmltodict.parse(WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(xml, nonce, timestamp))["xml"]
        query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
               f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
    return "/wechat?" + urlencode(query), xml.encode()


def burst(port, requests_):
    """Send every (method, path, body) at once from its own thread; (latencies ms, failures, wall s)."""
    barrier = threading.Barrier(len(requests_) + 1)
    latencies, failures = [None] * len(requests_), []

    def one(i, method, path, body):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "text/xml"} if body else {})
            response = conn.getresponse()
            payload = response.read()
            latencies[i] = (time.perf_counter() - started) * 1000
            if response.status != 200 or (body and "打卡" not in payload.decode("utf-8", "replace")
                                          and b"<Encrypt>" not in payload):
                failures.append((response.status, payload[:200]))
        except OSError as exc:
            failures.append(("error", str(exc)))
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i, *r)) for i, r in enumerate(requests_)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join(60)
    return [v for v in latencies if v is not None], failures, time.perf_counter() - started


def summary(name, latencies, wall_seconds, failures):
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))] if ordered else float("nan")
    rate = len(latencies) / wall_seconds if wall_seconds else 0
    return (f"{name:<22} n={len(latencies):>4}  {rate:>7.0f} req/s  p50={statistics.median(ordered):7.1f} ms  "
            f"p99={p99:7.1f} ms  max={ordered[-1]:7.1f} ms  failures={len(failures)}")


def run_rounds(port, rounds, concurrency, safe):
    results = {"healthz": ([], [], 0.0), "readyz": ([], [], 0.0), "wechat check-in": ([], [], 0.0)}

    def add(name, outcome):
        lat, fail, wall = results[name]
        results[name] = (lat + outcome[0], fail + outcome[1], wall + outcome[2])

    first_round = []
    for r in range(rounds):
        add("healthz", burst(port, [("GET", "/healthz", None)] * concurrency))
        add("readyz", burst(port, [("GET", "/readyz", None)] * concurrency))
        messages = [("POST", *signed_checkin(r * concurrency + i, 880000000 + r * concurrency + i, safe))
                    for i in range(concurrency)]
        first_round = first_round or messages
        add("wechat check-in", burst(port, messages))
    retry = burst(port, first_round)  # WeChat's retries of a whole round: no second award
    return results, retry


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--safe-mode", action="store_true", help="encrypt messages (AES) like safe mode")
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sp_bench_bot"))
    args = parser.parse_args()

    from tests.conftest import _ensure_pg_database
    from wsgi import create_app

    _ensure_pg_database(args.database_url)
    redis_port, web_port = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "WECHAT_OA_TOKEN": TOKEN, "WECHAT_OA_AES_KEY": AES_KEY, "WECHAT_OA_APP_ID": APP_ID,
           "WECHAT_API_BASE_URL": "http://127.0.0.1:9", "APP_ENV": "development"}
    redis_process = web = None
    try:
        redis_process = start_redis(redis_port)
        app = create_app({"SQLALCHEMY_DATABASE_URI": _normalized(args.database_url), "REDIS_URL": env["REDIS_URL"]})
        prepare_database(app, args.rounds * args.concurrency)
        web = start_gunicorn(web_port, env, args.workers, args.threads)
        burst(web_port, [("GET", "/readyz", None)] * 20)  # warm the pools
        results, retry = run_rounds(web_port, args.rounds, args.concurrency, args.safe_mode)
        report(args, results, retry, verify(app, args.rounds * args.concurrency))
    finally:
        stop(web)
        stop(redis_process)


def report(args, results, retry, verification):
    mode = "safe (AES)" if args.safe_mode else "plaintext"
    print(f"gunicorn {args.workers} workers x {args.threads} threads, PostgreSQL, Redis; "
          f"{args.rounds} rounds of {args.concurrency} concurrent requests; {mode} mode; {os.cpu_count()} cores")
    for name, (latencies, failures, wall) in results.items():
        print(summary(name, latencies, wall, failures))
        for failure in failures[:3]:
            print("   failure:", failure)
    print(summary("wechat retries", retry[0], retry[2], retry[1]))
    entries, wrong, differences = verification
    expected = args.rounds * args.concurrency
    print(f"check-in entries: {entries} (expected {expected}); students not awarded exactly once: {wrong}; "
          f"ledger differences: {len(differences)}")
    if entries != expected or wrong or differences:
        sys.exit(1)


def _normalized(url):
    from school_points.config import normalize_database_url

    return normalize_database_url(url)


if __name__ == "__main__":
    main()
