"""A Plenary room co-edited by unmodified Yjs clients (npm yjs 13 + y-websocket 3)
and the Python client, over real websockets to a real server process."""

from __future__ import annotations

import asyncio

from pycrdt import Text

from client.session import RoomClient
from tests.conftest import eventually


async def test_js_and_python_clients_converge_with_emoji(server, tokens, js_peers):
    server.create_draft("summit")
    alice = await js_peers(server.ws, "summit", tokens(user="alice"))
    bob = await js_peers(server.ws, "summit", tokens(user="bob", delegation="CCBI", group="private_sector"))
    await alice.call("synced")
    await bob.call("synced")

    async with RoomClient(server.ws, "summit", token=tokens(user="carol")) as carol:
        await carol.wait_synced()
        text = carol.doc.get("text", type=Text)

        await alice.call("insert", index=0, text="Principes 🇫🇷: ")
        await eventually(lambda: str(text) == "Principes 🇫🇷: ")
        # UTF-16 offset 16 is after "Principes 🇫🇷: " (10 + the flag, 4 code units, + 2).
        await bob.call("insert", index=16, text="café ☕")
        await eventually(lambda: str(text) == "Principes 🇫🇷: café ☕")
        # Python inserts at a UTF-8 byte offset: the end of the text.
        text.insert(len(text), " — 👩🏽‍💻 fin")

        expected = "Principes 🇫🇷: café ☕ — 👩🏽‍💻 fin"
        await alice.call("waitText", text=expected)
        await bob.call("waitText", text=expected)
        assert str(text) == expected

    # The server's copy agrees: a fresh client sees the same text.
    async with RoomClient(server.ws, "summit", token=tokens()) as late:
        await late.wait_synced()
        assert str(late.doc.get("text", type=Text)) == expected


async def test_js_clients_see_each_others_presence(server, tokens, js_peers):
    server.create_draft("room-a")
    alice = await js_peers(server.ws, "room-a", tokens(user="alice", name="Alice"))
    bob = await js_peers(server.ws, "room-a", tokens(user="bob", name="Bob"))
    await alice.call("synced")
    await bob.call("synced")
    alice_id = (await alice.call("awareness", state={"cursor": {"index": 3}, "color": "#ff0000"}))["clientID"]

    async def bob_sees_alice():
        state = (await bob.call("states"))["states"].get(str(alice_id)) or {}
        return state if "color" in state else None  # the fields arrive one by one

    state = await eventually(bob_sees_alice)
    assert state["cursor"] == {"index": 3}
    # The server wrote the authenticated identity over the user field.
    assert state["user"]["name"] == "Alice"
    assert state["user"]["id"] == "alice"

    await alice.call("quit")

    async def bob_sees_alice_gone():
        states = (await bob.call("states"))["states"]
        return str(alice_id) not in states

    await eventually(bob_sees_alice_gone)


async def test_offline_edit_reaches_others_after_reconnect(server, tokens, js_peers):
    server.create_draft("offline")
    alice = await js_peers(server.ws, "offline", tokens())
    await alice.call("synced")
    await alice.call("insert", index=0, text="Draft text.")

    async with RoomClient(server.ws, "offline", token=tokens()) as python:
        await python.wait_synced()
        text = python.doc.get("text", type=Text)
        await eventually(lambda: str(text) == "Draft text.")

        await alice.call("disconnect")
        await alice.call("insert", index=0, text="Revised ")
        # Meanwhile the Python client edits too.
        text.insert(len(text), " Agreed.")
        await alice.call("connect")

        await eventually(lambda: str(text) == "Revised Draft text. Agreed.")
        await alice.call("waitText", text="Revised Draft text. Agreed.")


async def test_python_client_offline_edit_merges(server, tokens):
    server.create_draft("py-offline")
    async with (
        RoomClient(server.ws, "py-offline", token=tokens()) as one,
        RoomClient(server.ws, "py-offline", token=tokens()) as two,
    ):
        await one.wait_synced()
        await two.wait_synced()
        t1 = one.doc.get("text", type=Text)
        t2 = two.doc.get("text", type=Text)
        t1 += "abc"
        await eventually(lambda: str(t2) == "abc")
        await one.disconnect()
        t1 += "-offline"
        await one.wait_synced()
        await eventually(lambda: str(t2) == "abc-offline")
        assert one.connections >= 2


async def test_presence_is_coalesced_and_the_latest_state_wins(server, tokens):
    server.create_draft("presence")
    import json as jsonlib

    from websockets.asyncio.client import connect

    from crdt.wire.awareness import AwarenessEntry, decode_awareness, encode_awareness_update
    from crdt.wire.protocol import AwarenessMessage, encode_awareness, parse_message

    async with RoomClient(server.ws, "presence", token=tokens()) as watcher:
        await watcher.wait_synced()
        received: list[int] = []

        def count(states):
            received.append(len(states))

        watcher.on_awareness = count
        async with connect(f"{server.ws}/presence?token={tokens(name='Mover')}") as mover:
            for clock in range(1, 41):  # a cursor dragged across a paragraph
                state = jsonlib.dumps({"cursor": clock})
                await mover.send(
                    encode_awareness(encode_awareness_update([AwarenessEntry(777, clock, state)]))
                )

            def final_state():
                state = watcher.awareness.get(777)
                return state if state and state.get("cursor") == 40 else None

            state = await eventually(final_state)
            assert state["user"]["name"] == "Mover"
            # 40 moves arrived as a handful of messages, not 40.
            assert 1 <= len(received) < 40
            # The mover does not hear its own state back.
            frames = []
            try:
                while True:
                    frames.append(parse_message(await asyncio.wait_for(mover.recv(), 0.2)))
            except TimeoutError:
                pass
            echoed = [
                entry
                for frame in frames
                if isinstance(frame, AwarenessMessage)
                for entry in decode_awareness(frame.payload)
                if entry.client == 777
            ]
            assert echoed == []


async def test_in_a_large_room_renewals_come_in_a_slow_batch_and_nobody_drops_out(server_factory, tokens):
    """Over PLENARY_QUIET_PRESENCE_ABOVE connections, an unchanged state renewed (every 15 s by every
    y-protocols client) is relayed in one batch every few seconds, not at once: the cost per member no longer
    grows with the members, and the renewal still arrives well inside the others' 30 s timeout."""
    import json as jsonlib
    import time

    from websockets.asyncio.client import connect

    from crdt.wire.awareness import AwarenessEntry, decode_awareness, encode_awareness_update
    from crdt.wire.protocol import AwarenessMessage, encode_awareness, parse_message

    server = server_factory(plenary_quiet_presence_above="2")
    server.create_draft("hall")
    url = f"{server.ws}/hall?token="

    async def heard(ws, client: int, clock: int, within: float) -> float | None:
        """Seconds until ``ws`` hears ``client`` at ``clock`` or later, or None."""
        start = time.monotonic()
        while (left := within - (time.monotonic() - start)) > 0:
            try:
                frame = parse_message(await asyncio.wait_for(ws.recv(), left))
            except TimeoutError:
                return None
            if isinstance(frame, AwarenessMessage) and any(
                e.client == client and e.clock >= clock for e in decode_awareness(frame.payload)
            ):
                return time.monotonic() - start
        return None

    state = jsonlib.dumps({"cursor": 1})

    def presence(clock: int) -> bytes:
        return encode_awareness(encode_awareness_update([AwarenessEntry(4242, clock, state)]))

    async with (
        connect(url + tokens(name="Idle one")) as idle,
        connect(url + tokens(name="Watcher")) as watcher,
        connect(url + tokens(name="Third")) as _third,
    ):
        await idle.send(presence(1))  # a new state: relayed at once
        assert await heard(watcher, 4242, 1, within=5) is not None
        await idle.send(presence(2))  # the same state renewed: waits for the slow batch
        assert await heard(watcher, 4242, 2, within=1.5) is None
        late = await heard(watcher, 4242, 2, within=8)
        assert late is not None, "the renewal never came: the idle member would drop out of Present"
