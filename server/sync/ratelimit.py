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


#: What a participant's budgets cover.
KINDS = ("messages", "bytes", "awareness", "commands")


class Allowance:
    """One participant's budgets, shared by all of their connections and REST commands."""

    __slots__ = ("_buckets", "holders", "last_used", "over_until", "spent")

    def __init__(self, settings: Settings, now: float) -> None:
        self._buckets = {
            "messages": RateLimit(settings.max_messages_per_second, settings.message_burst),
            "bytes": RateLimit(settings.max_bytes_per_second, settings.bytes_burst),
            "awareness": RateLimit(settings.max_awareness_per_second, settings.awareness_burst),
            "commands": RateLimit(settings.max_commands_per_second, settings.command_burst),
        }
        self.last_used = now
        #: Connections using this allowance now: it is never forgotten while one is open (a second
        #: connection or a REST command would otherwise get a fresh, full budget beside it).
        self.holders = 0
        #: What was taken since the last report to the other processes (see SharedBudgets).
        self.spent: dict[str, float] = {}
        #: Kinds over budget across all processes, until when (monotonic time).
        self.over_until: dict[str, float] = {}

    def take(self, kind: str, cost: float = 1.0) -> bool:
        """Spend ``cost`` of ``kind``; False (and nothing spent) when over the budget."""
        if self.over_until and self.over_until.get(kind, 0.0) > time.monotonic():
            return False
        if not self._buckets[kind].allow(cost):
            return False
        self.spent[kind] = self.spent.get(kind, 0.0) + cost
        return True

    def rate(self, kind: str) -> float:
        return self._buckets[kind].rate

    def per_window(self, kind: str, seconds: float) -> float:
        """The most of ``kind`` the budget lets through in ``seconds``."""
        bucket = self._buckets[kind]
        return bucket.rate * seconds + bucket.burst


class Allowances:
    """Rate limits per participant, not per connection: reconnecting does not refill them.

    An allowance no connection holds and unused for ``FORGET_AFTER_SECONDS`` is forgotten (its
    buckets would be full again by then anyway), so the table holds only the people recently active.
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

    def hold(self, participant: str) -> Allowance:
        """The allowance of a connection that opens: kept as long as it is held (see :meth:`release`)."""
        allowance = self.of(participant)
        allowance.holders += 1
        return allowance

    def release(self, allowance: Allowance) -> None:
        allowance.holders -= 1
        allowance.last_used = self._clock()

    def forget_idle(self) -> None:
        cutoff = self._clock() - self.FORGET_AFTER_SECONDS
        idle = [
            key
            for key, allowance in self._by_participant.items()
            if allowance.holders <= 0 and allowance.last_used < cutoff
        ]
        for key in idle:
            del self._by_participant[key]

    def spending(self) -> list[tuple[str, Allowance]]:
        """The allowances spent from since the last report."""
        return [(key, allowance) for key, allowance in self._by_participant.items() if allowance.spent]

    def __len__(self) -> int:
        return len(self._by_participant)
