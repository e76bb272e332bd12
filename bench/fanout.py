"""Fan-out benchmark: one writer replaying a real editing trace, N subscribers, a fresh server per N.

Run: ``.venv/bin/python bench/fanout.py --subscribers 50 200 500 --rate 100 --updates 2000``
(see bench/README.md for the columns). Each N gets a fresh ``plenary serve`` process on a free
port with a SQLite database in a temporary directory, pinned to ``--server-cpu`` with taskset;
this process and its subscriber workers are pinned to ``--client-cpu``.
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
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from loadgen import LoadConfig, machine_busy_seconds, run, status_kib
from traces import DEFAULT_TRACE, load_updates

ROOT = Path(__file__).resolve().parent.parent
ROOM = "bench-fanout"
#: Other processes' CPU (% of one core) over the window above which a run counts as disturbed.
DISTURBED_PERCENT = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A fresh ``plenary serve`` process: SQLite in a temp dir, limits raised so nothing throttles."""

    def __init__(
        self,
        workdir: Path,
        secret: str,
        cpu: int | None,
        profile: str | None,
        root: Path = ROOT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.log_path = workdir / f"server-{self.port}.log"
        env = {
            **os.environ,
            "PLENARY_SECRET": secret,
            "PLENARY_DATABASE_URL": f"sqlite:///{workdir / 'plenary.sqlite3'}",
            "PLENARY_HOST": "127.0.0.1",
            "PLENARY_PORT": str(self.port),
            "PLENARY_MAX_MESSAGES_PER_SECOND": "1000000",
            "PLENARY_MESSAGE_BURST": "1000000",
            "PLENARY_MAX_CONNECTIONS_PER_ROOM": "100000",
            "PLENARY_MAX_SEND_QUEUE_BYTES": str(256 * 1024 * 1024),
            "PLENARY_STALL_LOG_MS": os.environ.get("PLENARY_STALL_LOG_MS", "20"),
            # Ahead of the editable install: serve the code under ``root``.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
            **(env or {}),
        }
        command = [sys.executable]
        if profile == "cprofile":
            command += ["-m", "cProfile", "-o", str(workdir / "server.cprofile")]
        command += ["-m", "server.cli", "serve", "--log-level", "warning"]
        if cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(cpu), *command]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.output()}")
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{self.port}/healthz"
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.output()}")

    @property
    def pid(self) -> int:
        return self.proc.pid  # taskset execs the server, so this is the server itself

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


class PySpy:
    """py-spy record on the server for the measured window (if py-spy is installed)."""

    def __init__(self, pid: int, out: Path, seconds: float) -> None:
        self.pid = pid
        self.out = out
        self.seconds = seconds
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def executable() -> str | None:
        local = Path(sys.executable).parent / "py-spy"
        return str(local) if local.exists() else shutil.which("py-spy")

    def __call__(self, start: bool) -> None:
        exe = self.executable()
        if exe is None:
            return
        if start:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.proc = subprocess.Popen(
                [
                    *(exe, "record", "--pid", str(self.pid), "--rate", "200", "--nonblocking"),
                    *("--format", "raw", "--output", str(self.out)),
                    *("--duration", str(math.ceil(self.seconds))),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        elif self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            if self.out.exists():
                summary = self.out.with_suffix(".summary.txt")
                summary.write_text(summarize_pyspy(self.out))
                print(f"fanout: py-spy profile of the server: {self.out}, summary {summary}", file=sys.stderr)
            else:
                print("fanout: py-spy wrote nothing (is ptrace allowed?)", file=sys.stderr)


def summarize_pyspy(raw: Path, top: int = 25) -> str:
    """Self and inclusive shares per function from py-spy's collapsed stacks."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_function(frame) for frame in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + count
    lines = [f"{total} samples (active only)", "", "self %   function"]
    for name, count in sorted(own.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * count / total:6.1f}   {name}")
    lines += ["", "incl %   function"]
    for name, count in sorted(inclusive.items(), key=lambda item: -item[1])[:top]:
        lines.append(f"{100 * count / total:6.1f}   {name}")
    return "\n".join(lines) + "\n"


def _function(frame: str) -> str:
    # "name (path/to/file.py:123)" -> "name (file.py)": lines would split one function in many.
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    parts = Path(file).parts
    short = "/".join(parts[-2:]) if parts else file
    return f"{name} ({short})"


def tokens(secret: str) -> tuple[str, str]:
    from server.identity import Participant, TokenIssuer

    issuer = TokenIssuer(secret)

    def issue(user: str) -> str:
        participant = Participant(
            id=user, name=user, delegation="Benchmark", group="technical_academic", roles={"*": "delegate"}
        )
        return issuer.issue(participant, timedelta(hours=2))

    return issue("bench-subscriber"), issue("bench-writer")


def wait_quiet(limit: float, threshold: float = 0.15) -> float | None:
    """Wait (at most ``limit`` s) until the machine is idle, i.e. under ``threshold`` cores busy
    for two consecutive seconds; other people's test runs would otherwise distort the numbers.
    Returns the seconds waited, or None if it never got quiet."""
    start = time.monotonic()
    quiet = 0
    while time.monotonic() - start < limit:
        before = machine_busy_seconds()
        time.sleep(1)
        quiet = quiet + 1 if machine_busy_seconds() - before < threshold else 0
        if quiet >= 2:
            return time.monotonic() - start
    return None


def run_one(n: int, args: argparse.Namespace) -> dict[str, Any]:
    secret = secrets.token_urlsafe(48)
    with tempfile.TemporaryDirectory(prefix=f"plenary-fanout-{n}-") as tmp:
        workdir = Path(tmp)
        profile = "cprofile" if args.profile == "cprofile" and n == max(args.subscribers) else None
        server = Server(workdir, secret, args.server_cpu, profile, args.server_root)
        try:
            sub_token, writer_token = tokens(secret)
            spy = None
            if args.profile == "py-spy" and n == max(args.subscribers):
                window = args.updates / args.rate + args.drain_timeout
                spy = PySpy(server.pid, args.profile_dir / f"server-n{n}.pyspy.txt", window)
            config = LoadConfig(
                url=f"ws://127.0.0.1:{server.port}/ws/{ROOM}",
                subscriber_token=sub_token,
                writer_token=writer_token,
                subscribers=n,
                rate=args.rate,
                updates=args.updates,
                warmup=args.warmup,
                trace=args.trace,
                client=args.client,
                processes=args.processes,
                drain_timeout=args.drain_timeout,
                watch={"server": server.pid},
                on_window=spy,
                workdir=workdir,
            )
            budget = 120 + n * 0.2 + (args.warmup + args.updates) / args.rate + args.drain_timeout
            result = asyncio.run(asyncio.wait_for(run(config), budget))
            wall = result["window_s"]
            server_cpu = result["cpu_s"]["server"]
            result["server_cpu_percent"] = 100 * server_cpu / wall
            delivered = result["delivered"]
            result["server_cpu_us_per_message"] = 1e6 * server_cpu / delivered if delivered else math.nan
            result["server_peak_rss_mib"] = (status_kib(server.pid, "VmHWM") or 0) / 1024
            result["server_alive"] = server.proc.poll() is None
            if not result["server_alive"]:
                print(f"fanout: the server died:\n{server.output()}", file=sys.stderr)
        finally:
            server.stop()
            if args.profile == "cprofile" and n == max(args.subscribers):
                report_cprofile(workdir / "server.cprofile", args.profile_dir / f"server-n{n}.cprofile.txt")
        log = server.output().strip()
        if log:
            result["server_log_tail"] = log[-1000:]
        try:
            lines = server.log_path.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        # The server's stall watch (PLENARY_STALL_LOG_MS): what held the loop or a commit, if anything.
        result["stalls"] = [line[line.index("stall: ") :][:160] for line in lines if "stall: " in line]
    return result


def report_cprofile(stats_path: Path, out: Path) -> None:
    import io
    import pstats

    if not stats_path.exists():
        print("fanout: no cProfile output (the server did not exit cleanly)", file=sys.stderr)
        return
    buffer = io.StringIO()
    stats = pstats.Stats(str(stats_path), stream=buffer)
    stats.sort_stats("tottime").print_stats(40)
    stats.sort_stats("cumulative").print_stats(40)
    out.write_text(buffer.getvalue())
    print(f"fanout: cProfile of the server written to {out}", file=sys.stderr)


COLUMNS = [
    ("N", "subscribers", "{:d}"),
    ("rep", "rep", "{:d}"),
    ("p50 ms", "p50", "{:.2f}"),
    ("p95 ms", "p95", "{:.2f}"),
    ("p99 ms", "p99", "{:.2f}"),
    ("delivered %", "delivered_percent", "{:.2f}"),
    ("server CPU %", "server_cpu_percent", "{:.1f}"),
    ("srv µs/msg", "server_cpu_us_per_message", "{:.1f}"),
    ("srv peak RSS MiB", "server_peak_rss_mib", "{:.1f}"),
    ("loadgen CPU %", "loadgen_cpu_percent", "{:.1f}"),
    ("other CPU %", "other_cpu_percent", "{:.1f}"),
    ("max ms", "max", "{:.1f}"),
    ("stalls logged", "stall_count", "{:d}"),
]


def row_values(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, **result.get("latency_ms", {}), "stall_count": len(result.get("stalls", []))}


def print_table(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"fan-out: rate {args.rate:g} updates/s, {args.updates} measured updates (+{args.warmup} warm-up), "
        f"subscriber client {args.client}, {args.processes} subscriber process(es)"
    )
    header = [title for title, _, _ in COLUMNS]
    rows = []
    for result in results:
        values = row_values(result)
        rows.append([fmt.format(values[key]) for _, key, fmt in COLUMNS])
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for r in rows:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)))
    for result in results:
        notes = []
        if result.get("identification") != "payload bytes":
            notes.append(f"updates identified by {result.get('identification')}")
        if not result.get("complete"):
            notes.append("not every subscriber got every update within the drain timeout")
        if result.get("disconnected"):
            notes.append(f"{result['disconnected']} subscribers disconnected: {result.get('errors')}")
        if result.get("synced", result["subscribers"]) < result["subscribers"]:
            notes.append(f"only {result['synced']} subscribers synced")
        if abs(result["achieved_rate"] - args.rate) > 0.02 * args.rate:
            notes.append(f"writer achieved {result['achieved_rate']:.1f} updates/s")
        if result["loadgen_cpu_percent"] > 70:
            notes.append("load generator above 70% of its core: it may be the limit")
        if result["other_cpu_percent"] > DISTURBED_PERCENT:
            notes.append("other processes used the CPU meanwhile: numbers disturbed")
        if not result.get("server_alive", True):
            notes.append("server died")
        for stall in result.get("stalls", [])[:5]:
            notes.append(f"server logged: {stall}")
        if notes:
            print(f"  N={result['subscribers']} rep {result['rep']}: " + "; ".join(notes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[50, 200, 500], metavar="N")
    parser.add_argument("--rate", type=float, default=100.0, help="updates per second (default 100)")
    parser.add_argument("--updates", type=int, default=2000, help="measured updates (default 2000)")
    parser.add_argument("--warmup", type=int, default=50, help="warm-up updates, not measured (default 50)")
    parser.add_argument("--trace", type=Path, default=DEFAULT_TRACE)
    parser.add_argument("--server-cpu", type=int, default=0, help="core for the server (default 0)")
    parser.add_argument("--client-cpu", type=int, default=1, help="core for the load generator (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin anything to cores")
    parser.add_argument(
        "--client",
        choices=["raw", "websockets"],
        default="raw",
        help="subscriber websocket client: raw (cheap, default) or the websockets asyncio client",
    )
    parser.add_argument("--processes", type=int, default=1, help="subscriber worker processes (default 1)")
    parser.add_argument(
        "--drain-timeout", type=float, default=10.0, help="seconds to wait after the last send"
    )
    parser.add_argument(
        "--profile",
        choices=["py-spy", "cprofile"],
        help="profile the server at the largest N (py-spy record, or the server run under cProfile)",
    )
    parser.add_argument("--profile-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--server-root",
        type=Path,
        default=ROOT,
        help="directory whose server/ and crdt/ packages to serve (default: this checkout); "
        "e.g. a `git archive HEAD` export while the working tree is mid-edit",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each N, wait up to SECONDS for the machine to be idle (shared machines)",
    )
    parser.add_argument(
        "--retry-disturbed",
        type=int,
        default=0,
        metavar="K",
        help=f"run an N again (up to K times) when other processes used over {DISTURBED_PERCENT:g}%% "
        "of a core during its window",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--reps", type=int, default=1, help="repetitions of every N, interleaved, one row each (default 1)"
    )
    args = parser.parse_args(argv)
    args.server_root = args.server_root.resolve()
    sys.path.insert(1, str(args.server_root))  # tokens from the same code as the server
    if args.rate <= 0 or args.updates <= 0 or args.warmup <= 0:
        parser.error("--rate, --updates and --warmup must be positive")

    if args.no_pin:
        args.server_cpu = None
    else:
        cpus = os.sched_getaffinity(0)
        if len(cpus) < 2 or args.server_cpu not in cpus or args.client_cpu not in cpus:
            print(
                f"fanout: cannot pin to cores {args.server_cpu}/{args.client_cpu}; not pinning",
                file=sys.stderr,
            )
            args.server_cpu = None
        else:
            os.sched_setaffinity(0, {args.client_cpu})  # inherited by the subscriber workers
    load_updates(args.trace, args.warmup + args.updates)  # fill the cache before anything is timed

    results = []
    for n, rep in [(n, rep) for rep in range(1, args.reps + 1) for n in args.subscribers]:
        if args.wait_quiet:
            waited = wait_quiet(args.wait_quiet)
            if waited is None:
                print(
                    f"fanout: the machine stayed busy for {args.wait_quiet:g} s; running anyway",
                    file=sys.stderr,
                )
        for attempt in range(1 + args.retry_disturbed):
            if attempt and args.wait_quiet:
                wait_quiet(args.wait_quiet)
            start = time.monotonic()
            result = run_one(n, args)
            result["run_s"] = time.monotonic() - start
            result["attempt"] = attempt + 1
            result["rep"] = rep
            if result["other_cpu_percent"] <= DISTURBED_PERCENT:
                break
            print(
                f"fanout: N={n} disturbed by other processes ({result['other_cpu_percent']:.0f}% of a core)",
                file=sys.stderr,
            )
        results.append(result)
        if not args.json:
            print(
                f"  N={n}: p50 {result['latency_ms']['p50']:.2f} ms, "
                f"delivered {result['delivered_percent']:.2f}%, "
                f"server CPU {result['server_cpu_percent']:.1f}% ({result['run_s']:.0f} s)",
                file=sys.stderr,
            )
    if args.json:
        print(json.dumps({"config": _config(args), "results": results}, indent=2, default=str))
    else:
        print_table(results, args)
    return 0


def _config(args: argparse.Namespace) -> dict[str, Any]:
    return {
        key: (str(value) if isinstance(value, Path) else value)
        for key, value in vars(args).items()
        if key not in ("json",)
    }


if __name__ == "__main__":
    raise SystemExit(main())
