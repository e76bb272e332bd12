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
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from pycrdt import Doc

from crdt.errors import UpdateRejected
from crdt.procedure.writes import PartIndex, needs_values
from crdt.wire.awareness import AwarenessEntry, Presence, encode_awareness_update
from crdt.wire.inspection import decode_clients, encode_clients, encode_ranges
from crdt.wire.protocol import encode_awareness, encode_sync_update
from crdt.wire.replica import Replica
from crdt.wire.updates import Update, decode_update
from server.broker import Broker
from server.broker import messages as relay
from server.config import Settings
from server.storage.database import Database, now_us
from server.storage.log import LogWriter
from server.sync.allocator import release_free_memory
from server.sync.presence import Member, RoomPresence
from server.sync.transport import binary_frame

log = logging.getLogger("plenary.rooms")


def _delete_set_of(state: bytes) -> dict[int, list[tuple[int, int]]]:
    return decode_update(state, values=False).delete_set


#: The owner recorded for the client ids the server itself writes with.
SERVER = "plenary-server"

#: How long a room waits for a missing entry (relayed out of order by another
#: process) before reading it from the database (seconds).
GAP_WAIT_SECONDS = 0.05

#: Documents up to this size are indexed on the loop when a room loads; larger ones in a thread.
SMALL_STATE_BYTES = 4096

#: Freed memory goes back to the OS this long after the last room unloaded (seconds).
TRIM_AFTER_SECONDS = 1.0

#: How often rooms compare themselves with the log when other processes write
#: to it (seconds): the last resort for a relayed message that never came.
RECONCILE_SECONDS = 2.0
#: The same while the link to the other processes is down.
POLL_SECONDS = 0.25


def is_session_id(connection: str) -> bool:
    """Whether a log entry's connection is a websocket session (a client's edit), not the server's own."""
    return len(connection) == 16 and all(c in "0123456789abcdef" for c in connection)


#: Called with every entry a room takes, in log order: (room, seq, kind, payload, time_us, local).
EntryHook = Callable[["Room", int, str, bytes, int, bool], None]


class Guard(Protocol):
    """Judges a client's update before it is applied (the deliberation's text protection)."""

    def refusal(self, room: Room, editor: Any, inspection: Any, raw: bytes) -> str | None: ...


class Room(RoomPresence):
    __slots__ = (
        "__weakref__",
        "_ahead",
        "_appended",
        "_awareness_timer",
        "_deleted",
        "_durable_waiters",
        "_gap_timer",
        "_logged",
        "_pending_awareness",
        "_pending_relay",
        "_pending_renewals",
        "_pending_sources",
        "_registry",
        "_renewal_timer",
        "_settings",
        "_unload_timer",
        "_writer",
        "client_owners",
        "client_participants",
        "client_state",
        "closed",
        "guard",
        "locked",
        "name",
        "on_touched",
        "parts",
        "presence",
        "remote_clients",
        "replica",
        "seq",
        "sessions",
        "size_estimate",
        "snapshot_seq",
        "subscriptions",
        "touched",
    )

    def __init__(
        self,
        name: str,
        replica: Replica,
        *,
        seq: int,
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
        self.sessions: set[Member] = set()
        #: Which participant first wrote with each Yjs client id: nobody else may.
        self.client_participants = owners
        #: Which connection owns each Yjs client id (see Session.claim_client).
        #: The server's own id is owned by nobody who can connect.
        self.client_owners: dict[int, object] = {replica.doc.client_id: self}
        #: Every log entry up to ``seq`` is in the replica. The database numbers
        #: entries when it commits them (several processes may append), so this
        #: process may hold later ones too, waiting in ``_ahead`` for a gap to fill.
        self.seq = seq
        #: Entries past a gap: made here (kind, payload, time; in the replica already), or
        #: relayed from elsewhere (applied once the entries before them are).
        self._ahead: dict[int, relay.Entry | tuple[str, bytes, int]] = {}
        self._gap_timer: asyncio.TimerHandle | None = None
        #: Appends made here, and how many of them are durable: a "mark" to wait for.
        self._appended = 0
        self._logged = 0
        self.snapshot_seq = snapshot_seq
        self._writer = writer
        self._settings = settings
        self._registry = registry
        self._durable_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._unload_timer: asyncio.TimerHandle | None = None
        self._pending_awareness: dict[int, AwarenessEntry] = {}
        self._pending_sources: set[Member] = set()
        #: This process's presence changes, to be relayed to the others.
        self._pending_relay: dict[int, AwarenessEntry] = {}
        #: The presence of connections on other processes: node → Yjs client ids.
        self.remote_clients: dict[str, set[int]] = {}
        self._awareness_timer: asyncio.TimerHandle | None = None
        self._pending_renewals: set[int] = set()
        self._renewal_timer: asyncio.TimerHandle | None = None
        #: Client id → next clock: what the inspector checks updates against.
        self.client_state: dict[int, int] = replica.state()
        #: An upper bound of the document's encoded size, for the size limit.
        self.size_estimate = size_estimate
        self._deleted: tuple[int, dict[int, list[tuple[int, int]]]] | None = None
        #: Set by the deliberation: no direct edits while the text is locked.
        self.locked = False
        #: Set by the deliberation: judges each client update against the procedure (protected text,
        #: editing modes) before it is applied (see server/sync/inspection.py).
        self.guard: Guard | None = None
        #: Indices of paragraphs changed by the update being applied, and who
        #: wants to know (the deliberation: reopen agreed paragraphs, restart silence).
        self.touched: set[int] = set()
        self.on_touched: Callable[[Room, set[int]], None] | None = None
        #: Observers others placed on the document, as (shared type, subscription): removed at
        #: close, since pycrdt holds their callbacks (and through them this room) from Rust,
        #: where Python's garbage collector cannot see the cycle.
        self.subscriptions: list[tuple[Any, Any]] = []
        #: Where every item of the document is (built when an update is first checked against a
        #: connection's scope, then kept up to date with every change: see server/sync/scopes.py).
        self.parts: PartIndex | None = None
        self.closed = False

    # Connections.

    def join(self, session: Member) -> None:
        if self._unload_timer is not None:
            self._unload_timer.cancel()
            self._unload_timer = None
        self.sessions.add(session)

    def leave(self, session: Member) -> None:
        self.sessions.discard(session)
        for client in session.owned_clients:
            if self.client_owners.get(client) is session:
                del self.client_owners[client]
        gone = self.presence.remove(session.awareness_clients)
        if gone:
            update = encode_awareness_update(gone)
            self.broadcast(encode_awareness(update), exclude=session)
            self._registry.broker.publish(self.name, relay.Presence(self.name, update))
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

    def broadcast(self, frame: bytes, exclude: Member | None = None) -> None:
        """Send one encoded message to every connection but ``exclude``, framed once for all."""
        started = time.perf_counter()
        wire = binary_frame(frame)
        for session in self.sessions:
            if session is not exclude:
                session.send(frame, wire)
        observe = self._registry.on_fanout
        if observe is not None:
            observe(time.perf_counter() - started)

    # Document.

    def receive_update(
        self, session: Member, update: bytes, new_state: Mapping[int, int], decoded: Update | None = None
    ) -> None:
        """Apply a client's (already inspected, ``decoded``) update, log it, broadcast once durable."""
        change = self.replica.apply(update)
        if change is None:
            return  # a duplicate: nothing to log, nothing to send
        self._index(change, decoded)
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
        logged under the participant who caused it. Returns a mark for :meth:`until_logged`."""
        change = self.replica.transact(edit)
        # Server edits are decisions, not drafting: they do not reopen paragraphs.
        self.touched.clear()
        if change is None:
            return None
        self._index(change)
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
        origin: Member | None = None,
        owner: str | None = None,
        clients: bytes | None = None,
        on_logged: Callable[[int], None] | None = None,
        time_us: int | None = None,
    ) -> int:
        """Append one entry to the room's log; broadcast the update when durable.

        Returns a mark for :meth:`until_logged`. The entry's sequence number is
        known once the database committed it: ``on_logged`` is called with it.
        ``time_us`` is the time a command was judged at (its fold reads it back); now by default.
        """
        time_us = now_us() if time_us is None else time_us
        if kind == "update":
            if clients is None:
                clients = encode_clients(decode_update(payload, values=False))
            for client in decode_clients(clients):
                self.client_participants.setdefault(client, owner or participant)
        else:
            clients = b""
        row: dict[str, Any] = {
            "room": self.name,
            "time_us": time_us,
            "connection": connection,
            "participant": participant,
            "role": role,
            "kind": kind,
            "clients": clients,
            "payload": payload,
        }
        self._appended += 1
        mark = self._appended
        frame = encode_sync_update(payload) if kind == "update" else None

        def on_durable(seq: int) -> None:
            self._logged = mark
            self._wake_waiters()
            if not self.closed:
                self._logged_here(seq, kind, payload, row["time_us"])
                if frame is not None:
                    self.broadcast(frame, exclude=origin)
                broker = self._registry.broker
                if broker.shared:
                    time_us, clients = row["time_us"], row["clients"]
                    entry = relay.Entry(self.name, seq, time_us, owner or participant, kind, clients, payload)
                    broker.publish(self.name, entry)
            if on_logged is not None:
                on_logged(seq)

        self._writer.append(row, on_durable, self._on_log_failure, owner=self)
        return mark

    def _index(self, change: bytes, decoded: Update | None = None) -> None:
        if self.parts is not None:
            try:
                # Only the items the update adds are indexed: the client's update as decoded for its
                # inspection says the same as the change, without decoding again.
                update = decoded or decode_update(change, values=False)
                if needs_values(update):
                    update = decode_update(change)  # a paragraph's id is a value the index keeps
                self.parts.feed(update, classify=False)
            except Exception:  # built again from the document when next needed; never fails an apply
                log.exception("room %r: indexing a change failed; the index is rebuilt", self.name)
                self.parts = None

    def receive_entry(self, entry: relay.Entry) -> None:
        """An entry another process made durable (relayed, or read back from the log).

        Entries from elsewhere are applied strictly in log order: each one was checked,
        where it came in, against a replica holding only entries numbered below it, so
        its dependencies are always there first (pycrdt would integrate an update past a
        clock gap that Yjs keeps pending: applying out of order could diverge).
        """
        seq = entry.seq
        if self.closed or seq <= self.seq or seq in self._ahead:
            return  # already here, or already waiting
        if seq != self.seq + 1:
            self._wait_for_gap(seq, entry)
            return
        if self._apply_remote(entry):
            self._advance(seq, entry.kind, entry.payload, entry.time_us, False)

    def _apply_remote(self, entry: relay.Entry) -> bool:
        if entry.kind != "update":
            return True
        try:
            change = self.replica.apply(entry.payload)
        except UpdateRejected as exc:
            self._on_log_failure(exc)
            return False
        # Only the process a change came in through acts on it (reopening paragraphs).
        self.touched.clear()
        if change is not None:
            self._index(change)
        state = self.client_state
        for client, (_, end) in decode_clients(entry.clients).items():
            if end > state.get(client, 0):
                state[client] = end
            self.client_participants.setdefault(client, entry.owner)
        self.size_estimate += len(entry.payload)
        if change is not None:
            self.broadcast(encode_sync_update(change))
        return True

    def _logged_here(self, seq: int, kind: str, payload: bytes, time_us: int) -> None:
        """An entry appended here is durable as entry ``seq`` (it is in the replica already)."""
        if seq == self.seq + 1:
            self._advance(seq, kind, payload, time_us, True)
        elif seq > self.seq:
            self._wait_for_gap(seq, (kind, payload, time_us))

    def _wait_for_gap(self, seq: int, item: relay.Entry | tuple[str, bytes, int]) -> None:
        self._ahead[seq] = item
        if self._gap_timer is None:
            self._gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT_SECONDS, self._gap_timeout)

    def _advance(self, seq: int, kind: str, payload: bytes, time_us: int, local: bool) -> None:
        """Entry ``seq`` is in the replica: advance over every entry now contiguous."""
        hooks = self._registry.on_entry
        self.seq = seq
        for hook in hooks:
            hook(self, seq, kind, payload, time_us, local)
        ahead = self._ahead
        while ahead and self.seq + 1 in ahead:
            item = ahead.pop(self.seq + 1)
            if isinstance(item, relay.Entry):
                if not self._apply_remote(item):
                    return
                kind, payload, time_us, local = item.kind, item.payload, item.time_us, False
            else:
                (kind, payload, time_us), local = item, True
            self.seq += 1
            for hook in hooks:
                hook(self, self.seq, kind, payload, time_us, local)
        if not ahead and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        if self.seq - self.snapshot_seq >= self._settings.snapshot_every:
            self.save_snapshot()

    def recheck_gap(self) -> None:
        """After a catch-up: if entries still wait past a gap, wait for it again."""
        if self._ahead and self._gap_timer is None and not self.closed:
            self._gap_timer = asyncio.get_running_loop().call_later(GAP_WAIT_SECONDS, self._gap_timeout)

    def _gap_timeout(self) -> None:
        self._gap_timer = None
        if self._ahead and not self.closed:
            self._registry.catch_up_later(self)

    @property
    def quiescent(self) -> bool:
        """Whether the replica holds exactly the entries up to ``seq`` (nothing pending or ahead)."""
        return self._logged == self._appended and not self._ahead

    def save_snapshot(self) -> None:
        """Save the document as of the entries it holds.

        Quiescent (nothing pending or ahead), that is ``seq``. With appends still on their way
        to the log and no other process writing, the log writer labels it with the last of
        them once committed. Otherwise (another process's entries may fall in between), it
        waits for a quiescent moment.
        """
        pending = self._appended - self._logged
        if self.quiescent:
            seq: int | None = self.seq
        elif not self._registry.broker.shared and not self._ahead:
            seq = None
        else:
            return
        label = self.seq + pending
        if label == self.snapshot_seq:
            return
        self.snapshot_seq = label
        state = self.replica.full_state()
        self.size_estimate = len(state)
        owners = json.dumps({str(client): who for client, who in self.client_participants.items()})
        self._writer.save_snapshot(
            {"room": self.name, "seq": seq, "time_us": now_us(), "state": state, "owners": owners},
            owner=self,
        )

    def deleted_ranges(self) -> dict[int, list[tuple[int, int]]]:
        """The document's delete set (cached until the next change)."""
        version = self.seq + self._appended + len(self._ahead)
        if self._deleted is None or self._deleted[0] != version:
            self._deleted = (version, _delete_set_of(self.replica.full_state()))
        return self._deleted[1]

    def log_mark(self) -> int:
        """A mark for :meth:`until_logged`: everything this process appended to the room so far."""
        return self._appended

    def _wake_waiters(self) -> None:
        if self._durable_waiters:
            logged = self._logged
            still = []
            for wanted, future in self._durable_waiters:
                if wanted <= logged:
                    if not future.done():
                        future.set_result(None)
                else:
                    still.append((wanted, future))
            self._durable_waiters = still

    async def until_logged(self, mark: int | None = None) -> None:
        """Wait until what was appended up to ``mark`` (default: so far) is in the log,
        so that what the replica holds may be shown."""
        wanted = self._appended if mark is None else mark
        if wanted <= self._logged:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._durable_waiters.append((wanted, future))
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
        """The update a peer lacks, and the log mark to wait for before sending it."""
        return self.replica.diff(state_vector), self._appended

    def close(self) -> None:
        self.closed = True
        if self._awareness_timer is not None:
            self._awareness_timer.cancel()
            self._awareness_timer = None
        if self._renewal_timer is not None:
            self._renewal_timer.cancel()
            self._renewal_timer = None
        if self._unload_timer is not None:
            self._unload_timer.cancel()
            self._unload_timer = None
        if self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None
        for _, future in self._durable_waiters:
            if not future.done():
                future.set_exception(UpdateRejected("room closed"))
        self._durable_waiters.clear()
        for target, subscription in self.subscriptions:
            with contextlib.suppress(Exception):
                target.unobserve(subscription)
        self.subscriptions.clear()
        self.on_touched = None
        self.replica.close()


class Rooms:
    """The loaded rooms of this process."""

    def __init__(
        self, database: Database, writer: LogWriter, settings: Settings, broker: Broker | None = None
    ) -> None:
        self.database = database
        self.writer = writer
        self.settings = settings
        self.broker = broker if broker is not None else Broker()
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._unloading: dict[str, asyncio.Task[None]] = {}
        #: Entries relayed for a room while it is being read from the database.
        self._early: dict[str, list[relay.Entry]] = {}
        self._catching_up: dict[str, asyncio.Task[None]] = {}
        self._reconciler: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: Large documents being indexed in a thread after their room opened (see _index).
        self._indexing: set[asyncio.Task[None]] = set()
        self._trim: asyncio.TimerHandle | None = None
        #: Called with every room just loaded (the deliberation hooks in here).
        self.on_load: list[Callable[[Room], None]] = []
        #: Called with every entry a room takes, in log order (the deliberation folds commands).
        self.on_entry: list[EntryHook] = []
        #: Reads the state of a past version ``{draft}@{seq}`` and its seq: the record's time travel,
        #: given by the application (``server.record.history.past_room_state``).
        self.past_state: Callable[[str], Awaitable[tuple[bytes, int]]] | None = None
        #: Told how long each broadcast took to hand its frame to every connection (the metrics).
        self.on_fanout: Callable[[float], None] | None = None

    def __len__(self) -> int:
        return len(self._rooms)

    def __iter__(self) -> Iterable[Room]:
        return iter(list(self._rooms.values()))

    def get(self, name: str) -> Room | None:
        return self._rooms.get(name)

    def start(self) -> None:
        if self.broker.shared:
            self._reconciler = asyncio.create_task(self._reconcile(), name="plenary-reconcile")

    async def acquire(self, name: str, session: Member) -> Room:
        """Load (once) and join a room. The join happens with no await after the
        room is found, so an unload can never slip in between."""
        while True:
            room = self._rooms.get(name)
            if room is not None:
                room.join(session)
                if self.broker.shared and "@" not in name:
                    # Another process may have written what this one has not heard yet
                    # (it died before relaying it): a newcomer must not be told less.
                    await self.catch_up(room)
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

    async def current(self, name: str) -> Room:
        """A room as the log holds it now, for reading (an API request, an export):
        with what other processes wrote, and nothing this one has not yet made durable."""
        room = await self.open(name)
        if self.broker.shared:
            await self.catch_up(room)
        await room.until_logged()
        return room

    async def _load(self, name: str) -> None:
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._loading[name] = future
        relayed = self.broker.shared and "@" not in name
        try:
            unloading = self._unloading.get(name)
            if unloading is not None:
                await asyncio.shield(unloading)
            if relayed:
                # Listen first, then read: an entry committed in between is heard, not lost.
                self._early[name] = []
                await self.broker.subscribe(name)
            room = await self._read(name)
            for hook in self.on_load:
                hook(room)
            self._rooms[name] = room
            for entry in self._early.pop(name, ()):
                room.receive_entry(entry)
            future.set_result(room)
        except BaseException as exc:
            self._early.pop(name, None)
            if relayed:
                with contextlib.suppress(Exception):
                    await self.broker.unsubscribe(name)
            future.set_exception(exc)
            future.exception()  # retrieved: the waiters see it when they await
            raise
        finally:
            del self._loading[name]

    async def _read(self, name: str) -> Room:
        if "@" in name:
            return await self._read_past(name)
        # The head first: the snapshot and the entries read are the ones up to it, and
        # whatever another process appends after it arrives through the broker.
        rows = await self.database.room_rows(name)  # head, snapshot, updates: one read
        replica = Replica()
        snapshot_seq = 0
        size = 0
        owners: dict[int, str] = {}
        snapshot = rows.snapshot
        if snapshot is not None:
            snapshot_seq = snapshot.seq
            replica.load(snapshot.state)
            size = len(snapshot.state)
            owners = {int(client): who for client, who in json.loads(snapshot.owners or "{}").items()}
        for row in rows.updates:
            replica.load(row.payload)
            size += len(row.payload)
            owner = row.participant if is_session_id(row.connection) else SERVER
            for client in decode_clients(row.clients):
                owners.setdefault(client, owner)
        room = Room(
            name,
            replica,
            seq=rows.head,
            snapshot_seq=snapshot_seq,
            size_estimate=size,
            owners=owners,
            writer=self.writer,
            settings=self.settings,
            registry=self,
        )
        if "/" not in name:
            # A draft's text: where each client update writes is checked before it applies
            # (server/sync/scopes.py). A large document is indexed in a thread once the room is
            # open: a first sync does not wait for it (a cold load of a long draft: ~190 ms).
            self._index(room)
        return room

    def _index(self, room: Room) -> None:
        try:
            state = room.replica.full_state()
            if len(state) <= SMALL_STATE_BYTES:  # a new room's: less time than a thread hop takes
                room.parts = PartIndex.of_state(state)
                return
        except Exception:
            log.exception("room %r: indexing the document failed (it is retried when needed)", room.name)
            return
        version = (room.seq, room.log_mark())

        async def build() -> None:
            try:
                parts = await asyncio.to_thread(PartIndex.of_state, state)
            except Exception:
                log.exception("room %r: indexing the document failed (it is retried when needed)", room.name)
                return
            # Only if nothing changed meanwhile (a change indexes itself only into an index that exists)
            # and nobody built one on demand (server/sync/inspection.py).
            if room.parts is None and not room.closed and (room.seq, room.log_mark()) == version:
                room.parts = parts

        task = asyncio.get_running_loop().create_task(build(), name=f"plenary-index-{room.name}")
        self._indexing.add(task)
        task.add_done_callback(self._indexing.discard)

    async def _read_past(self, name: str) -> Room:
        """A past version ``{draft}@{seq}``: the draft's text just after entry seq, rebuilt from
        the draft's log (``past_state``). Its own log stays empty: sessions in it are read-only,
        and ``snapshot_seq == seq`` keeps unloading from saving a snapshot."""
        if self.past_state is None:
            raise RuntimeError("this process serves no past versions")
        state, seq = await self.past_state(name)
        replica = Replica()
        replica.load(state)
        return Room(
            name,
            replica,
            seq=seq,
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
        await self.writer.flush()  # what it appended is durable: the replica holds exactly the log
        room.save_snapshot()
        room.close()
        await self.writer.flush()
        if self.broker.shared and "@" not in room.name:
            await self.broker.unsubscribe(room.name)
        log.debug("room %r unloaded at seq %d", room.name, room.seq)
        self._schedule_trim()

    def _schedule_trim(self) -> None:
        # Once unloads have settled, not once per room: a trim walks the whole heap.
        if self._trim is not None:
            self._trim.cancel()
        self._trim = asyncio.get_running_loop().call_later(TRIM_AFTER_SECONDS, self._release_memory)

    def _release_memory(self) -> None:
        self._trim = None
        # In a thread: a trim walks the heap, and ctypes lets the event loop run meanwhile.
        task = asyncio.get_running_loop().run_in_executor(None, release_free_memory)
        task.add_done_callback(lambda done: done.cancelled() or done.exception())

    def discard(self, room: Room) -> None:
        if self._rooms.get(room.name) is room:
            del self._rooms[room.name]
            if self.broker.shared:
                task = asyncio.get_running_loop().create_task(self._unsubscribe_unused(room.name))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _unsubscribe_unused(self, name: str) -> None:
        # Unless it was loaded again meanwhile (then the new room listens on that channel).
        if name not in self._rooms and name not in self._loading:
            await self.broker.unsubscribe(name)

    async def close(self) -> None:
        """Snapshot and close every room (server shutdown)."""
        if self._reconciler is not None:
            self._reconciler.cancel()
        for task in list(self._indexing):
            task.cancel()
        await self.writer.flush()
        for room in list(self._rooms.values()):
            room.save_snapshot()
            room.close()
        self._rooms.clear()
        for task in list(self._unloading.values()):
            with contextlib.suppress(Exception):
                await task
        await self.writer.flush()

    # Other processes (see server/broker).

    def receive(self, entry: relay.Entry) -> None:
        room = self._rooms.get(entry.room)
        if room is not None:
            room.receive_entry(entry)
        else:
            early = self._early.get(entry.room)
            if early is not None:
                early.append(entry)

    def receive_presence(self, node: str, message: relay.Presence) -> None:
        room = self._rooms.get(message.room)
        if room is not None:
            try:
                room.receive_remote_awareness(node, message.update)
            except Exception:
                log.exception("presence relayed for %r dropped", message.room)

    def drop_node(self, node: str) -> None:
        for room in list(self._rooms.values()):
            room.drop_node(node)

    def catch_up_all(self) -> None:
        for room in list(self._rooms.values()):
            if "@" not in room.name:
                self.catch_up_later(room)

    def catch_up_later(self, room: Room) -> None:
        task = self._catching_up.get(room.name)
        if task is None or task.done():
            self._start_catch_up(room)

    async def catch_up(self, room: Room, *, fresh: bool = False) -> None:
        """Take every entry the log has and the room lacks (written by other processes).
        ``fresh``: read the log from now, not with a read already under way."""
        task = self._catching_up.get(room.name)
        if task is not None and not task.done():
            if not fresh:
                await asyncio.shield(task)
                return
            with contextlib.suppress(Exception):
                await asyncio.shield(task)
        await asyncio.shield(self._start_catch_up(room))

    def _start_catch_up(self, room: Room) -> asyncio.Task[None]:
        name = room.name
        task = asyncio.get_running_loop().create_task(self._catch_up(room))
        self._catching_up[name] = task
        task.add_done_callback(
            lambda done: self._catching_up.pop(name) if self._catching_up.get(name) is done else None
        )
        return task

    async def _catch_up(self, room: Room) -> None:
        inflight = self.database.inflight
        try:
            async for row in self.database.entries_after(room.name, room.seq):
                if room.closed:
                    return
                if (room.name, row.seq) in inflight:
                    continue  # ours, committed a moment ago: its own callback takes it
                owner = row.participant if is_session_id(row.connection) else SERVER
                room.receive_entry(
                    relay.Entry(room.name, row.seq, row.time_us, owner, row.kind, row.clients, row.payload)
                )
        except Exception:
            log.exception("room %r: catching up from the log failed (retried later)", room.name)
            return  # the reconciler tries again in a while, not the gap timer every 50 ms
        room.recheck_gap()

    async def _reconcile(self) -> None:
        """Compare each room with the log now and then: the last resort for a relayed
        entry that never came, and the only way to hear others while Redis is down."""
        seen: dict[str, int] = {}
        while True:
            connected = self.broker.connected
            await asyncio.sleep(RECONCILE_SECONDS if connected else POLL_SECONDS)
            rooms = [room for room in self._rooms.values() if "@" not in room.name]
            try:
                heads: dict[str, int] = {}
                names = [room.name for room in rooms]
                for start in range(0, len(names), 500):
                    heads.update(await self.database.heads(names[start : start + 500]))
            except Exception as exc:
                log.warning("reconciling rooms with the log failed: %s", exc)
                continue
            for room in rooms:
                # Connected, an entry is only overdue once it was already in the log a round ago.
                wanted = seen.get(room.name, 0) if self.broker.connected else heads.get(room.name, 0)
                if room.seq < wanted:
                    self.catch_up_later(room)
            seen = heads
