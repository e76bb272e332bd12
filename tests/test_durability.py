"""The log is the truth: what a room holds survives restarts and unloads, on
SQLite and on PostgreSQL alike (every test here runs on both)."""

from __future__ import annotations

import asyncio

from pycrdt import Doc, Text

from client.session import RoomClient
from crdt.record.verification import verify_chain
from server.storage.database import Database
from tests.conftest import eventually


async def read_log(database_url: str, room: str) -> list:
    database = Database(database_url)
    try:
        return list(await database.entries(room, after=0, limit=100_000))
    finally:
        await database.close()


def chain_is_intact(rows: list) -> bool:
    return verify_chain(rows).ok


async def test_restart_loses_nothing(server_factory, database_url, tokens):
    server = server_factory(database_url)
    server.create_draft("charter")
    async with RoomClient(server.ws, "charter", token=tokens(user="writer")) as writer:
        await writer.wait_synced()
        text = writer.doc.get("text", type=Text)
        for word in ["We ", "the ", "peoples ", "🌍 ", "déterminés"]:
            text += word
        await asyncio.sleep(0)

        async with RoomClient(server.ws, "charter", token=tokens()) as witness:
            await witness.wait_synced()
            await eventually(
                lambda: str(witness.doc.get("text", type=Text)) == "We the peoples 🌍 déterminés"
            )

    server.restart()
    async with RoomClient(server.ws, "charter", token=tokens()) as fresh:
        await fresh.wait_synced()
        assert str(fresh.doc.get("text", type=Text)) == "We the peoples 🌍 déterminés"

    rows = await read_log(database_url, "charter")
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0].kind == "draft.created"
    edits = rows[1:]
    assert edits and all(row.participant == "writer" and row.role == "delegate" for row in edits)
    assert chain_is_intact(rows)
    # Replaying the log alone gives the document: snapshots are only a cache.
    doc = Doc()
    for row in edits:
        doc.apply_update(row.payload)
    assert str(doc.get("text", type=Text)) == "We the peoples 🌍 déterminés"


async def test_room_unloads_when_empty_and_reloads_identically(server_factory, database_url, tokens):
    server = server_factory(database_url, plenary_unload_grace_seconds="0.2")
    server.create_draft("unload-me")
    async with RoomClient(server.ws, "unload-me", token=tokens()) as client:
        await client.wait_synced()
        text = client.doc.get("text", type=Text)
        text += "Paragraph 1 ✓"
        await eventually(lambda: server.health()["log"]["entries"] >= 2)
        before = client.doc.get_update()

    await eventually(lambda: server.health()["rooms"] == 0)

    async with RoomClient(server.ws, "unload-me", token=tokens()) as again:
        await again.wait_synced()
        assert str(again.doc.get("text", type=Text)) == "Paragraph 1 ✓"
        reference = Doc()
        reference.apply_update(before)
        assert again.doc.get_state() == reference.get_state()


async def test_many_clients_joining_at_once_load_the_room_once(server_factory, database_url, tokens):
    server = server_factory(database_url)
    server.create_draft("rush")
    async with RoomClient(server.ws, "rush", token=tokens()) as seed:
        await seed.wait_synced()
        seed.doc.get("text", type=Text).insert(0, "seeded")
        await eventually(lambda: server.health()["log"]["entries"] >= 2)
    clients = [RoomClient(server.ws, "rush", token=tokens()) for _ in range(20)]
    for client in clients:
        await client.start()
    try:
        for client in clients:
            await client.wait_synced()
            assert str(client.doc.get("text", type=Text)) == "seeded"
        # Everyone ended up in one room and sees the others' edits.
        clients[0].doc.get("text", type=Text).insert(0, "re")
        for client in clients[1:]:
            await eventually(lambda c=client: str(c.doc.get("text", type=Text)) == "reseeded")
    finally:
        for client in clients:
            await client.close()
    rows = await read_log(database_url, "rush")
    assert chain_is_intact(rows)
    assert len(rows) == 3  # the draft's creation and the two edits
