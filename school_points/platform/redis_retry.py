"""Riding out a Redis outage in the long-running processes (worker, scheduler).

`Backoff` spaces the reconnection attempts (capped exponential: 0.5 s, 1 s, 2 s, ... up to
REDIS_RETRY_MAX_SECONDS); `Outage` makes the log say one line when an outage begins and one when
it ends, however many attempts it takes in between.
"""

import logging
import time


class Backoff:
    """Capped exponential delays; `reset()` once the thing waited for is back."""

    def __init__(self, cap, first=0.5) -> None:
        self.cap = max(float(cap), 0.01)
        self.first = min(first, self.cap)
        self.delay = self.first

    def next(self) -> float:
        """The delay to wait now; the following one doubles, up to the cap."""
        delay, self.delay = self.delay, min(self.delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        """Start again from the first delay."""
        self.delay = self.first


class Outage:
    """Logs one warning when Redis goes away and one line when it is back."""

    def __init__(self, who, log=None, clock=time.monotonic) -> None:
        self.who = who
        self.log = log or logging.getLogger(f"school_points.{who}")
        self.clock = clock
        self.since = None

    @property
    def ongoing(self) -> bool:
        """True between began() and ended()."""
        return self.since is not None

    def began(self, error, retry_cap=None) -> None:
        """Redis failed; logs only the first failure of an outage."""
        if self.since is not None:
            return
        self.since = self.clock()
        cap = f" (at most {retry_cap:g} s apart)" if retry_cap else ""
        self.log.warning("%s: Redis unavailable (%s); reconnecting with backoff%s", self.who, _one_line(error), cap)

    def ended(self) -> bool:
        """Redis answered; logs the end of an outage, and returns True, if one was ongoing."""
        if self.since is None:
            return False
        self.log.warning("%s: Redis is back after %.1f s; carrying on", self.who, self.clock() - self.since)
        self.since = None
        return True


def _one_line(error):
    return " ".join(str(error).split())[:200] or type(error).__name__
