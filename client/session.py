"""An asyncio client for a Plenary room: keeps a pycrdt ``Doc`` in sync both ways.

It speaks the same y-protocols messages as y-websocket (through ``crdt.wire.protocol``),
reconnects with backoff, re-syncs with step 1 / step 2 after every reconnect (so
edits made offline reach the server), shares awareness, and never echoes a
remote update back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from pycrdt import Doc, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from crdt.errors import ProtocolError
from crdt.wire.awareness import AwarenessEntry, decode_awareness, encode_awareness_update
from crdt.wire.protocol import (
    AwarenessMessage,
    PermissionDenied,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    encode_awareness,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
    parse_message,
)

log = logging.getLogger("plenary.client")

#: Close codes after which reconnecting cannot help: the server refused us.
FINAL_CLOSE_CODES = range(4400, 4500)


class RoomClient:
    """One room, one document, one (re)connecting websocket."""

    def __init__(
        self,
        url: str,
        room: str,
        *,
        token: str | None = None,
        doc: Doc | None = None,
        reconnect: bool = True,
        max_backoff: float = 5.0,
        max_message_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        self.url = url.rstrip("/")
        self.room = room
        self.token = token
        self.doc = doc if doc is not None else Doc()
        self.reconnect = reconnect
        self.max_backoff = max_backoff
        self.max_message_bytes = max_message_bytes
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        #: Set when the server refused us (4400-4499) or when we closed.
        self.close_code: int | None = None
        self.close_reason: str = ""
        self.denied: list[str] = []
        #: Remote awareness states by client id (JSON-decoded).
        self.awareness: dict[int, dict[str, Any]] = {}
        self.on_awareness: Callable[[dict[int, dict[str, Any]]], None] | None = None
        self._local_state: dict[str, Any] | None = None
        self._awareness_clock = 0
        self._remote_clocks: dict[int, int] = {}
        self._applying_remote = False
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._subscription = self.doc.observe(self._on_transaction)
        self.connections = 0

    @property
    def ws_url(self) -> str:
        query = urlencode({"token": self.token}) if self.token else ""
        return f"{self.url}/{quote(self.room, safe='/@')}" + (f"?{query}" if query else "")

    # Life cycle.

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"plenary-client-{self.room}")

    async def __aenter__(self) -> RoomClient:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def wait_synced(self, timeout: float = 10.0) -> None:
        waiter = asyncio.ensure_future(self.synced.wait())
        closer = asyncio.ensure_future(self.closed.wait())
        done, pending = await asyncio.wait(
            {waiter, closer}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if waiter not in done:
            raise ConnectionError(f"not synced: closed with {self.close_code} {self.close_reason!r}")

    async def close(self) -> None:
        self._stopping = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self.doc.unobserve(self._subscription)
        self.closed.set()

    async def disconnect(self) -> None:
        """Drop the connection without stopping (tests of offline editing use it)."""
        if self._ws is not None:
            await self._ws.close()

    # Awareness.

    @property
    def client_id(self) -> int:
        return self.doc.client_id

    def set_local_state(self, state: dict[str, Any] | None) -> None:
        self._local_state = state
        self._awareness_clock += 1
        self._send_awareness()

    def _send_awareness(self) -> None:
        entry = AwarenessEntry(
            self.client_id,
            self._awareness_clock,
            None if self._local_state is None else json.dumps(self._local_state, separators=(",", ":")),
        )
        self._outbox.put_nowait(encode_awareness(encode_awareness_update([entry])))

    # Document.

    def _on_transaction(self, event: TransactionEvent) -> None:
        if self._applying_remote:
            return
        if self._ws is not None:
            self._outbox.put_nowait(encode_sync_update(event.update))

    def _apply_remote(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False

    # Connection.

    async def _run(self) -> None:
        backoff = 0.1
        while not self._stopping:
            try:
                async with connect(
                    self.ws_url, max_size=self.max_message_bytes, compression=None, open_timeout=10
                ) as ws:
                    self._ws = ws
                    self.connections += 1
                    backoff = 0.1
                    await self._session(ws)
            except InvalidStatus as exc:
                self.close_code = exc.response.status_code
                self.close_reason = "handshake refused"
            except (OSError, ConnectionClosed, TimeoutError) as exc:
                log.debug("connection to %s lost: %s", self.room, exc)
            except ProtocolError as exc:
                # The server sent something we cannot read: reconnecting would not help.
                self.close_code = 4400
                self.close_reason = f"client: {exc.reason}"
                log.error("room %s: %s", self.room, exc.reason)
                break
            finally:
                self._ws = None
                self.synced.clear()
            if self._stopping or not self.reconnect or (self.close_code in FINAL_CLOSE_CODES):
                break
            await asyncio.sleep(backoff * (1 + random.random() / 2))
            backoff = min(self.max_backoff, backoff * 2)
        self.closed.set()

    async def _session(self, ws: ClientConnection) -> None:
        # Anything queued while offline is covered by the step 2 exchange.
        self._outbox = asyncio.Queue()
        sender: asyncio.Task[None] | None = None
        try:
            await ws.send(encode_sync_step1(self.doc.get_state()))
            if self._local_state is not None:
                self._send_awareness()
            sender = asyncio.create_task(self._send_loop(ws))
            async for frame in ws:
                if isinstance(frame, str):
                    continue
                self._receive(ws, parse_message(frame))
        finally:
            if sender is not None:
                sender.cancel()
            if ws.close_code is not None and ws.close_code != 1000:
                self.close_code = ws.close_code
                self.close_reason = ws.close_reason or ""

    async def _send_loop(self, ws: ClientConnection) -> None:
        while True:
            frame = await self._outbox.get()
            await ws.send(frame)

    def _receive(self, ws: ClientConnection, message: object) -> None:
        if isinstance(message, SyncStep1):
            self._outbox.put_nowait(encode_sync_step2(self.doc.get_update(message.state_vector)))
        elif isinstance(message, SyncStep2):
            self._apply_remote(message.update)
            self.synced.set()
        elif isinstance(message, SyncUpdate):
            self._apply_remote(message.update)
        elif isinstance(message, AwarenessMessage):
            self._receive_awareness(message.payload)
        elif isinstance(message, QueryAwareness):
            if self._local_state is not None:
                self._send_awareness()
        elif isinstance(message, PermissionDenied):
            self.denied.append(message.reason)

    def _receive_awareness(self, payload: bytes) -> None:
        changed = False
        for entry in decode_awareness(payload, max_state_bytes=self.max_message_bytes):
            if entry.client == self.client_id:
                continue
            if entry.clock < self._remote_clocks.get(entry.client, -1):
                continue
            self._remote_clocks[entry.client] = entry.clock
            if entry.state is None:
                changed |= self.awareness.pop(entry.client, None) is not None
            else:
                self.awareness[entry.client] = json.loads(entry.state)
                changed = True
        if changed and self.on_awareness is not None:
            self.on_awareness(self.awareness)
