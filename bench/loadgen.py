"""A y-websocket fan-out load generator: one writer, many cheap subscribers, delivery latency.

Everything is raw y-protocols bytes (frames from ``crdt/wire/protocol.py``); there is no pycrdt
on the subscriber side. Roles:

- **Subscribers** run in one or more worker processes (``loadgen.py subscribe …``, started by
  :func:`run`). Each opens a websocket to the room, answers the server's sync step 1 with an
  empty step 2 (``00 00``), and records, for every sync-update frame it receives, which trace
  update it is and when it arrived (``time.perf_counter``). Two client implementations:
  ``websockets`` (the ``websockets`` asyncio client, ``compression=None``) and ``raw`` (a
  minimal RFC 6455 client on an ``asyncio.Protocol``: HTTP upgrade, unmasked server frames
  parsed in place, pings answered). ``raw`` costs a fraction of the CPU per frame, so one core
  can follow many more subscribers before the load generator, not the server, is the limit.
- **The writer** runs in the coordinating process (``websockets`` client). Once every
  subscriber is synced it sends a few warm-up updates, waits until every subscriber has them,
  then sends the measured updates at a fixed rate, each as a sync-update message, recording each
  send time.

Identifying update *i* on arrival: the server broadcasts the change its document reported,
which for a fresh single-writer document is byte-identical to what the writer sent, so a dict
from payload bytes to index identifies it. The warm-up checks that assumption: a payload that is
not in the dict is counted as a mismatch and identified by arrival order instead (the k-th
update frame a subscriber receives is update k), so the numbers stay meaningful either way.

Latency is receive time minus send time. ``perf_counter`` is ``CLOCK_MONOTONIC`` on Linux,
one clock for every process on the machine, so the writer's and the workers' readings compare.
CPU is read from ``/proc/PID/stat`` (utime + stime) over the measured window only.

Use :mod:`fanout` (``bench/fanout.py``) to run it against fresh server processes.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import base64
import contextlib
import json
import math
import os
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from draft import seed
from traces import DEFAULT_TRACE, load_updates

from crdt.wire.protocol import EMPTY_UPDATE, encode_sync_step2, encode_sync_update

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STEP2_EMPTY_FRAME = encode_sync_step2(EMPTY_UPDATE)
TOKEN_ENV = "PLENARY_BENCH_TOKEN"
NAN = float("nan")
SELF = str(Path(__file__).resolve())


# /proc readings.


def cpu_seconds(pid: int | str = "self") -> float:
    """utime + stime of a process, in seconds (NaN if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            raw = stat.read()
    except OSError:
        return NAN
    # The command name (field 2) may contain spaces: split after its closing parenthesis.
    fields = raw[raw.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float]:
    """CPU seconds all cores spent (in processes, in interrupts) since boot, from /proc/stat.

    Process time (user, nice, system, steal) is what the per-process readings add up to; time in
    interrupts and softirqs (loopback TCP, for one) is charged to no process on most kernels.
    """
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + steal) / CLOCK_TICKS, (irq + softirq) / CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent not idle (and not waiting on I/O)."""
    return sum(machine_cpu_seconds())


def status_kib(pid: int | str, key: str) -> int | None:
    """A ``kB`` field of /proc/PID/status (VmHWM is the peak resident set)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# Frames.


def sync_update_payload(message: bytes) -> bytes | None:
    """The v1 update inside a y-protocols sync-update message (``00 02 varBytes``), else None."""
    if len(message) < 3 or message[0] != 0 or message[1] != 2:
        return None
    length = 0
    shift = 0
    offset = 2
    while True:
        byte = message[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    return message[offset : offset + length]


def is_sync_step1(message: bytes) -> bool:
    return len(message) >= 2 and message[0] == 0 and message[1] == 0


# Subscribers.


@dataclass(slots=True)
class Subscriber:
    """What one subscriber saw: arrival times by update index, and how it fared."""

    slots: int
    index_of: dict[bytes, int]
    warmup: int
    tracker: Tracker
    received: array.array = field(init=False)
    frames: int = 0
    unmatched: int = 0
    duplicates: int = 0
    out_of_range: int = 0
    have: int = 0
    synced: bool = False
    closed: str | None = None
    send_frame: Callable[[bytes], None] | None = None

    def __post_init__(self) -> None:
        self.received = array.array("d", [NAN]) * self.slots

    def on_message(self, message: bytes, now: float) -> None:
        payload = sync_update_payload(message)
        if payload is not None:
            index = self.index_of.get(payload)
            if index is None:
                # Not byte-identical: identify by arrival order.
                self.unmatched += 1
                index = self.frames
            self.frames += 1
            if index >= self.slots:
                self.out_of_range += 1
                return
            if self.received[index] == self.received[index]:  # not NaN: seen before
                self.duplicates += 1
                return
            self.received[index] = now
            self.have += 1
            if self.have == self.warmup:
                self.tracker.warm += 1
            if self.have == self.slots:
                self.tracker.done += 1
        elif is_sync_step1(message):
            if self.send_frame is not None:
                self.send_frame(STEP2_EMPTY_FRAME)
            if not self.synced:
                self.synced = True
                self.tracker.synced += 1


@dataclass(slots=True)
class Tracker:
    """How many of a worker's subscribers are synced, have the warm-up, have everything."""

    synced: int = 0
    warm: int = 0
    done: int = 0


async def run_websockets_subscriber(url: str, sub: Subscriber, ready: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    perf_counter = time.perf_counter
    try:
        async with connect(
            url, compression=None, max_size=None, ping_interval=None, open_timeout=60, close_timeout=1
        ) as ws:
            pending: set[asyncio.Task[None]] = set()

            def send(frame: bytes) -> None:
                task = asyncio.ensure_future(ws.send(frame))
                pending.add(task)
                task.add_done_callback(pending.discard)

            sub.send_frame = send
            ready.set()
            async for message in ws:
                if isinstance(message, bytes):
                    sub.on_message(message, perf_counter())
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        sub.closed = f"{type(exc).__name__}: {exc}"[:200]
    else:
        sub.closed = sub.closed or "closed"
    finally:
        ready.set()


class RawClient(asyncio.Protocol):
    """Just enough RFC 6455 for a subscriber: upgrade, read unmasked frames, answer pings and closes."""

    def __init__(self, sub: Subscriber, request: bytes, opened: asyncio.Future[None]) -> None:
        self.sub = sub
        self.request = request
        self.opened = opened
        self.transport: asyncio.Transport | None = None
        self.handshaken = False
        self.buffer = b""
        self.lost: asyncio.Future[None] = opened.get_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.sub.closed is None:
            self.sub.closed = f"connection lost: {exc}" if exc else "connection lost"
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(self.sub.closed))
        if not self.lost.done():
            self.lost.set_result(None)

    def send_frame(self, payload: bytes, opcode: int = 2) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = bytes((0x80 | opcode, 0x80 | length))
        elif length < 65536:
            header = bytes((0x80 | opcode, 0x80 | 126)) + struct.pack("!H", length)
        else:
            header = bytes((0x80 | opcode, 0x80 | 127)) + struct.pack("!Q", length)
        self.transport.write(header + mask + _apply_mask(payload, mask))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buffer = self.buffer + data if self.buffer else data
        if not self.handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buffer
                return
            status = buffer[: buffer.find(b"\r\n")]
            if b" 101 " not in status + b" ":
                self.sub.closed = f"handshake refused: {status.decode('latin-1')[:100]}"
                self._abort()
                return
            self.handshaken = True
            self.sub.send_frame = self.send_frame
            if not self.opened.done():
                self.opened.set_result(None)
            buffer = buffer[end + 4 :]
        pos = 0
        size = len(buffer)
        on_message = self.sub.on_message
        while size - pos >= 2:
            b0 = buffer[pos]
            length = buffer[pos + 1]
            if length & 0x80:
                self.sub.closed = "protocol error: masked frame from the server"
                self._abort()
                return
            header = 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buffer[pos + 2] << 8) | buffer[pos + 3]
                header = 4
            elif length == 127:
                if size - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, pos + 2)
                header = 10
            end = pos + header + length
            if end > size:
                break
            payload = buffer[pos + header : end]
            pos = end
            opcode = b0 & 0x0F
            if opcode == 2 and b0 & 0x80:
                on_message(payload, now)
            elif opcode == 9:
                self.send_frame(payload, opcode=10)
            elif opcode == 8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                self.sub.closed = f"closed by server: {code} {payload[2:].decode('utf-8', 'replace')}"
                self.send_frame(payload[:2], opcode=8)
                if self.transport is not None:
                    self.transport.close()
                return
            elif opcode in (0, 2):  # fragmented messages: not produced by the server for these sizes
                self.sub.closed = "protocol error: fragmented message"
                self._abort()
                return
        self.buffer = buffer[pos:] if pos < size else b""

    def _abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def _apply_mask(payload: bytes, mask: bytes) -> bytes:
    try:
        from websockets.speedups import apply_mask  # type: ignore[attr-defined]
    except ImportError:
        from websockets.utils import apply_mask
    return apply_mask(payload, mask)


def upgrade_request(url: str) -> tuple[str, int, bytes]:
    """Host, port and the HTTP upgrade request that opens a websocket to ``url``."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    return host, port, request


async def run_raw_subscriber(url: str, sub: Subscriber, ready: asyncio.Event) -> None:
    host, port, request = upgrade_request(url)
    loop = asyncio.get_running_loop()
    opened: asyncio.Future[None] = loop.create_future()
    protocol: RawClient | None = None
    try:
        _, protocol = await loop.create_connection(lambda: RawClient(sub, request, opened), host, port)
        await asyncio.wait_for(asyncio.shield(opened), 60)
        ready.set()
        await protocol.lost
    except asyncio.CancelledError:
        if protocol is not None and protocol.transport is not None:
            protocol.transport.abort()
        raise
    except Exception as exc:
        sub.closed = sub.closed or f"{type(exc).__name__}: {exc}"[:200]
    finally:
        ready.set()


SUBSCRIBER_CLIENTS = {"websockets": run_websockets_subscriber, "raw": run_raw_subscriber}


async def subscriber_worker(args: argparse.Namespace) -> int:
    """One worker process: ``args.count`` subscribers, driven by lines on stdin, reporting on stdout."""
    url = f"{args.url}?token={os.environ[TOKEN_ENV]}"
    slots = args.warmup + args.measure
    updates = load_updates(args.trace, slots)
    index_of = {update: i for i, update in enumerate(updates)}
    if len(index_of) != len(updates):
        print("loadgen: the trace has duplicate updates; matching falls back to order", file=sys.stderr)
    tracker = Tracker()
    subs = [Subscriber(slots, index_of, args.warmup, tracker) for _ in range(args.count)]
    client = SUBSCRIBER_CLIENTS[args.client]
    gate = asyncio.Semaphore(args.connect_concurrency)

    async def one(sub: Subscriber) -> None:
        ready = asyncio.Event()
        async with gate:
            task = asyncio.create_task(client(url, sub, ready))
            await ready.wait()
        await task

    def emit(event: str, **data: Any) -> None:
        sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
        sys.stdout.flush()

    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    stop = asyncio.Event()

    async def commands() -> None:
        while True:
            line = await stdin.readline()
            if not line or line.strip() == b"stop":
                stop.set()
                return

    tasks = [asyncio.create_task(one(sub)) for sub in subs]
    listener = asyncio.create_task(commands())

    def alive() -> int:
        return sum(1 for sub in subs if sub.closed is None)

    sent: set[str] = set()
    deadline = loop.time() + args.connect_timeout
    while not stop.is_set():
        live = alive()
        if "ready" not in sent:
            if all(sub.synced or sub.closed is not None for sub in subs) or loop.time() > deadline:
                sent.add("ready")
                emit("ready", synced=tracker.synced, failed=args.count - live, errors=_errors(subs))
        elif "warm" not in sent and tracker.warm >= live:
            sent.add("warm")
            emit("warm", warm=tracker.warm, unmatched=sum(sub.unmatched for sub in subs))
        elif "warm" in sent and "done" not in sent and tracker.done >= live:
            sent.add("done")
            emit("done", done=tracker.done)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.005)

    listener.cancel()
    with open(args.results, "wb") as out:
        for sub in subs:
            out.write(sub.received.tobytes())
    emit(
        "result",
        subscribers=len(subs),
        alive=alive(),
        unmatched=sum(sub.unmatched for sub in subs),
        duplicates=sum(sub.duplicates for sub in subs),
        out_of_range=sum(sub.out_of_range for sub in subs),
        errors=_errors(subs),
    )
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return 0


def _errors(subs: list[Subscriber]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for sub in subs:
        if sub.closed is not None:
            counts[sub.closed] = counts.get(sub.closed, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1])[:5])


# The coordinator and writer.


@dataclass
class LoadConfig:
    url: str  #: ws://host:port/ws/ROOM (no query)
    subscriber_token: str
    writer_token: str
    subscribers: int
    rate: float = 100.0
    updates: int = 2000
    warmup: int = 50
    trace: Path = DEFAULT_TRACE
    client: str = "raw"
    processes: int = 1
    connect_concurrency: int = 64
    connect_timeout: float = 60.0
    warmup_timeout: float = 30.0
    drain_timeout: float = 10.0
    #: Other processes whose CPU to read over the measured window (e.g. {"server": pid}).
    watch: dict[str, int] = field(default_factory=dict)
    #: Called with the window's start (True) and end (False), e.g. to start a profiler.
    on_window: Callable[[bool], None] | None = None
    workdir: Path = field(default_factory=lambda: Path("/tmp"))
    #: Subscribers spread over these servers (one worker process each) instead of ``url``'s.
    subscriber_urls: list[str] | None = None
    #: Write the benchmark draft's paragraph (``draft.seed``) before anyone connects: the trace's updates
    #: type into it. False when the room has it already.
    seed: bool = True


class LoadError(RuntimeError):
    pass


class Worker:
    def __init__(self, proc: asyncio.subprocess.Process, count: int, results: Path) -> None:
        self.proc = proc
        self.count = count
        self.results = results
        self.events: dict[str, dict[str, Any]] = {}
        self.changed = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                self.events.setdefault("exit", {})
                self.changed.set()
                return
            with contextlib.suppress(ValueError):
                event = json.loads(line)
                self.events[event["event"]] = event
                self.changed.set()

    def send(self, command: str) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.write(command.encode() + b"\n")


async def _wait_all(workers: list[Worker], event: str, timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if all(event in w.events for w in workers):
            return True
        if any("exit" in w.events for w in workers):
            return False
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        for w in workers:
            w.changed.clear()
        waits = [asyncio.create_task(w.changed.wait()) for w in workers]
        await asyncio.wait(waits, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        for wait in waits:
            wait.cancel()


async def run(config: LoadConfig) -> dict[str, Any]:
    """Run one load: subscribers in worker processes, the writer here. Returns the measurements."""
    from websockets.asyncio.client import connect

    slots = config.warmup + config.updates
    updates = load_updates(config.trace, slots)
    if len(updates) < slots:
        raise LoadError(f"the trace has only {len(updates)} updates; {slots} needed")
    frames = [encode_sync_update(update) for update in updates]
    processes = max(1, min(config.processes, config.subscribers))
    if config.subscriber_urls:
        processes = len(config.subscriber_urls)
    shares = [
        config.subscribers // processes + (i < config.subscribers % processes) for i in range(processes)
    ]
    workers: list[Worker] = []
    result: dict[str, Any] = {"subscribers": config.subscribers, "rate": config.rate, "client": config.client}
    if config.seed:
        await seed(f"{config.url}?token={config.writer_token}")
    env = {**os.environ, TOKEN_ENV: config.subscriber_token}
    try:
        for i, count in enumerate(shares):
            results = config.workdir / f"subscribers-{os.getpid()}-{i}.bin"
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                SELF,
                "subscribe",
                "--url",
                config.subscriber_urls[i] if config.subscriber_urls else config.url,
                "--count",
                str(count),
                "--warmup",
                str(config.warmup),
                "--measure",
                str(config.updates),
                "--trace",
                str(config.trace),
                "--client",
                config.client,
                "--results",
                str(results),
                "--connect-concurrency",
                str(config.connect_concurrency),
                "--connect-timeout",
                str(config.connect_timeout),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            workers.append(Worker(proc, count, results))
        if not await _wait_all(workers, "ready", config.connect_timeout + 30):
            raise LoadError(f"subscribers did not connect: {[w.events for w in workers]}")
        synced = sum(w.events["ready"]["synced"] for w in workers)
        result["synced"] = synced
        if synced < config.subscribers:
            errors = [w.events["ready"]["errors"] for w in workers]
            print(
                f"loadgen: only {synced}/{config.subscribers} subscribers synced: {errors}", file=sys.stderr
            )

        async with connect(
            f"{config.url}?token={config.writer_token}",
            compression=None,
            max_size=None,
            ping_interval=None,
            open_timeout=30,
            close_timeout=2,
        ) as writer:
            step1 = await asyncio.wait_for(writer.recv(), 30)
            if not (isinstance(step1, bytes) and is_sync_step1(step1)):
                raise LoadError(f"the writer expected sync step 1 first, got {step1!r}")
            await writer.send(STEP2_EMPTY_FRAME)
            drain = asyncio.create_task(_drain(writer))

            # Warm-up: connections, the room's log and the subscribers' paths all exercised once.
            await _send_paced(writer, frames[: config.warmup], config.rate)
            warm = await _wait_all(workers, "warm", config.warmup_timeout)
            unmatched = sum(w.events.get("warm", {}).get("unmatched", 0) for w in workers)
            result["warm"] = warm
            result["identification"] = "payload bytes" if unmatched == 0 else "arrival order (fallback)"
            if unmatched:
                print(
                    f"loadgen: {unmatched} broadcast payloads differ from what was sent; "
                    "identifying updates by arrival order",
                    file=sys.stderr,
                )
            if not warm:
                print("loadgen: warm-up not delivered to every subscriber in time", file=sys.stderr)

            pids: dict[str, int] = {"loadgen": os.getpid()}
            pids.update({f"worker{i}": w.proc.pid for i, w in enumerate(workers)})
            pids.update(config.watch)
            cpu_start = {name: cpu_seconds(pid) for name, pid in pids.items()}
            machine_start = machine_cpu_seconds()
            if config.on_window is not None:
                config.on_window(True)
            wall_start = time.perf_counter()
            send_times = await _send_paced(writer, frames[config.warmup :], config.rate)
            sent_end = time.perf_counter()
            complete = await _wait_all(workers, "done", config.drain_timeout)
            wall_end = time.perf_counter()
            cpu_end = {name: cpu_seconds(pid) for name, pid in pids.items()}
            machine_end = machine_cpu_seconds()
            if config.on_window is not None:
                config.on_window(False)
            drain.cancel()
        for w in workers:
            w.send("stop")
        if not await _wait_all(workers, "result", 60):
            raise LoadError("subscriber workers did not report their results")
    finally:
        for w in workers:
            if w.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    w.proc.kill()
                await w.proc.wait()
            w.reader.cancel()

    wall = wall_end - wall_start
    cpu = {name: cpu_end[name] - cpu_start[name] for name in pids}
    result.update(
        complete=complete,
        window_s=wall,
        send_s=sent_end - wall_start,
        achieved_rate=config.updates / (sent_end - wall_start) if sent_end > wall_start else math.nan,
        cpu_s=cpu,
        unmatched=sum(w.events["result"]["unmatched"] for w in workers),
        duplicates=sum(w.events["result"]["duplicates"] for w in workers),
        disconnected=sum(w.events["result"]["subscribers"] - w.events["result"]["alive"] for w in workers),
        errors=[w.events["result"]["errors"] for w in workers if w.events["result"]["errors"]],
    )
    loadgen_cpu = sum(v for name, v in cpu.items() if name == "loadgen" or name.startswith("worker"))
    result["loadgen_cpu_percent"] = 100 * loadgen_cpu / wall
    result["loadgen_writer_cpu_percent"] = 100 * cpu["loadgen"] / wall
    # Everything else the machine ran meanwhile (other processes, the kernel's share not charged
    # to ours): more than a few percent means the numbers are disturbed.
    ours = sum(v for v in cpu.values() if v == v)
    in_processes = machine_end[0] - machine_start[0]
    result["other_cpu_percent"] = 100 * max(0.0, in_processes - ours) / wall
    result["interrupt_cpu_percent"] = 100 * (machine_end[1] - machine_start[1]) / wall

    latencies: list[float] = []
    expected = config.subscribers * config.updates
    first = config.warmup
    # Per measured update: the sum and count of its latencies, to see whether slow deliveries
    # cluster on some updates (a stall of the server) or spread evenly (steady queueing).
    per_update_sum = [0.0] * config.updates
    per_update_count = [0] * config.updates
    by_worker: list[dict[str, float]] = []
    for w in workers:
        data = array.array("d")
        data.frombytes(w.results.read_bytes())
        w.results.unlink(missing_ok=True)
        mine: list[float] = []
        for sub in range(w.count):
            row = data[sub * slots + first : (sub + 1) * slots]
            for i, (r, s) in enumerate(zip(row, send_times, strict=True)):
                if r == r:
                    latency = r - s
                    mine.append(latency)
                    per_update_sum[i] += latency
                    per_update_count[i] += 1
        mine.sort()
        latencies.extend(mine)
        by_worker.append(
            {
                "delivered_percent": 100 * len(mine) / (w.count * config.updates) if w.count else math.nan,
                **{name: 1000 * percentile(mine, q) for name, q in (("p50", 50), ("p99", 99))},
            }
        )
    result["latency_ms_by_worker"] = by_worker
    means = sorted(
        (
            (total / count, i)
            for i, (total, count) in enumerate(zip(per_update_sum, per_update_count, strict=True))
            if count
        ),
        reverse=True,
    )
    result["slowest_updates"] = [
        {"update": i, "mean_ms": round(1000 * mean, 2), "sent_at_s": round(send_times[i] - wall_start, 3)}
        for mean, i in means[:8]
    ]
    # Mean delivery latency of the updates sent in each second of the window, to see stalls.
    buckets: dict[int, list[float]] = {}
    for mean, i in means:
        buckets.setdefault(int(send_times[i] - wall_start), []).append(mean)
    result["mean_ms_by_second"] = [
        round(1000 * sum(values) / len(values), 2) for _, values in sorted(buckets.items())
    ]
    result["per_update_mean_ms"] = {
        name: 1000 * percentile(sorted(m for m, _ in means), q) for name, q in (("p50", 50), ("p99", 99))
    }
    latencies.sort()
    result["delivered"] = len(latencies)
    result["expected"] = expected
    result["delivered_percent"] = 100 * len(latencies) / expected if expected else math.nan
    result["latency_ms"] = {
        name: 1000 * percentile(latencies, q) for name, q in (("p50", 50), ("p95", 95), ("p99", 99))
    }
    result["latency_ms"]["max"] = 1000 * latencies[-1] if latencies else math.nan
    return result


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (NaN when empty)."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def _send_paced(writer: Any, frames: list[bytes], rate: float) -> list[float]:
    """Send ``frames`` at ``rate`` per second on a fixed schedule (no drift); return the send times."""
    times: list[float] = []
    interval = 1.0 / rate
    start = time.perf_counter()
    perf_counter = time.perf_counter
    for k, frame in enumerate(frames):
        delay = start + k * interval - perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        times.append(perf_counter())
        await writer.send(frame)
    return times


async def _drain(ws: Any) -> None:
    """Keep reading the writer's socket (keepalives; the server never echoes our own updates)."""
    with contextlib.suppress(Exception):
        async for _ in ws:
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Subscriber worker of the fan-out load generator.")
    commands = parser.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("subscribe", help="run subscribers (started by bench/fanout.py)")
    sub.add_argument("--url", required=True, help="ws://host:port/ws/ROOM; the token comes from " + TOKEN_ENV)
    sub.add_argument("--count", type=int, required=True)
    sub.add_argument("--warmup", type=int, required=True)
    sub.add_argument("--measure", type=int, required=True)
    sub.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    sub.add_argument("--client", choices=sorted(SUBSCRIBER_CLIENTS), default="raw")
    sub.add_argument("--results", type=Path, required=True)
    sub.add_argument("--connect-concurrency", type=int, default=64)
    sub.add_argument("--connect-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    return asyncio.run(subscriber_worker(args))


if __name__ == "__main__":
    raise SystemExit(main())
