"""The benchmarks still run against Plenary: fan-out and rooms at tiny sizes, and their updates in the draft.

Since only drafts (and their sub-rooms) may be opened, every bench creates its drafts over REST and types
into paragraph p1 (bench/draft.py). These run the real scripts, each against a fresh server, so a change to
rooms, drafts or the inspector that breaks the benches fails here. No figure is asserted but delivery.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc

from crdt.procedure.draft import read_paragraphs
from crdt.procedure.writes import PartIndex
from crdt.wire.updates import decode_update
from tests.conftest import need

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
#: The editing trace the benches replay (outside the repository: see bench/README.md).
TRACE = Path("/work/shared/data/traces/sequential/automerge-paper.json.gz")


@pytest.fixture(autouse=True)
def bench_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The replayed updates in a cache of the test's own, not the user's."""
    need(TRACE.exists(), f"the editing trace {TRACE} is not here")
    cache = tmp_path_factory.getbasetemp() / "plenary-bench-cache"
    monkeypatch.setenv("PLENARY_BENCH_CACHE", str(cache))
    yield cache


def bench_json(script: str, *args: str, timeout: float = 90) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--no-pin", "--json"],
        cwd=ROOT,
        capture_output=True,
        timeout=timeout,
        text=True,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_trace_updates_type_into_the_drafts_paragraph() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from draft import PARAGRAPH, seed_update
        from traces import load_updates
        from workloads import big_updates, two_writers
    finally:
        sys.path.remove(str(BENCH))
    doc = Doc()
    doc.apply_update(seed_update())
    index = PartIndex.of_state(doc.get_update())
    streams = {"trace": load_updates(limit=200), "two writers": two_writers(5), "pastes": big_updates(2, 128)}
    for name, updates in streams.items():
        for update in updates:
            writes = index.classify(decode_update(update))
            # Words of one paragraph's original text, nothing else (no other root, nothing unplaced).
            assert writes.originals and not (writes.other or writes.unknown or writes.structure), name
            index.feed(decode_update(update), classify=False)
            doc.apply_update(update)
    assert [p.id for p in read_paragraphs(doc)] == [PARAGRAPH]
    assert read_paragraphs(doc)[0].text
    assert set(doc.keys()) == {"paragraphs"}


def test_fanout_runs_against_plenary() -> None:
    out = bench_json(
        "fanout.py",
        *("--subscribers", "3", "--updates", "40", "--warmup", "5", "--rate", "200", "--drain-timeout", "5"),
    )
    (result,) = out["results"]
    assert result["server_alive"], result.get("server_log_tail")
    assert result["synced"] == 3
    assert result["delivered_percent"] == 100.0, result
    assert result["identification"] == "payload bytes"  # the broadcast is the writer's own bytes


def test_rooms_workload_runs_against_plenary() -> None:
    out = bench_json("workloads.py", "rooms", "--quick", "--rooms", "3", "--unload-wait", "0")
    (result,) = out["runs"]["rooms"]["plenary"]
    assert "error" not in result, result
    assert result["server_alive"]
    assert result["delivered_percent"] == 100.0, result
