"""Rooms: one loaded document, the connections editing it, and its fan-out.

An accepted update takes one road (see ../shared/docs/architecture.md): applied
to the room's replica (which tells what actually changed), appended to the log,
and broadcast to the other connections only once the log has it on disk.
:class:`Rooms` loads each room once, however many connections ask at the same
time, and unloads it a little after its last connection leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pycrdt import Doc

from crdt.awareness import AwarenessEntry, Presence, encode_awareness_update
from crdt.chain import EntryFields, entry_hash
from crdt.errors import UpdateRejected
from crdt.inspection import decode_clients, encode_clients, encode_ranges
from crdt.protocol import encode_awareness, encode_sync_update
from crdt.replica import Replica
from crdt.updates import decode_update
from server.config import Settings
from server.inspection import delete_set_of
from server.storage.database import Database, now_us
from server.storage.log import LogWriter
from server.transport import binary_frame

if TYPE_CHECKING:
    from server.sessions import Session

log = logging.getLogger("plenary.rooms")

#: Presence changes are sent at most this often per room (seconds).
AWARENESS_BATCH_SECONDS = 0.03

#: The owner recorded for the client ids the server itself writes with.
SERVER = "plenary-server"


class Room:
    def __init__(
        self,
        name: str,
        replica: Replica,
        *,
        seq: int,
        head_hash: bytes,
        snapshot_seq: int,
        size_estimate: int,
        owners: dict[int, str],
        writer: LogWriter,
        settings: Settings,
        registry: Rooms,
    ) -> None:
        self.name = name
        self.replica = replica
        self.presence = Presence()
        self.sessions: set[Session] = set()
        #: Which participant first wrote with each Yjs client id: nobody else may.
        self.client_participants = owners
        #: Which connection owns each Yjs client id (see Session.claim_client).
        #: The server's own id is owned by nobody who can connect.
        self.client_owners: dict[int, object] = {replica.doc.client_id: self}
        #: The last sequence number appended, and the last one known durable.
        self.seq = seq
        self.durable_seq = seq
        self.head_hash = head_hash
        self.snapshot_seq = snapshot_seq
        self._writer = writer
        self._settings = settings
        self._registry = registry
        self._durable_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._unload_timer: asyncio.TimerHandle | None = None
        self._pending_awareness: dict[int, AwarenessEntry] = {}
        self._pending_sources: set[Session] = set()
        self._awareness_timer: asyncio.TimerHandle | None = None
        #: Client id → next clock: what the inspector checks updates against.
        self.client_state: dict[int, int] = replica.state()
        #: An upper bound of the document's encoded size, for the size limit.
        self.size_estimate = size_estimate
        self._deleted: tuple[int, dict[int, list[tuple[int, int]]]] | None = None
        #: Set by the deliberation: no direct edits while the text is locked.
        self.locked = False
        #: Indices of paragraphs changed by the update being applied, and who
        #: wants to know (the deliberation: reopen agreed paragraphs, restart silence).
        self.touched: set[int] = set()
        self.on_touched: Callable[[Room, set[int]], None] | None = None
        self.subscriptions: list[Any] = []
        self.closed = False

    # Connections.

    def join(self, session: Session) -> None:
        if self._unload_timer is not None:
            self._unload_timer.cancel()
            self._unload_timer = None
        self.sessions.add(session)

    def leave(self, session: Session) -> None:
        self.sessions.discard(session)
        for client in session.owned_clients:
            if self.client_owners.get(client) is session:
                del self.client_owners[client]
        gone = self.presence.remove(session.awareness_clients)
        if gone:
            self.broadcast(encode_awareness(encode_awareness_update(gone)), exclude=session)
        if not self.sessions:
            self.schedule_unload()

    def schedule_unload(self) -> None:
        if self.closed:
            return
        if self._unload_timer is not None:
            self._unload_timer.cancel()
        self._unload_timer = asyncio.get_running_loop().call_later(
            self._settings.unload_grace_seconds, self._registry.unload_if_idle, self
        )

    def broadcast(self, frame: bytes, exclude: Session | None = None) -> None:
        """Send one encoded message to every connection but ``exclude``, framed once for all."""
        wire = binary_frame(frame)
        for session in self.sessions:
            if session is not exclude:
                session.send(frame, wire)

    # Document.

    def receive_update(self, session: Session, update: bytes, new_state: Mapping[int, int]) -> None:
        """Apply a client's (already inspected) update, log it, broadcast once durable."""
        change = self.replica.apply(update)
        if change is None:
            return  # a duplicate: nothing to log, nothing to send
        state = self.client_state
        # What the change writes, from the inspection (no second decode on the hot path).
        written = {client: (state.get(client, 0), end) for client, end in new_state.items()}
        for client, clock in new_state.items():
            if clock > state.get(client, 0):
                state[client] = clock
        self.size_estimate += len(change)
        if self.touched:
            touched, self.touched = self.touched, set()
            if self.on_touched is not None:
                self.on_touched(self, touched)
        self.append(
            change,
            kind="update",
            connection=session.id,
            participant=session.participant_id,
            role=session.role,
            origin=session,
            clients=encode_ranges(written),
        )

    def edit(
        self, edit: Callable[[Doc], None], *, participant: str, role: str, connection: str = "server"
    ) -> int | None:
        """A server-side edit of the document (draft creation, an adopted amendment),
        logged under the participant who caused it. Returns its sequence number."""
        change = self.replica.transact(edit)
        # Server edits are decisions, not drafting: they do not reopen paragraphs.
        self.touched.clear()
        if change is None:
            return None
        self.client_state = self.replica.state()
        self.size_estimate += len(change)
        return self.append(
            change, kind="update", connection=connection, participant=participant, role=role, owner=SERVER
        )

    def append(
        self,
        payload: bytes,
        *,
        kind: str,
        connection: str,
        participant: str,
        role: str,
        origin: Session | None = None,
        owner: str | None = None,
        clients: bytes | None = None,
    ) -> int:
        """Append one entry to the room's log; broadcast the update when durable."""
        self.seq += 1
        seq = self.seq
        fields = EntryFields(
            room=self.name,
            seq=seq,
            time_us=now_us(),
            connection=connection,
            participant=participant,
            role=role,
            kind=kind,
            clients=(clients if clients is not None else encode_clients(decode_update(payload, values=False)))
            if kind == "update"
            else b"",
            payload=payload,
        )
        if kind == "update":
            for client in decode_clients(fields.clients):
                self.client_participants.setdefault(client, owner or participant)
        digest = entry_hash(self.head_hash, fields)
        row: dict[str, Any] = {
            "room": fields.room,
            "seq": seq,
            "time_us": fields.time_us,
            "connection": connection,
            "participant": participant,
            "role": role,
            "kind": kind,
            "clients": fields.clients,
            "payload": payload,
            "prev_hash": self.head_hash,
            "hash": digest,
        }
        self.head_hash = digest
        frame = encode_sync_update(payload) if kind == "update" else None

        def on_durable() -> None:
            self._mark_durable(seq)
            if frame is not None and not self.closed:
                self.broadcast(frame, exclude=origin)

        self._writer.append(row, on_durable, self._on_log_failure, owner=self)
        if seq - self.snapshot_seq >= self._settings.snapshot_every:
            self.save_snapshot()
        return seq

    def save_snapshot(self) -> None:
        if self.seq == self.snapshot_seq:
            return
        self.snapshot_seq = self.seq
        state = self.replica.full_state()
        self.size_estimate = len(state)
        owners = json.dumps({str(client): who for client, who in self.client_participants.items()})
        self._writer.save_snapshot(
            {"room": self.name, "seq": self.seq, "time_us": now_us(), "state": state, "owners": owners},
            owner=self,
        )

    def deleted_ranges(self) -> dict[int, list[tuple[int, int]]]:
        """The document's delete set (cached until the next change)."""
        if self._deleted is None or self._deleted[0] != self.seq:
            self._deleted = (self.seq, delete_set_of(self.replica.full_state()))
        return self._deleted[1]

    def _mark_durable(self, seq: int) -> None:
        self.durable_seq = seq
        if self._durable_waiters:
            still = []
            for wanted, future in self._durable_waiters:
                if wanted <= seq:
                    if not future.done():
                        future.set_result(None)
                else:
                    still.append((wanted, future))
            self._durable_waiters = still

    async def until_durable(self, seq: int) -> None:
        """Wait until entry ``seq`` is in the log, so that what it holds may be shown."""
        if seq <= self.durable_seq:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._durable_waiters.append((seq, future))
        await future

    def _on_log_failure(self, exc: BaseException) -> None:
        # The replica holds a change the log does not: it can no longer be
        # trusted. Drop the room; clients reconnect, and their step 2 sends the
        # change again, to be logged properly this time.
        if self.closed:
            return
        log.error("room %r: log write failed (%s); closing the room", self.name, exc)
        self._registry.discard(self)
        for session in list(self.sessions):
            session.close(1011, "the server could not record the change; reconnect")
        self.close()

    def step2_for(self, state_vector: bytes) -> tuple[bytes, int]:
        """The update a peer lacks, and the entry it is current to (wait for it to be durable)."""
        return self.replica.diff(state_vector), self.seq

    # Presence.

    def receive_awareness(self, session: Session, entries: list[AwarenessEntry]) -> None:
        """Presence is coalesced: the states that changed within ``AWARENESS_BATCH_SECONDS``
        go out as one message, instead of one message per cursor move per recipient
        (500 people moving their cursor once a second would otherwise be 250,000 sends/s)."""
        accepted = self.presence.apply(entries)
        if not accepted:
            return
        pending = self._pending_awareness
        for entry in accepted:
            pending[entry.client] = entry
        self._pending_sources.add(session)
        if self._awareness_timer is None:
            self._awareness_timer = asyncio.get_running_loop().call_later(
                AWARENESS_BATCH_SECONDS, self._flush_awareness
            )

    def _flush_awareness(self) -> None:
        self._awareness_timer = None
        pending, sources = self._pending_awareness, self._pending_sources
        self._pending_awareness, self._pending_sources = {}, set()
        if not pending or self.closed:
            return
        # With one sender, it need not hear its own state back; with several, everyone
        # gets the one message (a client ignores its own state at a clock it has).
        exclude = next(iter(sources)) if len(sources) == 1 else None
        self.broadcast(encode_awareness(encode_awareness_update(pending.values())), exclude=exclude)

    def awareness_frame(self) -> bytes | None:
        states = self.presence.current()
        if not states:
            return None
        return encode_awareness(encode_awareness_update(states))

    def close(self) -> None:
        self.closed = True
        if self._awareness_timer is not None:
            self._awareness_timer.cancel()
            self._awareness_timer = None
        if self._unload_timer is not None:
            self._unload_timer.cancel()
            self._unload_timer = None
        for _, future in self._durable_waiters:
            if not future.done():
                future.set_exception(UpdateRejected("room closed"))
        self._durable_waiters.clear()
        self.replica.close()


class Rooms:
    """The loaded rooms of this process."""

    def __init__(self, database: Database, writer: LogWriter, settings: Settings) -> None:
        self.database = database
        self.writer = writer
        self.settings = settings
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._unloading: dict[str, asyncio.Task[None]] = {}
        #: Called with every room just loaded (the deliberation hooks in here).
        self.on_load: list[Callable[[Room], None]] = []

    def __len__(self) -> int:
        return len(self._rooms)

    def __iter__(self) -> Iterable[Room]:
        return iter(list(self._rooms.values()))

    def get(self, name: str) -> Room | None:
        return self._rooms.get(name)

    async def acquire(self, name: str, session: Session) -> Room:
        """Load (once) and join a room. The join happens with no await after the
        room is found, so an unload can never slip in between."""
        while True:
            room = self._rooms.get(name)
            if room is not None:
                room.join(session)
                return room
            pending = self._loading.get(name)
            if pending is not None:
                await asyncio.shield(pending)
                continue
            await self._load(name)

    async def open(self, name: str) -> Room:
        """Load a room for the server's own use (no connection joins it)."""
        while True:
            room = self._rooms.get(name)
            if room is not None:
                if not room.sessions:
                    room.schedule_unload()
                return room
            pending = self._loading.get(name)
            if pending is not None:
                await asyncio.shield(pending)
                continue
            await self._load(name)

    async def _load(self, name: str) -> None:
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._loading[name] = future
        try:
            unloading = self._unloading.get(name)
            if unloading is not None:
                await asyncio.shield(unloading)
            room = await self._read(name)
            for hook in self.on_load:
                hook(room)
            self._rooms[name] = room
            future.set_result(room)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters see it when they await
            raise
        finally:
            del self._loading[name]

    async def _read(self, name: str) -> Room:
        if "@" in name:
            return await self._read_past(name)
        replica = Replica()
        snapshot_seq = 0
        size = 0
        owners: dict[int, str] = {}
        snapshot = await self.database.latest_snapshot(name)
        if snapshot is not None:
            snapshot_seq = snapshot.seq
            replica.load(snapshot.state)
            size = len(snapshot.state)
            owners = {int(client): who for client, who in json.loads(snapshot.owners or "{}").items()}
        async for row in self.database.updates_after(name, snapshot_seq):
            replica.load(row.payload)
            size += len(row.payload)
            for client in decode_clients(row.clients):
                owners.setdefault(client, row.participant)
        head = await self.database.head(name)
        return Room(
            name,
            replica,
            seq=head.seq,
            head_hash=head.hash,
            snapshot_seq=snapshot_seq,
            size_estimate=size,
            owners=owners,
            writer=self.writer,
            settings=self.settings,
            registry=self,
        )

    async def _read_past(self, name: str) -> Room:
        """A past version ``{draft}@{seq}``: the draft's text just after entry seq, rebuilt from
        the draft's log (server/history.py). Its own log stays empty: sessions in it are read-only,
        and ``snapshot_seq == seq`` keeps unloading from saving a snapshot."""
        from server.history import past_room_state

        state, seq = await past_room_state(self.database, name)
        replica = Replica()
        replica.load(state)
        return Room(
            name,
            replica,
            seq=seq,
            head_hash=b"",
            snapshot_seq=seq,
            size_estimate=len(state),
            owners={},
            writer=self.writer,
            settings=self.settings,
            registry=self,
        )

    def unload_if_idle(self, room: Room) -> None:
        if room.sessions or room.closed or self._rooms.get(room.name) is not room:
            return
        del self._rooms[room.name]
        task = asyncio.create_task(self._unload(room))
        self._unloading[room.name] = task
        task.add_done_callback(
            lambda done: self._unloading.pop(room.name) if self._unloading.get(room.name) is done else None
        )

    async def _unload(self, room: Room) -> None:
        room.save_snapshot()
        room.close()
        await self.writer.flush()
        log.debug("room %r unloaded at seq %d", room.name, room.seq)

    def discard(self, room: Room) -> None:
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]

    async def close(self) -> None:
        """Snapshot and close every room (server shutdown)."""
        for room in list(self._rooms.values()):
            room.save_snapshot()
            room.close()
        self._rooms.clear()
        for task in list(self._unloading.values()):
            with contextlib.suppress(Exception):
                await task
        await self.writer.flush()
