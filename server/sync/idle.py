"""Deliveries to idle members, coalesced: their cost is off the active members' path.

Every edit goes to every member of a room; each delivery to a socket is a system
call (≈10-20 µs on loopback). With 1,000 members that was 10-20 ms of the event
loop per edit, ahead of the next edit of the two people actually typing. A member
that has neither edited nor changed its presence for ``IDLE_AFTER_SECONDS`` is
idle: a broadcast only appends the frame to its pending bytes (well under a
microsecond), and :class:`IdleDeliveries` writes each idle member's pending
frames in one write every ``FLUSH_SECONDS``, ``SLICE`` members at a time, so that
active members' messages are read and fanned out between slices. An idle member
gets what it is sent up to ``FLUSH_SECONDS`` later, in order; the moment it acts
it is active again.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

#: A member that has not edited or changed its presence for this long is idle (seconds).
IDLE_AFTER_SECONDS = 10.0
#: A member is active for this long after it connects (its first sync goes out at once) (seconds).
JOIN_SECONDS = 5.0
#: How often idle members' pending frames are written (seconds).
FLUSH_SECONDS = 0.05
#: Members written per turn of the event loop.
SLICE = 200


class Deferring(Protocol):
    def flush_deferred(self) -> None: ...


class IdleDeliveries:
    """The members with frames pending, and the timer that writes them."""

    def __init__(self) -> None:
        self._pending: dict[Deferring, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, member: Deferring) -> None:
        self._pending[member] = None
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_SECONDS, self._flush)

    def discard(self, member: Deferring) -> None:
        self._pending.pop(member, None)

    def _flush(self) -> None:
        self._timer = None
        pending = self._pending
        loop = asyncio.get_running_loop()
        for _ in range(min(SLICE, len(pending))):
            member = next(iter(pending))
            del pending[member]
            member.flush_deferred()
        if pending:
            # The rest on the next turn: whatever arrived meanwhile goes first.
            self._timer = loop.call_later(0, self._flush)

    def __len__(self) -> int:
        return len(self._pending)
