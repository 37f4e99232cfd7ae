"""In-process CPU of one official-account check-in, one retry of it, /healthz and /readyz.

    .venv/bin/python bench/profile_checkin.py [--requests 400] [--safe-mode] [--cprofile]

Calls the WSGI app directly (no HTTP server, no network between client and app): what is left is
the application's own work and its round trips to PostgreSQL and Redis, which is what the
callback's code can change. Uses its own redis-server on a free port and the database
`sp_bench_checkin` on the local PostgreSQL (tables dropped and created), seeded like
bench_bot.py: one following parent + student per message. With Redis and the official account's
credentials a check-in is acknowledged and left to a drain job; no worker runs here, so the
messages stay owed (the drain flag stays set, as in a burst).
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import bench_bot  # noqa: E402
from servers import free_port  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--safe-mode", action="store_true", help="encrypted messages (AES)")
    parser.add_argument("--cprofile", action="store_true", help="print the top functions of the check-ins")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/sp_bench_checkin")
    args = parser.parse_args()

    from tests.conftest import _ensure_pg_database

    _ensure_pg_database(args.database_url)
    redis_port = free_port()
    redis_server = bench_bot.start_redis(redis_port)
    try:
        os.environ.update(
            {
                "DATABASE_URL": args.database_url,
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                # Plaintext runs configure no AES key: with one, /wechat refuses plaintext.
                "WECHAT_OA_TOKEN": bench_bot.TOKEN,
                "WECHAT_OA_AES_KEY": bench_bot.AES_KEY if args.safe_mode else "",
                "WECHAT_OA_APP_ID": bench_bot.APP_ID,
                "WECHAT_OA_APP_SECRET": bench_bot.APP_SECRET,
                "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
                "APP_ENV": "development",
            }
        )
        from wsgi import create_app

        app = create_app()
        count = args.requests
        bench_bot.prepare_database(app, count + 50)
        messages = [bench_bot.signed_checkin(i, 770000000 + i, args.safe_mode) for i in range(count + 50)]
        run(
            app,
            [("GET", "/healthz", None)] * 50 + [("GET", "/readyz", None)] * 50 + [("POST", *m) for m in messages[:50]],
        )  # warm up every path measured
        measured = [("POST", *m) for m in messages[50:]]
        mode = "safe" if args.safe_mode else "plaintext"
        print(f"{count} requests each, in-process CPU (wall) per request, {mode} mode")
        print("GET /healthz          {:.3f} ms ({:.3f} ms)".format(*run(app, [("GET", "/healthz", None)] * count)))
        print("GET /readyz           {:.3f} ms ({:.3f} ms)".format(*run(app, [("GET", "/readyz", None)] * count)))
        profiler = cProfile.Profile(time.process_time) if args.cprofile else None
        print("POST /wechat check-in {:.3f} ms ({:.3f} ms)".format(*run(app, measured, profiler)))
        print("the same, retried    {:.3f} ms ({:.3f} ms)".format(*run(app, measured)))
        if profiler is not None:
            pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(
                int(os.environ.get("PROFILE_LINES", 40))
            )
    finally:
        bench_bot.stop(redis_server)


def run(app, requests, profiler=None):
    """(CPU ms, wall ms) per request; each environ is built before the clock starts."""
    from werkzeug.test import EnvironBuilder

    environs = []
    for method, path, body in requests:
        path, _, query = path.partition("?")
        environs.append(
            EnvironBuilder(
                path=path, query_string=query, method=method, data=body, content_type="text/xml" if body else None
            ).get_environ()
        )
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler is not None:
        profiler.enable()
    for environ in environs:
        statuses = []
        body = b"".join(app(environ, lambda status, headers, exc_info=None, seen=statuses: seen.append(status)))
        if not statuses[0].startswith("200"):
            raise SystemExit(f"{environ['PATH_INFO']}: {statuses[0]} {body[:200]!r}")
    if profiler is not None:
        profiler.disable()
    return (time.process_time() - cpu) * 1000 / len(environs), (time.perf_counter() - wall) * 1000 / len(environs)


if __name__ == "__main__":
    main()
