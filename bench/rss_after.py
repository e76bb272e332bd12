"""What the server's memory does once every client has left.

Run: ``.venv/bin/python bench/rss_after.py --connections 5000 --rooms 10``

A fresh server (bench/fanout.py's ``Server``); ``--connections`` members (bench/idle_members.py's
idle members: each syncs, announces its presence and reads) spread over ``--rooms`` rooms, and a
writer making ``--edits`` edits in each room. Then everyone leaves. Printed: the server's resident
memory (VmRSS) before anyone came, with everyone there, and ``--after`` seconds after the last one
left (past the rooms' unload grace, when what is ours to release has been released), with its
high-water mark (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import Server
from idle_members import EMPTY_STEP2, create_draft, idle_worker, token
from pycrdt import Doc, Text
from websockets.asyncio.client import connect

from crdt.wire.protocol import encode_sync_update


def status(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


async def write(url: str, secret: str, edits: int) -> None:
    async with connect(f"{url}?token={token(secret, 'writer')}", max_size=None) as ws:
        await ws.recv()
        await ws.send(EMPTY_STEP2)
        doc = Doc()
        text = doc.get("text", type=Text)
        updates: list[bytes] = []
        doc.observe(lambda event: updates.append(event.update))
        for k in range(edits):
            text += f"edit {k} "
            await ws.send(encode_sync_update(updates.pop()))
        await asyncio.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--edits", type=int, default=500)
    parser.add_argument("--after", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(
            Path(tmp),
            secret,
            cpu=None,
            profile=None,
            env={"PLENARY_MAX_CONNECTIONS_PER_ROOM": "100000", "PLENARY_UNLOAD_GRACE_SECONDS": "5"},
        )
        try:
            time.sleep(1)
            before = status(server.pid)
            ctx = multiprocessing.get_context("spawn")
            stop = ctx.Event()
            workers = []
            base = f"ws://127.0.0.1:{server.port}/ws/bench-rss"
            for room in range(args.rooms):
                create_draft(server.port, secret, f"bench-rss-{room}")
            for p in range(args.processes):
                ready = ctx.Event()
                indexes = list(range(p, args.connections, args.processes))
                proc = ctx.Process(
                    target=idle_worker, args=(base, secret, indexes, 15.0, ready, stop, args.rooms)
                )
                proc.start()
                workers.append((proc, ready))
            for _proc, ready in workers:
                if not ready.wait(timeout=600):
                    raise RuntimeError("members did not all join")
            for room in range(args.rooms):
                asyncio.run(write(f"{base}-{room}", secret, args.edits))
            present = status(server.pid)
            stop.set()
            for proc, _ready in workers:
                proc.join(timeout=60)
                if proc.is_alive():
                    proc.kill()
            time.sleep(args.after)
            after = status(server.pid)
        finally:
            server.stop()
    print(f"connections {args.connections} in {args.rooms} rooms, {args.edits} edits per room")
    print(f"RSS MiB: before {before['VmRSS']:.0f}, everyone there {present['VmRSS']:.0f}, ", end="")
    print(f"{args.after:.0f} s after all left {after['VmRSS']:.0f} (peak {after['VmHWM']:.0f})")


if __name__ == "__main__":
    main()
