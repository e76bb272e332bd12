"""Several processes, one draft: fan-out across processes through Redis, and how many
updates per second one draft takes with writers on every process.

Run: ``.venv/bin/python bench/cluster.py fanout throughput lockcost``

- ``fanout``: one writer on process 1 replays the automerge-paper trace at ``--rate``;
  ``--subscribers`` spread evenly over ``--processes`` servers (one load-generator worker
  per server). Prints p50/p99 per server: process 1's subscribers are one hop from the
  writer, the others two (process 1 → Redis → process k), so the difference is the cost
  of the hop. The same load on one process (same PostgreSQL, no Redis) is the baseline.
- ``throughput``: one writer per process, each sending its own ``--updates`` keystroke
  updates as fast as its server reads them, and one observer per process; updates/s is
  every writer's updates, logged and delivered to every observer, over the time it took.
- ``lockcost``: single-entry commits through ``Database.write`` on PostgreSQL with and
  without the per-room advisory lock that keeps several processes from forking a chain.

Needs PostgreSQL (``--postgres``, a fresh database is created and dropped per run) and
Redis (``--redis``). Not pinned: three servers and the load generator share two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from draft import create_draft, paragraph_text, seed, token
from fanout import Server
from loadgen import STEP2_EMPTY_FRAME, LoadConfig, run, sync_update_payload

from crdt.wire.protocol import encode_sync_update

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
ROOM = "bench-cluster"


def create_room(server: Server, secret: str) -> None:
    """Only drafts may be opened: create :data:`ROOM` as a chair would (its paragraph is seeded later)."""
    create_draft(f"http://127.0.0.1:{server.port}", ROOM, token(secret, "bench-chair", "chair"))


@contextlib.asynccontextmanager
async def fresh_database(admin_url: str) -> Any:
    import asyncpg

    name = f"plenary_bench_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def servers(
    count: int, redis_url: str | None, args: argparse.Namespace, secret: str, workdir: Path
) -> Any:
    """``count`` fresh servers on a fresh database (and Redis, for more than one), stopped after."""
    async with fresh_database(args.postgres) as database_url:
        env = {"PLENARY_DATABASE_URL": database_url}
        if redis_url:
            env["PLENARY_REDIS_URL"] = redis_url
        running: list[Server] = []
        try:
            for _ in range(count):
                running.append(Server(workdir, secret, None, None, env=env))
            create_room(running[0], secret)
            yield running
        finally:
            for server in running:
                server.stop()


def progress(message: str) -> None:
    print(f"cluster bench: {message}", file=sys.stderr, flush=True)


# Fan-out.


async def fanout(args: argparse.Namespace, secret: str, workdir: Path) -> list[dict[str, Any]]:
    results = []
    for processes, redis in ((1, None), (args.processes, args.redis)):
        async with servers(processes, redis, args, secret, workdir) as running:
            progress(
                f"fan-out: {args.subscribers} subscribers on {processes} process(es), {args.rate:g} upd/s"
            )
            config = LoadConfig(
                url=f"ws://127.0.0.1:{running[0].port}/ws/{ROOM}",
                subscriber_token=token(secret, "bench-subscriber"),
                writer_token=token(secret, "bench-writer"),
                subscribers=args.subscribers,
                rate=args.rate,
                updates=args.updates,
                workdir=workdir,
                subscriber_urls=[f"ws://127.0.0.1:{server.port}/ws/{ROOM}" for server in running],
                watch={f"server{i + 1}": server.pid for i, server in enumerate(running)},
            )
            result = await run(config)
        per = result["latency_ms_by_worker"]
        row = {
            "processes": processes,
            "subscribers": args.subscribers,
            "p50_ms": result["latency_ms"]["p50"],
            "p99_ms": result["latency_ms"]["p99"],
            "delivered_percent": result["delivered_percent"],
            "per_process": per,
            "server_cpu_percent": [
                round(100 * result["cpu_s"][f"server{i + 1}"] / result["window_s"], 1)
                for i in range(processes)
            ],
        }
        if processes > 1:
            remote = [w["p50"] for w in per[1:]]
            row["hop_ms"] = statistics.median(remote) - per[0]["p50"]
        results.append(row)
    return results


# Throughput.


def keystrokes(count: int, client_id: int) -> list[bytes]:
    """``count`` one-character insertions by one Yjs client into the draft's paragraph p1 (after the
    seed), as the updates it would send."""
    doc, text = paragraph_text(client_id)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    for n in range(count):
        text.insert(len(text), "abcdefghij"[n % 10])
    doc.unobserve(subscription)
    return updates


async def throughput(args: argparse.Namespace, secret: str, workdir: Path) -> list[dict[str, Any]]:
    results = []
    for processes, redis in ((1, None), (args.processes, args.redis)):
        async with servers(processes, redis, args, secret, workdir) as running:
            urls = [f"ws://127.0.0.1:{server.port}/ws/{ROOM}" for server in running]
            results.append(await throughput_run(urls, args, secret))
    return results


async def throughput_run(urls: list[str], args: argparse.Namespace, secret: str) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    processes = len(urls)
    writers = max(processes, 3)
    progress(f"throughput: {writers} writers × {args.updates} updates on {processes} process(es)")
    frames = [[encode_sync_update(u) for u in keystrokes(args.updates, 1000 + w)] for w in range(writers)]
    expected = writers * args.updates
    received = [0] * processes
    done = asyncio.Event()
    finished = [0.0]

    async def observe(index: int, ready: asyncio.Event) -> None:
        url = f"{urls[index]}?token={token(secret, f'observer-{index}')}"
        async with connect(url, max_size=None, compression=None) as ws:
            await ws.recv()  # sync step 1
            await ws.send(STEP2_EMPTY_FRAME)
            ready.set()
            async for message in ws:
                if isinstance(message, bytes) and sync_update_payload(message) is not None:
                    received[index] += 1
                    if all(r >= expected for r in received):
                        finished[0] = time.perf_counter()
                        done.set()

    async def write(index: int) -> None:
        url = f"{urls[index % processes]}?token={token(secret, f'writer-{index}')}"
        async with connect(url, max_size=None, compression=None) as ws:
            await ws.recv()
            await ws.send(STEP2_EMPTY_FRAME)
            for frame in frames[index]:
                await ws.send(frame)
            await done.wait()

    await seed(f"{urls[0]}?token={token(secret, 'bench-seed')}")  # before the observers: not counted
    readies = [asyncio.Event() for _ in range(processes)]
    observers = [asyncio.create_task(observe(i, readies[i])) for i in range(processes)]
    for ready in readies:
        await asyncio.wait_for(ready.wait(), 30)
    start = time.perf_counter()
    writing = [asyncio.create_task(write(i)) for i in range(writers)]
    try:
        await asyncio.wait_for(done.wait(), args.timeout)
        complete = True
    except TimeoutError:
        complete = False
    elapsed = (finished[0] if complete else time.perf_counter()) - start
    for task in writing + observers:
        task.cancel()
    await asyncio.gather(*writing, *observers, return_exceptions=True)
    return {
        "processes": processes,
        "writers": writers,
        "updates": expected,
        "complete": complete,
        "delivered_percent": 100 * min(received) / expected,
        "seconds": elapsed,
        "updates_per_second": min(received) / elapsed if elapsed else float("nan"),
    }


# The advisory lock's cost.


async def lockcost(args: argparse.Namespace) -> list[dict[str, Any]]:
    from server.storage.database import Database, now_us

    rows = []
    async with fresh_database(args.postgres) as database_url:
        database = Database(database_url)
        await database.migrate()
        try:
            for locked in (False, True, False, True):
                database.lock_appends = locked
                room = f"lock-{'on' if locked else 'off'}-{secrets.token_hex(2)}"  # a draft id's form
                start = time.perf_counter()
                for n in range(args.commits):
                    entry = {
                        "room": room,
                        "time_us": now_us(),
                        "connection": "bench",
                        "participant": "bench",
                        "role": "delegate",
                        "kind": "update",
                        "clients": b"",
                        "payload": n.to_bytes(4, "big"),
                    }
                    await database.write([entry], [])
                    database.inflight.clear()
                elapsed = time.perf_counter() - start
                rows.append(
                    {"lock": locked, "commits": args.commits, "us_per_commit": 1e6 * elapsed / args.commits}
                )
        finally:
            await database.close()
    summary = []
    for locked in (False, True):
        values = [row["us_per_commit"] for row in rows if row["lock"] is locked]
        summary.append({"lock": locked, "commits": args.commits, "us_per_commit": statistics.median(values)})
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workloads", nargs="*", default=["fanout", "throughput", "lockcost"])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument(
        "--subscribers", type=int, default=150, help="fan-out subscribers in all (default 150)"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="fan-out updates per second (default 100)")
    parser.add_argument("--updates", type=int, default=1000, help="updates per writer (default 1000)")
    parser.add_argument("--commits", type=int, default=2000, help="lockcost: commits per run (default 2000)")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument(
        "--postgres", default=DEFAULT_POSTGRES, help=f"admin URL (default {DEFAULT_POSTGRES})"
    )
    parser.add_argument("--redis", default=DEFAULT_REDIS, help=f"default {DEFAULT_REDIS}")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    unknown = set(args.workloads) - {"fanout", "throughput", "lockcost"}
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    secret = secrets.token_urlsafe(48)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="plenary-cluster-bench-") as tmp:
        workdir = Path(tmp)
        if "fanout" in args.workloads:
            out["fanout"] = asyncio.run(fanout(args, secret, workdir))
        if "throughput" in args.workloads:
            out["throughput"] = asyncio.run(throughput(args, secret, workdir))
        if "lockcost" in args.workloads:
            progress(f"lock cost: {args.commits} single-entry commits, with and without the advisory lock")
            out["lockcost"] = asyncio.run(lockcost(args))
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for row in out.get("fanout", []):
        per = "  ".join(f"p{i + 1} {w['p50']:.2f}/{w['p99']:.2f}" for i, w in enumerate(row["per_process"]))
        hop = f", hop {row['hop_ms']:+.2f} ms" if "hop_ms" in row else ""
        print(
            f"fan-out  {row['processes']} proc, {row['subscribers']} subs: p50 {row['p50_ms']:.2f} ms, "
            f"p99 {row['p99_ms']:.2f} ms, {row['delivered_percent']:.1f}% delivered{hop}; "
            f"per process p50/p99 ms: {per}; server CPU % {row['server_cpu_percent']}"
        )
    for row in out.get("throughput", []):
        print(
            f"throughput  {row['processes']} proc, {row['writers']} writers: "
            f"{row['updates_per_second']:,.0f} updates/s ({row['updates']:,} in {row['seconds']:.2f} s, "
            f"{row['delivered_percent']:.1f}% delivered)"
        )
    for row in out.get("lockcost", []):
        state = "on " if row["lock"] else "off"
        print(f"lockcost  advisory lock {state}: {row['us_per_commit']:.0f} µs per commit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
