"""One websocket connection to a room: read y-protocols messages, act on them,
and write frames back through a bounded outbox.

Reading and writing are two tasks. Fan-out only appends an already encoded
frame to each outbox, so a slow reader never holds anyone else up. A client
that does not read is dropped (its transport aborted: a close frame would wait
behind everything it did not read) when its outbox passes ``max_send_queue_bytes``
or when what is written to it makes no progress for ``write_timeout_seconds``;
its session and its place in the room are released at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from crdt.errors import ProtocolError, UpdateRejected
from crdt.wire.awareness import AwarenessEntry, decode_awareness
from crdt.wire.inspection import ClockGap
from crdt.wire.protocol import (
    EMPTY_UPDATE,
    AwarenessMessage,
    PermissionDenied,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    encode_permission_denied,
    encode_sync_step1,
    encode_sync_step2,
    parse_message,
)
from server.sync.closecodes import CloseCode
from server.sync.idle import IDLE_AFTER_SECONDS, JOIN_SECONDS, IdleDeliveries
from server.sync.ratelimit import Allowance, Allowances
from server.sync.scopes import WriteScope
from server.sync.transport import DirectLane, binary_frame, transport_of

if TYPE_CHECKING:
    from asyncio import Transport

    from server.config import Settings
    from server.storage.log import LogWriter
    from server.sync.inspection import Inspector
    from server.sync.metrics import Metrics
    from server.sync.rooms import Room, Rooms

log = logging.getLogger("plenary.sessions")

#: Yjs client ids one connection may use (doc and awareness). A browser tab
#: uses one; a reconnecting client keeps its own.
MAX_CLIENT_IDS_PER_CONNECTION = 16


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is behind a connection, as the log and presence record it."""

    participant_id: str
    role: str
    can_edit: bool
    #: The authenticated fields written over the ``user`` field of presence.
    user: dict[str, str] | None = None
    #: Which parts of a draft's text it may write (the original, translations): see scopes.py. None
    #: in other rooms.
    scope: WriteScope | None = None


class Host(Protocol):
    """What a connection uses of the process that serves it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def rooms(self) -> Rooms: ...

    @property
    def writer(self) -> LogWriter: ...

    @property
    def inspector(self) -> Inspector: ...

    @property
    def allowances(self) -> Allowances: ...

    @property
    def metrics(self) -> Metrics: ...

    @property
    def idle_deliveries(self) -> IdleDeliveries: ...


class Session:
    __slots__ = (
        "__weakref__",
        "_allowance",
        "_backpressure",
        "_close",
        "_deferred",
        "_deferred_bytes",
        "_direct",
        "_max_outbox",
        "_outbox",
        "_outbox_bytes",
        "_sending",
        "_stalled",
        "_transport",
        "_writer",
        "actor",
        "awareness_clients",
        "host",
        "id",
        "last_active",
        "last_sent",
        "owned_clients",
        "room",
        "room_name",
        "websocket",
    )

    def __init__(self, websocket: WebSocket, host: Host, room_name: str, actor: Actor) -> None:
        self.websocket = websocket
        self.host = host
        self.room_name = room_name
        self.actor = actor
        self.id = secrets.token_hex(8)  # 16 hex digits: see rooms.is_session_id
        self.room: Room | None = None
        #: Client ids this connection has announced in awareness or written with.
        self.awareness_clients: set[int] = set()
        self.owned_clients: set[int] = set()
        self._outbox: deque[bytes] = deque()
        self._outbox_bytes = 0
        #: Frames go straight to the socket while nothing is queued (see server/sync/transport.py).
        self._direct = DirectLane.for_scope(websocket.scope)
        self._sending = False
        self._backpressure = False
        #: Sends the queued frames through ASGI; started only when something is queued (most
        #: frames take the direct lane), and gone once the queue is empty: an idle connection
        #: holds no task for it.
        self._writer: asyncio.Task[None] | None = None
        self._close: tuple[int, str] | None = None
        self.last_sent = time.monotonic()
        #: When the client last edited or changed its presence (see server/sync/idle.py).
        self.last_active = self.last_sent - IDLE_AFTER_SECONDS + JOIN_SECONDS
        #: Frames for an idle member, written together by ``host.idle_deliveries``.
        self._deferred: list[bytes] = []
        self._deferred_bytes = 0
        settings = host.settings
        self._max_outbox = settings.max_send_queue_bytes
        #: Shared by every connection of the same participant: reconnecting does not refill it.
        self._allowance: Allowance = host.allowances.hold(actor.participant_id)  # released in run()
        self._transport: Transport | None = transport_of(websocket.scope)
        #: (bytes waiting in the socket's buffer, since when it has not shrunk): see check_progress.
        self._stalled: tuple[int, float] | None = None

    # Identity shortcuts used by the room when it logs.
    @property
    def participant_id(self) -> str:
        return self.actor.participant_id

    @property
    def role(self) -> str:
        return self.actor.role

    # Writing.

    def send(self, frame: bytes, wire: bytes | None = None) -> None:
        """Queue a y-protocols message; ``wire`` is the same message as a websocket frame."""
        if self._close is not None:
            return
        direct = self._direct
        if direct is not None and not self._outbox and not self._sending and direct.open():
            wire = wire if wire is not None else binary_frame(frame)
            now = time.monotonic()
            if now - self.last_active > IDLE_AFTER_SECONDS:
                deferred = self._deferred
                if not deferred:
                    self.host.idle_deliveries.add(self)
                deferred.append(wire)
                self._deferred_bytes += len(wire)
                if self._deferred_bytes > self._max_outbox:
                    self.drop("queue")
                return
            if self._deferred:
                self.flush_deferred()
            buffered = direct.write(wire)
            self.last_sent = now
            if buffered > self._max_outbox:
                self.drop("queue")
            return
        if self._deferred:
            self.flush_deferred()
        self._outbox.append(frame)
        self._outbox_bytes += len(frame)
        if self._outbox_bytes > self._max_outbox:
            self.drop("queue")
            return
        self._start_writer()

    def flush_deferred(self) -> None:
        """Write an idle member's pending frames, in one write."""
        deferred = self._deferred
        if not deferred:
            return
        self.host.idle_deliveries.discard(self)
        data = deferred[0] if len(deferred) == 1 else b"".join(deferred)
        deferred.clear()
        self._deferred_bytes = 0
        direct = self._direct
        if self._close is not None or direct is None or not direct.open():
            return
        buffered = direct.write(data)
        self.last_sent = time.monotonic()
        if buffered > self._max_outbox:
            self.drop("queue")

    def drop(self, why: str) -> None:
        """The client does not read: abort its transport (whatever it did not read is discarded)."""
        self._outbox.clear()
        self._outbox_bytes = 0
        self._deferred.clear()
        self._deferred_bytes = 0
        self.host.idle_deliveries.discard(self)
        if self._close is None:
            self._close = (CloseCode.SLOW_READER, "too slow; reconnect")
            self.host.metrics.closes.labels(str(int(CloseCode.SLOW_READER))).inc()
        self.host.metrics.slow_readers.labels(why).inc()
        transport = self._transport
        if transport is not None and not transport.is_closing():
            # Aborting reports the connection lost to the ASGI side: the read loop ends, and
            # with it the session and its place in the room.
            transport.abort()

    def check_progress(self, now: float) -> None:
        """Called every few seconds: drop the connection if its socket buffer has not shrunk
        (the client read nothing) for ``write_timeout_seconds``."""
        transport = self._transport
        if transport is None or (self._close is not None and transport.is_closing()):
            return
        waiting = transport.get_write_buffer_size()
        stalled = self._stalled
        if waiting == 0 or stalled is None or waiting < stalled[0]:
            self._stalled = (waiting, now) if waiting else None
        elif now - stalled[1] >= self.host.settings.write_timeout_seconds:
            self.drop("write timeout")
        else:
            self._stalled = (waiting, stalled[1])

    def close(self, code: int, reason: str) -> None:
        """Close after the frames already queued (such as an auth message) are sent."""
        if self._close is None:
            self.flush_deferred()  # what was sent before the close goes before it
            self._close = (code, reason[:120])  # a close reason must fit in 123 bytes
            self.host.metrics.closes.labels(str(int(code))).inc()
            self._start_writer()

    def _start_writer(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write(), name=f"plenary-send-{self.id}"
            )

    def refuse(self, code: int, reason: str) -> None:
        """Tell the client why (y-protocols auth message), then close."""
        self.send(encode_permission_denied(reason))
        self.close(code, reason)

    async def _write(self) -> None:
        websocket = self.websocket
        outbox = self._outbox
        # No await between the queue found empty and the return: a frame queued later
        # finds this task done and starts another.
        while outbox:
            frame = outbox.popleft()
            self._outbox_bytes -= len(frame)
            self._sending = True
            try:
                await websocket.send_bytes(frame)
            except Exception:
                # The connection is gone: nothing more is sent, and nothing more is queued.
                outbox.clear()
                self._outbox_bytes = 0
                if self._close is None:
                    self._close = (CloseCode.GOING_AWAY, "connection lost")
                return
            finally:
                self._sending = False
            self.last_sent = time.monotonic()
        if self._close is not None:
            code, reason = self._close
            with contextlib.suppress(Exception):
                await websocket.close(code, reason)

    # Reading.

    async def run(self) -> None:
        """Serve the connection until it closes. The websocket is already accepted."""
        try:
            room = await self.host.rooms.acquire(self.room_name, self)
            self.room = room
            if len(room.sessions) > self.host.settings.max_connections_per_room:
                self.close(CloseCode.TRY_AGAIN_LATER, "room is full")
            else:
                self.send(encode_sync_step1(room.replica.state_vector()))
                awareness = room.awareness_frame()
                if awareness is not None:
                    self.send(awareness)
                await self._read(room)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("session %s in room %r failed", self.id, self.room_name)
            self.close(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            self.host.allowances.release(self._allowance)
            if self.room is not None:
                self.room.leave(self)
            self.close(1000, "")
            writer = self._writer
            if writer is not None:
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(asyncio.shield(writer), timeout=5)
                writer.cancel()

    async def _read(self, room: Room) -> None:
        receive = self.websocket.receive
        while self._close is None:
            message = await receive()
            kind = message["type"]
            if kind == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                self.refuse(CloseCode.PROTOCOL, "text frames are not part of the protocol")
                return
            allowance = self._allowance
            if not allowance.take("messages"):
                self._rate_limited("messages", "too many messages; slow down")
                return
            if not allowance.take("bytes", len(data)):
                self._rate_limited("bytes", "too many bytes per second; slow down")
                return
            try:
                await self._handle(room, parse_message(data))
            except ProtocolError as exc:
                self.refuse(exc.close_code, exc.reason)
                return
            if self._backpressure:
                # The log is behind: stop reading this client until it catches up.
                self._backpressure = False
                await self.host.writer.wait_drained()

    async def _handle(self, room: Room, message: object) -> None:
        if isinstance(message, SyncUpdate | SyncStep2):
            if message.update != EMPTY_UPDATE:
                self.active()
            self._receive_update(room, message.update, is_step2=isinstance(message, SyncStep2))
        elif isinstance(message, SyncStep1):
            update, seq = room.step2_for(message.state_vector)
            # Show nothing that is not yet in the log.
            await room.until_logged(seq)
            self.send(encode_sync_step2(update))
        elif isinstance(message, AwarenessMessage):
            if not self._allowance.take("awareness"):
                self._rate_limited("awareness", "too many presence updates; slow down")
                return
            self._receive_awareness(room, message.payload)
        elif isinstance(message, QueryAwareness):
            frame = room.awareness_frame()
            if frame is not None:
                self.send(frame)
        elif isinstance(message, PermissionDenied):
            raise ProtocolError("auth messages are sent by the server only")

    def _rate_limited(self, kind: str, reason: str) -> None:
        self.host.metrics.rate_limited.labels(kind).inc()
        self.refuse(CloseCode.RATE_LIMITED, reason)

    def _receive_update(self, room: Room, update: bytes, *, is_step2: bool) -> None:
        scope = self.actor.scope
        if not self.actor.can_edit or (room.locked and not (scope is not None and scope.translates)):
            if update == EMPTY_UPDATE or not self.host.inspector.changes_document(room, update):
                return  # the usual empty answer to our step 1
            reason = (
                "the text is locked for negotiation: changes only by adopted amendments"
                if self.actor.can_edit
                else "read-only: this connection may not change the document"
            )
            raise UpdateRejected(reason, close_code=CloseCode.FORBIDDEN)
        try:
            inspection = self.host.inspector.check_update(room, self, update)
        except ClockGap as gap:
            if not self.owns(room, gap.client):
                raise
            # Typed while reconnecting, before our step 1 was answered: ask for
            # the step 2 that carries everything, instead of refusing.
            self.send(encode_sync_step1(room.replica.state_vector()))
            return
        if scope is not None:
            self.host.inspector.check_scope(room, scope, inspection)
        room.receive_update(self, update, inspection.new_state, inspection.update)
        if self.host.writer.congested:
            self._backpressure = True

    def _receive_awareness(self, room: Room, payload: bytes) -> None:
        settings = self.host.settings
        entries = decode_awareness(payload, max_state_bytes=settings.max_awareness_state_bytes)
        # y-websocket clients relay the states of others they hear about; only
        # the connection that owns a client id speaks for it, so relays are
        # dropped. A connection announces its own id in its first awareness
        # message, or owns it by writing to the document with it.
        own = []
        for entry in entries:
            client = entry.client
            owner = room.client_owners.get(client)
            if owner is self or (owner is None and not self.awareness_clients):
                if owner is None:
                    self.claim_client(room, client)
                self.awareness_clients.add(client)
                own.append(entry)
        user = self.actor.user
        if user is not None:
            own = [_with_user(entry, user) for entry in own]
        if own:
            if not all(room.presence.renews(entry) for entry in own):
                self.active()  # a renewal every 15 s is what an idle tab sends
            room.receive_awareness(self, own)

    def active(self) -> None:
        """The client acts: deliver to it at once again (server/sync/idle.py)."""
        self.last_active = time.monotonic()
        if self._deferred:
            self.flush_deferred()

    def owns(self, room: Room, client: int) -> bool:
        """Whether ``client`` is known to be this connection's or this participant's."""
        owner = room.client_owners.get(client)
        first = room.client_participants.get(client)
        if owner is self:
            return first in (None, self.participant_id)
        return owner is None and first == self.participant_id

    def claim_client(self, room: Room, client: int) -> None:
        """A connection owns the Yjs client ids it first uses, while it is open, and a
        participant owns for good the ids they first wrote with: nobody else may use them."""
        owner = room.client_owners.get(client)
        if owner is self:
            return
        if isinstance(owner, Session) and owner.participant_id == self.participant_id:
            # The same person reconnected (a tab after sleep) while the old socket is
            # not yet known dead: the new connection takes the id over.
            owner.close(CloseCode.GOING_AWAY, "replaced by a newer connection")
            owner.owned_clients.discard(client)
            del room.client_owners[client]
            owner = None
        if owner is not None:
            raise UpdateRejected(
                f"client id {client} belongs to another connection", close_code=CloseCode.CLIENT_ID_TAKEN
            )
        first = room.client_participants.get(client)
        if first is not None and first != self.participant_id:
            raise UpdateRejected(
                f"client id {client} belongs to another participant", close_code=CloseCode.CLIENT_ID_TAKEN
            )
        if len(self.owned_clients) >= MAX_CLIENT_IDS_PER_CONNECTION:
            raise UpdateRejected("too many client ids on one connection", close_code=CloseCode.POLICY)
        room.client_owners[client] = self
        self.owned_clients.add(client)


def _with_user(entry: AwarenessEntry, user: dict[str, str]) -> AwarenessEntry:
    if entry.state is None:
        return entry
    state = dict(entry.value) if entry.value is not None else json.loads(entry.state)
    state["user"] = {**(state.get("user") if isinstance(state.get("user"), dict) else {}), **user}
    return AwarenessEntry(entry.client, entry.clock, json.dumps(state, separators=(",", ":")))
