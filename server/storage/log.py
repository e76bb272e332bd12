"""Group commit: one writer task per database turns many appends into few commits.

Producers (rooms) call :meth:`LogWriter.append` and go on; the writer takes
everything queued, writes it in one transaction, then calls each entry's
``on_durable`` callback, in append order, with the sequence number the database
gave it. Rooms broadcast from that callback, so nothing is seen by anyone
before it is in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.storage.database import Database

log = logging.getLogger("plenary.log")

#: Entries written per transaction at most. Large enough to amortise a commit,
#: small enough that a burst does not hold everyone behind one huge insert.
MAX_BATCH = 2_000

#: Above this many queued entries, producers are asked to wait (backpressure).
HIGH_WATER = 20_000


@dataclass(slots=True)
class _Pending:
    entry: dict[str, Any] | None
    snapshot: dict[str, Any] | None
    on_durable: Callable[[int], None] | None
    on_failed: Callable[[BaseException], None] | None
    #: Who appended it (a room). Once one of its writes failed, its later
    #: queued writes are dropped too: writing them would leave a gap in its chain.
    owner: object | None = None


class LogWriter:
    def __init__(self, database: Database, *, slow_commit_ms: float = 0.0) -> None:
        self.database = database
        #: Commits slower than this are logged (0: never): what a stalled broadcast waited for.
        self.slow_commit = slow_commit_ms / 1000
        self._queue: deque[_Pending] = deque()
        self._wakeup = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._task: asyncio.Task[None] | None = None
        self._failed: weakref.WeakSet[Any] = weakref.WeakSet()
        self.commits = 0
        self.entries_written = 0
        #: Told the duration (seconds) and entries of every commit (the metrics).
        self.on_commit: Callable[[float, int], None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="plenary-log-writer")

    async def stop(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def append(
        self,
        entry: dict[str, Any],
        on_durable: Callable[[int], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
        owner: object | None = None,
    ) -> None:
        self._push(_Pending(entry, None, on_durable, on_failed, owner))

    def save_snapshot(self, snapshot: dict[str, Any], owner: object | None = None) -> None:
        """Write a room's snapshot. With ``seq`` None it is labelled, in the commit, with the
        room's last entry: right when the state was taken after everything appended before it
        (one process appending to the room)."""
        self._push(_Pending(None, snapshot, None, None, owner))

    def _push(self, item: _Pending) -> None:
        self._queue.append(item)
        if len(self._queue) >= HIGH_WATER:
            self._drained.clear()
        self._wakeup.set()

    @property
    def congested(self) -> bool:
        return not self._drained.is_set()

    async def wait_drained(self) -> None:
        await self._drained.wait()

    async def flush(self) -> None:
        """Wait until everything appended so far is durable (or failed)."""
        done = asyncio.get_running_loop().create_future()

        def resolve(_seq: int = 0) -> None:
            if not done.done():
                done.set_result(None)

        def fail(_exc: BaseException) -> None:
            resolve()

        self._push(_Pending(None, None, resolve, fail))
        await done

    async def _run(self) -> None:
        queue = self._queue
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while queue:
                count = min(len(queue), MAX_BATCH)
                batch = []
                for _ in range(count):
                    item = queue.popleft()
                    if item.owner is not None and item.owner in self._failed:
                        if item.on_failed is not None:
                            try:
                                item.on_failed(RuntimeError("an earlier write of the same room failed"))
                            except Exception:
                                log.exception("callback after a failed commit failed")
                        continue
                    batch.append(item)
                    if item.snapshot is not None and item.snapshot["seq"] is None:
                        break  # labelled with its room's last entry in this commit: nothing after it may join
                entries = [item.entry for item in batch if item.entry is not None]
                snapshots = [item.snapshot for item in batch if item.snapshot is not None]
                started = time.perf_counter()
                try:
                    if entries or snapshots:
                        started = time.perf_counter()
                        await self.database.write(entries, snapshots)
                        took = time.perf_counter() - started
                        if self.slow_commit and took >= self.slow_commit:
                            log.warning(
                                "stall: commit of %d entries and %d snapshots took %.1f ms",
                                len(entries),
                                len(snapshots),
                                took * 1000,
                            )
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.exception("group commit of %d entries failed", len(entries))
                    self._forget(entries)
                    for item in batch:
                        if item.owner is not None:
                            self._failed.add(item.owner)
                        if item.on_failed is not None:
                            try:
                                item.on_failed(exc)
                            except Exception:
                                log.exception("callback after a failed commit failed")
                    continue
                finally:
                    if len(queue) < HIGH_WATER // 2:
                        self._drained.set()
                self.commits += 1
                self.entries_written += len(entries)
                if self.on_commit is not None and (entries or snapshots):
                    self.on_commit(time.perf_counter() - started, len(entries))
                for item in batch:
                    if item.on_durable is not None:
                        try:
                            item.on_durable(item.entry["seq"] if item.entry is not None else 0)
                        except Exception:
                            log.exception("callback after commit failed")
                self._forget(entries)

    def _forget(self, entries: list[dict[str, Any]]) -> None:
        inflight = self.database.inflight
        for entry in entries:
            inflight.discard((entry["room"], entry.get("seq")))
