"""The doorway: connections that have not yet sent a whole request are bounded and timed.

uvicorn reads a request's head without a deadline and with no bound on how many
connections may be doing so, and its websocket implementation leaves a handshake
that ``websockets`` refuses (a request line over 8 KB: 414; header lines too
long or too many: 431) unanswered and open. A few hundred such sockets held as
many file descriptors for minutes. Here:

- :class:`Doorway` counts the connections still sending their request head, per
  peer address and in total, and refuses (503, closed) new ones while too many
  have been at it for over a second;
- :class:`GuardedHttp` closes one whose head is not complete within the
  handshake timeout (408), and leaves the doorway once its request has arrived:
  from there the application authenticates it without waiting on the client.
  Each later request head on a kept-alive connection is timed and counted again;
- :class:`AnsweredWebSocket` writes the refusal ``websockets`` prepared for a
  handshake it cannot parse, and closes the connection.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


def plain_response(status: int, reason: str, detail: str) -> bytes:
    body = detail.encode() + b"\n"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


BUSY = plain_response(503, "Service Unavailable", "too many connections still opening; retry later")
SLOW = plain_response(408, "Request Timeout", "the request did not arrive in time")
UNPARSEABLE = plain_response(400, "Bad Request", "not a valid websocket handshake")


class Doorway:
    """Connections still sending their request head, per peer address and in total.

    Only those that have been at it for over ``GRACE_SECONDS`` count against the limits: a
    reconnect storm (thousands of clients at once, or behind one proxy's address) accepts
    its connections in a burst before reading any of their heads, and each head is already
    there; a connection that holds the door open does not stay under the grace for long.
    """

    GRACE_SECONDS = 1.0

    def __init__(
        self,
        max_total: int,
        max_per_address: int,
        timeout: float,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.timeout = timeout
        self._clock = clock or time.monotonic
        #: Since when each is waiting, oldest first (dicts keep their insertion order).
        self._all: dict[object, float] = {}
        self._by_address: dict[str, dict[object, float]] = {}
        #: Called with the reason ("busy", "timeout", "unparseable") of every refusal.
        self.on_refusal: Callable[[str], None] = lambda _reason: None

    @property
    def total(self) -> int:
        return len(self._all)

    def enter(self, connection: object, address: str) -> bool:
        now = self._clock()
        mine = self._by_address.get(address)
        if _older_than(self._all, now - self.GRACE_SECONDS, self.max_total) or (
            mine is not None and _older_than(mine, now - self.GRACE_SECONDS, self.max_per_address)
        ):
            self.on_refusal("busy")
            return False
        self._all[connection] = now
        self._by_address.setdefault(address, {})[connection] = now
        return True

    def leave(self, connection: object, address: str) -> None:
        self._all.pop(connection, None)
        mine = self._by_address.get(address)
        if mine is not None:
            mine.pop(connection, None)
            if not mine:
                del self._by_address[address]


def _older_than(waiting: dict[object, float], cutoff: float, limit: int) -> bool:
    """Whether at least ``limit`` of ``waiting`` (oldest first) started before ``cutoff``."""
    if len(waiting) < limit:
        return False
    for count, since in enumerate(waiting.values(), start=1):
        if since >= cutoff:
            return False
        if count >= limit:
            return True
    return False


class GuardedHttp(H11Protocol):
    """uvicorn's h11 protocol, with the doorway's bounds and deadline on every request head.

    Not only the first: uvicorn cancels its keep-alive timer on the first byte of the next
    request, so a kept-alive connection that trickles its next head would otherwise hold the
    socket for ever, uncounted. The next head is timed (and counted) from when its first bytes
    are left waiting, and only then: an idle kept-alive connection stays under uvicorn's
    keep-alive timeout, and a head that arrives whole never enters the doorway.
    """

    def __init__(self, *args: Any, doorway: Doorway, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._doorway = doorway
        #: The peer address while this connection's current request head is in the doorway.
        self._address: str | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def _arm(self) -> None:
        """Enter the doorway with the head now awaited, and start its deadline (or refuse: 503)."""
        address = self.client[0] if self.client else "?"
        if not self._doorway.enter(self, address):
            self.transport.write(BUSY)
            self.transport.close()
            return
        self._address = address
        self._deadline = self.loop.call_later(self._doorway.timeout, self._too_slow)

    def _arm_if_head_pending(self) -> None:
        """Arm for a later request whose head has begun (bytes buffered) but is not complete."""
        if (
            self._address is None
            and not self.transport.is_closing()
            and self.conn.our_state is h11.IDLE
            and self.conn.their_state is h11.IDLE
            and self.conn.trailing_data[0]
        ):
            self._arm()

    def _through(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._address is not None:
            self._doorway.leave(self, self._address)
            self._address = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self._address is not None:
            self._through()
            self._doorway.on_refusal("timeout")
            self.transport.write(SLOW)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # The next request on a kept-alive connection began but its head is not all here.
        self._arm_if_head_pending()

    def handle_events(self) -> None:
        super().handle_events()
        # The awaited head arrived (h11 left IDLE: a request or an upgrade), or h11 refused it
        # (and closed): through the door.
        if self._address is not None and (
            self.conn.their_state is not h11.IDLE or self.transport.is_closing()
        ):
            self._through()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A pipelined next head, buffered while the response was written, is still incomplete.
        self._arm_if_head_pending()

    def connection_lost(self, exc: Exception | None) -> None:
        self._through()
        super().connection_lost(exc)


class AnsweredWebSocket(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol, answering the handshakes it cannot parse."""

    def __init__(self, *args: Any, on_refusal: Callable[[str], None] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_refusal = on_refusal

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.handshake_initiated or self.conn.handshake_exc is None or self.close_sent:
            return
        # websockets refused the request (414, 431, or not HTTP) but uvicorn only looks for a Request.
        output = b"".join(self.conn.data_to_send())
        self.transport.write(output if output.startswith(b"HTTP/") else UNPARSEABLE)
        self.close_sent = True
        self.handshake_complete = True
        if self._on_refusal is not None:
            self._on_refusal("unparseable")
        self.transport.close()
