"""What the request log and the metrics cost: bench_api and bench_bot with both on and both off,
alternated in one session, figures side by side.

    .venv/bin/python bench/bench_observability.py [--pairs 3] [--only api bot] [--seconds 8]
    .venv/bin/python bench/bench_observability.py --side-by-side [--windows 12] [--seconds 4] [--clients 50]

"on" is the deployed default (REQUEST_LOG=1, METRICS_ENABLED=1: one JSON line and three
Prometheus updates per request); "off" sets both to 0 (the request id is still read and answered).
Each pair runs the two arms back to back, the order swapped from one pair to the next, so load
that comes and goes on the machine hits both alike. Runs `bench_api.py --only redemption` (ping-db
and redemption throughput, CPU per request) and `bench_bot.py` (bursts of check-ins), each on a
database of its own (`sp_bench_mp_obs`, `sp_bench_bot_obs`). Every run's full output is kept in
bench/results/observability-<arm>-<pair>-<bench>.txt.

`--side-by-side` is steadier on a machine whose load comes and goes: both servers (the Procfile's
web command, once "on" and once "off") run at the same time on one database, and the load goes
to one then the other in short windows (ping-db, then redemption), so both see the same
machine within seconds. Each window's CPU is read per server (each gunicorn is a process group of
its own), which is the figure the cost shows in.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ARMS = {"on": {"REQUEST_LOG": "1", "METRICS_ENABLED": "1"}, "off": {"REQUEST_LOG": "0", "METRICS_ENABLED": "0"}}
API_ROW = re.compile(
    r"^\| round \d+: (GET /api/v1/ping-db|POST /api/v1/redemptions)[^|]*"
    r"\| ([\d,.]+) req/s \| ([\d,.]+) ms \| ([\d,.]+) ms"
)
API_CPU = re.compile(
    r"CPU per request \(all processes, median of the runs\): ping-db ([\d.]+) ms, redemption ([\d.]+) ms"
)
BOT_ROW = re.compile(
    r"^(wechat check-in|healthz|readyz)\s+n=\s*\d+\s+(\d+) req/s\s+p50=\s*([\d.]+) ms\s+p99=\s*([\d.]+) ms"
)
BOT_CPU = re.compile(r"^\s+(\S.*?)\s+total\s+([\d.]+)")


def main():
    args = _parse()
    RESULTS.mkdir(exist_ok=True)
    if args.side_by_side:
        return side_by_side(args)
    figures = {arm: [] for arm in ARMS}
    for pair in range(args.pairs):
        order = ("on", "off") if pair % 2 == 0 else ("off", "on")
        for arm in order:
            for bench in args.only:
                run = _run(bench, arm, pair, args)
                figures[arm].append((bench, run))
                print(f"pair {pair + 1} {arm:<3} {bench}: {run}", flush=True)
    print()
    print(_table(figures))


def _parse():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=["api", "bot"], default=["api", "bot"])
    parser.add_argument("--seconds", type=float, default=8.0, help="bench_api seconds per run")
    parser.add_argument("--bot-rounds", type=int, default=5)
    parser.add_argument("--side-by-side", action="store_true", help="both servers at once, alternating windows")
    parser.add_argument("--windows", type=int, default=12, help="--side-by-side: windows per server and endpoint")
    parser.add_argument("--clients", type=int, default=50, help="--side-by-side: concurrent clients")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_BENCH_URL", "redis://127.0.0.1:6379/11"))
    return parser.parse_args()


def _run(bench, arm, pair, args):
    env = {**os.environ, **ARMS[arm], "BENCH_API_DB": "sp_bench_mp_obs", "REDIS_BENCH_URL": args.redis_url}
    python = str(ROOT / ".venv/bin/python")
    if bench == "api":
        command = [python, "bench/bench_api.py", "--only", "redemption", "--seconds", str(args.seconds)]
        command += ["--pg-url", args.pg_url, "--redis-url", args.redis_url]
    else:
        command = [python, "bench/bench_bot.py", "--rounds", str(args.bot_rounds)]
        command += ["--database-url", f"{args.pg_url.rstrip('/')}/sp_bench_bot_obs"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    (RESULTS / f"observability-{arm}-{pair + 1}-{bench}.txt").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{bench} ({arm}) failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return _api_figures(done.stdout) if bench == "api" else _bot_figures(done.stdout)


def _number(text):
    return float(text.replace(",", ""))


def _api_figures(output):
    rows = {"GET /api/v1/ping-db": [], "POST /api/v1/redemptions": []}
    for line in output.splitlines():
        if match := API_ROW.match(line):
            rows[match.group(1)].append((_number(match.group(2)), _number(match.group(4))))
    cpu = API_CPU.search(output)
    return {
        "ping req/s": statistics.median(r[0] for r in rows["GET /api/v1/ping-db"]),
        "redeem req/s": statistics.median(r[0] for r in rows["POST /api/v1/redemptions"]),
        "redeem p99 ms": statistics.median(r[1] for r in rows["POST /api/v1/redemptions"]),
        "ping CPU ms": float(cpu.group(1)),
        "redeem CPU ms": float(cpu.group(2)),
    }


def _bot_figures(output):
    found = {}
    for line in output.splitlines():
        if match := BOT_ROW.match(line):
            name = match.group(1)
            found[f"{name} req/s"] = float(match.group(2))
            found[f"{name} p99 ms"] = float(match.group(4))
        elif (match := BOT_CPU.match(line)) and "CPU" not in line:
            found[f"{match.group(1)} CPU ms"] = float(match.group(2))
    return found


def _table(figures):
    lines = []
    for bench in ("api", "bot"):
        runs = {arm: [run for name, run in figures[arm] if name == bench] for arm in ARMS}
        if not runs["on"] or not runs["off"]:
            continue
        keys = list(runs["on"][0])
        lines += [
            f"### bench_{bench}",
            "",
            "| figure | on (each run) | off (each run) | on / off (medians) |",
            "|---|---|---|---|",
        ]
        for key in keys:
            on = [run.get(key) for run in runs["on"] if run.get(key) is not None]
            off = [run.get(key) for run in runs["off"] if run.get(key) is not None]
            if not on or not off:
                continue
            ratio = statistics.median(on) / statistics.median(off) if statistics.median(off) else float("nan")
            shown = [", ".join(f"{v:,.2f}" for v in values) for values in (on, off)]
            lines.append(f"| {key} | {shown[0]} | {shown[1]} | {ratio:.3f} |")
        lines.append("")
    return "\n".join(lines)


def side_by_side(args):
    """Both servers up at once; alternate short load windows between them (module docstring)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import bench_api
    import loadgen
    from servers import CpuMeter, free_port, wait_for_url

    bench_api.DB_NAME = "sp_bench_mp_obs"
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.pg_url.rstrip('/')}/{bench_api.DB_NAME}",
        "REDIS_URL": args.redis_url,
        "SECRET_KEY": "bench-only",
        "APP_ENV": "bench",
    }
    os.environ.update(env)
    bench_api._create_database(args.pg_url)
    import seed

    fixture = seed.seed(seed.make_app(), clients=max(args.clients, 100))
    clients = fixture["families"][: args.clients]
    loads = {
        "ping-db": [("GET", "/api/v1/ping-db", None, None)] * len(clients),
        "redemption": [
            ("POST", "/api/v1/redemptions", {"student_id": sid, "goods_id": goods}, token)
            for (sid, token), goods in zip(clients, fixture["own_goods"], strict=False)
        ],
    }
    servers, meter = {}, CpuMeter(bench_api.DB_NAME)
    try:
        for arm, flags in ARMS.items():
            port = free_port()
            server, _ = bench_api._start_gunicorn({**env, **flags}, port, None, None)
            servers[arm] = (server, port)
            meter.add(arm, server.pid)
        for _, port in servers.values():
            wait_for_url(f"http://127.0.0.1:{port}/healthz")
        windows = {(arm, load): [] for arm in ARMS for load in loads}
        for i in range(args.windows):
            for load, jobs in loads.items():
                for arm in ARMS if i % 2 == 0 else reversed(list(ARMS)):
                    before = meter.sample()
                    result = loadgen.run(servers[arm][1], jobs, duration=args.seconds)
                    after = meter.sample()
                    windows[arm, load].append(
                        (result.throughput, (after[arm] - before[arm]) * 1000 / max(result.requests, 1), result.p99)
                    )
    finally:
        for server, _ in servers.values():
            server.terminate()
            server.wait(30)
    lines = [
        f"{args.windows} windows of {args.seconds:.0f} s per server and endpoint, {len(clients)} clients, "
        "servers side by side; medians, and on/off per pair of neighbouring windows",
        "",
        "| endpoint | figure | on | off | on / off (median of the pairs) |",
        "|---|---|---|---|---|",
    ]
    for load in loads:
        on, off = windows["on", load], windows["off", load]
        for index, figure in enumerate(("throughput req/s", "gunicorn CPU ms per request", "p99 ms")):
            ratios = [a[index] / b[index] for a, b in zip(on, off, strict=True) if b[index]]
            lines.append(
                f"| {load} | {figure} | {statistics.median(w[index] for w in on):,.2f} | "
                f"{statistics.median(w[index] for w in off):,.2f} | {statistics.median(ratios):.3f} |"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
