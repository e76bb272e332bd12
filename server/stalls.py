"""Stall watch: log whatever holds the event loop (or a collection) longer than a threshold.

With broadcast waiting for durability, a stalled loop or commit shows up in every subscriber's
latency at once. This names the culprit in the server log: event-loop lag (a callback that ran
too long, or the process starved of CPU) and garbage-collection pauses. Slow commits and WAL
checkpoints are logged where they happen (server/storage). ``PLENARY_STALL_LOG_MS`` sets the
threshold; 0 turns it off.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from typing import Any

log = logging.getLogger("plenary.stalls")


class StallWatch:
    """Samples the event loop's lateness and times garbage collections."""

    def __init__(self, threshold_ms: float) -> None:
        self.threshold = threshold_ms / 1000
        #: How often the loop is sampled: a stall shorter than the threshold is never reported,
        #: so sampling at half of it is enough, and cheap (one timer per interval).
        self.interval = max(0.005, self.threshold / 2)
        self.stalls = 0
        self.worst_ms = 0.0
        self._task: asyncio.Task[None] | None = None
        self._gc_started: float | None = None

    @property
    def enabled(self) -> bool:
        return self.threshold > 0

    def start(self) -> None:
        if not self.enabled:
            return
        self._task = asyncio.get_running_loop().create_task(self._sample(), name="plenary-stall-watch")
        gc.callbacks.append(self._on_gc)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def note(self, what: str, seconds: float) -> bool:
        """Record (and log, above the threshold) one stall of ``seconds``."""
        if seconds < self.threshold:
            return False
        self.stalls += 1
        self.worst_ms = max(self.worst_ms, seconds * 1000)
        log.warning("stall: %s took %.1f ms", what, seconds * 1000)
        return True

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.interval
        while True:
            before, cpu_before = loop.time(), time.thread_time()
            await asyncio.sleep(interval)
            lag = loop.time() - before - interval
            if lag >= self.threshold:
                # The loop thread's own CPU time over the same span tells a callback that ran long
                # (CPU ≈ lag) from a process that was not scheduled or waited in a system call.
                cpu = time.thread_time() - cpu_before
                self.note(f"event loop lag (loop thread on CPU {cpu * 1000:.1f} ms of it)", lag)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            took = time.perf_counter() - self._gc_started
            self._gc_started = None
            if took >= self.threshold:
                self.note(f"garbage collection of generation {info.get('generation')}", took)
