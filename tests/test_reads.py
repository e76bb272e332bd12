"""The fast reads a join makes on SQLite (server/storage/reads.py) say what the general queries say."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pycrdt import Doc, Text
from sqlalchemy import insert

from crdt.procedure.draft import parse_plain_text, write_paragraphs
from crdt.procedure.writes import PartIndex
from server.config import Settings
from server.storage.database import Database
from server.storage.log import LogWriter
from server.storage.schema import DRAFTS
from server.sync.rooms import Rooms


def update_entry(room: str, payload: bytes, connection: str = "0123456789abcdef") -> dict:
    return {
        "room": room,
        "time_us": 1,
        "connection": connection,
        "participant": "writer",
        "role": "delegate",
        "kind": "update",
        "clients": b"",
        "payload": payload,
    }


async def test_room_rows_and_draft_row_match_the_general_queries(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'reads.sqlite3'}"
    database = Database(url)
    await database.migrate()
    writer = LogWriter(database)
    writer.start()
    doc = Doc()
    text = doc.get("text", type=Text)
    updates = []
    for word in ["one ", "two ", "three ", "four ", "five"]:
        before = doc.get_state()
        text += word
        updates.append(doc.get_update(before))
    for payload in updates[:3]:
        writer.append(update_entry("r", payload))
    # A note between updates, then a snapshot as of entry 4, then more updates after it.
    writer.append({**update_entry("r", b"{}", connection="api"), "kind": "note"})
    writer.save_snapshot(
        {"room": "r", "seq": 4, "time_us": 2, "state": b"state-at-4", "owners": '{"7": "w"}'}
    )
    for payload in updates[3:]:
        writer.append(update_entry("r", payload))
    await writer.flush()
    await writer.stop()

    general = Database(url)
    general._sqlite_reader = None  # the SQLAlchemy path, as on PostgreSQL
    try:
        fast, slow = await database.room_rows("r"), await general.room_rows("r")
        assert fast == slow
        assert fast.head == 6
        assert fast.snapshot is not None and (fast.snapshot.seq, fast.snapshot.state) == (4, b"state-at-4")
        assert [row.seq for row in fast.updates] == [5, 6]
        assert [row.payload for row in fast.updates] == updates[3:]
        empty = await database.room_rows("nobody-here")
        assert empty == await general.room_rows("nobody-here")
        assert (empty.head, empty.snapshot, empty.updates) == (0, None, [])
        assert await database.draft_row("no-such-draft") is None
        assert await general.draft_row("no-such-draft") is None
        async with database.engine.begin() as conn:
            await conn.execute(
                insert(DRAFTS).values(id="d", title="Draft", symbol="S/1", created_us=5, created_by="chair")
            )
        expected = ("d", "Draft", "S/1", 5, "chair")
        assert tuple(await database.draft_row("d")) == tuple(await general.draft_row("d")) == expected
    finally:
        await general.close()
        await database.close()


async def test_a_large_document_is_indexed_after_its_room_opens(tmp_path: Path) -> None:
    """A cold load does not wait for the index of a large draft; the index comes once built, and an
    index built from a state that changed meanwhile is thrown away (the next check builds it again)."""
    url = f"sqlite:///{tmp_path / 'index.sqlite3'}"
    settings = Settings.from_env(database_url=url, secret="s" * 40, unload_grace_seconds=10**6)
    database = Database(url)
    await database.migrate()
    writer = LogWriter(database)
    writer.start()
    rooms = Rooms(database, writer, settings)
    room = await rooms.open("long")
    assert room.parts is not None  # a new room's empty document: indexed at once, on the loop
    text = " ".join(f"word{i}" for i in range(3000))
    room.edit(lambda doc: write_paragraphs(doc, parse_plain_text(text)), participant="p", role="chair")
    await room.until_logged()
    await rooms.close()

    for change_meanwhile in (False, True):
        rooms = Rooms(database, writer, settings)
        room = await rooms.open("long")
        assert room.parts is None and rooms._indexing  # open, and being indexed
        if change_meanwhile:
            room.edit(
                lambda doc: write_paragraphs(doc, parse_plain_text("More.", "q")),
                participant="p",
                role="chair",
            )
        await asyncio.gather(*rooms._indexing)
        if change_meanwhile:
            assert room.parts is None
        else:
            assert room.parts is not None
            expected = PartIndex.of_state(room.replica.full_state())
            assert room.parts._ids == expected._ids and room.parts._types == expected._types
            assert room.parts._runs == expected._runs
        await rooms.close()
    await writer.stop()
    await database.close()
