"""A small closed-loop HTTP load generator: N concurrent clients, each sending one request after another.

Clients are threads spread over a few processes (so the generator is not held back by one GIL);
each request opens its own connection, as gunicorn's sync workers close it after every response.
"""

import http.client
import json
import multiprocessing
import statistics
import threading
import time
from dataclasses import dataclass


@dataclass
class Result:
    """Outcome of one load run."""

    requests: int
    seconds: float
    statuses: dict
    latencies_ms: list

    @property
    def throughput(self):
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p):
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    @property
    def p50(self):
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self):
        return self.percentile(99)


def request(port, method, path, body=None, token=None, timeout=60):
    """One request; (status, parsed JSON or None, milliseconds)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = json.dumps(body).encode() if body is not None else None
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        status = response.status
    finally:
        conn.close()
    elapsed = (time.perf_counter() - started) * 1000
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = None
    return status, data, elapsed


def _client_loop(port, job, deadline, max_requests, barrier, out):
    method, path, body, token = job
    barrier.wait()
    done = 0
    while time.monotonic() < deadline and (max_requests is None or done < max_requests):
        try:
            status, _, ms = request(port, method, path, body, token)
        except OSError:
            status, ms = 0, 0.0
        out.append((status, ms))
        done += 1


def _process_main(port, jobs, start_at, duration, max_requests, queue):
    barrier = threading.Barrier(len(jobs))
    while time.time() < start_at:
        time.sleep(0.005)
    deadline = time.monotonic() + duration
    outputs = [[] for _ in jobs]
    threads = [
        threading.Thread(target=_client_loop, args=(port, job, deadline, max_requests, barrier, outputs[i]))
        for i, job in enumerate(jobs)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put([item for output in outputs for item in output])


def run(port, jobs, *, duration=10.0, max_requests=None, processes=2):
    """Run one client per job (method, path, body, token) concurrently; returns a Result."""
    queue = multiprocessing.Queue()
    start_at = time.time() + 1.0
    shares = [jobs[i::processes] for i in range(processes) if jobs[i::processes]]
    procs = [
        multiprocessing.Process(target=_process_main, args=(port, share, start_at, duration, max_requests, queue))
        for share in shares
    ]
    for proc in procs:
        proc.start()
    samples = [item for _ in procs for item in queue.get()]
    for proc in procs:
        proc.join()
    elapsed = max(0.001, time.time() - start_at)  # includes the in-flight tail after the deadline
    statuses = {}
    for status, _ in samples:
        statuses[status] = statuses.get(status, 0) + 1
    return Result(len(samples), elapsed, statuses, [ms for status, ms in samples if status])
