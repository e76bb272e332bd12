"""A token bucket: how many messages a connection may send, sustained and in a burst."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimit:
    __slots__ = ("_clock", "_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] | None = None) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock or time.monotonic
        self._last = self._clock()

    def allow(self, cost: float = 1.0) -> bool:
        now = self._clock()
        tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if tokens < cost:
            self._tokens = tokens
            return False
        self._tokens = tokens - cost
        return True
