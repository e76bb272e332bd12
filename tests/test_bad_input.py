"""Bad input gets a clear close code and reason for its sender, and costs nobody
else anything: the other clients keep editing and the stored document is unchanged."""

from __future__ import annotations

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from crdt.wire.encoding import encode_var_bytes
from crdt.wire.protocol import encode_sync_step1
from tests.conftest import eventually

LIMIT = 64 * 1024

CASES = {
    "oversize frame": (b"\x00\x02" + encode_var_bytes(b"\x00" * (LIMIT + 10)), 1009, ""),
    "garbage bytes": (b"\xff\xfe\xfd\xfc\xfb", 4400, "malformed message"),
    "unknown message type": (b"\x07", 4400, "unknown message type 7"),
    "truncated varint": (b"\x00\x02\x85", 4400, "malformed message"),
    "update that does not decode": (
        b"\x00\x02" + encode_var_bytes(b"\x01\x05\xff\xff"),
        4400,
        "update does not decode",
    ),
    "unknown sync type": (b"\x00\x09\x00", 4400, "unknown sync message type"),
    "text frame": ("hello", 4400, "text frames"),
    "awareness that is not JSON": (b"\x01" + encode_var_bytes(b"\x01\x01\x01\x03{x}"), 4400, "JSON"),
    "auth message from a client": (b"\x02\x00\x02no", 4400, "server only"),
}


async def receive_close(ws) -> tuple[int | None, str]:
    try:
        while True:
            await ws.recv()
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason or ""


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_message_is_refused_and_others_keep_working(case, server_factory, tokens, js_peers):
    server = server_factory(plenary_max_message_bytes=str(LIMIT))
    server.create_draft("shared")
    frame, code, reason = CASES[case]
    alice = await js_peers(server.ws, "shared", tokens(user="alice"))
    await alice.call("synced")
    await alice.call("insert", index=0, text="Stable text é 😀")

    async with connect(f"{server.ws}/shared?token={tokens(user='mallory')}", max_size=None) as ws:
        await ws.send(encode_sync_step1(b"\x00"))
        await ws.send(frame)
        got_code, got_reason = await receive_close(ws)
    assert got_code == code
    assert reason in got_reason

    # The other client never noticed and keeps editing; the server kept serving.
    await alice.call("insert", index=0, text="Still ")
    bob = await js_peers(server.ws, "shared", tokens(user="bob"))
    await bob.call("synced")
    await bob.call("waitText", text="Still Stable text é 😀")
    assert (await alice.call("status"))["closeEvents"] == []


@pytest.mark.parametrize(
    "room, reason",
    [
        ("a" * 201, "longer than 200"),
        ("bad%01name", "U+0001 at position 3 is not allowed in a draft id"),
        ("/leading", "the draft id is empty"),
    ],
)
async def test_bad_room_names_are_refused(room, reason, server, tokens):
    async with connect(f"{server.ws}/{room}?token={tokens()}") as ws:
        code, got = await receive_close(ws)
    assert code == 4400
    assert reason in got


async def test_empty_room_name_is_refused(server, tokens):
    async with connect(f"{server.ws}/?token={tokens()}") as ws:
        code, reason = await receive_close(ws)
    assert (code, reason) == (4400, "room name is empty")


async def test_flooding_client_is_rate_limited(server_factory, tokens):
    server = server_factory(plenary_max_messages_per_second="50", plenary_message_burst="100")
    server.create_draft("flood")
    async with connect(f"{server.ws}/flood?token={tokens()}") as ws:
        for _ in range(300):
            try:
                await ws.send(b"\x03")  # query awareness: cheap, valid
            except ConnectionClosed:
                break
        code, reason = await receive_close(ws)
    assert code == 4529
    assert "too many messages" in reason


async def test_server_survives_and_counts_nothing_from_refused_updates(server, tokens):
    server.create_draft("quiet")
    before = server.health()["log"]["entries"]
    for name, (frame, _, _) in CASES.items():
        if name == "oversize frame":
            continue  # this server has the default (larger) message limit
        async with connect(f"{server.ws}/quiet?token={tokens()}", max_size=None) as ws:
            await ws.send(frame)
            await receive_close(ws)
    await eventually(lambda: httpx.get(f"{server.http}/healthz").status_code == 200)
    assert server.health()["log"]["entries"] == before
