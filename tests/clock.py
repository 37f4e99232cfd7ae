"""A virtual clock for school_points.platform.clock's seam: time moves only when a test (or code it calls)
advances it, so a rate-limit window, a token's lifetime or a drain's linger is tested without
sleeping through it, and a busy machine cannot stretch or shrink what the test measures.

Single-threaded tests only: every thread sees the same virtual time and a `sleep` returns at once.
"""

import time

import pytest

from school_points.platform import clock


class VirtualClock:
    """Starts at the real time; `sleep` and `advance` move it on, nothing else does."""

    def __init__(self):
        self.now = time.monotonic()
        self.wall = time.time()
        self.slept = []

    def monotonic(self):
        return self.now

    def time(self):
        return self.wall

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds):
        self.now += max(0.0, seconds)
        self.wall += max(0.0, seconds)


@pytest.fixture
def virtual_clock(monkeypatch):
    """Replace the real clocks behind school_points.platform.clock with a VirtualClock for this test."""
    virtual = VirtualClock()
    monkeypatch.setattr(clock, "_source", virtual)
    return virtual
