"""Several server processes, one negotiation: three real ``plenary serve``
processes on one PostgreSQL database and one Redis, with unmodified JS
y-websocket clients and Python clients spread over them.

The record stays one gap-free hash chain per room, whatever happens to a
process (SIGKILL in the middle of a burst) or to Redis (restarted mid-session).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pycrdt import Text

from client.session import RoomClient
from crdt.wire.replica import Replica
from server.storage.database import Database
from server.storage.schema import LOG
from tests.conftest import ServerProcess, eventually, free_port, need, plenary_command, postgres_database
from tests.test_deliberation import Table, create, iso_in

REDIS_URL = os.environ.get("PLENARY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_available(port: int = 6379) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Cluster:
    """N server processes sharing one database and one Redis."""

    def __init__(self, database_url: str, redis_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.redis_url = redis_url
        self.workdir = workdir
        self.servers: list[ServerProcess] = []

    def start(self, count: int, **env: str) -> list[ServerProcess]:
        """Start ``count`` processes side by side (their start-ups overlap, as in a real deployment)."""
        for _ in range(count):
            server = ServerProcess(
                self.database_url,
                self.workdir,
                {"PLENARY_REDIS_URL": self.redis_url, **{k.upper(): v for k, v in env.items()}},
            )
            server.launch()
            self.servers.append(server)
        for server in self.servers[-count:]:
            server.wait_healthy()
        return self.servers

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def verify(self) -> dict:
        """``plenary audit verify --json``, as an archivist runs it."""
        result = plenary_command("audit", "verify", "--json", "--database-url", self.database_url)
        assert result.returncode == 0, result.stdout + result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[Cluster]:
    need(redis_available(), "Redis is not reachable on 127.0.0.1:6379")
    cluster = Cluster(pg_url, REDIS_URL, tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()


async def read_log(database_url: str, room: str) -> list:
    database = Database(database_url)
    try:
        async with database.engine.connect() as conn:
            from sqlalchemy import select

            return (await conn.execute(select(LOG).where(LOG.c.room == room).order_by(LOG.c.seq))).all()
    finally:
        await database.close()


def text_of_log(rows: list) -> str:
    """The text the log holds: every update replayed into a fresh document."""
    replica = Replica()
    for row in rows:
        if row.kind == "update":
            replica.load(row.payload)
    return str(replica.doc.get("text", type=Text))


def assert_gap_free(rows: list) -> None:
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash


def assert_nothing_twice(rows: list) -> None:
    """No Yjs struct was logged twice: the clock ranges of each client never overlap."""
    from crdt.wire.inspection import decode_clients

    seen: dict[int, list[tuple[int, int]]] = {}
    for row in rows:
        if row.kind != "update":
            continue
        for client, (first, end) in decode_clients(row.clients).items():
            for a, b in seen.get(client, []):
                assert end <= a or first >= b, (
                    f"client {client} clocks {first}-{end} logged twice (seq {row.seq})"
                )
            seen.setdefault(client, []).append((first, end))


async def test_three_processes_co_edit_one_draft(cluster, tokens, js_peers):
    one, two, three = cluster.start(3)
    one.create_draft("summit")
    alice = await js_peers(one.ws, "summit", tokens(user="alice", name="Alice"))
    bob = await js_peers(three.ws, "summit", tokens(user="bob", name="Bob"))
    await alice.call("synced")
    await bob.call("synced")
    async with (
        RoomClient(two.ws, "summit", token=tokens(user="carol", name="Carol")) as carol,
        RoomClient(three.ws, "summit", token=tokens(user="dan", name="Dan")) as dan,
    ):
        await carol.wait_synced()
        await dan.wait_synced()
        carol_text = carol.doc.get("text", type=Text)
        dan_text = dan.doc.get("text", type=Text)

        await alice.call("insert", index=0, text="Alice 🇫🇷. ")
        await eventually(lambda: "Alice" in str(carol_text) and "Alice" in str(dan_text))
        # Everyone types at once, on three processes.
        for round_ in range(20):
            await alice.call("insert", index=0, text=f"a{round_} ")
            await bob.call("insert", index=0, text=f"b{round_} ")
            carol_text.insert(len(carol_text), f" c{round_}")
            dan_text.insert(0, f"d{round_} ")
            await asyncio.sleep(0.005)

        async def converged() -> str | None:
            texts = {await alice.text(), await bob.text(), str(carol_text), str(dan_text)}
            return texts.pop() if len(texts) == 1 else None

        final = await eventually(converged)
        for who in "abd":
            assert all(f"{who}{n} " in final for n in range(20))
        assert all(f" c{n}" in final for n in range(20))

        # Presence crosses processes: Carol (process two) sees Alice (one) and Bob (three).
        alice_id = (await alice.call("awareness", state={"cursor": {"index": 1}}))["clientID"]
        carol.set_local_state({"cursor": {"index": 2}})
        await eventually(lambda: carol.awareness.get(alice_id, {}).get("user", {}).get("name") == "Alice")

        async def bob_sees_carol() -> bool:
            states = (await bob.call("states"))["states"]
            return states.get(str(carol.client_id), {}).get("user", {}).get("name") == "Carol"

        await eventually(bob_sees_carol)
        # Alice leaves: her presence goes on every process.
        await alice.call("quit")
        await eventually(lambda: alice_id not in carol.awareness)

    rows = await read_log(cluster.database_url, "summit")
    assert_gap_free(rows)
    assert_nothing_twice(rows)
    assert text_of_log(rows) == final
    report = cluster.verify()
    assert report["ok"], report


async def test_a_process_killed_mid_burst_loses_nothing_anyone_saw(cluster, tokens):
    one, two, three = cluster.start(3)
    three.create_draft("burst")
    async with (
        RoomClient(one.ws, "burst", token=tokens(user="ana")) as ana,
        RoomClient(two.ws, "burst", token=tokens(user="ben")) as ben,
        RoomClient(three.ws, "burst", token=tokens(user="cy")) as cy,
        RoomClient(two.ws, "burst", token=tokens(user="ghost"), reconnect=False) as ghost,
    ):
        for client in (ana, ben, cy, ghost):
            await client.wait_synced()
        ghost.set_local_state({"cursor": 0})
        await eventually(lambda: ghost.client_id in ana.awareness)
        texts = [client.doc.get("text", type=Text) for client in (ana, ben, cy)]
        # Ben's process dies in the middle of his burst; his client goes to process three
        # (what a load balancer does), and carries on typing through the reconnection.
        ben.url = three.ws
        for n in range(120):
            texts[1].insert(len(texts[1]), f"[b{n}]")
            texts[0].insert(0, f"(a{n})")
            if n == 60:
                two.stop(signal.SIGKILL)
            await asyncio.sleep(0.003)

        def converged() -> str | None:
            values = {str(text) for text in texts}
            return values.pop() if len(values) == 1 else None

        final = await eventually(converged, timeout=20)
        assert all(f"[b{n}]" in final and f"(a{n})" in final for n in range(120))
        assert ben.connections >= 2
        # Nobody is left connected to process two: its presence goes everywhere once it is
        # known dead (no heartbeat for a few seconds), not only when Yjs clients time out.
        await eventually(lambda: ghost.client_id not in ana.awareness, timeout=10)

        # A newcomer on process one sees everything, with nobody still connected to two.
        async with RoomClient(one.ws, "burst", token=tokens()) as late:
            await late.wait_synced()
            assert str(late.doc.get("text", type=Text)) == final

    rows = await read_log(cluster.database_url, "burst")
    assert_gap_free(rows)
    assert_nothing_twice(rows)
    assert text_of_log(rows) == final
    assert cluster.verify()["ok"]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[Callable[[], None]]:
    """A real Redis server of our own, so that restarting it disturbs no other test."""
    binary = shutil.which("redis-server")
    need(binary is not None, "redis-server is not installed")
    port = free_port()
    state: dict[str, subprocess.Popen[bytes]] = {}

    def start() -> None:
        state["proc"] = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        deadline = time.monotonic() + 10
        while not redis_available(port):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.02)

    def restart() -> None:
        proc = state["proc"]
        proc.terminate()
        proc.wait(timeout=10)
        time.sleep(0.5)
        start()

    start()
    restart.url = f"redis://127.0.0.1:{port}/0"  # type: ignore[attr-defined]
    yield restart
    state["proc"].terminate()
    state["proc"].wait(timeout=10)


async def test_redis_restarted_mid_session(pg_url, tmp_path, private_redis, tokens):
    cluster = Cluster(pg_url, private_redis.url, tmp_path)  # type: ignore[attr-defined]
    try:
        one, two, three = cluster.start(3)
        two.create_draft("blip")
        clients = [RoomClient(server.ws, "blip", token=tokens()) for server in (one, two, three)]
        for client in clients:
            await client.start()
            await client.wait_synced()
        texts = [client.doc.get("text", type=Text) for client in clients]
        for n in range(90):
            texts[n % 3].insert(0, f"<{n}>")
            if n == 30:
                await asyncio.to_thread(private_redis)  # Redis goes away and comes back, empty
            await asyncio.sleep(0.01)

        def converged() -> str | None:
            values = {str(text) for text in texts}
            return values.pop() if len(values) == 1 else None

        final = await eventually(converged, timeout=20)
        assert all(f"<{n}>" in final for n in range(90))
        # After the blip, the processes relay through Redis again (presence is never polled).
        for client in clients:
            client.set_local_state({"after": "blip"})
        await eventually(lambda: all(len(client.awareness) == 2 for client in clients), timeout=15)
        for client in clients:
            await client.close()
        rows = await read_log(pg_url, "blip")
        assert_gap_free(rows)
        assert_nothing_twice(rows)
        assert text_of_log(rows) == final
        assert cluster.verify()["ok"]
    finally:
        cluster.stop()


async def test_a_deadline_fires_once_with_three_processes(cluster, tokens):
    servers = cluster.start(3)
    tables = [Table(server, tokens) for server in servers]
    create(tables[0])
    amendment = tables[1].ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Each"},
    )["result"]["id"]
    tables[2].ok("chair", "POST", "/api/drafts/tunis/silence", {"target": amendment, "deadline": iso_in(1.5)})

    # Every process watches the deadline; the amendment is adopted once, and every process says so.
    for table in tables:
        await eventually(
            lambda table=table: (
                table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["amendments"][amendment]["state"]
                == "adopted"
            ),
            timeout=15,
        )
    await asyncio.sleep(1.5)  # a second firing would land within the deadline loop's second
    rows = await read_log(cluster.database_url, "tunis")
    kinds = [row.kind for row in rows]
    assert kinds.count("cmd.silence.conclude") == 1
    text = [table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"][1]["text"] for table in tables]
    assert all(t.startswith("Each implementation") for t in text), text
    assert_gap_free(rows)
    assert cluster.verify()["ok"]


async def test_a_deadline_set_on_a_process_that_dies_still_fires_once(cluster, tokens):
    servers = cluster.start(3)
    tables = [Table(server, tokens) for server in servers]
    create(tables[0])
    tables[2].ok("chair", "POST", "/api/drafts/tunis/silence", {"target": "p3", "deadline": iso_in(1.5)})
    servers[2].stop(signal.SIGKILL)  # the process that accepted it is gone before the deadline
    for table in tables[:2]:
        await eventually(
            lambda table=table: (
                table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["silences"]["p3"]["state"]
                == "concluded"
            ),
            timeout=15,
        )
    await asyncio.sleep(1.5)
    rows = await read_log(cluster.database_url, "tunis")
    assert [row.kind for row in rows].count("cmd.silence.conclude") == 1
    assert (
        tables[0].ok("chair", "GET", "/api/drafts/tunis/deliberation")["statuses"]["p3"]["status"] == "agreed"
    )


async def test_commands_on_three_processes_are_validated_in_one_order(cluster, tokens, js_peers):
    """Two chairs on two processes decide the same amendment at once: one wins, the other is told."""
    servers = cluster.start(3)
    tables = [Table(server, tokens) for server in servers]
    create(tables[0])
    # An unmodified JS client watches the published deliberation on process three.
    watcher = await js_peers(servers[2].ws, "tunis/deliberation", tables[2].tokens["observer"])
    await watcher.call("synced")
    amendment = tables[0].ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Each"},
    )["result"]["id"]
    # What one process accepted, the others answer with at once (read your writes).
    for table in tables[1:]:
        assert table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["amendments"][amendment][
            "state"
        ] == ("proposed")

    async def decide(table: Table, verb: str, body: dict) -> int:
        response = await asyncio.to_thread(
            table, "chair", "POST", f"/api/drafts/tunis/amendments/{amendment}/{verb}", body
        )
        return response.status_code

    statuses = await asyncio.gather(
        decide(tables[1], "adopt", {}), decide(tables[2], "reject", {"reason": "no consensus"})
    )
    assert sorted(statuses) == [200, 409], statuses
    states = {
        table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["amendments"][amendment]["state"]
        for table in tables
    }
    assert len(states) == 1 and states <= {"adopted", "rejected"}
    (decided,) = states

    async def watcher_sees_decision() -> bool:
        amendments = (await watcher.call("map", name="amendments"))["value"]
        return amendments.get(amendment, {}).get("state") == decided

    await eventually(watcher_sees_decision)
    rows = await read_log(cluster.database_url, "tunis")
    decisions = [row.kind for row in rows if row.kind in ("cmd.amendment.adopt", "cmd.amendment.reject")]
    assert len(decisions) == 1


async def test_revocation_closes_connections_on_every_process(cluster, tokens):
    one, two, _ = cluster.start(3)
    table = Table(one, tokens)
    create(table)
    delegate = tokens(user="mallory", delegation="Nowhere")
    async with RoomClient(two.ws, "tunis", token=delegate, reconnect=False) as mallory:
        await mallory.wait_synced()
        table.ok("chair", "DELETE", "/api/drafts/tunis/participants/mallory")
        await eventually(lambda: mallory.close_code == 4403, timeout=10)
    # A new connection to any process is refused.
    async with RoomClient(two.ws, "tunis", token=delegate, reconnect=False) as again:
        with pytest.raises(ConnectionError):
            await again.wait_synced(timeout=5)
        assert again.close_code == 4403
    # Reinstated on process one, let back in on process two.
    table.ok("chair", "POST", "/api/drafts/tunis/participants/mallory/reinstate")

    async def let_back_in() -> bool:
        async with RoomClient(two.ws, "tunis", token=delegate, reconnect=False) as back:
            try:
                await back.wait_synced(timeout=2)
            except ConnectionError:
                return False
            return True

    await eventually(let_back_in, timeout=10, interval=0.2)


async def test_a_room_unloaded_on_one_process_comes_back_with_what_others_wrote(cluster, tokens):
    one, two = cluster.start(2, plenary_unload_grace_seconds="0.2", plenary_snapshot_every="5")
    two.create_draft("idle")
    async with RoomClient(one.ws, "idle", token=tokens(user="eve")) as eve:
        await eve.wait_synced()
        eve.doc.get("text", type=Text).insert(0, "before unload. ")
        await eventually(lambda: "before" in str(eve.doc.get("text", type=Text)))
        await asyncio.sleep(0.2)
    await eventually(lambda: one.health()["rooms"] == 0)
    # Process one has unloaded the room (and saved a snapshot); process two writes on.
    async with RoomClient(two.ws, "idle", token=tokens(user="fay")) as fay:
        await fay.wait_synced()
        text = fay.doc.get("text", type=Text)
        for n in range(12):
            text.insert(len(text), f"w{n} ")
        async with RoomClient(one.ws, "idle", token=tokens(user="gus")) as gus:
            await gus.wait_synced()
            await eventually(lambda: str(gus.doc.get("text", type=Text)) == str(text))
    rows = await read_log(cluster.database_url, "idle")
    assert_gap_free(rows)
    assert cluster.verify()["ok"]


def test_redis_needs_postgres(tmp_path):
    """One SQLite file cannot be shared by several processes: said at start-up, exit 2."""
    result = plenary_command(
        "serve",
        "--redis-url",
        REDIS_URL,
        "--port",
        str(free_port()),
        cwd=tmp_path,
        env={"PLENARY_SECRET": "x" * 40, "PLENARY_DATABASE_URL": f"sqlite:///{tmp_path}/p.db"},
        timeout=30,
    )
    assert result.returncode == 2
    assert "PostgreSQL" in result.stderr


def test_several_processes_need_one_secret(tmp_path):
    result = plenary_command(
        "serve",
        "--dev",
        "--redis-url",
        REDIS_URL,
        cwd=tmp_path,
        env={"PLENARY_SECRET": None, "PLENARY_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"},
        timeout=30,
    )
    assert result.returncode == 2
    assert "PLENARY_SECRET" in result.stderr


async def test_messages_forged_on_redis_are_dropped(cluster, tokens):
    """Whoever can publish on the Redis server cannot inject edits: messages are signed."""
    import redis.asyncio as aioredis
    from pycrdt import Doc

    from server.broker.messages import Entry, encode
    from server.broker.redis import channel_prefix

    (one,) = cluster.start(1)
    one.create_draft("guarded")
    async with RoomClient(one.ws, "guarded", token=tokens(user="ida")) as ida:
        await ida.wait_synced()
        text = ida.doc.get("text", type=Text)
        text.insert(0, "genuine")
        evil = Doc()
        evil.get("text", type=Text).insert(0, "forged ")
        update = evil.get_update()
        forged = encode("intruder", Entry("guarded", 2, 1, "intruder", "update", b"", update))
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            prefix = channel_prefix(cluster.database_url)
            await client.publish(prefix + "room:guarded", forged + bytes(16))
        finally:
            await client.aclose()
        await eventually(lambda: one.health()["broker"]["forged"] == 1)
        text.insert(len(text), " text")
        await asyncio.sleep(0.3)
        assert str(text) == "genuine text"
    rows = await read_log(cluster.database_url, "guarded")
    assert text_of_log(rows) == "genuine text"


async def test_a_paragraph_added_on_another_process_gets_its_translation_texts(cluster, tokens):
    """The languages are set through process one; a delegate connected to process two (which had not
    loaded the draft then) adds a paragraph: the server gives it its French text all the same."""
    from pycrdt import Array, Map

    from crdt.procedure.draft import Paragraph, write_paragraphs

    one, two = cluster.start(2)
    table = Table(one, tokens)
    body = {
        "id": "dual",
        "title": "Dual",
        "translations": ["fr"],
        "paragraphs": [{"id": "p1", "text": "One."}],
    }
    table.ok("chair", "POST", "/api/drafts", body)
    async with RoomClient(two.ws, "dual", token=tokens("chair", user="chair2")) as chair:
        await chair.wait_synced()
        paragraphs = chair.doc.get("paragraphs", type=Array)

        def translated() -> bool:
            return all(
                isinstance(p.get("translations"), Map) and "fr" in p.get("translations") for p in paragraphs
            )

        await eventually(translated)
        write_paragraphs(chair.doc, [Paragraph("p2", "operative", "Two.")])
        await eventually(lambda: len(paragraphs) == 2 and translated(), timeout=10)
