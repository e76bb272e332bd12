"""Realistic update streams: replay a sequential editing trace into pycrdt, one v1 update per txn.

The trace (josephg/editing-traces format, see /work/shared/data/traces/README.md) is replayed
into the text of the benchmark draft's paragraph ``p1`` (``draft.py``: a document holding the draft's
schema, seeded with the same bytes on every server); each trace transaction is one pycrdt
transaction, and ``Doc.observe`` captures the v1 update it produced, exactly what a
y-websocket client typing into that paragraph would send for that keystroke.

Replaying is slow compared with reading bytes back, so the updates are cached under
``~/.cache/plenary-bench/`` (``$PLENARY_BENCH_CACHE`` overrides it), keyed by the trace's
content hash, the pycrdt version and the number of txns. A cache holding more txns than asked
for serves any shorter prefix. The replay writes as one fixed Yjs client id (:data:`TRACE_CLIENT`, 53
bits like pycrdt's random ones, so the updates keep their size): two runs send identical bytes.

Run: ``.venv/bin/python bench/traces.py [--txns N] [--trace FILE]`` prints a summary.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import struct
import sys
import time
from importlib.metadata import version
from pathlib import Path

#: The replay's Yjs client id (not the seed's, ``draft.SEED_CLIENT``).
TRACE_CLIENT = 4_503_599_627_370_497
#: Which document the updates type into: part of the cache key (``p1`` of the benchmark draft).
SCHEMA = "draft-p1"
DEFAULT_TRACE = Path("/work/shared/data/traces/sequential/automerge-paper.json.gz")
CACHE_MAGIC = b"PLBUPD1\n"


def cache_dir() -> Path:
    override = os.environ.get("PLENARY_BENCH_CACHE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "plenary-bench"


def _trace_key(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{path.name.split('.')[0]}-{digest}-{SCHEMA}-pycrdt{version('pycrdt')}"


def _write_cache(path: Path, updates: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "wb") as out:
        out.write(CACHE_MAGIC)
        out.write(struct.pack("<I", len(updates)))
        for update in updates:
            out.write(struct.pack("<I", len(update)))
            out.write(update)
    os.replace(tmp, path)


def _read_cache(path: Path, limit: int | None) -> list[bytes]:
    data = path.read_bytes()
    if not data.startswith(CACHE_MAGIC):
        raise ValueError(f"{path} is not an update cache")
    offset = len(CACHE_MAGIC)
    (count,) = struct.unpack_from("<I", data, offset)
    offset += 4
    wanted = count if limit is None else min(limit, count)
    updates = []
    for _ in range(wanted):
        (size,) = struct.unpack_from("<I", data, offset)
        offset += 4
        updates.append(data[offset : offset + size])
        offset += size
    if len(updates) != wanted or (wanted and offset > len(data)):
        raise ValueError(f"{path} is truncated")
    return updates


def replay(trace_path: Path, limit: int | None = None) -> tuple[list[bytes], bool]:
    """Replay the first ``limit`` txns (all when None): one v1 update per txn, and whether that was all."""
    from draft import paragraph_text

    with gzip.open(trace_path) as raw:
        trace = json.load(raw)
    txns = trace["txns"] if limit is None else trace["txns"][:limit]
    doc, text = paragraph_text(TRACE_CLIENT)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    for txn in txns:
        with doc.transaction():
            for pos, delete, insert in txn["patches"]:
                # pycrdt counts UTF-8 bytes, the trace code points: equal only for ASCII.
                if not insert.isascii():
                    raise ValueError(f"{trace_path.name} is not ASCII: use its ascii_only variant")
                if delete:
                    del text[pos : pos + delete]
                if insert:
                    text.insert(pos, insert)
    doc.unobserve(subscription)
    if len(updates) != len(txns):
        raise RuntimeError(f"expected {len(txns)} updates, pycrdt produced {len(updates)}")
    complete = len(txns) == len(trace["txns"])
    if complete and str(text) != trace["endContent"]:
        raise RuntimeError(f"replaying {trace_path.name} did not reproduce endContent")
    return updates, complete


def load_updates(trace_path: Path = DEFAULT_TRACE, limit: int | None = None) -> list[bytes]:
    """The trace's updates (first ``limit`` txns), from the cache when it holds enough of them."""
    trace_path = Path(trace_path)
    key = _trace_key(trace_path)
    directory = cache_dir()
    full = directory / f"{key}-all.bin"
    candidates = [full]
    if limit is not None and directory.is_dir():
        sized = []
        for path in directory.glob(f"{key}-n*.bin"):
            try:
                count = int(path.name[len(key) + 2 : -len(".bin")])
            except ValueError:
                continue
            if count >= limit:
                sized.append((count, path))
        candidates = [path for _, path in sorted(sized)] + candidates
    for path in candidates:
        try:
            return _read_cache(path, limit)
        except (OSError, ValueError, struct.error):
            continue
    updates, complete = replay(trace_path, limit)
    target = full if complete else directory / f"{key}-n{len(updates)}.bin"
    try:
        _write_cache(target, updates)
    except OSError as exc:
        print(f"traces: could not write the cache ({exc})", file=sys.stderr)
    return updates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--txns", type=int, default=None, help="only the first N txns (default: all)")
    args = parser.parse_args()
    start = time.perf_counter()
    updates = load_updates(args.trace, args.txns)
    elapsed = time.perf_counter() - start
    total = sum(map(len, updates))
    print(
        f"{len(updates)} updates, {total} bytes (mean {total / max(1, len(updates)):.1f} B) "
        f"in {elapsed:.2f} s; cache: {cache_dir()}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
