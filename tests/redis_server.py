"""A redis-server of our own, on a free port: for tests that stop Redis, and for each pytest-xdist
worker (tests/conftest.py), so no run empties a Redis db that another run or clone is using."""

import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import time

import redis as redis_lib


def _die_with_parent():
    """In the child, before exec: Linux kills it when the test process dies, however abruptly."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of our own on a free port, which a test may stop and start again."""

    def __init__(self):
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        """Start (again, on the same port); the server answering must be ours: under pytest-xdist
        another worker may have been handed the same free port a moment before us."""
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        client = redis_lib.Redis.from_url(self.url)
        for _ in range(200):
            if self.process.poll() is not None:
                break  # ours exited (the port was taken)
            try:
                if client.info("server")["process_id"] == self.process.pid:
                    return self
            except redis_lib.ConnectionError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"throwaway redis-server did not start on port {self.port}")

    def stop(self):
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    @classmethod
    def started(cls, attempts=3):
        """A started server; a port another process took meanwhile makes it try another."""
        for attempt in range(attempts):
            try:
                return cls().start()
            except RuntimeError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")


def available():
    """True when a redis-server binary is on PATH."""
    return shutil.which("redis-server") is not None
