"""What knowing where updates write costs: the part index (built once per room from its state, then kept up
to date) and the translation timeline (a fold of the whole log).

A draft of ``--paragraphs`` paragraphs, each with a French translation; the automerge-paper trace
(josephg/editing-traces) is typed into the original of one paragraph, keystroke by keystroke, as a client
would send it. Measured: building the index from the document's state, classifying one keystroke update
(what the server does before applying each client update), and folding the whole log into the timeline.

Run: ``.venv/bin/python bench/translations.py [--txns N] [--paragraphs N]``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pycrdt import Array, Doc

from crdt.procedure.draft import Paragraph, write_paragraphs
from crdt.procedure.translations import TranslationTimeline
from crdt.procedure.writes import PartIndex
from crdt.wire.updates import decode_update

TRACE = Path("/work/shared/data/traces/sequential/automerge-paper.json.gz")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--txns", type=int, default=50_000)
    parser.add_argument("--paragraphs", type=int, default=500)
    args = parser.parse_args()

    doc = Doc()
    log: list[bytes] = []
    doc.observe(lambda event: log.append(event.update))
    write_paragraphs(
        doc,
        [
            Paragraph(f"p{i}", "operative", f"Paragraph {i} as first tabled.", {"fr": f"Paragraphe {i}."})
            for i in range(args.paragraphs)
        ],
    )
    text = doc.get("paragraphs", type=Array)[0]["text"]
    with gzip.open(TRACE) as raw:
        txns = json.load(raw)["txns"][: args.txns]
    started = time.perf_counter()
    for txn in txns:
        with doc.transaction():
            for pos, delete, insert in txn["patches"]:
                if delete:
                    del text[pos : pos + delete]
                if insert:
                    text.insert(pos, insert)
    typed = time.perf_counter() - started
    state = doc.get_update()
    print(
        f"{len(log):,} updates ({len(txns):,} keystrokes typed in {typed:.1f} s); state {len(state):,} bytes"
    )

    started = time.perf_counter()
    index = PartIndex.of_state(state)
    print(f"index built from the state: {(time.perf_counter() - started) * 1000:.1f} ms")

    keystrokes = [decode_update(update) for update in log[-5_000:]]
    started = time.perf_counter()
    for update in keystrokes:
        index.classify(update)
    per = (time.perf_counter() - started) / len(keystrokes) * 1e6
    print(f"classifying a keystroke update: {per:.1f} µs")

    timeline = TranslationTimeline()
    started = time.perf_counter()
    for seq, update in enumerate(log, start=1):
        timeline.feed(seq, "update", update)
    elapsed = time.perf_counter() - started
    print(
        f"timeline fold: {len(log) / elapsed:,.0f} entries/s ({elapsed:.1f} s); p0 fr is "
        f"{timeline.status('p0', 'fr')['status']}, p1 fr is {timeline.status('p1', 'fr')['status']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
