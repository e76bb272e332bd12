"""Participants' budgets across processes: what each spent, added up in Redis.

Each process limits locally first (server/sync/ratelimit.py). Every ``REPORT_SECONDS``
it adds what each participant spent to one counter per (window, kind, participant)
in Redis, and reads back the sum over all processes. A participant whose sum in the
current ``WINDOW_SECONDS`` passes ``rate × WINDOW_SECONDS + burst`` is over budget
in this process until the window ends: their next message closes with 4529 and their
next command gets 429, whichever process they are on. While Redis is unreachable,
the local limits still hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import redis.asyncio as aioredis

from server.sync.ratelimit import Allowance, Allowances

log = logging.getLogger("plenary.budgets")

WINDOW_SECONDS = 10
REPORT_SECONDS = 0.5
PREFIX = "plenary:budget"


class SharedBudgets:
    def __init__(self, redis_url: str, allowances: Allowances) -> None:
        self._client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_keepalive=True)
        self._allowances = allowances
        self._task: asyncio.Task[None] | None = None
        self._failing = False
        self._window = 0
        #: Who spent in the current window, and what this process spent since its last report.
        self._watched: dict[str, tuple[Allowance, dict[str, float]]] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="plenary-budgets")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(REPORT_SECONDS)
            try:
                await self.report()
                self._failing = False
            except (aioredis.RedisError, OSError) as exc:
                if not self._failing:
                    log.warning("cannot share rate budgets through Redis (local limits hold): %s", exc)
                self._failing = True

    async def report(self) -> None:
        now = time.time()
        window = int(now // WINDOW_SECONDS)
        if window != self._window:
            self._window, self._watched = window, {}
        watched = self._watched
        for participant, allowance in self._allowances.spending():
            spent, allowance.spent = allowance.spent, {}
            kinds = watched.setdefault(participant, (allowance, {}))[1]
            for kind, amount in spent.items():
                kinds[kind] = kinds.get(kind, 0.0) + amount
        if not watched:
            return
        # Everyone who spent in this window, again at each report: what the other processes
        # spent since counts here too, even when this one's connection is quiet.
        pipe = self._client.pipeline(transaction=False)
        reported: list[tuple[Allowance, str]] = []
        for participant, (allowance, kinds) in watched.items():
            for kind, amount in kinds.items():
                key = f"{PREFIX}:{window}:{kind}:{participant}"
                pipe.incrbyfloat(key, amount)
                pipe.expire(key, 2 * WINDOW_SECONDS)
                reported.append((allowance, kind))
                kinds[kind] = 0.0
        results = await pipe.execute()
        window_ends = time.monotonic() + (window + 1) * WINDOW_SECONDS - now
        for (allowance, kind), total in zip(reported, results[0::2], strict=True):
            if float(total) > allowance.per_window(kind, WINDOW_SECONDS):
                allowance.over_until[kind] = window_ends
