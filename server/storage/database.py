"""The database: engine set-up for SQLite or PostgreSQL, migrations, and the
queries the rooms need (head of a log, latest snapshot, entries after a point).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from crdt.record.chain import GENESIS, link
from server.storage.reads import RoomRows, SnapshotRow, SqliteReader, UpdateRow
from server.storage.schema import DRAFTS, LOG, SNAPSHOTS, SchemaVersion

log = logging.getLogger("plenary.database")

SCHEMA_VERSION = 1

#: How many snapshots to keep per room. Older ones are never needed to load;
#: the log itself is what history is replayed from.
SNAPSHOTS_KEPT = 2

#: How long a command waits for its draft's lock (another process's command) before failing.
DRAFT_LOCK_TIMEOUT_SECONDS = 30

#: Rows fetched per round trip when a room replays its log.
REPLAY_BATCH = 5_000

#: SQLite: WAL pages (4 KiB) written by the log writer between two checkpoints. SQLite's own
#: automatic checkpoint (every 1,000 pages) runs inside the commit that crosses the mark, on the
#: commit thread, fsyncs included: every broadcast waiting for that commit waited for the disk.
#: The log writer turns it off and has a checkpointer thread of its own do the same work beside it.
CHECKPOINT_PAGES = 1_000


def normalise_url(url: str) -> str:
    """Accept plain ``sqlite:///`` and ``postgresql://`` URLs and pick the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif backend == "postgresql" and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.render_as_string(hide_password=False)


@dataclass(frozen=True, slots=True)
class LogHead:
    seq: int
    hash: bytes


class Database:
    """One connection pool and the statements Plenary runs on it."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "NORMAL", slow_ms: float = 0.0) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {}
        if not self.is_sqlite:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        self._sqlite_writer: SqliteLogWriter | None = None
        self._sqlite_reader: SqliteReader | None = None
        self._lock_engine: AsyncEngine | None = None
        #: ``(room, seq)`` of entries this process committed whose callbacks have not run
        #: yet: a catch-up that reads them back from the database must leave them alone.
        self.inflight: set[tuple[str, int]] = set()
        #: Take the per-room advisory lock around appends (PostgreSQL). Only bench/cluster.py
        #: turns it off, to measure what it costs; without it two processes could fork a chain.
        self.lock_appends = True
        if self.is_sqlite:
            synchronous = sqlite_synchronous.upper()
            if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
                raise ValueError(f"bad SQLite synchronous mode {sqlite_synchronous!r}")

            @event.listens_for(self.engine.sync_engine, "connect")
            def _configure(dbapi_connection: Any, _record: Any) -> None:
                cursor = dbapi_connection.cursor()
                # WAL lets readers (room loads, history) run beside the writer.
                # NORMAL in WAL mode survives a crash of the process; FULL also
                # survives power loss, at an fsync per commit.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute(f"PRAGMA synchronous={synchronous}")
                cursor.execute("PRAGMA busy_timeout=10000")
                cursor.close()

            path = make_url(self.url).database
            if path and path != ":memory:":
                self._sqlite_writer = SqliteLogWriter(path, synchronous, slow_ms=slow_ms)
                self._sqlite_reader = SqliteReader(path)

    async def migrate(self) -> None:
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Several processes may start at once on a fresh database.
                schema_lock = lock_key("schema", "")
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": schema_lock})
            await conn.run_sync(SQLModel.metadata.create_all)
            current = (await conn.execute(select(SchemaVersion.version))).scalars().all()
            if SCHEMA_VERSION not in current:
                await conn.execute(
                    insert(SchemaVersion.__table__).values(version=SCHEMA_VERSION, applied_us=now_us())
                )

    async def close(self) -> None:
        if self._sqlite_writer is not None:
            await asyncio.get_running_loop().run_in_executor(
                self._sqlite_writer.executor, self._sqlite_writer.close
            )
            self._sqlite_writer.executor.shutdown(wait=True)
            self._sqlite_writer.checkpointer.shutdown(wait=True)
        if self._sqlite_reader is not None:
            self._sqlite_reader.close()
        if self._lock_engine is not None:
            await self._lock_engine.dispose()
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(select(1))

    async def head(self, room: str) -> LogHead:
        async with self.engine.connect() as conn:
            row = (await conn.execute(head_query(room))).first()
        return LogHead(0, GENESIS) if row is None else LogHead(row.seq, row.hash)

    async def latest_snapshot(self, room: str, upto: int | None = None) -> Any | None:
        query = select(SNAPSHOTS.c.seq, SNAPSHOTS.c.state, SNAPSHOTS.c.owners).where(SNAPSHOTS.c.room == room)
        if upto is not None:
            query = query.where(SNAPSHOTS.c.seq <= upto)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query.order_by(SNAPSHOTS.c.seq.desc()).limit(1))).first()
        return row

    async def room_rows(self, room: str) -> RoomRows:
        """What loading a room reads: its head, the latest snapshot up to it, the updates after that."""
        if self._sqlite_reader is not None:
            return await self._sqlite_reader.room(room)
        head = (await self.head(room)).seq
        found = await self.latest_snapshot(room, upto=head)
        snapshot = None if found is None else SnapshotRow(found.seq, bytes(found.state), found.owners or "{}")
        updates = [
            UpdateRow(row.seq, bytes(row.payload), row.connection, row.participant, bytes(row.clients))
            async for row in self.updates_after(room, 0 if snapshot is None else snapshot.seq, upto=head)
        ]
        return RoomRows(head, snapshot, updates)

    async def draft_row(self, draft_id: str) -> Any | None:
        """A draft's row (id, title, symbol, created_us, created_by), or None."""
        if self._sqlite_reader is not None:
            return self._sqlite_reader.draft(draft_id)
        async with self.engine.connect() as conn:
            return (await conn.execute(select(DRAFTS).where(DRAFTS.c.id == draft_id))).first()

    async def updates_after(self, room: str, seq: int, upto: int | None = None) -> AsyncIterator[Any]:
        """A room's Yjs update entries after ``seq`` (up to ``upto``), in order."""
        while True:
            query = select(
                LOG.c.seq, LOG.c.payload, LOG.c.connection, LOG.c.participant, LOG.c.clients
            ).where(LOG.c.room == room, LOG.c.seq > seq, LOG.c.kind == "update")
            if upto is not None:
                query = query.where(LOG.c.seq <= upto)
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query.order_by(LOG.c.seq).limit(REPLAY_BATCH))).all()
            for row in rows:
                yield row
            if len(rows) < REPLAY_BATCH:
                return
            seq = rows[-1].seq

    async def commands(
        self, room: str, prefix: str, after: int = 0, upto: int | None = None
    ) -> AsyncIterator[Any]:
        """A room's entries whose kind starts with ``prefix`` (deliberation commands), in order."""
        seq = after
        while True:
            query = select(LOG.c.seq, LOG.c.time_us, LOG.c.payload).where(
                LOG.c.room == room, LOG.c.seq > seq, LOG.c.kind.startswith(prefix)
            )
            if upto is not None:
                query = query.where(LOG.c.seq <= upto)
            async with self.engine.connect() as conn:
                rows = (await conn.execute(query.order_by(LOG.c.seq).limit(REPLAY_BATCH))).all()
            for row in rows:
                yield row
            if len(rows) < REPLAY_BATCH:
                return
            seq = rows[-1].seq

    async def entries(self, room: str, after: int = 0, limit: int = 1000) -> Sequence[Any]:
        async with self.engine.connect() as conn:
            return (
                await conn.execute(
                    select(LOG).where(LOG.c.room == room, LOG.c.seq > after).order_by(LOG.c.seq).limit(limit)
                )
            ).all()

    async def write(self, entries: list[dict[str, Any]], snapshots: list[dict[str, Any]]) -> None:
        """Write one group commit: log entries and snapshots in one transaction.

        The entries come without ``seq``, ``prev_hash`` and ``hash``: they are
        chained here, inside the transaction, onto the head the database holds,
        so that several processes appending to one room can never fork its chain
        or reuse a number (PostgreSQL: a per-room advisory lock held until commit;
        SQLite: ``BEGIN IMMEDIATE`` locks the whole file). Each entry's dict is
        filled in place, and its ``(room, seq)`` is put in :attr:`inflight`
        before the commit (see :meth:`LogWriter.append`).
        """
        if self._sqlite_writer is not None:
            # One thread hop per commit instead of aiosqlite's several per statement.
            await asyncio.get_running_loop().run_in_executor(
                self._sqlite_writer.executor, self._sqlite_writer.write, entries, snapshots, self.inflight
            )
            return
        async with self.engine.begin() as conn:
            by_room = rows_by_room(entries)
            if self.lock_appends and not self.is_sqlite:
                # Every room this commit touches (snapshots prune too), always in the same
                # order, so that two processes never wait on each other in a cycle.
                for room in sorted(set(by_room) | {snap["room"] for snap in snapshots}):
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("log", room)}
                    )
            heads: dict[str, int] = {}
            for room, rows in by_room.items():
                head = (await conn.execute(head_query(room))).first()
                if head is None:
                    heads[room] = link(rows, 0, GENESIS, 0)[0]
                else:
                    heads[room] = link(rows, head.seq, bytes(head.hash), head.time_us)[0]
                self.inflight.update((room, row["seq"]) for row in rows)
            if entries:
                await conn.execute(insert(LOG), entries)
            labelled = []
            for snap in snapshots:
                if snap["seq"] is None:  # "as of everything appended before it" (see LogWriter)
                    room = snap["room"]
                    if room not in heads:
                        heads[room] = (
                            await conn.execute(select(func.max(LOG.c.seq)).where(LOG.c.room == room))
                        ).scalar() or 0
                    if not heads[room]:
                        continue
                    snap = {**snap, "seq": heads[room]}
                labelled.append(snap)
            if labelled:
                statement = (
                    insert(SNAPSHOTS).prefix_with("OR IGNORE")
                    if self.is_sqlite
                    else pg_insert(SNAPSHOTS).on_conflict_do_nothing()
                )
                await conn.execute(statement, labelled)
                for snap in labelled:
                    await self._prune_snapshots(conn, snap["room"], snap["seq"])

    @contextlib.asynccontextmanager
    async def draft_lock(self, draft: str) -> AsyncIterator[None]:
        """Hold the draft's command lock across every process sharing this database.

        Deliberation commands and deadlines run under it, so that a command is
        validated against the state every earlier command left, and a deadline
        fires once however many processes watch it. On PostgreSQL it is a
        session advisory lock, released by the server when the holder's
        connection dies (a killed process never leaves a draft locked). SQLite
        is single-process: the caller's in-process lock is enough.
        """
        if self.is_sqlite:
            yield
            return
        key = lock_key("commands", draft)
        if self._lock_engine is None:
            # Its own connections, outside the pool the command itself needs (no pool starvation),
            # each closed after use: a lock can never be left behind on a pooled connection.
            self._lock_engine = create_async_engine(self.url, poolclass=NullPool)
        async with self._lock_engine.connect() as conn:
            await conn.execute(text(f"SET lock_timeout = '{DRAFT_LOCK_TIMEOUT_SECONDS * 1000}ms'"))
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            await conn.commit()
            try:
                yield
            finally:
                with contextlib.suppress(Exception):
                    await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await conn.commit()

    async def heads(self, rooms: Sequence[str]) -> dict[str, int]:
        """The last sequence number of each of ``rooms`` (absent: no entry yet)."""
        if not rooms:
            return {}
        async with self.engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(LOG.c.room, func.max(LOG.c.seq)).where(LOG.c.room.in_(rooms)).group_by(LOG.c.room)
                )
            ).all()
        return {row[0]: row[1] for row in rows}

    async def entries_after(self, room: str, seq: int) -> AsyncIterator[Any]:
        """Every entry of a room after ``seq`` (all kinds), in order: what a process catches up with."""
        while True:
            async with self.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(
                            LOG.c.seq,
                            LOG.c.time_us,
                            LOG.c.connection,
                            LOG.c.participant,
                            LOG.c.kind,
                            LOG.c.clients,
                            LOG.c.payload,
                        )
                        .where(LOG.c.room == room, LOG.c.seq > seq)
                        .order_by(LOG.c.seq)
                        .limit(REPLAY_BATCH)
                    )
                ).all()
            for row in rows:
                yield row
            if len(rows) < REPLAY_BATCH:
                return
            seq = rows[-1].seq

    async def _prune_snapshots(self, conn: Any, room: str, newest: int) -> None:
        keep = (
            select(SNAPSHOTS.c.seq)
            .where(SNAPSHOTS.c.room == room)
            .order_by(SNAPSHOTS.c.seq.desc())
            .limit(SNAPSHOTS_KEPT)
        )
        await conn.execute(
            SNAPSHOTS.delete().where(SNAPSHOTS.c.room == room, SNAPSHOTS.c.seq.not_in(keep.scalar_subquery()))
        )


class SqliteLogWriter:
    """The hot write path on SQLite: one plain ``sqlite3`` connection on one thread, and
    the WAL checkpoints on another (see :data:`CHECKPOINT_PAGES`)."""

    def __init__(self, path: str, synchronous: str, *, slow_ms: float = 0.0) -> None:
        self.path = path
        self.synchronous = synchronous
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="plenary-sqlite-writer")
        self.checkpointer = ThreadPoolExecutor(1, thread_name_prefix="plenary-sqlite-checkpoint")
        self._conn: sqlite3.Connection | None = None
        self._checkpoint_conn: sqlite3.Connection | None = None
        #: WAL pages written since the last checkpoint was started, and whether one is running
        #: (both touched on the writer thread only).
        self._pages_since_checkpoint = 0
        self._checkpointing: Future[None] | None = None
        self.checkpoints = 0
        self._slow = slow_ms / 1000
        columns = [column.name for column in LOG.columns]
        self._insert_entry = (
            f"INSERT INTO {LOG.name} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
        )
        snapshot_columns = [column.name for column in SNAPSHOTS.columns]
        self._insert_snapshot = (
            f"INSERT OR IGNORE INTO {SNAPSHOTS.name} ({', '.join(snapshot_columns)}) "
            f"VALUES ({', '.join(':' + c for c in snapshot_columns)})"
        )
        self._head = f"SELECT seq, hash, time_us FROM {LOG.name} WHERE room = ? ORDER BY seq DESC LIMIT 1"
        self._prune = (
            f"DELETE FROM {SNAPSHOTS.name} WHERE room = ? AND seq NOT IN "
            f"(SELECT seq FROM {SNAPSHOTS.name} WHERE room = ? ORDER BY seq DESC LIMIT {SNAPSHOTS_KEPT})"
        )

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer thread does it
            self._conn = conn
        return self._conn

    def _after_commit(self, entries: list[dict[str, Any]], snapshots: list[dict[str, Any]]) -> None:
        """Estimate the WAL pages the commit wrote; past :data:`CHECKPOINT_PAGES`, start a checkpoint.

        An estimate (a few b-tree pages per commit, plus the bytes written twice: table and index
        pages), since Python's sqlite3 has no WAL hook and the WAL file keeps its size when rewound.
        """
        written = sum(len(entry["payload"]) for entry in entries) + sum(len(s["state"]) for s in snapshots)
        self._pages_since_checkpoint += 4 + written // 2048
        if self._pages_since_checkpoint < CHECKPOINT_PAGES:
            return
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        self._pages_since_checkpoint = 0
        self._checkpointing = self.checkpointer.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        """Copy the WAL into the database file (PASSIVE: never waits for, nor blocks, the writer)."""
        started = time.perf_counter()
        try:
            if self._checkpoint_conn is None:
                self._checkpoint_conn = sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False
                )
                self._checkpoint_conn.execute("PRAGMA busy_timeout=10000")
            # RESTART would wait for the writer; PASSIVE does what it can now, and the next
            # writer rewinds the WAL once every frame is in the database.
            self._checkpoint_conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed: %s", exc)
        took = time.perf_counter() - started
        if self._slow and took >= self._slow:
            log.warning("stall: WAL checkpoint took %.1f ms (off the commit path)", took * 1000)

    def write(
        self, entries: list[dict[str, Any]], snapshots: list[dict[str, Any]], inflight: set[tuple[str, int]]
    ) -> None:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")  # the write lock on the file: the head read below stays the head
        try:
            heads: dict[str, int] = {}
            if entries:
                for room, rows in rows_by_room(entries).items():
                    head = conn.execute(self._head, (room,)).fetchone()
                    if head is None:
                        heads[room] = link(rows, 0, GENESIS, 0)[0]
                    else:
                        heads[room] = link(rows, head[0], bytes(head[1]), head[2])[0]
                    inflight.update((room, row["seq"]) for row in rows)
                conn.executemany(self._insert_entry, entries)
            for snapshot in snapshots:
                if snapshot["seq"] is None:  # "as of everything appended before it" (see LogWriter)
                    room = snapshot["room"]
                    if room not in heads:
                        head = conn.execute(self._head, (room,)).fetchone()
                        heads[room] = 0 if head is None else head[0]
                    if not heads[room]:
                        continue
                    snapshot = {**snapshot, "seq": heads[room]}
                conn.execute(self._insert_snapshot, snapshot)
                conn.execute(self._prune, (snapshot["room"], snapshot["room"]))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._after_commit(entries, snapshots)

    def close(self) -> None:
        if self._checkpointing is not None:
            with contextlib.suppress(Exception):
                self._checkpointing.result()
        if self._checkpoint_conn is not None:
            self._checkpoint_conn.close()
            self._checkpoint_conn = None
        if self._conn is not None:
            self._conn.close()  # the last connection to close checkpoints what is left
            self._conn = None


def head_query(room: str) -> Any:
    """The room's last entry: seq, hash, time_us."""
    return (
        select(LOG.c.seq, LOG.c.hash, LOG.c.time_us)
        .where(LOG.c.room == room)
        .order_by(LOG.c.seq.desc())
        .limit(1)
    )


def rows_by_room(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_room: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        by_room.setdefault(entry["room"], []).append(entry)
    return by_room


def lock_key(namespace: str, name: str) -> int:
    """A PostgreSQL advisory lock key (signed 64-bit) for one room's log or one draft's commands."""
    digest = hashlib.sha256(f"plenary:{namespace}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def now_us() -> int:
    return time.time_ns() // 1000
