"""Time travel over a long history: the automerge-paper trace logged as one draft's log.

The trace (Martin Kleppmann writing a paper, 259,778 single-keystroke transactions; CC BY 4.0,
via Joseph Gentle's editing-traces) is typed into paragraph ``p1`` of draft ``paper`` through
the server's own write path: ``create_draft``, then one ``Room.edit`` per keystroke, so every
entry goes through ``Room.append`` (hash chain, clock ranges, group commit, snapshots every
1,000 entries) exactly as a client's update would. Then it measures:

- chain verification (``server.record.audit.verify_room``), entries per second;
- the text at random entries (``History.text_at``: paragraphs and deliberation state), first
  use (folding the whole log into checkpoints) and then p50 / p99 over ``--samples`` seqs,
  each checked against a plain replay of the log up to that seq (target: < 200 ms);
- blame of the final text (``History.blame``), cold (read off the items' ids, replaying only as a
  fallback) and cached, and blame at 10 random past entries;
- a page of 100 readable events at random places;
- storage: the SQLite file (after a WAL checkpoint) divided by the number of entries.

Run: ``.venv/bin/python bench/history.py [--limit N] [--samples 100] [--database FILE] [--json]``
(``--limit`` types only the first N keystrokes; the whole trace takes a few minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pycrdt import Doc  # noqa: E402

from crdt.procedure.draft import Paragraph, ParagraphKind, find_text, read_paragraphs  # noqa: E402

DEFAULT_TRACE = Path("/work/shared/data/traces/sequential/automerge-paper.json.gz")
DRAFT = "paper"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def say(message: str) -> None:
    print(f"history bench: {message}", file=sys.stderr, flush=True)


async def log_trace(url: str, txns: list[dict[str, Any]]) -> tuple[int, float, str]:
    """Type the trace into a new draft through Room.edit; the head seq, seconds, the final text."""
    from server.config import Settings
    from server.identity import Participant
    from server.procedure.drafts import create_draft
    from server.storage.database import Database
    from server.storage.log import LogWriter
    from server.sync.rooms import Rooms

    # A room unloads some seconds after its last connection leaves: not while we type into it.
    settings = Settings.from_env(database_url=url, unload_grace_seconds=10**9)
    database = Database(url, sqlite_synchronous=settings.sqlite_synchronous)
    await database.migrate()
    writer = LogWriter(database)
    writer.start()
    rooms = Rooms(database, writer, settings)
    author = Participant(
        id="kleppmann",
        name="Martin Kleppmann",
        delegation="Cambridge",
        group="technical_academic",
        roles={"*": "delegate"},
    )
    chair = Participant(
        id="chair",
        name="Chair",
        delegation="Bureau",
        group="international_organization",
        roles={"*": "chair"},
    )
    start = time.perf_counter()
    try:
        await create_draft(
            database,
            rooms,
            draft_id=DRAFT,
            title="A Conflict-Free Replicated JSON Datatype",
            symbol="arXiv:1608.03960",
            paragraphs=[Paragraph("p1", ParagraphKind.OPERATIVE, "")],
            creator=chair,
        )
        room = await rooms.open(DRAFT)
        for done, txn in enumerate(txns, start=1):
            patches = txn["patches"]

            def edit(doc: Doc, patches: list[list[Any]] = patches) -> None:
                text = find_text(doc, "p1")
                assert text is not None
                for pos, delete, insert in patches:  # code points; automerge-paper is ASCII
                    if delete:
                        del text[pos : pos + delete]
                    if insert:
                        text.insert(pos, insert)

            room.edit(edit, participant=author.id, role="delegate", connection="trace")
            if done % 5_000 == 0:
                await room.until_logged()
                if done % 50_000 == 0:
                    say(f"{done:,} keystrokes logged")
        await room.until_logged()
        final = read_paragraphs(room.replica.doc)[0].text
        head = room.seq
    finally:
        await rooms.close()
        await writer.stop()
        await database.close()
    return head, time.perf_counter() - start, final


async def measure(url: str, head: int, samples: int, seed: int, expected_final: str) -> dict[str, Any]:
    from server.record.audit import verify_room
    from server.record.history import History, read_entries
    from server.storage.database import Database

    results: dict[str, Any] = {"entries": head}
    database = Database(url)
    try:
        say("verifying the chain")
        start = time.perf_counter()
        report = await verify_room(database, DRAFT)
        elapsed = time.perf_counter() - start
        assert report.ok and report.count == head, report
        results["verify_s"] = elapsed
        results["verify_per_s"] = head / elapsed

        history = History(database)
        say("folding the log into checkpoints (first use)")
        start = time.perf_counter()
        first = await history.text_at(DRAFT, head)
        results["first_use_s"] = time.perf_counter() - start
        assert first["paragraphs"][0]["text"] == expected_final
        draft_history = await history.sync(DRAFT)
        results["checkpoints"] = draft_history.timeline.checkpoints
        results["checkpoint_bytes"] = draft_history.timeline.nbytes

        rng = random.Random(seed)
        seqs = sorted(rng.randint(1, head) for _ in range(samples))
        order = seqs[:]
        rng.shuffle(order)
        say(f"the text at {samples} random entries")
        texts: dict[int, str | None] = {}
        timings = []
        for seq in order:
            start = time.perf_counter()
            past = await history.text_at(DRAFT, seq)
            timings.append((time.perf_counter() - start) * 1000)
            texts[seq] = past["paragraphs"][0]["text"] if past["paragraphs"] else None
        results["text_at_ms_p50"] = statistics.median(timings)
        results["text_at_ms_p99"] = percentile(timings, 0.99)
        results["text_at_ms_max"] = max(timings)

        say("checking them against a plain replay of the log")
        replay = Doc()
        wanted = iter(seqs)
        next_seq = next(wanted, None)
        checked = 0
        async for batch in read_entries(database, DRAFT, 0):
            for entry in batch:
                if entry.kind == "update":
                    replay.apply_update(entry.payload)
                while next_seq is not None and next_seq == entry.seq:
                    paragraphs = read_paragraphs(replay)
                    assert texts[next_seq] == (paragraphs[0].text if paragraphs else None), next_seq
                    checked += 1
                    next_seq = next(wanted, None)
        assert checked == len(seqs)

        say("events pages")
        timings = []
        for _ in range(10):
            after = rng.randint(0, max(0, head - 100))
            start = time.perf_counter()
            page = await history.events(DRAFT, after, 100)
            timings.append((time.perf_counter() - start) * 1000)
            assert len(page["events"]) == min(100, head - after)
        results["events_page_ms_p50"] = statistics.median(timings)

        say("blame of the final text (a fold of every entry, with attribution)")
        start = time.perf_counter()
        blame = await history.blame(DRAFT, head, progress=lambda _stage, seq: None)
        results["blame_s"] = time.perf_counter() - start
        paragraph = blame["paragraphs"][0]
        assert paragraph["text"] == expected_final
        results["blame_spans"] = len(paragraph["spans"])
        start = time.perf_counter()
        await history.blame(DRAFT, head)
        results["blame_cached_s"] = time.perf_counter() - start
        results["blame_writers_bytes_per_entry"] = draft_history.writers.nbytes / head
        say("blame at past entries (each a new moment: a checkpoint plus updates, read by ids)")
        timings = []
        for seq in rng.sample(range(1, head), 10):
            start = time.perf_counter()
            past = await history.blame(DRAFT, seq)
            timings.append((time.perf_counter() - start) * 1000)
            plain = await history.text_at(DRAFT, seq)
            assert [p["text"] for p in past["paragraphs"]] == [p["text"] for p in plain["paragraphs"]], seq
        results["blame_past_ms_p50"] = statistics.median(timings)
        results["blame_past_ms_max"] = max(timings)
        results["blame_replay_folds"] = len(draft_history.folds)
    finally:
        await database.close()
    return results


def storage(path: Path, entries: int) -> dict[str, Any]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        log_bytes = conn.execute(
            "SELECT SUM(LENGTH(payload) + LENGTH(clients) + LENGTH(hash) + LENGTH(prev_hash)) FROM log_entry"
        ).fetchone()[0]
    size = path.stat().st_size + sum(
        p.stat().st_size for p in path.parent.glob(path.name + "-*") if p.is_file()
    )
    return {
        "file_bytes": size,
        "bytes_per_entry": size / entries,
        "blob_bytes_per_entry": log_bytes / entries,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--limit", type=int, default=None, help="only the first N keystrokes (default: all)")
    parser.add_argument("--samples", type=int, default=100, help="random seqs for the text (default 100)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", type=Path, help="SQLite file to write (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    with gzip.open(args.trace) as raw:
        trace = json.load(raw)
    txns = trace["txns"] if args.limit is None else trace["txns"][: args.limit]
    with tempfile.TemporaryDirectory(prefix="plenary-history-bench-") as tmp:
        path = args.database or Path(tmp) / "history.sqlite3"
        if path.exists():
            parser.error(f"{path} exists: the bench writes a new database")
        url = f"sqlite:///{path}"
        say(f"logging {len(txns):,} keystrokes into {path}")
        head, log_s, final = asyncio.run(log_trace(url, txns))
        if args.limit is None:
            assert final == trace["endContent"], "replaying the trace did not give its endContent"
        results = {"keystrokes": len(txns), "log_s": log_s, "log_per_s": head / log_s}
        results.update(asyncio.run(measure(url, head, args.samples, args.seed, final)))
        results.update(storage(path, head))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    rows = [
        ("log entries (draft created, first text, keystrokes)", f"{results['entries']:,}", ""),
        ("logged through Room.edit/append", f"{results['log_per_s']:,.0f} entries/s ({log_s:.1f} s)", ""),
        ("chain verification", f"{results['verify_per_s']:,.0f} entries/s ({results['verify_s']:.2f} s)", ""),
        (
            "text at a seq, first use (builds checkpoints)",
            f"{results['first_use_s']:.2f} s ({results['checkpoints']} checkpoints, "
            f"{results['checkpoint_bytes'] / 1e6:.1f} MB)",
            "",
        ),
        (f"text at {args.samples} random seqs, p50", f"{results['text_at_ms_p50']:.1f} ms", "< 200 ms"),
        (f"text at {args.samples} random seqs, p99", f"{results['text_at_ms_p99']:.1f} ms", "< 200 ms"),
        ("events page (100 entries), p50", f"{results['events_page_ms_p50']:.1f} ms", ""),
        (
            "blame of the final text, cold",
            f"{results['blame_s']:.2f} s ({results['blame_spans']:,} spans)",
            "",
        ),
        ("blame of the final text, cached", f"{results['blame_cached_s'] * 1000:.0f} ms", ""),
        (
            "blame at a past entry, p50 / max of 10",
            f"{results['blame_past_ms_p50']:.0f} / {results['blame_past_ms_max']:.0f} ms",
            f"writers index {results['blame_writers_bytes_per_entry']:.0f} bytes/entry",
        ),
        (
            "storage per entry (SQLite file / entries)",
            f"{results['bytes_per_entry']:.0f} B "
            f"(payload+clients+hashes {results['blob_bytes_per_entry']:.0f} B)",
            "",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':<{width}}  {'measured':<48}  target")
    print(f"{'-' * width}  {'-' * 48}  ------")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<48}  {target}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PLENARY_SNAPSHOT_EVERY", "1000")
    raise SystemExit(main())
