"""Issue 7 workloads over the raw y-websocket protocol: throughput, rooms, coldload, presence, slowreader.

Run: ``.venv/bin/python bench/workloads.py throughput rooms coldload presence slowreader [--peers] [--json]
[--quick]``. Every run starts a fresh server pinned to core 0 (``taskset -c 0``); this process, the load
generator, pins itself to core 1. With ``--peers`` (after ``bench/install_peers.sh``) each workload also runs
against ``pycrdt-websocket`` and ``@y/websocket-server``, interleaved, ``--reps`` times; the table shows
medians and Plenary's figure divided by each peer's. See bench/README.md ("Issue 7 workloads").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import RawClient, cpu_seconds, percentile, status_kib, upgrade_request
from traces import DEFAULT_TRACE, load_updates

ROOT = Path(__file__).resolve().parent.parent
PEERS_DIR = Path(os.environ.get("PLENARY_BENCH_PEERS", Path.home() / ".cache/plenary-bench/peers"))
STEP1_EMPTY = b"\x00\x00\x01\x00"  # sync step 1 with an empty state vector
STEP2_EMPTY = b"\x00\x01\x02\x00\x00"  # sync step 2 carrying an empty update
CLOSE_SLOW_READER = 4508


def varuint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def sync_update(update: bytes) -> bytes:
    return b"\x00\x02" + varuint(len(update)) + update


def awareness(client_id: int, clock: int, state: str) -> bytes:
    raw = state.encode()
    payload = varuint(1) + varuint(client_id) + varuint(clock) + varuint(len(raw)) + raw
    return b"\x01" + varuint(len(payload)) + payload


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ms(seconds: list[float], q: float) -> float:
    return 1000 * percentile(sorted(seconds), q)


# Servers.


class Server:
    """A fresh server process of one kind, pinned to ``cpu``; ``restart`` keeps its working directory."""

    def __init__(self, kind: str, workdir: Path, cpu: int | None, env: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.workdir = workdir
        self.cpu = cpu
        self.extra = env or {}
        self.secret = secrets.token_urlsafe(48)
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def command(self) -> tuple[list[str], dict[str, str]]:
        env = {**os.environ, **self.extra}
        if self.kind == "plenary":
            env.update(
                PLENARY_SECRET=self.secret,
                PLENARY_DATABASE_URL=f"sqlite:///{self.workdir / 'plenary.sqlite3'}",
                PLENARY_HOST="127.0.0.1",
                PLENARY_PORT=str(self.port),
                PLENARY_MAX_MESSAGES_PER_SECOND="1000000",
                PLENARY_MESSAGE_BURST="1000000",
                PLENARY_MAX_CONNECTIONS_PER_ROOM="100000",
            )
            env.setdefault("PLENARY_MAX_SEND_QUEUE_BYTES", str(256 * 1024 * 1024))
            # PLENARY_BENCH_SERVER_ROOT: serve another tree (`git archive REV server crdt | tar -x -C DIR`).
            root = os.environ.get("PLENARY_BENCH_SERVER_ROOT") or str(ROOT)
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
            command = [sys.executable, "-m", "server.cli", "serve", "--log-level", "warning"]
        elif self.kind == "pycrdt-websocket":
            python = PEERS_DIR / "pycrdt-venv/bin/python"
            command = [str(python), str(PEERS_DIR / "pycrdt_launch.py"), str(self.port)]
        elif self.kind == "y-websocket-server":
            env.update(HOST="127.0.0.1", PORT=str(self.port))
            script = PEERS_DIR / "node/node_modules/@y/websocket-server/src/server.js"
            command = [shutil.which("node") or "node", str(script)]
        else:
            raise ValueError(self.kind)
        if self.cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(self.cpu), *command]
        return command, env

    def start(self, port: int | None = None) -> None:
        self.port = port or free_port()
        command, env = self.command()
        self._log = open(self.workdir / f"{self.kind}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command, cwd=self.workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}:\n{self.output()}")
            if self._healthy():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.kind} did not come up:\n{self.output()}")

    def _healthy(self) -> bool:
        with contextlib.suppress(OSError):
            if self.kind == "plenary":
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=1) as response:
                    return response.status == 200
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        return False

    def restart(self, same_port: bool = False) -> None:
        port = self.port if same_port else None
        self.stop()
        self.start(port)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid  # taskset execs the server

    def rss_kib(self) -> int:
        return status_kib(self.pid, "VmRSS") or 0

    def output(self) -> str:
        with contextlib.suppress(OSError):
            return (self.workdir / f"{self.kind}.log").read_text(errors="replace")[-3000:]
        return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def url(self, room: str, user: str = "bench") -> str:
        if self.kind != "plenary":
            return f"ws://127.0.0.1:{self.port}/{room}"
        from server.identity import Participant, TokenIssuer

        participant = Participant(
            id=user, name=user, delegation="Benchmark", group="technical_academic", roles={"*": "delegate"}
        )
        token = TokenIssuer(self.secret).issue(participant, timedelta(hours=2))
        return f"ws://127.0.0.1:{self.port}/ws/{room}?token={token}"


# Clients: loadgen.RawClient drives any object with on_message/send_frame/closed.


class Conn:
    """One y-websocket client: answers the server's step 1, counts updates, notes step 2 and awareness."""

    def __init__(self, on_update: Callable[[Conn, float], None] | None = None) -> None:
        self.on_update = on_update
        self.send_frame: Callable[[bytes], None] | None = None
        self.closed: str | None = None
        self.protocol: RawClient | None = None
        self.updates = 0
        self.awareness = 0
        self.step2_at: float | None = None
        self.step2_bytes = 0
        self.got_step2 = asyncio.get_running_loop().create_future()
        self._want = 0
        self._waiter: asyncio.Future[None] | None = None

    async def wait_updates(self, count: int, timeout: float) -> bool:
        """Wait until this client has received ``count`` updates (False on timeout)."""
        if self.updates >= count:
            return True
        self._want = count
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._waiter, timeout)
        except TimeoutError:
            return False
        finally:
            self._waiter = None
        return True

    def on_message(self, message: bytes, now: float) -> None:
        if message[0] == 0 and len(message) >= 2:
            kind = message[1]
            if kind == 2:
                self.updates += 1
                if self.on_update is not None:
                    self.on_update(self, now)
                if self._waiter is not None and self.updates >= self._want and not self._waiter.done():
                    self._waiter.set_result(None)
            elif kind == 0:
                if self.send_frame is not None:
                    self.send_frame(STEP2_EMPTY)
            elif kind == 1 and self.step2_at is None:
                self.step2_at = now
                self.step2_bytes = len(message)
                if not self.got_step2.done():
                    self.got_step2.set_result(now)
        elif message[0] == 1:
            self.awareness += 1

    def send(self, frame: bytes) -> None:
        assert self.protocol is not None
        self.protocol.send_frame(frame)

    def close(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.send_frame(b"\x03\xe8", opcode=8)
            self.protocol.transport.close()

    @property
    def local_port(self) -> int:
        assert self.protocol is not None and self.protocol.transport is not None
        return self.protocol.transport.get_extra_info("sockname")[1]


async def send_paced(
    conn: Conn, frames: list[bytes], rate: float, start: float, send_at: list[float]
) -> None:
    """Send ``frames`` at ``rate`` per second from ``start`` (no drift), noting each send time."""
    for i, frame in enumerate(frames):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        send_at[i] = time.perf_counter()
        conn.send(frame)


async def open_conn(
    url: str, conn: Conn, sync: bool = True, timeout: float = 30, rcvbuf: int | None = None
) -> float:
    """Connect, send step 1, (if ``sync``) wait for the server's step 2; returns connect → step 2 (s)."""
    host, port, request = upgrade_request(url)
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[None] = loop.create_future()
    opened.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved: no "never retrieved"
    start = time.perf_counter()
    sock = socket.socket()
    # asyncio sets TCP_NODELAY only on sockets created with proto=IPPROTO_TCP, not on this one:
    # without it, Nagle holds each small frame until the previous one is acknowledged, and
    # the server's delayed ACKs add up to 40 ms (browsers set it on every websocket).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    if rcvbuf is not None:  # before connecting, so the window stays small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    await loop.sock_connect(sock, (host, port))
    _, protocol = await loop.create_connection(lambda: RawClient(conn, request, opened), sock=sock)  # type: ignore[arg-type]
    conn.protocol = protocol
    await asyncio.wait_for(asyncio.shield(opened), timeout)
    protocol.send_frame(STEP1_EMPTY)
    if not sync:
        return math.nan
    await asyncio.wait_for(asyncio.shield(conn.got_step2), timeout)
    return (conn.step2_at or math.nan) - start


async def until(predicate: Callable[[], bool], timeout: float, step: float = 0.002) -> bool:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(step)
    return True


# Workloads. Each takes (server, args) and returns a dict of figures.


async def throughput(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    n, subs_n, window = args.tp_updates, 10, args.window
    frames = [sync_update(u) for u in load_updates(args.trace, n)]
    send_at = [math.nan] * n
    arrivals = [0] * n
    latencies: list[float] = []
    state: dict[str, Any] = {"done": 0, "want": 0, "waiter": None}

    def on_update(conn: Conn, now: float) -> None:
        i = conn.updates - 1  # one writer, in order: the k-th update received is update k
        if i < n:
            latencies.append(now - send_at[i])
            arrivals[i] += 1
            if arrivals[i] == subs_n:
                state["done"] += 1
                waiter = state["waiter"]
                if waiter is not None and state["done"] >= state["want"] and not waiter.done():
                    waiter.set_result(None)

    async def wait_done(count: int, timeout: float) -> bool:
        if state["done"] >= count:
            return True
        state["want"] = count
        state["waiter"] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(state["waiter"], timeout)
        except TimeoutError:
            return False
        finally:
            state["waiter"] = None
        return True

    subs = [Conn(on_update) for _ in range(subs_n)]
    for k, sub in enumerate(subs):
        await open_conn(server.url("bench-throughput", f"sub{k}"), sub)
    writer = Conn()
    await open_conn(server.url("bench-throughput", "writer"), writer)
    cpu0 = cpu_seconds()
    server_cpu0 = cpu_seconds(server.pid)
    start = time.perf_counter()
    deadline = start + args.tp_timeout
    perf_counter = time.perf_counter
    for i, frame in enumerate(frames):
        # Bounded window: update i goes out once every subscriber has update i - window.
        if state["done"] <= i - window and not await wait_done(i - window + 1, deadline - perf_counter()):
            break
        send_at[i] = perf_counter()
        writer.send(frame)
    await wait_done(n, max(0.1, deadline - perf_counter()))
    end = time.perf_counter()
    cpu = cpu_seconds() - cpu0
    for c in [*subs, writer]:
        c.close()
    done = state["done"]
    return {
        "updates_per_s": done / (end - start),
        "delivered_all": done,
        "sent": sum(1 for t in send_at if t == t),
        "p50_ms": ms(latencies, 50),
        "p99_ms": ms(latencies, 99),
        "window": window,
        "loadgen_cpu_percent": 100 * cpu / (end - start),
        "server_cpu_percent": 100 * (cpu_seconds(server.pid) - server_cpu0) / (end - start),
    }


async def rooms(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    n_rooms, edits = args.rooms, 50
    updates = [sync_update(u) for u in two_writers(edits)]
    baseline = server.rss_kib()
    joins: list[float] = []
    pairs: list[tuple[Conn, Conn]] = []
    gate = asyncio.Semaphore(args.join_concurrency)

    # Tokens are issued up front: signing them inside the loop would delay the other joins.
    urls = {(r, who): server.url(f"bench-room-{r}", f"{who}{r}") for r in range(n_rooms) for who in "ab"}

    async def join(room: int, who: str) -> Conn:
        conn = Conn()
        async with gate:
            joins.append(await open_conn(urls[room, who], conn))
        return conn

    async def room_pair(room: int) -> None:
        a = await join(room, "a")
        b = await join(room, "b")
        pairs.append((a, b))

    joins_started, server_cpu0 = time.perf_counter(), cpu_seconds(server.pid)
    await asyncio.wait_for(asyncio.gather(*(room_pair(r) for r in range(n_rooms))), args.phase_timeout)
    joins_s = time.perf_counter() - joins_started
    join_cpu_s = cpu_seconds(server.pid) - server_cpu0

    edit_gate = asyncio.Semaphore(args.edit_concurrency)

    async def edit(a: Conn, b: Conn) -> None:
        async with edit_gate:
            for sender, receiver, chunk in ((a, b, updates[:edits]), (b, a, updates[edits:])):
                base = receiver.updates
                for k, frame in enumerate(chunk):
                    if receiver.updates - base < k - 8:
                        await receiver.wait_updates(base + k - 8, 30)
                    sender.send(frame)
                await receiver.wait_updates(base + edits, 30)

    t0 = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(edit(a, b) for a, b in pairs)), args.phase_timeout)
    edit_s = time.perf_counter() - t0
    await asyncio.sleep(0.5)
    loaded = server.rss_kib()
    delivered = sum(a.updates + b.updates for a, b in pairs)
    for a, b in pairs:
        a.close()
        b.close()
    # Rooms unload PLENARY_UNLOAD_GRACE_SECONDS (1 s here) after their last client leaves.
    await asyncio.sleep(2)
    after = server.rss_kib()
    for _ in range(8):
        await asyncio.sleep(0.5)
        now = server.rss_kib()
        if abs(now - after) < 256:
            break
        after = now
    return {
        "join_concurrency": args.join_concurrency,
        "join_p50_ms": ms(joins, 50),
        "join_p99_ms": ms(joins, 99),
        "joins_per_s": len(joins) / joins_s,
        # What a join costs the server, whatever else the machine runs meanwhile.
        "server_cpu_ms_per_join": 1000 * join_cpu_s / len(joins),
        "rss_baseline_mib": baseline / 1024,
        "rss_loaded_mib": loaded / 1024,
        "kib_per_room": (loaded - baseline) / n_rooms,
        "rss_after_unload_mib": after / 1024,
        "kib_per_room_after_unload": (after - baseline) / n_rooms,
        "edits_per_s": 2 * edits * n_rooms / edit_s,
        "delivered_percent": 100 * delivered / (2 * edits * n_rooms),
    }


async def coldload(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    updates = load_updates(args.trace, args.cold_updates)
    n, window = len(updates), 512
    room = "bench-cold"
    sub = Conn()
    await open_conn(server.url(room, "sub"), sub)
    writer = Conn()
    await open_conn(server.url(room, "writer"), writer)
    t0 = time.perf_counter()
    deadline = t0 + args.phase_timeout
    for i, update in enumerate(updates):
        if sub.updates <= i - window:
            await until(lambda i=i: sub.updates > i - window or time.perf_counter() > deadline, 600, 0)
            if time.perf_counter() > deadline:
                break
        writer.send(sync_update(update))
    await until(lambda: sub.updates >= n, max(0.1, deadline - time.perf_counter()), 0.001)
    build_s = time.perf_counter() - t0
    built = sub.updates
    warm: list[float] = []
    size = 0
    for k in range(args.cold_samples):
        client = Conn()
        warm.append(await open_conn(server.url(room, f"warm{k}"), client))
        size = client.step2_bytes
        client.close()
        await asyncio.sleep(0.05)
    result = {
        "built_updates": built,
        "build_updates_per_s": built / build_s,
        "step2_bytes": size,
        "warm_ms": 1000 * statistics.median(warm),
    }
    sub.close()
    writer.close()
    if server.kind != "plenary":
        result["cold_ms"] = math.nan  # peers run without persistence: a restart loses the document
        return result
    await asyncio.sleep(0.5)
    cold: list[float] = []
    for k in range(args.cold_restarts):
        server.restart()
        client = Conn()
        cold.append(await open_conn(server.url(room, f"cold{k}"), client, timeout=60))
        if client.step2_bytes < size // 2:
            result["cold_note"] = f"step 2 after restart has {client.step2_bytes} bytes, before {size}"
        client.close()
    result["cold_ms"] = 1000 * statistics.median(cold)
    result["cold_samples_ms"] = [round(1000 * c, 2) for c in cold]
    return result


async def presence(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    n_clients, rate, seconds = args.presence_clients, 100.0, args.presence_seconds
    n_updates = int(rate * seconds)
    frames = [sync_update(u) for u in load_updates(args.trace, n_updates)]
    send_at = [math.nan] * n_updates
    latencies: list[float] = []

    def on_update(conn: Conn, now: float) -> None:
        i = conn.updates - 1
        if i < n_updates:
            latencies.append(now - send_at[i])

    room = "bench-presence"
    clients = [Conn(on_update) for _ in range(n_clients)]
    gate = asyncio.Semaphore(32)

    async def join(k: int) -> None:
        async with gate:
            await open_conn(server.url(room, f"p{k}"), clients[k])

    await asyncio.wait_for(asyncio.gather(*(join(k) for k in range(n_clients))), args.phase_timeout)
    writer = Conn()
    await open_conn(server.url(room, "writer"), writer)
    stop = asyncio.Event()

    async def beat(k: int) -> None:
        conn = clients[k]
        client_id = 1000 + k
        clock = 0
        await asyncio.sleep(k / n_clients)  # spread the beats over the second
        while not stop.is_set():
            clock += 1
            state = json.dumps({"user": {"name": f"p{k}"}, "cursor": {"anchor": clock, "head": clock}})
            conn.send(awareness(client_id, clock, state))
            await asyncio.sleep(1.0)

    beats = [asyncio.create_task(beat(k)) for k in range(n_clients)]
    lags: list[float] = []

    async def lag() -> None:
        while not stop.is_set():
            t = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - t - 0.001)

    lagger = asyncio.create_task(lag())  # the load generator's own event-loop lag: is it the bottleneck?
    await asyncio.sleep(2)  # presence running before edits are measured
    aw0 = sum(c.awareness for c in clients)
    cpu0 = cpu_seconds()
    server_cpu0 = cpu_seconds(server.pid)
    start = time.perf_counter()
    await send_paced(writer, frames, rate, start, send_at)
    await until(lambda: all(c.updates >= n_updates for c in clients), 10, 0.01)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu0
    server_cpu = cpu_seconds(server.pid) - server_cpu0
    aw = sum(c.awareness for c in clients) - aw0
    stop.set()
    for task in beats:
        task.cancel()
    closed = sum(1 for c in clients if c.closed)
    for c in [*clients, writer]:
        c.close()
    lagger.cancel()
    return {
        "loadgen_loop_lag_p50_ms": ms(lags, 50),
        "loadgen_loop_lag_p99_ms": ms(lags, 99),
        "edit_p50_ms": ms(latencies, 50),
        "edit_p99_ms": ms(latencies, 99),
        "delivered_percent": 100 * len(latencies) / (n_clients * n_updates),
        "awareness_frames_per_s": aw / wall,
        "server_cpu_percent": 100 * server_cpu / wall,
        "loadgen_cpu_percent": 100 * cpu / wall,
        "clients_closed": closed,
    }


def two_writers(edits: int) -> list[bytes]:
    """Keystrokes of two clients (own Yjs client ids) in one text: A's ``edits``, then B's after them."""
    from pycrdt import Doc, Text

    words = "the delegation proposes to amend paragraph four of the draft resolution "
    out: list[bytes] = []
    docs = [Doc(client_id=1_000_001), Doc(client_id=1_000_002)]
    texts = [doc.get("text", type=Text) for doc in docs]
    for who in (0, 1):
        doc, text = docs[who], texts[who]
        sub = doc.observe(lambda event: out.append(event.update))
        for k in range(edits):
            text.insert(len(text) if who == 0 else k, words[k % len(words)])
        doc.unobserve(sub)
        if who == 0:
            docs[1].apply_update(docs[0].get_update())
    return out


def big_updates(count: int, size: int) -> list[bytes]:
    """``count`` updates each appending ``size`` characters to a text (pastes: few structs, many bytes)."""
    from pycrdt import Doc, Text

    doc = Doc()
    text = doc.get("text", type=Text)
    out: list[bytes] = []
    sub = doc.observe(lambda event: out.append(event.update))
    for k in range(count):
        text += (chr(97 + k % 26) * 63 + "\n") * (size // 64)
    doc.unobserve(sub)
    return out


def socket_queues(server_port: int, client_port: int) -> tuple[str | None, int]:
    """The server side's TCP state of one connection and the bytes in flight to the client on it
    (server send queue + client receive queue, from /proc/net/tcp); (None, 0) when it is gone."""
    state: str | None = None
    queued = 0
    with contextlib.suppress(OSError), open("/proc/net/tcp") as table:
        for line in table:
            parts = line.split()
            if len(parts) < 5 or ":" not in parts[1]:
                continue
            local = int(parts[1].split(":")[1], 16)
            remote = int(parts[2].split(":")[1], 16)
            tx, rx = (int(v, 16) for v in parts[4].split(":"))
            if local == server_port and remote == client_port:
                state = parts[3]
                queued += tx
            elif local == client_port and remote == server_port:
                queued += rx
    return state, queued


async def slowreader(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    rate, seconds, subs_n = 100.0, args.slow_seconds, 10
    n_updates = int(rate * seconds)
    frames = [sync_update(u) for u in big_updates(n_updates, 4 * 1024)]
    send_at = [math.nan] * n_updates
    before: list[float] = []
    after: list[float] = []
    closed_at: list[float] = []

    def on_update(conn: Conn, now: float) -> None:
        i = conn.updates - 1
        if i < n_updates:
            (after if closed_at else before).append(now - send_at[i])

    room = "bench-slow"
    subs = [Conn(on_update) for _ in range(subs_n)]
    for k, sub in enumerate(subs):
        await open_conn(server.url(room, f"s{k}"), sub)
    slow = Conn()
    await open_conn(server.url(room, "slow"), slow, rcvbuf=16 * 1024)
    assert slow.protocol is not None and slow.protocol.transport is not None
    slow_port = slow.local_port
    slow.protocol.transport.pause_reading()
    writer = Conn()
    await open_conn(server.url(room, "writer"), writer)
    cpu0 = cpu_seconds()
    server_cpu0 = cpu_seconds(server.pid)
    start = time.perf_counter()

    samples: list[tuple[float, int, str | None]] = []

    async def watch() -> None:
        # The server stops writing to a dropped client (its close frame waits behind the full
        # socket): the slow one counts as closed from the last growth of its bytes in flight.
        last_growth, most = math.nan, -1
        while True:
            state, queued = socket_queues(server.port, slow_port)
            now = time.perf_counter()
            samples.append((now, queued, state))
            if state != "01":  # no longer ESTABLISHED
                closed_at.append(now)
                return
            if queued > most:
                last_growth, most = now, queued
            elif now - last_growth > 1.0 and most > 0:
                closed_at.append(last_growth)
                return
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    await send_paced(writer, frames, rate, start, send_at)
    await until(lambda: all(c.updates >= n_updates for c in subs), 10, 0.01)
    wall = time.perf_counter() - start
    cpu = cpu_seconds() - cpu0
    server_cpu = cpu_seconds(server.pid) - server_cpu0
    watcher.cancel()
    # Read what the slow client was sent, to see how it was closed.
    slow.protocol.transport.resume_reading()
    await until(lambda: slow.closed is not None, 5, 0.01)
    latencies = before + after
    dropped = bool(slow.closed and str(CLOSE_SLOW_READER) in slow.closed)
    for c in [*subs, writer, slow]:
        c.close()
    return {
        "others_p50_ms": ms(latencies, 50),
        "others_p99_ms": ms(latencies, 99),
        "others_p99_before_close_ms": ms(before, 99),  # "close": the stall, for servers that never close
        "others_p99_after_close_ms": ms(after, 99),
        "others_delivered_percent": 100 * len(latencies) / (subs_n * n_updates),
        # Closed: the server dropped it with 4508 (its bytes stopped growing then). Without that, a
        # stall means the server buffers for it in user space (the peers do, without bound).
        "slow_closed_after_s": closed_at[0] - start if closed_at and dropped else math.nan,
        "slow_stalled_after_s": closed_at[0] - start if closed_at else math.nan,
        "slow_close": slow.closed or "open",
        "slow_close_4508": float(dropped),
        "update_bytes": len(frames[0]),
        "slow_max_in_flight_kib": max((q for _, q, _ in samples), default=0) / 1024,
        "others_p50_before_close_ms": ms(before, 50),
        "loadgen_cpu_percent": 100 * cpu / wall,
        "server_cpu_percent": 100 * server_cpu / wall,
    }


WORKLOADS = {
    "throughput": throughput,
    "rooms": rooms,
    "coldload": coldload,
    "presence": presence,
    "slowreader": slowreader,
}
#: Figures shown in the table, per workload (the JSON has everything).
SHOWN = {
    "throughput": ["updates_per_s", "p50_ms", "p99_ms", "loadgen_cpu_percent"],
    "rooms": [
        "join_p50_ms",
        "join_p99_ms",
        "joins_per_s",
        "server_cpu_ms_per_join",
        "kib_per_room",
        "rss_loaded_mib",
        "rss_after_unload_mib",
    ],
    "coldload": ["built_updates", "build_updates_per_s", "warm_ms", "cold_ms"],
    "presence": [
        "edit_p50_ms",
        "edit_p99_ms",
        "delivered_percent",
        "awareness_frames_per_s",
        "loadgen_cpu_percent",
    ],
    "slowreader": [
        "others_p50_ms",
        "others_p99_ms",
        "others_p99_before_close_ms",
        "others_p99_after_close_ms",
        "slow_closed_after_s",
        "slow_close_4508",
    ],
}
TARGETS = {
    "throughput": "updates_per_s ≥ 10,000",
    "rooms": "join p50 ≤ 10 ms, p99 ≤ 40 ms, ≤ 100 KiB/room",
    "coldload": "warm ≤ 4 ms, cold ≤ 20 ms",
    "presence": "edit p99 ≤ 10 ms",
    "slowreader": "others unaffected, slow one closed with 4508",
}


def run_workload(name: str, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    env = {"PLENARY_UNLOAD_GRACE_SECONDS": "1"} if name == "rooms" else {}
    if name == "slowreader":
        env["PLENARY_MAX_SEND_QUEUE_BYTES"] = str(512 * 1024)  # dropped within seconds
    with tempfile.TemporaryDirectory(prefix=f"plenary-{name}-") as tmp:
        server = Server(kind, Path(tmp), None if args.no_pin else args.server_cpu, env)
        try:
            result = asyncio.run(asyncio.wait_for(WORKLOADS[name](server, args), args.budget))
            result["server_alive"] = server.proc is not None and server.proc.poll() is None
        except Exception as exc:  # reported; the other runs go on
            result = {"error": f"{type(exc).__name__}: {exc}"[:300], "server_log": server.output()[-800:]}
        finally:
            server.stop()
    return result


def peers_installed() -> list[str]:
    found = []
    if (PEERS_DIR / "pycrdt-venv/bin/python").exists() and (PEERS_DIR / "pycrdt_launch.py").exists():
        found.append("pycrdt-websocket")
    if (PEERS_DIR / "node/node_modules/@y/websocket-server/src/server.js").exists() and shutil.which("node"):
        found.append("y-websocket-server")
    return found


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in {k for r in runs for k in r}:
        values = [r[key] for r in runs if key in r]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool) and v == v]
        if numbers and len(numbers) == len([v for v in values if isinstance(v, int | float)]):
            out[key] = statistics.median(numbers)
        elif all(isinstance(v, int | float) for v in values):
            out[key] = math.nan
        else:
            out[key] = values[0] if len(values) == 1 else values
    return out


def fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:
            return "–"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}"
    return str(value)


def print_table(summary: dict[str, dict[str, dict[str, Any]]], kinds: list[str]) -> None:
    peers = [k for k in kinds if k != "plenary"]
    header = ["workload", "figure", *kinds, *(f"plenary/{p}" for p in peers)]
    rows = []
    for name, by_kind in summary.items():
        keys = SHOWN[name] + (["error"] if any("error" in r for r in by_kind.values()) else [])
        for key in keys:
            row = [name, key]
            for kind in kinds:
                row.append(fmt(by_kind.get(kind, {}).get(key, math.nan)))
            for peer in peers:
                a, b = by_kind["plenary"].get(key), by_kind.get(peer, {}).get(key)
                ok = isinstance(a, int | float) and isinstance(b, int | float) and b == b and a == a and b
                row.append(f"{a / b:.2f}×" if ok else "–")
            rows.append(row)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    print()
    for name in summary:
        print(f"target {name}: {TARGETS[name]}")
    for name, by_kind in summary.items():
        for kind, result in by_kind.items():
            if "error" in result:
                print(f"{name} on {kind}: {result['error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("workloads", nargs="+", choices=sorted(WORKLOADS))
    parser.add_argument(
        "--peers", action="store_true", help="also run the installed peers (install_peers.sh)"
    )
    parser.add_argument("--json", action="store_true", help="print every figure of every run as JSON")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default 3, 1 with --quick)")
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--window", type=int, default=64, help="throughput: updates in flight (default 64)")
    parser.add_argument("--join-concurrency", type=int, default=4, help="rooms: joins in flight")
    parser.add_argument("--edit-concurrency", type=int, default=100)
    args = parser.parse_args(argv)
    quick = args.quick
    args.reps = args.reps or (1 if quick else 3)
    args.tp_updates = 10_000 if quick else 50_000
    args.tp_timeout = 30.0
    args.rooms = int(os.environ.get("BENCH_ROOMS", 200 if quick else 1000))
    args.cold_updates = 30_000 if quick else None
    args.cold_samples = 5
    args.cold_restarts = 1 if quick else 3
    args.presence_clients = 500
    args.presence_seconds = 5 if quick else 15
    args.slow_seconds = 12 if quick else 15
    args.phase_timeout = 120.0 if quick else 300.0
    args.budget = 240.0 if quick else 600.0
    if not args.no_pin:
        with contextlib.suppress(OSError, AttributeError):
            os.sched_setaffinity(0, {args.client_cpu})

    kinds = ["plenary"]
    if args.peers:
        installed = peers_installed()
        if not installed:
            print("workloads: no peers installed (run bench/install_peers.sh); Plenary only", file=sys.stderr)
        kinds += installed
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in args.workloads:
        runs[name] = {kind: [] for kind in kinds}
        for rep in range(args.reps):
            for kind in kinds:  # interleaved: plenary, peer, peer, plenary, …
                t0 = time.monotonic()
                result = run_workload(name, kind, args)
                result["wall_s"] = time.monotonic() - t0
                runs[name][kind].append(result)
                print(
                    f"workloads: {name} rep {rep + 1} {kind}: {time.monotonic() - t0:.1f} s", file=sys.stderr
                )
    summary = {name: {kind: median_of(r) for kind, r in by_kind.items()} for name, by_kind in runs.items()}
    if args.json:
        print(
            json.dumps(
                {"runs": runs, "median": summary, "quick": quick, "reps": args.reps}, indent=1, default=str
            )
        )
    else:
        mode = "quick" if quick else "full"
        print(f"issue 7 workloads ({mode} sizes, {args.reps} repetition(s), medians)")
        print_table(summary, kinds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
