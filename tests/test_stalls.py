"""What could stall every broadcast at once: WAL checkpoints run beside the commits, never in them,
and the stall watch names event-loop lag and slow commits in the log."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from crdt.record.verification import verify_chain
from server.stalls import StallWatch
from server.storage import database as storage
from server.storage.database import Database
from server.storage.log import LogWriter


def entry(room: str, i: int) -> dict:
    return {
        "room": room,
        "time_us": 1_000 + i,
        "connection": "api",
        "participant": "p",
        "role": "delegate",
        "kind": "note",
        "clients": b"",
        "payload": b"x" * 3000,
    }


async def test_checkpoints_run_on_their_own_thread_and_lose_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(storage, "CHECKPOINT_PAGES", 50)
    database = Database(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    await database.migrate()
    writer = database._sqlite_writer
    assert writer is not None
    empty_size = (tmp_path / "log.sqlite3").stat().st_size
    seen_threads: set[str] = set()
    checkpoint = writer._checkpoint

    def spying_checkpoint() -> None:
        import threading

        seen_threads.add(threading.current_thread().name)
        checkpoint()

    monkeypatch.setattr(writer, "_checkpoint", spying_checkpoint)
    log = LogWriter(database)
    log.start()
    try:
        for batch in range(40):
            for i in range(5):
                log.append(entry("r", batch * 5 + i))
            await log.flush()
        if writer._checkpointing is not None:
            await asyncio.wrap_future(writer._checkpointing)
    finally:
        await log.stop()
    # The writer's own connection never checkpoints inside a commit.
    assert writer._conn is not None
    assert writer._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    assert writer.checkpoints >= 1
    assert seen_threads and all(name.startswith("plenary-sqlite-checkpoint") for name in seen_threads)
    # What was checkpointed is in the database file itself, before any connection closes.
    assert (tmp_path / "log.sqlite3").stat().st_size > empty_size + 30_000
    rows = list(await database.entries("r", after=0, limit=1_000))
    await database.close()
    assert [row.seq for row in rows] == list(range(1, 201))
    assert verify_chain(rows).ok


async def test_event_loop_lag_is_logged_with_its_cpu_time(caplog) -> None:
    watch = StallWatch(threshold_ms=20)
    watch.start()
    try:
        await asyncio.sleep(0.03)
        with caplog.at_level(logging.WARNING, logger="plenary.stalls"):
            time.sleep(0.1)  # a callback holding the loop
            await asyncio.sleep(0.05)
    finally:
        await watch.stop()
    assert watch.stalls >= 1
    assert any("event loop lag" in record.getMessage() for record in caplog.records)


async def test_stall_watch_off_at_zero() -> None:
    watch = StallWatch(threshold_ms=0)
    watch.start()
    time.sleep(0.02)
    await asyncio.sleep(0.01)
    await watch.stop()
    assert watch.stalls == 0


async def test_slow_commit_is_logged(tmp_path: Path, caplog, monkeypatch) -> None:
    database = Database(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    await database.migrate()
    write = database.write

    async def slow_write(entries: list, snapshots: list) -> None:
        await asyncio.sleep(0.05)  # a commit held up (a checkpoint's fsync, a busy disk)
        await write(entries, snapshots)

    monkeypatch.setattr(database, "write", slow_write)
    log = LogWriter(database, slow_commit_ms=20)
    log.start()
    with caplog.at_level(logging.WARNING, logger="plenary.log"):
        log.append(entry("r", 1))
        await log.flush()
    await log.stop()
    await database.close()
    assert any("commit of 1 entries" in record.getMessage() for record in caplog.records)
