"""What exporting a revision costs the server: the view of the draft at the revision's entry, built by a full
replay of the log (``read_view``, the path revision exports took before) and from the history's checkpoints
in threads (``read_revision_view``'s builder), first use and kept; with, for each, the longest stall of the
event loop while it ran (what every other connection of the process waits).

The log is the first ``--limit`` keystrokes of the automerge-paper trace typed into one draft (see
bench/history.py, whose write path it reuses).

Run: ``.venv/bin/python bench/revision_export.py [--limit 20000] [--repeat 5] [--at 0.5]`` (``--at``: the
revision's entry as a fraction of the log; a full replay starts from the latest snapshot only when that is
not past the revision's entry, else from entry 1).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import DEFAULT_TRACE, DRAFT, log_trace  # noqa: E402


async def timed(work: Callable[[], Awaitable[Any]]) -> tuple[float, float]:
    """Seconds ``work`` took, and the longest the event loop went without running a 1 ms ticker."""
    stall = 0.0
    running = True

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while running:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall = max(stall, now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    await work()
    elapsed = time.perf_counter() - start
    running = False
    await task
    return elapsed, stall


async def measure(url: str, head: int, repeat: int, at: int) -> dict[str, Any]:
    from server.record import exports
    from server.record.history import History
    from server.storage.database import Database

    database = Database(url)
    record = {"id": "rev1", "seq": at, "symbol": "arXiv:1608.03960/Rev.1", "time": "2026-01-01T00:00:00Z"}
    try:
        # Both paths find the revision through the history (find_revision), folded once per process.
        history = History(database)
        sync = await timed(lambda: history.sync(DRAFT))
        replay = [await timed(lambda: exports.read_view(database, DRAFT, at)) for _ in range(repeat)]
        first = await timed(lambda: exports._build_revision_view(database, history, DRAFT, record))
        again = [
            await timed(lambda: exports._build_revision_view(database, history, DRAFT, record))
            for _ in range(repeat)
        ]
    finally:
        await database.close()
    return {
        "entries": head,
        "revision_at": at,
        "history_fold_once_s": sync[0],
        "history_fold_once_loop_stall_ms": 1000 * sync[1],
        "full_replay_s": min(s for s, _ in replay),
        "full_replay_loop_stall_ms": 1000 * max(s for _, s in replay),
        "checkpoints_first_s": first[0],
        "checkpoints_first_loop_stall_ms": 1000 * first[1],
        "checkpoints_again_s": min(s for s, _ in again),
        "checkpoints_again_loop_stall_ms": 1000 * max(s for _, s in again),
        "note": "read_revision_view keeps the view: later exports of the revision cost a dictionary lookup",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--at", type=float, default=0.5, help="the revision's entry, as a fraction of the log"
    )
    args = parser.parse_args()
    with gzip.open(DEFAULT_TRACE, "rt") as f:
        txns = json.load(f)["txns"][: args.limit]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        head, _, _ = asyncio.run(log_trace(url, txns))
        results = asyncio.run(measure(url, head, args.repeat, max(1, round(head * args.at))))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
