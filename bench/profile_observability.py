"""CPU per request of the request log and the metrics, in one process, without the network.

    .venv/bin/python bench/profile_observability.py [--requests 3000] [--rounds 5]

Builds the app three ways on one SQLite file — both on (as deployed), both off, and log only —
with prometheus_client in multiprocess mode (a temporary PROMETHEUS_MULTIPROC_DIR, as under
gunicorn) and the log written to a file, and times GET /healthz and GET /api/v1/ping-db through
Flask's test client, the variants alternated round by round. Prints CPU microseconds per request,
the least and the median of the rounds (on a machine shared with other work the least is the
steadier figure: interference only ever adds): the difference between "on" and "off" is what the
two cost per request, whatever the route.
"""

import argparse
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORKDIR = Path(tempfile.mkdtemp(prefix="sp-profile-obs-"))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(WORKDIR)  # before prometheus_client is imported

VARIANTS = {
    "on": {"REQUEST_LOG": True, "METRICS_ENABLED": True},
    "off": {"REQUEST_LOG": False, "METRICS_ENABLED": False},
    "log only": {"REQUEST_LOG": True, "METRICS_ENABLED": False},
    "metrics only": {"REQUEST_LOG": False, "METRICS_ENABLED": True},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    from school_points.platform.jsonlog import JsonFormatter

    handler = logging.FileHandler(WORKDIR / "requests.log")
    handler.setFormatter(JsonFormatter())
    logging.getLogger().addHandler(handler)  # create_app keeps a handler it finds
    logging.getLogger().setLevel(logging.INFO)

    from school_points.platform.extensions import db
    from wsgi import create_app

    base = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{WORKDIR / 'p.sqlite3'}", "REDIS_URL": "", "SECRET_KEY": "p"}
    apps = {name: create_app({**base, **flags}) for name, flags in VARIANTS.items()}
    with apps["on"].app_context():
        db.create_all()
    gc.freeze()  # as gunicorn.conf.py's post_worker_init does: full collections skip the loaded app
    paths = ("/healthz", "/api/v1/ping-db")
    per_request = {(name, path): [] for name in apps for path in paths}
    for _ in range(args.rounds):
        for name, app in apps.items():
            client = app.test_client()
            for path in paths:
                assert client.get(path).status_code == 200, path
                started = time.process_time()
                for _ in range(args.requests):
                    client.get(path)
                per_request[name, path].append((time.process_time() - started) * 1e6 / args.requests)
    print(f"CPU µs per request, least / median of {args.rounds} rounds of {args.requests} (in-process, test client):")
    print("| variant | " + " | ".join(paths) + " |")
    print("|---|" + "---|" * len(paths))
    for name in apps:
        cells = [f"{min(per_request[name, p]):.0f} / {statistics.median(per_request[name, p]):.0f}" for p in paths]
        print(f"| {name} | " + " | ".join(cells) + " |")
    for path in paths:
        on, off = (min(per_request[name, path]) for name in ("on", "off"))
        print(f"{path}: on - off = {on - off:.0f} µs per request ({on / off:.3f}×, least of the rounds)")


if __name__ == "__main__":
    main()
