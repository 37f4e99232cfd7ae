"""Slow clients against gunicorn alone and through the deploy kit's nginx site.

Starts gunicorn with gunicorn.conf.py in the Procfile's shape (WEB_CONCURRENCY x WEB_THREADS,
4 x 3 by default) on a throwaway SQLite app, and nginx with deploy/nginx/school-points.conf
rendered as tests/deploy/test_nginx.py renders it. For each number of slow clients (each sends a
request a byte every half second: half their headers, half their body), probes /healthz on new
connections and prints how many probes answered within the timeout and how fast.

gthread gives a connection one of the process's threads as soon as its first byte arrives and
keeps it until the request is read, so workers x threads slow clients stall gunicorn alone; which
process accepts a connection is up to the kernel, so near that number some probes still land on a
process with a thread free. nginx reads whole requests before passing them on.

    .venv/bin/python bench/bench_slow_clients.py [--counts 0,8,12,16,50] [--probes 6]
Only loopback addresses; every loop is bounded.
"""

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.deploy import stack  # noqa: E402


def probe(factory, probes, timeout):
    """(answered, median ms of those answered) over `probes` /healthz requests on new connections."""
    times = [stack.healthz_seconds(factory, timeout) for _ in range(probes)]
    answered = [t * 1000 for t in times if t is not None]
    return len(answered), (statistics.median(answered) if answered else None)


def recover(factory, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if stack.healthz_seconds(factory, 2) is not None:
            return
    raise SystemExit("gunicorn did not recover after the slow clients left")


def row(where, count, probes, result, spread):
    answered, median = result
    shown = f"{median:.0f} ms" if median is not None else "-"
    return f"| {where} | {count} | {answered}/{probes} | {shown} | {spread} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="0,6,9,11,12,13,16,24,50")
    parser.add_argument("--probes", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds a probe waits for /healthz")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 4)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", 3)))
    args = parser.parse_args()
    counts = [int(n) for n in args.counts.split(",")]
    if not stack.NGINX.exists():
        raise SystemExit(f"{stack.NGINX} is not installed (apt-get install nginx)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        port = stack.free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "TRUSTED_PROXY_COUNT": "1",
            "UPLOAD_DIR": str(tmp / "uploads"),
        }
        gunicorn = stack.start_gunicorn(port, env, tmp / "gunicorn.log", workers=args.workers, threads=args.threads)
        nginx = stack.Nginx(tmp / "nginx", port)
        try:
            nginx.start()

            def direct(timeout):
                return stack.LoopbackHTTP(port, timeout=timeout)

            def direct_socket():
                return socket.create_connection(("127.0.0.1", port), timeout=10)

            def via_nginx(timeout):
                return nginx.https(timeout=timeout)

            def nginx_socket():
                raw = socket.create_connection(("127.0.0.1", nginx.https_port), timeout=10)
                return nginx.tls_context().wrap_socket(raw, server_hostname=stack.SERVER_NAME)

            print(
                f"gunicorn {args.workers} processes x {args.threads} threads = {args.workers * args.threads} "
                f"requests at once; /healthz probes wait {args.timeout:.0f} s each\n"
            )
            stack.wait_until_serving(direct)
            baseline = min(stack.sockets_per_worker(gunicorn.pid))
            print("| path | slow clients | /healthz answered | median | slow connections per gunicorn process |")
            print("|---|---|---|---|---|")
            for where, factory, connect in (
                ("gunicorn alone", direct, direct_socket),
                ("nginx", via_nginx, nginx_socket),
            ):
                for count in counts:
                    slow = stack.SlowClients(count, connect).start()
                    try:
                        time.sleep(1.0)  # let gunicorn accept them all and hand them threads
                        held = stack.sockets_per_worker(gunicorn.pid)
                        result = probe(factory, args.probes, args.timeout)
                    finally:
                        slow.stop()
                    spread = "/".join(str(max(0, n - baseline)) for n in held)
                    recover(factory)
                    print(row(where, count, args.probes, result, spread), flush=True)
        finally:
            nginx.stop()
            stack.stop_process(gunicorn)


if __name__ == "__main__":
    main()
