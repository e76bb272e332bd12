"""The fast lane of fan-out: one encoded websocket frame, written straight to each socket.

Through ASGI, every frame to every recipient goes through Starlette's and the
server's send wrappers, frame serialisation and a coroutine per call; profiled
at 500 subscribers that was most of the server's time. Like ``websockets.broadcast``,
a room instead encodes the websocket frame once and writes the same bytes to
each recipient's transport. This needs uvicorn's ``websockets-sansio``
implementation without compression (the one Plenary runs); anything else, and
any connection that is closing, falls back to plain ASGI sends.
"""

from __future__ import annotations

import struct
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

RAW_SEND = "plenary.raw_send"

_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")


def binary_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented binary frame (server to client, RFC 6455 §5.2)."""
    length = len(payload)
    if length < 126:
        return bytes((0x82, length)) + payload
    if length < 1 << 16:
        return b"\x82\x7e" + _U16.pack(length) + payload
    return b"\x82\x7f" + _U64.pack(length) + payload


class RawSend:
    """ASGI middleware: keep the server's own ``send`` in the scope of websocket connections."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)


def transport_of(scope: Scope) -> Any:
    """The asyncio transport under a websocket connection (None when the server hides it)."""
    protocol = getattr(scope.get(RAW_SEND), "__self__", None)
    transport = getattr(protocol, "transport", None)
    return transport if hasattr(transport, "get_write_buffer_size") else None


class DirectLane:
    """Writes prebuilt frames to one connection's socket, while the connection is open."""

    __slots__ = ("_protocol", "transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self.transport = protocol.transport

    @classmethod
    def for_scope(cls, scope: Scope) -> DirectLane | None:
        send = scope.get(RAW_SEND)
        protocol = getattr(send, "__self__", None)
        conn = getattr(protocol, "conn", None)
        transport = getattr(protocol, "transport", None)
        if conn is None or transport is None or not hasattr(protocol, "close_sent"):
            return None
        if getattr(conn, "extensions", None):  # per-message deflate: frames differ per connection
            return None
        return cls(protocol)

    def open(self) -> bool:
        protocol = self._protocol
        return not protocol.close_sent and not protocol.disconnected and not self.transport.is_closing()

    def write(self, frame: bytes) -> int:
        """Write one frame; return the bytes now waiting in the socket's buffer."""
        transport = self.transport
        transport.write(frame)
        return transport.get_write_buffer_size()
