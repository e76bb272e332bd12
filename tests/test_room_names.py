"""Rooms are drafts: only an existing draft and the sub-rooms of server/sync/roomnames.py's table may be
opened, and a draft id is a slug, so no room looks like another. Look-alike names (Cyrillic, fullwidth, a
trailing space or NBSP, U+2028, NFC and NFD, SQL) are refused over REST and over the websocket of a real
server, with the character named; rooms an older server let clients create stay verifiable, unwritable."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pycrdt import Text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from crdt.wire.protocol import encode_sync_step1
from server.config import Settings
from server.storage.database import Database
from server.storage.log import LogWriter
from server.sync.roomnames import RoomKind, parse_room
from server.sync.rooms import Rooms
from tests.conftest import ServerProcess, Tokens, plenary_command

LOOK_ALIKES = {
    "cyrillic a": ("plаn-a", "U+0430 CYRILLIC SMALL LETTER A at position 2"),
    "fullwidth p": ("ｐlan-a", "U+FF50 FULLWIDTH LATIN SMALL LETTER P at position 0"),
    "trailing space": ("plan-a ", "U+0020 SPACE at position 6"),
    "trailing nbsp": ("plan-a\u00a0", "U+00A0 NO-BREAK SPACE at position 6"),
    "line separator": ("plan-a\u2028", "U+2028 LINE SEPARATOR at position 6"),
    "nfc": (unicodedata.normalize("NFC", "café"), "U+00E9 LATIN SMALL LETTER E WITH ACUTE at position 3"),
    "nfd": (unicodedata.normalize("NFD", "café"), "U+0301 COMBINING ACUTE ACCENT at position 4"),
    "sql": ("x'; DROP TABLE log_entry--", '"\'" at position 1'),
    "uppercase": ("Plan-a", "'P' at position 0"),
}


def test_every_look_alike_is_refused_naming_the_character():
    for name, reason in LOOK_ALIKES.values():
        problem = parse_room(name)
        assert isinstance(problem, str) and problem.startswith(reason), (name, problem)
        assert "is not allowed in a draft id" in problem
        for room in (f"{name}/deliberation", f"{name}@rev1", f"{name}/summary/mt-1"):
            assert isinstance(parse_room(room), str)


@pytest.mark.parametrize(
    "room, kind",
    [
        ("plan-a", RoomKind.TEXT),
        ("plan-a-foc-2", RoomKind.TEXT),  # a Friends group's working draft is a draft
        ("plan-a/deliberation", RoomKind.DELIBERATION),
        ("plan-a/summary/mt-12", RoomKind.SUMMARY),
        ("plan-a@42", RoomKind.PAST),
        ("plan-a@rev3", RoomKind.REVISION),
    ],
)
def test_the_table_of_rooms(room, kind):
    parsed = parse_room(room)
    assert not isinstance(parsed, str), parsed
    assert (parsed.kind, parsed.draft) == (kind, "plan-a" if kind != RoomKind.TEXT else room)


@pytest.mark.parametrize(
    "room",
    [
        "plan-a/",
        "plan-a/other",
        "plan-a/deliberation/x",
        "plan-a/deliberation@3",
        "plan-a/summary/mt-1@2",
        "plan-a/summary/",
        "plan-a/summary/../x",
        "plan-a@",
        "plan-a@-1",
        "plan-a@1e3",
        "plan-a@rev0",
        "plan-a@latest",
        "plan-a@" + "9" * 19,
        "-plan",
        "a" * 65,
    ],
)
def test_names_outside_the_table_are_refused(room):
    assert isinstance(parse_room(room), str)


# --- over a real server ---------------------------------------------------------------------------


async def write_legacy_rooms(url: str, names: list[str]) -> None:
    """Rooms an older server let any all-drafts token create: each with a log, none a draft."""
    database = Database(url)
    await database.migrate()
    writer = LogWriter(database)
    writer.start()
    rooms = Rooms(database, writer, Settings(database_url=url))
    try:
        for name in names:
            room = await rooms.open(name)
            room.edit(lambda doc: doc.get("text", type=Text).insert(0, "legacy"), participant="old", role="")
            await room.until_logged()
    finally:
        await rooms.close()
        await writer.stop()
        await database.close()


LEGACY = ["plаn-a", "legacy-room"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module: draft plan-a with a meeting-less deliberation, and two legacy rooms."""
    workdir = tmp_path_factory.mktemp("rooms")
    url = f"sqlite:///{workdir / 'plenary.sqlite3'}"
    asyncio.run(write_legacy_rooms(url, LEGACY))
    server = ServerProcess(url, workdir)
    server.start()
    server.create_draft("plan-a", "The text.")
    yield server
    server.stop()


def log_rows(server: ServerProcess) -> list[tuple[str, int]]:
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        return sorted(db.execute("SELECT room, seq FROM log_entry"))


async def close_of(server: ServerProcess, room: str, token: str) -> tuple[int | None, str]:
    async with connect(f"{server.ws}/{room}?token={token}") as ws:
        try:
            await ws.send(encode_sync_step1(b"\x00"))
            async with asyncio.timeout(10):
                while True:
                    await ws.recv()
        except ConnectionClosed:
            pass
    return ws.close_code, ws.close_reason or ""


async def test_look_alikes_are_refused_over_the_websocket(served):
    before = log_rows(served)
    token = Tokens()("chair")
    for name, reason in LOOK_ALIKES.values():
        for room in (name, f"{name}/deliberation"):
            code, got = await close_of(served, httpx.URL(room).raw_path.decode(), token)
            assert code == 4400, (room, code, got)
            assert got.startswith(reason), (room, got)
    assert log_rows(served) == before  # nothing made, nothing written


async def test_only_drafts_and_their_rooms_open(served):
    token = Tokens()("chair")
    before = log_rows(served)
    assert await close_of(served, "plan-b", token) == (
        4404,
        "no draft 'plan-b': only drafts and their rooms may be opened",
    )
    assert await close_of(served, "plan-b/deliberation", token) == (
        4404,
        "no draft 'plan-b': only drafts and their rooms may be opened",
    )
    assert await close_of(served, "plan-a/summary/mt-1", token) == (
        4404,
        "no meeting 'mt-1' in draft 'plan-a'",
    )
    code, reason = await close_of(served, "plan-a/notes", token)
    assert code == 4400 and reason.startswith("'plan-a/notes' is not a room: rooms are {draft}")
    # A legacy room: still in the log, but not a draft, so it opens no more (and is written no more).
    assert (await close_of(served, "legacy-room", token))[0] == 4404
    assert (await close_of(served, "plаn-a", token))[0] == 4400
    assert log_rows(served) == before
    # The draft itself and its rooms open.
    async with connect(f"{served.ws}/plan-a/deliberation?token={token}") as ws:
        await ws.send(encode_sync_step1(b"\x00"))
        assert isinstance(await asyncio.wait_for(ws.recv(), 10), bytes)


def test_look_alikes_are_refused_over_rest(served):
    chair = httpx.Client(base_url=served.http, headers={"Authorization": f"Bearer {Tokens()('chair')}"})
    before = log_rows(served)
    for name, reason in LOOK_ALIKES.values():
        created = chair.post("/api/drafts", json={"id": name, "title": "Look-alike"})
        assert created.status_code == 422, created.text
        assert created.headers["content-type"] == "application/problem+json"
        assert reason in created.json()["detail"]
        for path in (f"/api/drafts/{name}", f"/api/drafts/{name}/deliberation", f"/api/drafts/{name}/events"):
            got = chair.get(httpx.URL(path).raw_path.decode())
            assert got.status_code == 400, (path, got.text)
            assert got.headers["content-type"] == "application/problem+json"
            assert got.json()["detail"].startswith(f"{name!r} is not a draft id: {reason}")
    assert [d["id"] for d in chair.get("/api/drafts").json()] == ["plan-a"]
    assert log_rows(served) == before


def test_legacy_rooms_are_still_verified(served):
    """The decision for rooms that are not drafts but have a log: the audit verifies their chains."""
    result = plenary_command("audit", "verify", "--json", "--database-url", served.database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    verified = {room["room"]: room for room in report["rooms"]}
    assert set(LEGACY) <= set(verified)
    assert all(verified[name]["ok"] for name in LEGACY)


def test_the_draft_importer_refuses_look_alikes(tmp_path: Path):
    source = tmp_path / "text.md"
    source.write_text("One paragraph.\n")
    url = f"sqlite:///{tmp_path / 'import.sqlite3'}"
    result = plenary_command(
        "drafts", "import", str(source), "--id", "plаn-a", "--title", "X", "--database-url", url
    )
    assert result.returncode != 0
    assert "U+0430 CYRILLIC SMALL LETTER A at position 2 is not allowed in a draft id" in result.stderr
