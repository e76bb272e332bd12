"""Reconnect storm: every client of every room reconnecting at once after a server restart.

Run: ``.venv/bin/python bench/storm.py [--clients 5000] [--rooms 50] [--peers] [--reps 1] [--json]``.

1. A fresh server (pinned to core 0, as in ``workloads.py``); ``--rooms`` rooms get real documents: one
   writer per room sends the automerge-paper trace's keystroke updates, ``--large`` of them into every
   tenth room (large documents) and 300 into the others, then asks for the whole document (its size is
   what every client must get back after the restart).
2. ``--clients`` clients (spread evenly over the rooms) connect and sync (``--join-concurrency`` at a
   time), then stay connected.
3. The server is restarted on the same port (SIGTERM, then a new process on the same database). Every
   client notices its connection close and reconnects as y-websocket does: after 100 ms, then
   100 ms × 2^failures, at most 2.5 s, with no jitter; each attempt syncs from an empty state vector.
4. Figures: seconds from the restart's SIGTERM until every client is synced again (and from the new
   server answering its health check), per-client time from its connection's loss to synced (p50 / p99),
   failed attempts, clients not back within ``--timeout``, clients whose document came back smaller than
   before (lost content: the peers keep documents in memory only), and the new server's CPU and peak RSS
   until everyone is back.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import cpu_seconds, status_kib
from traces import DEFAULT_TRACE, load_updates
from workloads import STEP1_EMPTY, Conn, Server, ms, open_conn, peers_installed, sync_update

SMALL_UPDATES = 300


class Client:
    """One y-websocket client that reconnects with y-websocket's backoff once its connection is lost."""

    def __init__(self, url: str, room: int) -> None:
        self.url = url
        self.room = room
        self.conn = Conn()
        self.lost_at: float | None = None
        self.synced_at: float | None = None
        self.step2_bytes = 0
        self.failures = 0

    async def reconnect(self, url_of: Any, deadline: float) -> None:
        assert self.conn.protocol is not None
        await self.conn.protocol.lost
        self.lost_at = time.perf_counter()
        attempts = 0
        while time.perf_counter() < deadline:
            await asyncio.sleep(min(0.1 * 2**attempts, 2.5))
            conn = Conn()
            try:
                await open_conn(url_of(self), conn, timeout=max(0.1, min(30, deadline - time.perf_counter())))
            except (OSError, ConnectionError, TimeoutError) as exc:
                del exc
                attempts += 1
                self.failures += 1
                conn.close()
                continue
            self.conn = conn
            self.synced_at = conn.step2_at
            self.step2_bytes = conn.step2_bytes
            return


async def fill(server: Server, rooms: int, large: int, trace: Path, timeout: float) -> list[int]:
    """Write each room's document; return the size of each room's whole document (step 2 bytes)."""
    updates = load_updates(trace, large)
    sizes = []
    for r in range(rooms):
        frames = [sync_update(u) for u in (updates if r % 10 == 0 else updates[:SMALL_UPDATES])]
        writer = Conn()
        await open_conn(server.url(f"bench-storm-{r}", f"writer{r}"), writer, timeout=timeout)
        for frame in frames:
            writer.send(frame)
        # Messages on one connection are handled in order: this step 2 carries every update above.
        writer.step2_at = None
        writer.got_step2 = asyncio.get_running_loop().create_future()
        writer.send(STEP1_EMPTY)
        await asyncio.wait_for(writer.got_step2, timeout)
        sizes.append(writer.step2_bytes)
        writer.close()
    return sizes


async def storm(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    sizes = await fill(server, args.rooms, args.large, args.trace, args.timeout)
    per_room = max(1, args.clients // args.rooms)
    clients = [Client("", r) for r in range(args.rooms) for _ in range(per_room)]
    tokens = {
        id(c): server.url(f"bench-storm-{c.room}", f"c{i}").split("?", 1)[1]
        if server.kind == "plenary"
        else ""
        for i, c in enumerate(clients)
    }

    def url_of(client: Client) -> str:
        base = server.url(f"bench-storm-{client.room}", "x").split("?", 1)[0]
        token = tokens[id(client)]
        return f"{base}?{token}" if token else base

    gate = asyncio.Semaphore(args.join_concurrency)

    async def join(client: Client) -> None:
        async with gate:
            await open_conn(url_of(client), client.conn, timeout=args.timeout)

    await asyncio.wait_for(asyncio.gather(*(join(c) for c in clients)), args.timeout * 4)
    deadline = time.perf_counter() + args.timeout
    reconnects = [asyncio.create_task(c.reconnect(url_of, deadline)) for c in clients]
    await asyncio.sleep(0.5)
    restart_at = time.perf_counter()
    await asyncio.to_thread(server.stop)
    stopped_at = time.perf_counter()
    await asyncio.to_thread(server.start, server.port)
    up_at = time.perf_counter()
    cpu0 = 0.0  # the new process: all of its CPU time counts, start-up included
    pid = server.pid
    await asyncio.gather(*reconnects)
    done_at = max((c.synced_at for c in clients if c.synced_at is not None), default=math.nan)
    cpu = cpu_seconds(pid) - cpu0
    rss = (status_kib(pid, "VmHWM") or 0) / 1024
    back = [c for c in clients if c.synced_at is not None]
    per_client = [c.synced_at - c.lost_at for c in back if c.lost_at is not None and c.synced_at is not None]
    smaller = sum(1 for c in back if c.step2_bytes < sizes[c.room])
    for c in clients:
        c.conn.close()
    return {
        "clients": len(clients),
        "rooms": args.rooms,
        "document_bytes_max": max(sizes),
        "all_back_s": done_at - restart_at,
        "all_back_after_up_s": done_at - up_at,
        "stop_s": stopped_at - restart_at,
        "start_s": up_at - stopped_at,
        "client_p50_s": ms(per_client, 50) / 1000 if per_client else math.nan,
        "client_p99_s": ms(per_client, 99) / 1000 if per_client else math.nan,
        "failed_attempts": sum(c.failures for c in clients),
        "not_back": len(clients) - len(back),
        "documents_smaller": smaller,
        "server_cpu_s": cpu,
        "server_peak_rss_mib": rss,
    }


def run(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="plenary-storm-") as tmp:
        server = Server(kind, Path(tmp), None if args.no_pin else args.server_cpu, {})
        try:
            return asyncio.run(asyncio.wait_for(storm(server, args), args.timeout * 8))
        except Exception as exc:  # reported; the other runs go on
            return {"error": f"{type(exc).__name__}: {exc}"[:300], "server_log": server.output()[-800:]}
        finally:
            server.stop()


SHOWN = [
    "all_back_s",
    "all_back_after_up_s",
    "stop_s",
    "start_s",
    "client_p50_s",
    "client_p99_s",
    "failed_attempts",
    "not_back",
    "documents_smaller",
    "server_cpu_s",
    "server_peak_rss_mib",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=5000)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument(
        "--large", type=int, default=20_000, help="updates in every tenth room (default 20,000)"
    )
    parser.add_argument("--join-concurrency", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument(
        "--peers", nargs="*", default=None, help="also the installed peers (all, or the ones named)"
    )
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not args.no_pin:
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setaffinity(0, {args.client_cpu})
    peers = [] if args.peers is None else [p for p in peers_installed() if not args.peers or p in args.peers]
    kinds = ["plenary", *peers]
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for rep in range(args.reps):
        for kind in kinds:
            t0 = time.monotonic()
            runs[kind].append(run(kind, args))
            print(f"storm: rep {rep + 1} {kind}: {time.monotonic() - t0:.1f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(runs, indent=1, default=str))
        return 0
    print(f"reconnect storm: {args.clients} clients, {args.rooms} rooms, {args.reps} repetition(s)")
    for kind, results in runs.items():
        for rep, result in enumerate(results, 1):
            if "error" in result:
                print(f"{kind} rep {rep}: {result['error']}")
                continue
            figures = ", ".join(
                f"{key} {result[key]:.2f}" if isinstance(result[key], float) else f"{key} {result[key]}"
                for key in SHOWN
            )
            print(f"{kind} rep {rep}: {figures}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
