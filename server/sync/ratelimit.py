"""Token buckets: how much one participant may send, sustained and in a burst."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.config import Settings


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


class Allowance:
    """One participant's budgets, shared by all of their connections and REST commands."""

    __slots__ = ("awareness", "bytes", "commands", "last_used", "messages")

    def __init__(self, settings: Settings, now: float) -> None:
        self.messages = RateLimit(settings.max_messages_per_second, settings.message_burst)
        self.bytes = RateLimit(settings.max_bytes_per_second, settings.bytes_burst)
        self.awareness = RateLimit(settings.max_awareness_per_second, settings.awareness_burst)
        self.commands = RateLimit(settings.max_commands_per_second, settings.command_burst)
        self.last_used = now


class Allowances:
    """Rate limits per participant, not per connection: reconnecting does not refill them.

    An allowance unused for ``FORGET_AFTER_SECONDS`` is forgotten (its buckets would be
    full again by then anyway), so the table holds only the people recently active.
    """

    FORGET_AFTER_SECONDS = 60.0

    def __init__(self, settings: Settings, clock: Callable[[], float] | None = None) -> None:
        self._settings = settings
        self._clock = clock or time.monotonic
        self._by_participant: dict[str, Allowance] = {}

    def of(self, participant: str) -> Allowance:
        now = self._clock()
        allowance = self._by_participant.get(participant)
        if allowance is None:
            allowance = self._by_participant[participant] = Allowance(self._settings, now)
        allowance.last_used = now
        return allowance

    def forget_idle(self) -> None:
        cutoff = self._clock() - self.FORGET_AFTER_SECONDS
        idle = [key for key, allowance in self._by_participant.items() if allowance.last_used < cutoff]
        for key in idle:
            del self._by_participant[key]

    def __len__(self) -> int:
        return len(self._by_participant)
