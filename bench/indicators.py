"""How fast a chair sees an indicator move after a delegate states a position.

Starts a fresh server, creates a draft, has a chair's Python client watch the
read-only ``{draft}/deliberation`` room, and has delegates of four stakeholder
groups alternate positions over HTTP. Prints p50/p95/p99 of the time from the
request leaving the delegate to the changed indicator arriving at the chair.

    .venv/bin/python bench/indicators.py [--samples 300] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pycrdt import Map

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from client.session import RoomClient
from tests.conftest import ServerProcess, Tokens

STANCES = ["support", "objection", "no_objection", "reservation"]
GROUPS = [
    ("Switzerland", "government"),
    ("CCBI", "private_sector"),
    ("Civil Society Caucus", "civil_society"),
    ("ITU", "international_organization"),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(samples: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="plenary-bench-"))
    server = ServerProcess(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir, {})
    server.start()
    try:
        tokens = Tokens()
        chair = tokens("chair", user="chair", delegation="Bureau", group="international_organization")
        delegates = [
            tokens("delegate", user=f"d{i}", delegation=d, group=g) for i, (d, g) in enumerate(GROUPS)
        ]
        async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
            created = await http.post(
                "/api/drafts",
                headers={"Authorization": f"Bearer {chair}"},
                json={"id": "bench", "title": "Bench", "paragraphs": [{"id": "p1", "text": "A principle."}]},
            )
            created.raise_for_status()
            async with RoomClient(server.ws, "bench/deliberation", token=chair) as watch:
                await watch.wait_synced()
                indicators = watch.doc.get("indicators", type=Map)
                changed = asyncio.Event()
                indicators.observe(lambda _event: changed.set())
                latencies = []
                for i in range(samples):
                    token = delegates[i % len(delegates)]
                    stance = STANCES[(i // len(delegates)) % len(STANCES)]
                    changed.clear()
                    started = time.perf_counter()
                    response = await http.put(
                        "/api/drafts/bench/positions/p1",
                        headers={"Authorization": f"Bearer {token}"},
                        json={"stance": stance},
                    )
                    response.raise_for_status()
                    await asyncio.wait_for(changed.wait(), 5)
                    latencies.append((time.perf_counter() - started) * 1000)
        return {
            "samples": samples,
            "p50_ms": statistics.median(latencies),
            "p95_ms": percentile(latencies, 0.95),
            "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.samples))
    if args.json:
        print(json.dumps(result))
    else:
        print("position stated (HTTP) -> indicator changed at the chair (deliberation room)")
        print(
            f"samples {result['samples']}: p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms, "
            f"p99 {result['p99_ms']:.2f} ms, max {result['max_ms']:.2f} ms"
        )


if __name__ == "__main__":
    main()
