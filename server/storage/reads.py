"""The hot reads on SQLite: what a join needs, in one thread hop on a plain ``sqlite3`` connection.

A join into a room not yet loaded reads the log's head, the latest snapshot and the entries after it;
every join asks whether the room is a draft. Through SQLAlchemy's async engine and aiosqlite each of
those statements costs several hops between the event loop and aiosqlite's thread, and Python work on
the loop around every one: at 1,000 rooms × 2 clients that was most of a join's cost. Here each read is
one call on a small pool of reader threads, each with its own connection (WAL: readers never wait for
the writer), and the rows come back as tuples. The two lookups every join makes (is this room a draft,
is its log empty) are primary-key reads of a few microseconds, less than a thread hop costs: they run
on the event loop's own connection (WAL readers never wait for the writer or a checkpoint).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

from server.storage.schema import DRAFTS, LOG, SNAPSHOTS

#: Reader threads: SQLite reads run in parallel in WAL mode, and sqlite3 releases the GIL while it reads.
READER_THREADS = 2


class SnapshotRow(NamedTuple):
    seq: int
    state: bytes
    owners: str


class UpdateRow(NamedTuple):
    seq: int
    payload: bytes
    connection: str
    participant: str
    clients: bytes


@dataclass(frozen=True, slots=True)
class RoomRows:
    """What loading a room reads, as of one moment (one read transaction)."""

    head: int
    snapshot: SnapshotRow | None
    updates: list[UpdateRow]


class SqliteReader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.executor = ThreadPoolExecutor(READER_THREADS, thread_name_prefix="plenary-sqlite-reader")
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._head = f"SELECT seq FROM {LOG.name} WHERE room = ? ORDER BY seq DESC LIMIT 1"
        self._snapshot = (
            f"SELECT seq, state, owners FROM {SNAPSHOTS.name} WHERE room = ? AND seq <= ? "
            "ORDER BY seq DESC LIMIT 1"
        )
        self._updates = (
            f"SELECT seq, payload, connection, participant, clients FROM {LOG.name} "
            "WHERE room = ? AND seq > ? AND seq <= ? AND kind = 'update' ORDER BY seq"
        )
        self._draft = f"SELECT id, title, symbol, created_us, created_by FROM {DRAFTS.name} WHERE id = ?"
        self._inline: sqlite3.Connection | None = None

    def _loop_connection(self) -> sqlite3.Connection:
        """The event loop thread's connection, for reads of a few microseconds."""
        if self._inline is None:
            self._inline = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._inline.execute("PRAGMA busy_timeout=10000")
            self._inline.execute("PRAGMA query_only=ON")
        return self._inline

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    async def _run(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def room(self, room: str) -> RoomRows:
        if self._loop_connection().execute(self._head, (room,)).fetchone() is None:
            return RoomRows(0, None, [])  # a new room: nothing to read, no hop
        return await self._run(self._room, room)

    def _room(self, room: str) -> RoomRows:
        conn = self._connection()
        conn.execute("BEGIN")  # one read snapshot: the head and the rows up to it agree
        try:
            row = conn.execute(self._head, (room,)).fetchone()
            head = 0 if row is None else row[0]
            if not head:
                return RoomRows(0, None, [])
            found = conn.execute(self._snapshot, (room, head)).fetchone()
            snapshot = None if found is None else SnapshotRow(found[0], bytes(found[1]), found[2] or "{}")
            after = 0 if snapshot is None else snapshot.seq
            updates = [
                UpdateRow(seq, bytes(payload), connection, participant, bytes(clients))
                for seq, payload, connection, participant, clients in conn.execute(
                    self._updates, (room, after, head)
                )
            ]
            return RoomRows(head, snapshot, updates)
        finally:
            conn.execute("COMMIT")

    def draft(self, draft_id: str) -> tuple[Any, ...] | None:
        return self._loop_connection().execute(self._draft, (draft_id,)).fetchone()

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        if self._inline is not None:
            self._inline.close()
            self._inline = None
