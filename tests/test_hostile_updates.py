"""Hostile Yjs updates over real websockets against a real server process.

Each one is refused with its close code and a y-protocols "permission denied" message
giving the reason (the last frame before the close), while an unmodified y-websocket
client in the same room keeps editing, never notices, and stays converged with the
server; the stored document holds none of it after a restart. The updates are the ones
from the "Malformed and hostile updates" section of docs/yjs-python-facts.md, written
byte by byte with the builders of tests/test_inspection.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pycrdt import Doc, Text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from client.session import RoomClient
from crdt.wire.encoding import Decoder
from crdt.wire.protocol import (
    Message,
    PermissionDenied,
    SyncStep2,
    SyncUpdate,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
    parse_message,
)
from crdt.wire.updates import decode_update
from tests.conftest import JS_DIR, ServerProcess, eventually
from tests.test_inspection import (
    any_item,
    build,
    deleted_item,
    gc,
    json_item,
    nested_any,
    skip,
    string_item,
)

ROOM = "hostile"
STABLE = "Stable text é 😀"
#: The Yjs client id the attacker writes with (anything nobody else uses).
ATTACKER = 123_456_789


# --- helpers ---------------------------------------------------------------------------------


@dataclass
class Outcome:
    code: int | None
    reason: str
    frames: list[bytes]

    @property
    def messages(self) -> list[Message]:
        return [parse_message(frame) for frame in self.frames]


async def send_update(
    server: ServerProcess,
    token: str,
    update: bytes | list[bytes],
    *,
    room: str = ROOM,
    step2: bool = False,
) -> Outcome:
    """Connect, send sync step 1, then ``update`` (or each of a list) as a sync update message
    (or step 2).

    A second step 1 follows: if the server answers that one, it has accepted everything
    (``code`` is None), and nobody waits for a close that will not come.
    """
    frames: list[bytes] = []
    updates = update if isinstance(update, list) else [update]
    encode = encode_sync_step2 if step2 else encode_sync_update
    async with connect(f"{server.ws}/{room}?token={token}", max_size=None) as ws:
        await ws.send(encode_sync_step1(b"\x00"))
        for one in updates:
            await ws.send(encode(one))
        await ws.send(encode_sync_step1(b"\x00"))
        answers = 0
        try:
            async with asyncio.timeout(10):
                while answers < 2:
                    frame = await ws.recv()
                    assert isinstance(frame, bytes)
                    frames.append(frame)
                    answers += isinstance(parse_message(frame), SyncStep2)
        except ConnectionClosed:
            return Outcome(ws.close_code, ws.close_reason or "", frames)
    return Outcome(None, "", frames)


def assert_refused(outcome: Outcome, code: int, reason: str) -> None:
    """Closed with ``code``, right after an auth message (type 2, permission denied) naming ``reason``."""
    assert outcome.code == code, (outcome.code, outcome.reason)
    last = outcome.frames[-1]
    decoder = Decoder(last)
    assert decoder.read_var_uint() == 2  # auth
    assert decoder.read_var_uint() == 0  # permission denied
    denied = decoder.read_var_string()
    assert decoder.at_end()
    assert reason in denied
    assert outcome.reason == denied[:120]
    # Nothing the attacker sent came back to it as accepted.
    assert not any(isinstance(m, SyncUpdate) for m in outcome.messages)
    assert [type(m) for m in outcome.messages].count(PermissionDenied) == 1


async def server_text(server: ServerProcess, token: str, room: str = ROOM) -> str:
    """What the server holds now (asked as a read-only raw client)."""
    async with connect(f"{server.ws}/{room}?token={token}", max_size=None) as ws:
        await ws.send(encode_sync_step1(b"\x00"))
        async with asyncio.timeout(10):
            while True:
                message = parse_message(await ws.recv())
                if isinstance(message, SyncStep2):
                    doc = Doc()
                    doc.apply_update(message.update)
                    return str(doc.get("text", type=Text))


async def fresh_client_text(server: ServerProcess, token: str, room: str = ROOM) -> str:
    async with RoomClient(server.ws, room, token=token, reconnect=False) as client:
        await client.wait_synced()
        return str(client.doc.get("text", type=Text))


async def js_state(peer: Any) -> tuple[int, int]:
    """The JS client's Yjs client id and its next clock."""
    client_id = (await peer.call("clientID"))["clientID"]
    update = decode_update(bytes.fromhex((await peer.call("update"))["update"]))
    return client_id, update.clock_ranges()[client_id][1]


async def start_alice(server: ServerProcess, tokens: Any, js_peers: Any, room: str = ROOM) -> Any:
    """A JS editor whose text the server has stored (in a new draft: only drafts are rooms)."""
    server.create_draft(room)
    alice = await js_peers(server.ws, room, tokens(user="alice"))
    await alice.call("synced")
    await alice.call("insert", index=0, text=STABLE)
    reader = tokens("observer", user="reader")
    await eventually(lambda: _equals(server_text(server, reader, room), STABLE))
    return alice


async def _equals(text: Any, expected: str) -> bool:
    return await text == expected


async def assert_unharmed(server: ServerProcess, tokens: Any, alice: Any, room: str = ROOM) -> None:
    """Alice's text is untouched, she keeps editing, and a fresh client sees exactly her text."""
    assert await alice.text() == STABLE
    await alice.call("insert", index=0, text="Still ")
    expected = "Still " + STABLE
    token = tokens(user="bob")
    await eventually(lambda: _equals(fresh_client_text(server, token, room), expected))
    assert await alice.text() == expected
    status = await alice.call("status")
    assert status["closeEvents"] == [] and status["denied"] == []
    assert status["wsconnected"] and status["synced"]
    assert server.alive()
    assert httpx.get(f"{server.http}/healthz").status_code == 200


# --- the cases -------------------------------------------------------------------------------

# name -> (update from (JS client id, its next clock), close code, reason)
CASES = {
    "any nested 50,000 deep": (
        lambda a, n: build((ATTACKER, 0, [any_item(nested_any(50_000))])),
        4422,
        "nested deeper than 64",
    ),
    "any nested 20,000 deep": (
        lambda a, n: build((ATTACKER, 0, [any_item(nested_any(20_000))])),
        4422,
        "nested deeper than 64",
    ),
    "any nested 100 deep": (
        lambda a, n: build((ATTACKER, 0, [any_item(nested_any(100))])),
        4422,
        "nested deeper than 64",
    ),
    "json nested 20,000 deep": (
        lambda a, n: build((ATTACKER, 0, [json_item("[" * 20_000 + "]" * 20_000)])),
        4422,
        "nested deeper than 64",
    ),
    "item in a map nested 100 deep": (
        lambda a, n: build((ATTACKER, 0, [any_item(nested_any(100), parent="meta", parent_sub="k")])),
        4422,
        "nested deeper than 64",
    ),
    "clock gap": (
        lambda a, n: build((ATTACKER, 5, [string_item("gap")])),
        4422,
        f"clock gap for client {ATTACKER}: starts at 5, document has 0",
    ),
    "clock gap after the JS client's clock": (
        lambda a, n: build((a, n + 3, [string_item("gap", origin=(a, n - 1))])),
        4422,
        "clock gap",
    ),
    "clock near 2^32": (
        lambda a, n: build((ATTACKER, 2**32 - 2, [string_item("x")])),
        4422,
        f"starts at {2**32 - 2}",
    ),
    "clock at 2^31": (
        lambda a, n: build((ATTACKER, 2**31, [string_item("x")])),
        4422,
        f"starts at {2**31}",
    ),
    "clock range reaching 2^31": (
        lambda a, n: build((ATTACKER, 0, [string_item("x"), deleted_item(2**31 - 1, origin=(ATTACKER, 0))])),
        4422,
        f"clock {2**31} for client {ATTACKER} is out of range",
    ),
    "gc reaching 2^32": (lambda a, n: build((ATTACKER, 0, [gc(2**32)])), 4422, "out of range"),
    "skip": (
        lambda a, n: build(
            (ATTACKER, 0, [string_item("a"), skip(2), string_item("d", origin=(ATTACKER, 2))])
        ),
        4422,
        "gap (skip)",
    ),
    "delete past the known clocks": (
        lambda a, n: build(delete_set={a: [(0, n + 10)]}),
        4422,
        "which does not exist",
    ),
    "spoofed client id": (
        lambda a, n: build((a, n, [string_item("EVIL", origin=(a, n - 1))])),
        4409,
        "belongs to another connection",
    ),
    "spoofed client id with a delete": (
        lambda a, n: build((a, n, [string_item("EVIL", origin=(a, n - 1))]), delete_set={a: [(0, n)]}),
        4409,
        "belongs to another connection",
    ),
}


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for all the cases, one room each: a case that harmed the server shows up
    in the ones after it as well."""
    workdir = tmp_path_factory.mktemp("hostile")
    server = ServerProcess(f"sqlite:///{workdir / 'plenary.sqlite3'}", workdir)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("case", list(CASES))
async def test_hostile_update_is_refused_and_others_keep_working(case, shared_server, tokens, js_peers):
    server = shared_server
    room = f"case{list(CASES).index(case)}"
    make, code, reason = CASES[case]
    alice = await start_alice(server, tokens, js_peers, room)
    alice_id, alice_next = await js_state(alice)
    assert alice_next == 16  # STABLE in UTF-16 code units

    outcome = await send_update(server, tokens(user="mallory"), make(alice_id, alice_next), room=room)
    assert_refused(outcome, code, reason)

    await assert_unharmed(server, tokens, alice, room)


async def test_hostile_step2_is_refused_like_an_update(shared_server, tokens, js_peers):
    server, room = shared_server, "step2"
    alice = await start_alice(server, tokens, js_peers, room)
    update = build((ATTACKER, 0, [any_item(nested_any(50_000))]))
    outcome = await send_update(server, tokens(user="mallory"), update, room=room, step2=True)
    assert_refused(outcome, 4422, "nested deeper than 64")
    await assert_unharmed(server, tokens, alice, room)


async def test_too_many_structs(server_factory, tokens, js_peers):
    server = server_factory(plenary_max_structs_per_update="10")
    alice = await start_alice(server, tokens, js_peers)
    doc = Doc(client_id=ATTACKER)
    text = doc.get("text", type=Text)
    with doc.transaction():
        for _ in range(11):
            text.insert(0, "x")  # each to the left of the last: 11 items that cannot merge
    update = doc.get_update()
    assert decode_update(update).struct_count == 11
    outcome = await send_update(server, tokens(user="mallory"), update)
    assert_refused(outcome, 4413, "update carries 11 structs (limit 10)")
    await assert_unharmed(server, tokens, alice)


async def test_document_over_the_size_limit(server_factory, tokens, js_peers):
    server = server_factory(plenary_max_document_bytes="2000")
    alice = await start_alice(server, tokens, js_peers)
    update = build((ATTACKER, 0, [string_item("x" * 5000)]))
    outcome = await send_update(server, tokens(user="mallory"), update)
    assert_refused(outcome, 4413, "the document would exceed 2000 bytes")
    await assert_unharmed(server, tokens, alice)


async def test_read_only_observer(server, tokens, js_peers):
    alice = await start_alice(server, tokens, js_peers)
    await alice.call("delete", index=0, length=1)
    await alice.call("delete", index=3, length=2)
    await alice.call("insert", index=0, text="S")
    shown = "Stab text é 😀"

    # A y-websocket observer syncs (its step 2 is empty) and keeps receiving updates.
    observer = await js_peers(server.ws, ROOM, tokens("observer", user="olga"))
    await observer.call("synced")
    await observer.call("waitText", text=shown)
    await alice.call("insert", index=0, text="More ")
    await observer.call("waitText", text="More " + shown)
    # After a reconnect its step 2 carries its whole delete set: nothing new, so accepted.
    await observer.call("disconnect")
    await alice.call("delete", index=0, length=5)
    await observer.call("connect")
    await observer.call("synced")
    await observer.call("waitText", text=shown)
    await alice.call("insert", index=len(shown) + 1, text="!")  # after the emoji (2 code units)
    await observer.call("waitText", text=shown + "!")
    status = await observer.call("status")
    assert status["closeEvents"] == [] and status["denied"] == []

    # A raw observer: an empty step 2 is fine, and updates keep coming.
    token = tokens("observer", user="oscar")
    async with connect(f"{server.ws}/{ROOM}?token={token}") as ws:
        await ws.send(encode_sync_step1(b"\x00"))
        await ws.send(encode_sync_step2(b"\x00\x00"))
        async with asyncio.timeout(10):
            while not isinstance(parse_message(await ws.recv()), SyncStep2):
                pass  # in the room now
            await alice.call("insert", index=0, text="A")
            while True:
                message = parse_message(await ws.recv())
                assert not isinstance(message, PermissionDenied)
                if isinstance(message, SyncUpdate):
                    assert decode_update(message.update).strings()[0][1] == "A"
                    break

    # But an insert from an observer is refused.
    alice_id, _ = await js_state(alice)
    for update in [
        build((ATTACKER, 0, [string_item("observer text")])),
        build(delete_set={alice_id: [(1, 1)]}),  # a deletion too (the "t", still there)
    ]:
        outcome = await send_update(server, tokens("observer", user="oscar"), update)
        assert_refused(outcome, 4403, "read-only: this connection may not change the document")
        outcome = await send_update(server, tokens("observer", user="oscar"), update, step2=True)
        assert_refused(outcome, 4403, "read-only")
    expected = "A" + shown + "!"
    assert await alice.text() == expected
    assert await observer.text() == expected
    await eventually(lambda: _equals(fresh_client_text(server, tokens(user="bob")), expected))


async def test_attacks_leave_no_trace_in_the_stored_document(server, tokens, js_peers):
    alice = await start_alice(server, tokens, js_peers)
    alice_id, alice_next = await js_state(alice)
    entries = server.health()["log"]["entries"]
    for make, code, reason in CASES.values():
        outcome = await send_update(server, tokens(user="mallory"), make(alice_id, alice_next))
        assert_refused(outcome, code, reason)
    outcome = await send_update(server, tokens("observer"), build((ATTACKER, 0, [string_item("o")])))
    assert_refused(outcome, 4403, "read-only")
    assert server.health()["log"]["entries"] == entries

    server.restart()
    assert await fresh_client_text(server, tokens(user="bob")) == STABLE
    # Alice reconnects by herself and carries on, converged with the stored document.
    await alice.call("synced")
    await alice.call("insert", index=0, text="After ")
    await eventually(lambda: _equals(fresh_client_text(server, tokens(user="bob")), "After " + STABLE))
    assert await alice.text() == "After " + STABLE


# --- regressions: bugs this file found, now fixed -----------------------------------------------


async def test_update_with_a_missing_origin_is_not_kept_unaccounted(server_factory, tokens, js_peers):
    server = server_factory(plenary_max_document_bytes="2000")
    alice = await start_alice(server, tokens, js_peers)
    # 10 x 1.5 KB of text, each hanging off an item (client 987654, clock 100) that does not
    # exist: every one fits the 2000-byte budget alone, and none is ever counted against it.
    updates = [
        build((ATTACKER + i, 0, [string_item(str(i) * 1500, origin=(987_654, 100))])) for i in range(10)
    ]
    outcome = await send_update(server, tokens(user="mallory"), updates)
    await assert_unharmed(server, tokens, alice)
    assert outcome.code in (4413, 4422), "accepted: 15 KB held by a room limited to 2000 bytes"


async def test_client_id_of_a_disconnected_client_cannot_be_taken_over(server, tokens, js_peers):
    alice = await start_alice(server, tokens, js_peers)
    alice_id, alice_next = await js_state(alice)
    await alice.call("disconnect")
    await eventually(lambda: server.health()["connections"] == 0)

    spoof = build((alice_id, alice_next, [string_item("EVIL", origin=(alice_id, alice_next - 1))]))
    outcome = await send_update(server, tokens(user="mallory"), spoof)

    # Alice types while offline (same clocks as the spoof) and comes back.
    await alice.call("insert", index=len(STABLE) + 1, text=" mine")
    await alice.call("connect")
    await alice.call("synced")
    expected = await alice.text()
    assert expected == STABLE + " mine"
    try:
        await eventually(lambda: _equals(fresh_client_text(server, tokens(user="bob")), expected), timeout=3)
    except AssertionError:
        stored = await server_text(server, tokens("observer"))
        raise AssertionError(
            f"diverged for good: Alice has {expected!r}, the server {stored!r} (spoof: {outcome.code})"
        ) from None
    assert outcome.code == 4409


async def test_typing_through_a_reconnect_is_not_refused(server, tokens, js_peers):
    # js_peers only for its Node check; the scenario is scripted in hostile.mjs.
    del js_peers
    server.create_draft(ROOM)
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(JS_DIR / "hostile.mjs"),
        "reconnect-race",
        server.ws,
        ROOM,
        tokens(user="alice"),
        stdout=asyncio.subprocess.PIPE,
        cwd=JS_DIR,
    )
    stdout, _ = await asyncio.wait_for(proc.communicate(), 30)
    result = json.loads(stdout)
    assert "error" not in result, result
    assert result["text"] == "online offline typed-on-reconnect"
    stored = await server_text(server, tokens("observer"))
    assert result["closeEvents"] == [], (result, stored)
    assert stored == result["text"]
