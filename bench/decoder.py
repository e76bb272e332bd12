"""Microseconds per decode_update call on real keystroke updates and on a ~100 KB paste.

Keystroke updates are captured from pycrdt while replaying the start of the automerge-paper
editing trace, one transaction per trace entry, exactly as a server would receive them.
Run: ``.venv/bin/python bench/decoder.py [--txns N]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pycrdt import Doc, Text, get_state

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crdt.wire.updates import decode_update

TRACE = Path("/work/shared/data/traces/sequential/automerge-paper.json.gz")


def keystroke_updates(txns: int) -> tuple[list[bytes], str]:
    """Replay the first ``txns`` transactions of the trace; return each one's update and the final text."""
    with gzip.open(TRACE) as raw:
        trace = json.load(raw)
    doc = Doc()
    text = doc.get("text", type=Text)
    updates: list[bytes] = []
    sub = doc.observe(lambda event: updates.append(event.update))
    mirror = ""  # the trace counts characters; pycrdt counts UTF-8 bytes
    for txn in trace["txns"][:txns]:
        with doc.transaction():
            for pos, delete, insert in txn["patches"]:
                start = len(mirror[:pos].encode("utf-8"))
                if delete:
                    stop = len(mirror[: pos + delete].encode("utf-8"))
                    del text[start:stop]
                if insert:
                    text.insert(start, insert)
                mirror = mirror[:pos] + insert + mirror[pos + delete :]
    doc.unobserve(sub)
    return updates, trace["endContent"]


def paste_update(body: str) -> bytes:
    doc = Doc()
    doc.get("text", type=Text).insert(0, body)
    return doc.get_update()


def per_call_us(fn: Callable[[bytes], object], data: bytes, loops: int) -> float:
    """Best of three timed loops, so that other processes on the machine add less noise."""
    best = None
    for _ in range(3):
        start = time.perf_counter_ns()
        for _ in range(loops):
            fn(data)
        elapsed = time.perf_counter_ns() - start
        best = elapsed if best is None else min(best, elapsed)
    return best / loops / 1000


def measure(fn: Callable[[bytes], object], samples: list[bytes], loops: int) -> list[float]:
    for data in samples[:50]:  # warm up
        fn(data)
    return [per_call_us(fn, data, loops) for data in samples]


def row(label: str, size: str, timings: list[float]) -> str:
    timings = sorted(timings)
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    return f"{label:<44} {size:>10} {len(timings):>7} {statistics.median(timings):>10.2f} {p99:>10.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--txns", type=int, default=5000, help="trace transactions to replay")
    args = parser.parse_args()

    keystrokes, end_content = keystroke_updates(args.txns)
    sizes = sorted(len(u) for u in keystrokes)
    ascii_paste = paste_update((end_content * 2)[:100_000])
    mixed_unit = "Délibération — amendement n° 7 ✓ 😀 "
    mixed_paste = paste_update(mixed_unit * (100_000 // len(mixed_unit.encode("utf-8"))))
    pastes = {"paste ~100 KB ASCII": ascii_paste, "paste ~100 KB accents+emoji": mixed_paste}

    print(f"{'case':<44} {'bytes':>10} {'samples':>7} {'median µs':>10} {'p99 µs':>10}")
    size = f"{statistics.median(sizes):.0f} (med)"
    print(row("keystroke update: decode_update", size, measure(decode_update, keystrokes, 20)))
    print(
        row(
            "keystroke update: decode_update(values=False)",
            size,
            measure(lambda d: decode_update(d, values=False), keystrokes, 20),
        )
    )
    print(row("keystroke update: pycrdt.get_state (reference)", size, measure(get_state, keystrokes, 20)))
    for label, data in pastes.items():
        print(row(f"{label}: decode_update", str(len(data)), measure(decode_update, [data] * 200, 5)))
    print(
        f"\n{len(keystrokes)} keystroke updates from {args.txns} trace transactions; "
        f"sizes {sizes[0]}..{sizes[-1]} bytes. Python {sys.version.split()[0]}."
    )


if __name__ == "__main__":
    main()
