"""Shared fixtures: real server processes, tokens, real JS Yjs peers, real databases.

Nothing here is mocked. A PostgreSQL or Node test is skipped when its service is
missing, unless PLENARY_REQUIRE_SERVICES=1 (as in CI), where that is a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.identity import Participant, TokenIssuer

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "tests" / "js"
#: A fixed, test-only secret: tokens in test output are useless elsewhere.
TEST_SECRET = "plenary-test-secret-not-for-production-0123456789"
#: Shows the figures in /healthz and serves /metrics (server/sync/metrics.py).
METRICS_TOKEN = "plenary-test-metrics-token"
POSTGRES_URL = os.environ.get("PLENARY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("PLENARY_REQUIRE_SERVICES") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip (or, when services are required, fail) unless ``condition`` holds."""
    if condition:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PLENARY_REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(reason)


def _ephemeral_ports() -> tuple[int, int]:
    """The range the kernel takes outgoing connections' local ports from."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port nobody listens on now, for a test server.

    Taken below the kernel's ephemeral range: a port bound to 0 comes from that range, where every outgoing
    connection (hundreds at once in the socket tests on the other worker) takes its local port, so one
    could take ours between this check and the server's bind. Under pytest-xdist a worker takes only ports
    equal to its number modulo the number of workers, so two workers never pick the same one."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or "0")
    low, high = 10000, _ephemeral_ports()[0] - 1
    if high - low < 1000:  # an unusual range: fall back to the kernel's choice
        low, high = _ephemeral_ports()[1] + 1, 65535
    for _ in range(10_000):
        port = random.randrange(low, high + 1)
        if port % workers != worker % workers:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for a test server")


class PortTaken(RuntimeError):
    """The server could not bind its port: something else took it between free_port() and the bind."""


def plenary_command(
    *args: str, env: dict[str, str | None] | None = None, cwd: Path = ROOT, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the ``plenary`` CLI (``python -m server.cli``) as a user would; output as text.
    ``env`` is added to this process's environment (a None value unsets the variable)."""
    environment = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=cwd,
        env={key: value for key, value in environment.items() if value is not None},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# Tokens.


@dataclass
class Tokens:
    issuer: TokenIssuer = field(default_factory=lambda: TokenIssuer(TEST_SECRET))

    def __call__(
        self,
        role: str = "delegate",
        *,
        user: str | None = None,
        name: str | None = None,
        delegation: str = "Switzerland",
        group: str = "government",
        draft: str = "*",
        ttl: timedelta = timedelta(hours=1),
    ) -> str:
        user = user or f"{role}-{secrets.token_hex(3)}"
        participant = Participant(
            id=user, name=name or user, delegation=delegation, group=group, roles={draft: role}
        )
        return self.issuer.issue(participant, ttl)


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


# Databases.


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    need(postgres_available(), "PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"plenary_test_{secrets.token_hex(6)}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'plenary.sqlite3'}"
    else:
        with postgres_database() as url:
            yield url


# Server processes.

_HEALTH_CLIENT = httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


@dataclass
class ServerProcess:
    """A real ``plenary serve`` process on a free port."""

    database_url: str
    workdir: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    served: bool = False

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        for attempt in range(3):
            self.launch()
            try:
                self.wait_healthy()
                return
            except PortTaken:
                # An outgoing connection may take a free port before the server binds it: a first
                # start moves to another port (a restart keeps its port, which clients reconnect to).
                if self.served or attempt == 2:
                    raise
                self.stop()
                self.port = free_port()

    def launch(self) -> None:
        """Start the process without waiting for it (see :meth:`wait_healthy`): several servers
        come up side by side."""
        env = {
            **os.environ,
            "PLENARY_SECRET": TEST_SECRET,
            "PLENARY_METRICS_TOKEN": METRICS_TOKEN,
            "PLENARY_DATABASE_URL": self.database_url,
            "PLENARY_PORT": str(self.port),
            "PLENARY_HOST": "127.0.0.1",
            **self.env_extra,
        }
        self.log_path = self.workdir / f"server-{self.port}-{time.time_ns()}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "serve",
                "--log-level",
                os.environ.get("PLENARY_TEST_LOG_LEVEL", "warning"),
            ],
            cwd=self.workdir,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_healthy(self) -> None:
        assert self.proc is not None, "launch() first"
        deadline = time.monotonic() + 60  # a loaded 2-core CI machine runs two test workers
        # One client for the whole wait: httpx.get() makes a client (and its TLS context) per call,
        # 25 ms of CPU, as much in a start-up's polling as the server's own start.
        with httpx.Client(timeout=1) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    output = self.output()
                    taken = "address already in use" in output.lower()
                    raise (PortTaken if taken else RuntimeError)(
                        f"server exited with {self.proc.returncode}:\n{output}"
                    )
                try:
                    if client.get(f"{self.http}/healthz").status_code == 200:
                        self.served = True
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(f"server did not become healthy:\n{self.output()}")

    def health(self) -> dict[str, Any]:
        """``/healthz`` with its figures (rooms, connections, log, broker), through a client kept for the
        purpose (cheap to poll; no kept-alive connections, so a restarted server is asked afresh)."""
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        return _HEALTH_CLIENT.get(f"{self.http}/healthz", headers=headers).json()  # type: ignore[no-any-return]

    def metrics(self) -> str:
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        response = _HEALTH_CLIENT.get(f"{self.http}/metrics", headers=headers)
        response.raise_for_status()
        return response.text

    def create_draft(self, draft: str, *paragraphs: str) -> None:
        """Create ``draft`` as a chair would over REST: only drafts (and their rooms) may be opened."""
        token = Tokens()("chair", user="test-chair", name="Test Chair")
        body = {
            "id": draft,
            "title": draft,
            "paragraphs": [{"id": f"p{n}", "text": text} for n, text in enumerate(paragraphs, 1)],
        }
        response = httpx.post(
            f"{self.http}/api/drafts", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert response.status_code == 201, response.text

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        self._log.close()
        return code

    def restart(self) -> None:
        self.stop()
        self.start()

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def make(database_url: str | None = None, **env: str) -> ServerProcess:
        url = database_url or f"sqlite:///{tmp_path / 'plenary.sqlite3'}"
        server = ServerProcess(url, tmp_path, {k.upper(): v for k, v in env.items()})
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess]) -> ServerProcess:
    """A server on a fresh SQLite file."""
    return server_factory()


# JS peers.


def node_available() -> bool:
    return shutil.which("node") is not None and (JS_DIR / "node_modules" / "y-websocket").is_dir()


class JsPeer:
    """An unmodified y-websocket client in a Node process, driven line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, ws_base: str, room: str, token: str | None) -> JsPeer:
        args = [str(JS_DIR / "peer.mjs"), ws_base, room] + ([token] if token else [])
        proc = await asyncio.create_subprocess_exec(
            "node", *args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=JS_DIR
        )
        return cls(proc)

    async def call(self, op: str, timeout: float = 15, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"op": op, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        reply = json.loads(line)
        if "error" in reply:
            raise AssertionError(f"JS peer {op}: {reply['error']}")
        return reply

    async def text(self) -> str:
        return (await self.call("text"))["text"]

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                await self.call("quit", timeout=2)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def js_peers() -> AsyncIterator[Callable[..., Any]]:
    need(node_available(), "Node.js with tests/js/node_modules is needed (run the README's test command)")
    peers: list[JsPeer] = []

    async def start(ws_base: str, room: str, token: str | None = None) -> JsPeer:
        peer = await JsPeer.start(ws_base, room, token)
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        await peer.close()


async def eventually(check: Callable[[], Any], timeout: float = 10, interval: float = 0.02) -> Any:
    """Poll an (async or sync) check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
