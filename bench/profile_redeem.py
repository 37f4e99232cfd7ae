"""In-process cost of one redemption vs one ping-db: milliseconds and SQL statements per request.

    .venv/bin/python bench/profile_redeem.py [--requests 200] [--cprofile]

Uses the database `sp_bench_mp` (dropped and created, like bench_api.py) on the local PostgreSQL and
Flask's test client (no HTTP server, no network): what is left is the application's own work and
its database round trips, which is what the redemption path can change.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--cprofile", action="store_true", help="print the top functions of the redemption run")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    args = parser.parse_args()
    os.environ.update(
        {"DATABASE_URL": f"{args.pg_url.rstrip('/')}/sp_bench_mp", "SECRET_KEY": "bench-only", "APP_ENV": "bench"}
    )
    os.environ.pop("REDIS_URL", None)
    import bench_api
    import seed
    from sqlalchemy import event

    from school_points.platform.extensions import db

    bench_api._create_database(args.pg_url)
    app = seed.make_app()
    fixture = seed.seed(app, clients=args.requests)
    client = app.test_client()
    statements = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a, **k: statements.append(a[2]))
    requests = [("get", "/api/v1/ping-db", None, None)] * args.requests
    _run(client, requests[:20])  # warm up both paths (imports, pools, statement caches)
    _run(
        client,
        [
            ("post", "/api/v1/redemptions", {"student_id": sid, "goods_id": fixture["bulk_goods"]}, token)
            for sid, token in fixture["families"][:20]
        ],
    )
    statements.clear()
    ping_ms = _run(client, requests)
    ping_sql = len(statements) / args.requests
    statements.clear()
    redeem = [
        ("post", "/api/v1/redemptions", {"student_id": sid, "goods_id": fixture["bulk_goods"]}, token)
        for sid, token in fixture["families"][: args.requests]
    ]
    profiler = cProfile.Profile(time.process_time) if args.cprofile else None  # CPU: waits do not count
    redeem_ms = _run(client, redeem, profiler)
    redeem_sql = len(statements) / args.requests
    sample = statements[-round(redeem_sql) :]
    print(f"ping-db:    {ping_ms[0]:6.2f} ms/request ({ping_ms[1]:.2f} ms Python CPU), {ping_sql:4.1f} SQL statements")
    print(
        f"redemption: {redeem_ms[0]:6.2f} ms/request ({redeem_ms[1]:.2f} ms Python CPU), {redeem_sql:4.1f} SQL "
        f"statements ({redeem_ms[0] / ping_ms[0]:.1f}× ping-db)"
    )
    print("\nstatements of the last redemption:")
    for sql in sample:
        print("  ", " ".join(sql.split())[:150])
    if profiler is not None:
        pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(
            int(os.environ.get("PROFILE_LINES", 40))
        )


def _run(client, requests, profiler=None):
    started, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    for method, path, body, token in requests:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = getattr(client, method)(path, json=body, headers=headers)
        assert response.status_code in (200, 201), (response.status_code, response.get_json())
    if profiler is not None:
        profiler.disable()
    wall = (time.perf_counter() - started) * 1000 / len(requests)
    return wall, (time.process_time() - cpu) * 1000 / len(requests)


if __name__ == "__main__":
    main()
