"""The doorway: connections that have not yet sent a whole request are bounded and timed.

uvicorn reads a request's head without a deadline and with no bound on how many
connections may be doing so, and its websocket implementation leaves a handshake
that ``websockets`` refuses (a request line over 8 KB: 414; header lines too
long or too many: 431) unanswered and open. A few hundred such sockets held as
many file descriptors for minutes. Here:

- :class:`Doorway` counts the connections still sending their request head, per
  peer address and in total, and refuses (503, closed) any beyond the limits;
- :class:`GuardedHttp` closes one whose head is not complete within the
  handshake timeout (408), and leaves the doorway once its request has arrived:
  from there the application authenticates it without waiting on the client;
- :class:`AnsweredWebSocket` writes the refusal ``websockets`` prepared for a
  handshake it cannot parse, and closes the connection.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

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
    """Connections still sending their request head, per peer address and in total."""

    def __init__(self, max_total: int, max_per_address: int, timeout: float) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.timeout = timeout
        self.total = 0
        self.by_address: Counter[str] = Counter()
        #: Called with the reason ("busy", "timeout", "unparseable") of every refusal.
        self.on_refusal: Callable[[str], None] = lambda _reason: None

    def enter(self, address: str) -> bool:
        if self.total >= self.max_total or self.by_address[address] >= self.max_per_address:
            self.on_refusal("busy")
            return False
        self.total += 1
        self.by_address[address] += 1
        return True

    def leave(self, address: str) -> None:
        self.total -= 1
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]


class GuardedHttp(H11Protocol):
    """uvicorn's h11 protocol, with the doorway's bounds and deadline on the request head."""

    def __init__(self, *args: Any, doorway: Doorway, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._doorway = doorway
        self._address: str | None = None
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "?"
        if not self._doorway.enter(address):
            transport.write(BUSY)
            transport.close()
            return
        self._address = address
        self._deadline = self.loop.call_later(self._doorway.timeout, self._too_slow)

    def _through(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if self._address is not None:
            self._doorway.leave(self._address)
            self._address = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self._address is not None:
            self._through()
            self._doorway.on_refusal("timeout")
            self.transport.write(SLOW)
            self.transport.close()

    def handle_events(self) -> None:
        super().handle_events()
        # A request (or an upgrade) arrived, or h11 refused the head (and closed): through the door.
        if self._address is not None and (self.scope is not None or self.transport.is_closing()):
            self._through()

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
