"""Mini-program API benchmarks on gunicorn + PostgreSQL + Redis, figures side by side from one run.

    .venv/bin/python bench/bench_api.py [--clients 100] [--seconds 10] [--rounds 3] [--big-rows 1000000]

Needs PostgreSQL and Redis on 127.0.0.1 (PG_URL / REDIS_BENCH_URL override). Creates (drops first)
the database `sp_bench_mp` (`BENCH_API_DB` to change), seeds it, starts the Procfile's `web`
command (gunicorn as deployed) on a free local port and measures:
1. redemption throughput and p50/p99 with N concurrent clients vs GET /api/v1/ping-db (one DB round
   trip) on the same server, in alternating rounds; then zero oversell and `flask points check` clean;
2. a flash sale: 500 clients, goods with stock 100 → exactly 100 orders;
3. history page latency for a student with 10 thousand vs 1 million ledger rows (COPY-free bulk
   load with generate_series, consistent with the account so `points check` stays clean);
4. evaluating 40 students vs 1 student in one request.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import loadgen  # noqa: E402
from servers import CpuMeter, expand, free_port, procfile, wait_for_url  # noqa: E402

DB_NAME = os.environ.get("BENCH_API_DB", "sp_bench_mp")  # another name: two checkouts benchmark side by side


def main():
    args = _parse()
    db_url = f"{args.pg_url.rstrip('/')}/{DB_NAME}"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-only",
        "APP_ENV": "bench",
    }
    for name in ("WECHAT_MP_APP_ID", "WECHAT_MP_APP_SECRET", "WECHAT_OA_APP_ID", "WECHAT_OA_APP_SECRET"):
        env.pop(name, None)
    os.environ.update(env)
    _create_database(args.pg_url)
    import seed

    app = seed.make_app()
    fixture = seed.seed(app, clients=max(args.clients, 500))
    port = free_port()
    server, args.server = _start_gunicorn(env, port, args.workers, args.threads)
    args.meter = CpuMeter(DB_NAME)
    args.meter.add("gunicorn", server.pid)
    args.meter.add_self("client")
    args.meter.add_command("redis", b"redis-server")
    lines = []
    try:
        wait_for_url(f"http://127.0.0.1:{port}/healthz")
        steps = {
            "redemption": lambda: bench_redemption(port, fixture, args),
            "flash": lambda: bench_flash_sale(port, fixture),
            "history": lambda: bench_history(app, port, fixture, args.big_rows),
            "evaluation": lambda: bench_evaluation(port, fixture),
        }
        for name in args.only or list(steps):
            lines += steps[name]()
    finally:
        server.terminate()
        server.wait(30)
    lines += check_consistency(app, env, fixture)
    print("\n".join(["", "## Results", ""] + lines))


def _parse():
    parser = argparse.ArgumentParser(description="mini-program API benchmarks")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating ping/redemption rounds")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for the Procfile's web command (default: its own)")
    parser.add_argument("--threads", type=int, help="WEB_THREADS for the Procfile's web command (default: its own)")
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--only",
        nargs="*",
        choices=["redemption", "flash", "history", "evaluation"],
        help="run only these parts (default: all)",
    )
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_BENCH_URL", "redis://127.0.0.1:6379/4"))
    return parser.parse_args()


def _create_database(pg_url):
    import psycopg

    with psycopg.connect(f"{pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _start_gunicorn(env, port, workers, threads):
    """The Procfile's `web` command as deployed (gthread workers, the app's request log), on a free port."""
    results = ROOT / "bench" / "results"  # git-ignored
    results.mkdir(exist_ok=True)
    log = open(results / "gunicorn-bench.log", "w")  # noqa: SIM115 - the server writes to it until it is stopped
    command = procfile("web")
    env = {**env, "PORT": str(port), "PATH": f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}"}
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    if threads:
        env["WEB_THREADS"] = str(threads)
    shown = expand(command, env)
    # exec: the shell becomes gunicorn, so terminate() reaches the arbiter itself.
    server = subprocess.Popen(
        ["sh", "-c", "exec " + command], cwd=ROOT, env=env, stdout=log, stderr=log, process_group=0
    )  # a group of its own: its CPU is told apart from the load's
    return server, shown


def _row(name, result):
    return (
        f"| {name} | {result.throughput:,.0f} req/s | {result.p50:,.1f} ms | {result.p99:,.1f} ms | "
        f"{result.requests} | {_statuses(result)} | {_cpu(result)} |"
    )


def _measured(meter, port, jobs, **kwargs):
    """loadgen.run, with the CPU each group of processes used per request (`cpu`: group -> ms)."""
    before = meter.sample()
    result = loadgen.run(port, jobs, **kwargs)
    result.cpu = CpuMeter.per_request(before, meter.sample(), result.requests)
    return result


def _cpu(result):
    cpu = getattr(result, "cpu", None)
    if not cpu:
        return "—"
    return f"**{sum(cpu.values()):.2f}**: " + ", ".join(f"{name} {ms:.2f}" for name, ms in cpu.items())


def _statuses(result):
    return ", ".join(f"{status}×{count}" for status, count in sorted(result.statuses.items()))


def bench_redemption(port, fixture, args):
    """Redemption vs the one-round-trip endpoint, same server, same concurrency, in alternating runs.

    ping, redeem, ping, redeem, ..., ping: each redemption run is compared with the better of the
    two ping runs around it (the stricter ratio), so load that comes and goes on the machine hits
    both endpoints alike; the figure is the median over the rounds.
    """
    clients = fixture["families"][: args.clients]
    pings = [("GET", "/api/v1/ping-db", None, None)] * len(clients)
    jobs = [
        ("POST", "/api/v1/redemptions", {"student_id": sid, "goods_id": fixture["bulk_goods"]}, token)
        for sid, token in clients
    ]
    spread = [
        ("POST", "/api/v1/redemptions", {"student_id": sid, "goods_id": goods_id}, token)
        for (sid, token), goods_id in zip(clients, fixture["own_goods"], strict=False)
    ]
    meter = args.meter
    ping_runs = [_measured(meter, port, pings, duration=args.seconds)]
    redeem_runs = []
    for _ in range(args.rounds):
        redeem_runs.append(_measured(meter, port, jobs, duration=args.seconds))
        ping_runs.append(_measured(meter, port, pings, duration=args.seconds))
    own = _measured(meter, port, spread, duration=args.seconds)
    ratios = [
        r.throughput / max(a.throughput, b.throughput)  # each redeem run against the pings around it
        for r, a, b in zip(redeem_runs, ping_runs[:-1], ping_runs[1:], strict=True)
    ]
    ping_cpu = statistics.median(sum(r.cpu.values()) for r in ping_runs)
    redeem_cpu = statistics.median(sum(r.cpu.values()) for r in redeem_runs)
    rows = []
    for i, redeem in enumerate(redeem_runs):
        rows += [
            _row(f"round {i + 1}: GET /api/v1/ping-db (1 DB round trip)", ping_runs[i]),
            _row(f"round {i + 1}: POST /api/v1/redemptions, all on one goods", redeem),
        ]
    rows += [
        _row("last: GET /api/v1/ping-db", ping_runs[-1]),
        _row("POST /api/v1/redemptions, each client its own goods (not part of the ratio)", own),
    ]
    return [
        f"### Redemption throughput, {len(clients)} concurrent clients, {args.seconds:.0f} s per run",
        "",
        f"server: `{args.server}`",
        "",
        "| run | throughput | p50 | p99 | requests | statuses | CPU ms per request: total: by process |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "redemption / ping-db throughput per round: "
        + ", ".join(f"{r:.2f}×" for r in ratios)
        + f"; median **{statistics.median(ratios):.2f}×** (target ≥ 0.5×)",
        "",
        f"CPU per request (all processes, median of the runs): ping-db {ping_cpu:.2f} ms, redemption "
        f"{redeem_cpu:.2f} ms; ratio {ping_cpu / redeem_cpu:.2f}× "
        "(the throughput ratio when the two cores are the limit)",
        "",
    ]


def bench_flash_sale(port, fixture):
    """500 clients at once on goods with stock 100."""
    jobs = [
        ("POST", "/api/v1/redemptions", {"student_id": sid, "goods_id": fixture["flash_goods"]}, token)
        for sid, token in fixture["families"][:500]
    ]
    result = loadgen.run(port, jobs, duration=120, max_requests=1)
    created = result.statuses.get(201, 0)
    return [
        "### Flash sale: 500 clients, stock 100",
        "",
        f"orders created: **{created}** (expected 100); statuses: {_statuses(result)}; "
        f"p50 {result.p50:,.0f} ms, p99 {result.p99:,.0f} ms, wall {result.seconds:.1f} s",
        "",
    ]


def _interleaved(port, requests, count):
    """Latency samples for several requests sent in turn, so background load hits them alike."""
    samples = [[] for _ in requests]
    bodies = [None] * len(requests)
    for _ in range(count):
        for i, (method, path, body, token) in enumerate(requests):
            status, answer, ms = loadgen.request(port, method, path, body, token)
            assert status in (200, 201), (status, answer)
            samples[i].append(ms)
            bodies[i] = answer
    return [(statistics.median(s), sorted(s)[int(0.99 * (len(s) - 1))]) for s in samples], bodies


def bench_history(app, port, fixture, big_rows):
    import seed

    small, big = fixture["history_small"], fixture["history_big"]
    started = time.monotonic()
    seed.bulk_ledger(app, small[0], 10_000)
    seed.bulk_ledger(app, big[0], big_rows)
    load_seconds = time.monotonic() - started
    first = [("GET", f"/api/v1/students/{sid}/points/history?limit=20", None, token) for sid, token in (small, big)]
    (small_first, big_first), bodies = _interleaved(port, first, 200)
    middle = [
        ("GET", path + f"&cursor={_middle_cursor(body, n)}", None, token)
        for (_, path, _, token), body, n in zip(first, bodies, (10_000, big_rows), strict=True)
    ]
    (small_mid, big_mid), _ = _interleaved(port, middle, 200)
    rows = [("10 thousand", small_first, small_mid), (f"{big_rows:,}", big_first, big_mid)]
    table = [
        "| ledger rows of the student | first page p50 | p99 | page in the middle p50 | p99 |",
        "|---|---|---|---|---|",
    ]
    table += [f"| {label} | {f[0]:.1f} ms | {f[1]:.1f} ms | {m[0]:.1f} ms | {m[1]:.1f} ms |" for label, f, m in rows]
    return (
        [
            "### History page latency (GET /students/{sid}/points/history?limit=20, 200 requests each, interleaved)",
            "",
            f"bulk load with generate_series: {load_seconds:.0f} s",
            "",
        ]
        + table
        + [
            "",
            f"growth 10k → {big_rows:,}: first page **{big_first[0] / small_first[0]:.2f}×**, "
            f"middle page **{big_mid[0] / small_mid[0]:.2f}×** (target ≤ 1.5×)",
            "",
        ]
    )


def _middle_cursor(body, rows):
    from webkit.pagination import encode_cursor

    newest = body["items"][0]["id"]
    return encode_cursor(newest - rows // 2)


def bench_evaluation(port, fixture):
    teacher_token, class_ids = fixture["teacher"]
    requests = [
        ("POST", "/api/v1/teacher/evaluations", {"student_ids": ids, "behavior_id": 1}, teacher_token)
        for ids in (class_ids[:1], class_ids)
    ]
    (one, forty), _ = _interleaved(port, requests, 40)
    return [
        "### Evaluation: one request for 1 vs 40 students (40 requests each, interleaved; every student has "
        "a guardian, so each award records a notification)",
        "",
        "| request | p50 | p99 |",
        "|---|---|---|",
        f"| 1 student | {one[0]:.1f} ms | {one[1]:.1f} ms |",
        f"| 40 students | {forty[0]:.1f} ms | {forty[1]:.1f} ms |",
        "",
        f"40 / 1 = **{forty[0] / one[0]:.2f}×** (target ≤ 3×)",
        "",
    ]


def check_consistency(app, env, fixture):
    import seed

    oversold = seed.oversell_report(app, fixture)
    check = subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "points", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    return [
        "### Consistency after the run",
        "",
        f"- oversell: {oversold}",
        f"- `flask points check`: exit {check.returncode}: {(check.stdout + check.stderr).strip()[:300]}",
        "",
    ]


if __name__ == "__main__":
    main()
