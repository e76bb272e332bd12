"""What idle members cost an active pair: edit latency in a room with 0, 1,000 and 5,000 idle members.

Run: ``.venv/bin/python bench/idle_members.py --idle 0 1000 5000``

For each count, a fresh server (bench/fanout.py's ``Server``: SQLite in a temporary directory, the
message limits raised) and ``--idle`` members, each its own participant, spread over ``--processes``
worker processes. An idle member does what an idle y-websocket tab does: it answers the server's
sync step 1, announces its presence, renews it unchanged every ``--renew`` seconds (y-protocols
renews every 15 s), and reads everything it is sent. Once they have all joined and ``--settle``
seconds have passed, a writer sends ``--edits`` one-character edits at ``--rate`` per second and a
reader (the other member of the active pair) timestamps each as it arrives. Printed per count:
the pair's edit latency (p50, p99, max: writer's send to reader's arrival), the server's CPU over
the window (% of one core), and its resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from fanout import Server
from pycrdt import Doc, Text
from websockets.asyncio.client import connect

from crdt.wire.awareness import AwarenessEntry, encode_awareness_update
from crdt.wire.protocol import encode_awareness, encode_sync_update
from server.identity import Participant, TokenIssuer

ROOM = "bench-idle"
ROOT = Path(__file__).resolve().parent.parent
EMPTY_STEP2 = b"\x00\x01\x02\x00\x00"
SYNC_UPDATE = b"\x00\x02"


def token(secret: str, user: str, role: str = "delegate") -> str:
    participant = Participant(
        id=user, name=user, delegation="Benchland", group="government", roles={"*": role}
    )
    return TokenIssuer(secret).issue(participant, timedelta(hours=2))


def create_draft(port: int, secret: str, draft: str) -> None:
    """Only drafts may be opened: create the room as a chair would."""
    body = {"id": draft, "title": draft, "paragraphs": [{"id": "p1", "text": "Text"}]}
    headers = {"Authorization": f"Bearer {token(secret, 'bench-chair', 'chair')}"}
    response = httpx.post(f"http://127.0.0.1:{port}/api/drafts", json=body, headers=headers, timeout=30)
    if response.status_code != 201:
        raise RuntimeError(f"could not create draft {draft}: {response.text}")


def presence(client: int, clock: int, user: str) -> bytes:
    state = json.dumps({"user": {"name": user}, "cursor": None})
    return encode_awareness(encode_awareness_update([AwarenessEntry(client, clock, state)]))


async def idle_member(
    url: str, secret: str, index: int, renew: float, joined: list[int], rooms: int = 1
) -> None:
    user = f"idle-{index}"
    if rooms > 1:
        url = f"{url}-{index % rooms}"
    # A loaded machine can take a while to answer thousands of handshakes: wait, do not give up.
    opening = connect(
        f"{url}?token={token(secret, user)}", max_size=None, ping_interval=None, open_timeout=120
    )
    async with opening as ws:
        await ws.recv()  # the server's sync step 1
        await ws.send(EMPTY_STEP2)
        clock = 1
        await ws.send(presence(100_000 + index, clock, user))
        joined[0] += 1

        async def renewing() -> None:
            nonlocal clock
            await asyncio.sleep(renew * (index % 100) / 100)  # spread, as real tabs are
            while True:
                clock += 1
                await ws.send(presence(100_000 + index, clock, user))
                await asyncio.sleep(renew)

        task = asyncio.create_task(renewing())
        try:
            async for _message in ws:
                pass
        finally:
            task.cancel()


def idle_worker(
    url: str, secret: str, indexes: list[int], renew: float, ready: object, stop: object, rooms: int = 1
) -> None:
    async def main() -> None:
        joined = [0]
        tasks = []
        for start in range(0, len(indexes), 100):
            batch = [
                asyncio.create_task(idle_member(url, secret, i, renew, joined, rooms))
                for i in indexes[start : start + 100]
            ]
            tasks += batch
            while joined[0] < min(start + 100, len(indexes)):  # noqa: ASYNC110 - a counter, polled
                await asyncio.sleep(0.02)
        ready.set()  # type: ignore[attr-defined]
        while not stop.is_set():  # type: ignore[attr-defined]  # noqa: ASYNC110 - another process's event
            await asyncio.sleep(0.2)
        for task in tasks:
            task.cancel()

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def active_pair(url: str, secret: str, edits: int, rate: float) -> list[float]:
    sent: list[float] = []
    arrived: list[float] = []
    done = asyncio.Event()
    async with (
        connect(f"{url}?token={token(secret, 'writer')}", max_size=None) as writer,
        connect(f"{url}?token={token(secret, 'reader')}", max_size=None) as reader,
    ):
        for ws in (writer, reader):
            await ws.recv()
            await ws.send(EMPTY_STEP2)
        # Both of the pair act (the reader places its cursor): neither is an idle member.
        await reader.send(presence(1, 1, "reader"))

        async def read() -> None:
            async for message in reader:
                if isinstance(message, bytes) and message.startswith(SYNC_UPDATE):
                    arrived.append(time.perf_counter())
                    if len(arrived) == edits:
                        done.set()

        reading = asyncio.create_task(read())
        doc = Doc()
        text = doc.get("text", type=Text)
        updates: list[bytes] = []
        doc.observe(lambda event: updates.append(event.update))
        start = time.perf_counter()
        for k in range(edits):
            await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
            text += "x"
            sent.append(time.perf_counter())
            await writer.send(encode_sync_update(updates.pop()))
        try:
            await asyncio.wait_for(done.wait(), timeout=30)
        finally:
            reading.cancel()
    return [(a - s) * 1000 for s, a in zip(sent, arrived, strict=False)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def measure(idle: int, args: argparse.Namespace) -> dict[str, float]:
    secret = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(
            Path(tmp),
            secret,
            cpu=None,
            profile=None,
            root=args.root,
            env={
                "PLENARY_MAX_CONNECTIONS_PER_ROOM": "100000",
                "PLENARY_MAX_OPENING_CONNECTIONS": "100000",
            },
        )
        try:
            create_draft(server.port, secret, ROOM)
            url = f"ws://127.0.0.1:{server.port}/ws/{ROOM}"
            ctx = multiprocessing.get_context("spawn")
            stop = ctx.Event()
            workers = []
            for p in range(args.processes if idle else 0):
                ready = ctx.Event()
                indexes = list(range(p, idle, args.processes))
                proc = ctx.Process(target=idle_worker, args=(url, secret, indexes, args.renew, ready, stop))
                proc.start()
                workers.append((proc, ready))
            for _proc, ready in workers:
                if not ready.wait(timeout=300):
                    raise RuntimeError("idle members did not all join")
            time.sleep(args.settle)
            cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
            latencies = asyncio.run(active_pair(url, secret, args.edits, args.rate))
            cpu = (cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - wall_before) * 100
            rss = rss_mib(server.pid)
            stop.set()
            for proc, _ready in workers:
                proc.join(timeout=30)
                if proc.is_alive():
                    proc.kill()
        finally:
            server.stop()
    return {
        "idle": idle,
        "delivered": len(latencies),
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": max(latencies, default=float("nan")),
        "server_cpu_percent": cpu,
        "server_rss_mib": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--idle", type=int, nargs="+", default=[0, 1000, 5000])
    parser.add_argument("--edits", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20.0, help="the writer's edits per second")
    parser.add_argument("--renew", type=float, default=15.0, help="seconds between presence renewals")
    parser.add_argument(
        "--settle", type=float, default=12.0, help="seconds after joining: members act, then go idle"
    )
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="serve the code of this checkout (to compare two versions)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [measure(idle, args) for idle in args.idle]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(
        f"{'idle':>6} {'edits':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'srv CPU %':>10} {'RSS MiB':>8}"
    )
    for row in rows:
        print(
            f"{row['idle']:>6} {row['delivered']:>6} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['max_ms']:>8.1f} {row['server_cpu_percent']:>10.0f} {row['server_rss_mib']:>8.0f}"
        )


if __name__ == "__main__":
    main()
