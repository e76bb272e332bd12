"""Revisions (Rev.1, Rev.2, …) and comparisons: the pure word diff, and a real server issuing, showing,
signing, exporting and comparing revisions.

The word diff is a property: whatever the two texts (any script, any whitespace), the deletions and kept
text spell the old text and the insertions and kept text the new one (hypothesis, 300 examples, ≈1 s).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import sqlite3
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Map, Text
from websockets.asyncio.client import connect

from client.session import RoomClient
from crdt.offsets import utf16_to_utf8
from crdt.procedure.commands import Actor
from crdt.procedure.deliberation import Deliberation
from crdt.record import comparison, wordiff
from crdt.record.comparison import Version, VersionParagraph
from crdt.wire.protocol import encode_sync_update
from tests.conftest import plenary_command
from tests.test_deliberation import Table

# --- the word diff, pure ---------------------------------------------------------------------------

_PIECES = [
    "a",
    "b",
    "cd",
    " ",
    "  ",
    ",",
    ".",
    "\n",
    "\t",
    "État",
    "法",
    "律",
    "مُ",
    "دول",
    "и",
    "🌍",
    "\u200c",
]
_TEXT = st.lists(st.sampled_from(_PIECES), max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(old=_TEXT, new=_TEXT)
def test_applying_the_operations_to_the_old_text_gives_the_new_one(old, new):
    ops = wordiff.diff(old, new)
    assert wordiff.apply(old, ops) == new
    assert "".join(t for op, t in ops if op != "insert") == old
    # No two neighbours of one kind, nothing empty.
    assert all(text for _, text in ops)
    assert all(a[0] != b[0] for a, b in itertools.pairwise(ops))


def test_words_not_keystrokes():
    ops = wordiff.diff(
        "All stakeholders should take part in the process.", "All stakeholders shall take a full part."
    )
    assert ops == [
        ("equal", "All stakeholders "),
        ("delete", "should"),
        ("insert", "shall"),
        ("equal", " take "),
        ("insert", "a full "),
        ("equal", "part"),
        ("delete", " in the process"),
        ("equal", "."),
    ]


def test_scripts_without_spaces_compare_by_character_and_arabic_by_word():
    # Chinese: a "word" is a character.
    assert wordiff.diff("各国政府应当合作", "各国政府必须合作") == [
        ("equal", "各国政府"),
        ("delete", "应当"),
        ("insert", "必须"),
        ("equal", "合作"),
    ]
    # Arabic: words keep their vowel marks; one changed word is one change.
    assert wordiff.diff("تُقَرِّر الدول الأعضاء", "تُقَرِّر جميع الدول الأعضاء") == [
        ("equal", "تُقَرِّر"),
        ("insert", " جميع"),
        ("equal", " الدول الأعضاء"),
    ]
    assert wordiff.tokens("مُحَمَّد") == ["مُحَمَّد"]


def test_apply_refuses_operations_for_another_text():
    with pytest.raises(wordiff.NotTheOldText):
        wordiff.apply("abc", [("equal", "abd")])


def _version(vid: str, *paragraphs: tuple[str, str, str, str]) -> Version:
    return Version(vid, vid, "", 1, None, tuple(VersionParagraph(*p) for p in paragraphs))


def test_paragraphs_are_matched_by_identity_through_renumbering_and_moves():
    old = _version(
        "rev1",
        ("a", "1", "operative", "First."),
        ("b", "2", "operative", "Second paragraph."),
        ("c", "3", "operative", "Third."),
        ("d", "4", "operative", "Fourth, to go."),
    )
    new = _version(
        "rev2",
        ("c", "1", "operative", "Third, now first."),
        ("a", "2", "operative", "First."),
        ("n", "2 bis", "operative", "New."),
        ("b", "3", "operative", "Second paragraph."),
    )
    result = comparison.compare("d", "T", old, new)
    by_id = {p.id: p for p in result.paragraphs}
    assert [p.id for p in result.paragraphs] == ["c", "a", "n", "b", "d"]
    assert (
        by_id["c"].moved
        and by_id["c"].change == "modified"
        and by_id["c"].notes[0] == ("former paragraph 3, now paragraph 1")
    )
    assert not by_id["a"].moved and by_id["a"].renumbered and by_id["a"].change == "unchanged"
    assert by_id["n"].change == "inserted" and by_id["d"].change == "deleted"
    assert result.counts == {
        "unchanged": 2,
        "modified": 1,
        "inserted": 1,
        "deleted": 1,
        "moved": 1,
        "renumbered": 3,
    }
    md = comparison.markdown(result)
    assert "Third**, now first**." in md.replace("\\", "") or "Third, **now first**." in md
    assert "~~Fourth, to go.~~" in md.replace("\\", "")
    page = comparison.html(result)
    assert "<ins>" in page and "<del>" in page and "former paragraph 3, now paragraph 1" in page


# --- the rule, pure --------------------------------------------------------------------------------


def test_revisions_are_successive_and_carry_the_draft_symbol():
    state = Deliberation()
    chair = Actor("c", "Chair", "Bureau", "international_organization", "chair")
    one = state.apply(
        {"type": "revision.issue", "seq": 5, "draft_symbol": "WSIS-II/PC-3/DT/5"}, chair, 0, "t"
    )
    assert (one["id"], one["name"], one["symbol"]) == ("rev1", "Rev.1", "WSIS-II/PC-3/DT/5/Rev.1")
    with pytest.raises(Exception, match="later entry"):
        state.apply({"type": "revision.issue", "seq": 5, "draft_symbol": "X"}, chair, 0, "t")
    delegate = Actor("s", "S", "Switzerland", "government", "delegate")
    position = state.apply({"type": "position.state", "target": "p1", "stance": "support"}, delegate, 0, "t")
    assert position["revision"] == "rev1"  # made against Rev.1
    two = state.apply({"type": "revision.issue", "seq": 9}, chair, 0, "t")
    assert two["symbol"] == "Rev.2"


# --- a real server ---------------------------------------------------------------------------------


def _edit(room: RoomClient, paragraph: str, old: str, new: str) -> None:
    array = room.doc.get("paragraphs", type=Array)
    for element in array:
        if element.get("id") == paragraph:
            text = element.get("text")
            current = str(text)
            at = current.index(old)
            start, end = utf16_to_utf8(current, at), utf16_to_utf8(current, at + len(old))
            with room.doc.transaction():
                del text[start:end]
                text.insert(start, new)
            return
    raise AssertionError(paragraph)


async def _settled(table: Table, draft: str, paragraph: str, expected: str) -> None:
    for _ in range(200):
        text = table.ok("chair", "GET", f"/api/drafts/{draft}")
        if {p["id"]: p["text"] for p in text["paragraphs"]}.get(paragraph) == expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the edit did not reach the log")


async def test_revisions_on_a_server(server, tokens, tmp_path):
    table = Table(server, tokens)
    paragraphs = [
        {"id": "p1", "kind": "operative", "text": "Implementation must be carried out at all levels."},
        {"id": "p2", "kind": "operative", "text": "There should be an implementation mechanism."},
        {"id": "p3", "kind": "operative", "text": "Stakeholders are invited to report."},
    ]
    table.ok(
        "chair",
        "POST",
        "/api/drafts",
        {"id": "dt5", "title": "Tunis follow-up", "symbol": "WSIS-II/PC-3/DT/5", "paragraphs": paragraphs},
    )
    base = "/api/drafts/dt5"
    # Numbers frozen, a paragraph inserted after 1 is "1 bis".
    table.ok("chair", "POST", f"{base}/numbering/freeze")
    async with RoomClient(server.ws, "dt5", token=table.tokens["switzerland"]) as room:
        await room.wait_synced()
        room.doc.get("paragraphs", type=Array).insert(
            1, Map({"id": "p9", "kind": "operative", "text": Text("A new paragraph.")})
        )
        await _settled(table, "dt5", "p9", "A new paragraph.")
    # Only the chair and the secretariat issue revisions.
    assert table("switzerland", "POST", f"{base}/revisions", {}).status_code == 403
    rev1 = table.ok("chair", "POST", f"{base}/revisions", {"note": "first revision"})["result"]
    assert (rev1["id"], rev1["symbol"]) == ("rev1", "WSIS-II/PC-3/DT/5/Rev.1")
    # Nothing changed since: a second revision is refused.
    again = table("chair", "POST", f"{base}/revisions", {})
    assert again.status_code == 409 and "nothing changed since Rev.1" in again.json()["detail"]
    # Nor can a revision show an entry before the last one's.
    earlier = table("chair", "POST", f"{base}/revisions", {"at": "1"})
    assert earlier.status_code == 409 and "later entry" in earlier.json()["detail"]

    async with RoomClient(server.ws, "dt5", token=table.tokens["switzerland"]) as room:
        await room.wait_synced()
        _edit(room, "p2", "should", "shall")
        array = room.doc.get("paragraphs", type=Array)
        with room.doc.transaction():
            moved = array[3]
            pid, text = moved.get("id"), str(moved.get("text"))
            del array[3]
            array.insert(0, Map({"id": pid, "kind": "operative", "text": Text(text)}))
        await _settled(table, "dt5", "p2", "There shall be an implementation mechanism.")
    table.ok("switzerland", "PUT", f"{base}/positions/p2", {"stance": "support"})
    table.ok("chair", "POST", f"{base}/numbering/unfreeze")
    rev2 = table.ok("secretariat", "POST", f"{base}/revisions", {"note": "after informals"})["result"]
    assert rev2["symbol"] == "WSIS-II/PC-3/DT/5/Rev.2"

    # A delegate lists and reads the revisions (documents issued to the table) and compares them.
    listed = table.ok("switzerland", "GET", f"{base}/revisions")["revisions"]
    assert [r["name"] for r in listed] == ["Rev.1", "Rev.2"]
    assert [r["symbol"] for r in table.ok("switzerland", "GET", base)["revisions"]] == [
        "WSIS-II/PC-3/DT/5/Rev.1",
        "WSIS-II/PC-3/DT/5/Rev.2",
    ]
    shown = table.ok("switzerland", "GET", f"{base}/revisions/rev1")
    assert [p["text"] for p in shown["paragraphs"]][2] == "There should be an implementation mechanism."
    assert shown["revision"]["seq"] == rev1["seq"]
    positions = table.ok("switzerland", "GET", f"{base}/deliberation")["positions"]["p2"]
    assert positions["Switzerland"]["revision"] == "rev1"

    result = table.ok("switzerland", "GET", f"{base}/compare?from=rev1&to=rev2")
    by_id = {p["id"]: p for p in result["paragraphs"]}
    assert by_id["p2"]["ops"] == [
        {"op": "equal", "text": "There "},
        {"op": "delete", "text": "should"},
        {"op": "insert", "text": "shall"},
        {"op": "equal", "text": " be an implementation mechanism."},
    ]
    assert by_id["p3"]["moved"] and by_id["p3"]["notes"] == ["former paragraph 3, now paragraph 1", "moved"]
    assert by_id["p9"]["change"] == "unchanged" and by_id["p9"]["notes"] == [
        "former paragraph 1 bis, now paragraph 3"
    ]
    html = table.http.get(
        f"{base}/compare?from=rev1&to=rev2&format=html",
        headers={"Authorization": f"Bearer {table.tokens['switzerland']}"},
    )
    assert html.status_code == 200 and "<del>" in html.text and "shall" in html.text
    # Arbitrary entries are the archive's.
    assert table("switzerland", "GET", f"{base}/compare?from=1&to=rev2").status_code == 403
    assert table("switzerland", "GET", f"{base}/compare?from=rev7").status_code == 404
    assert table("chair", "GET", f"{base}/compare?from=rev2&to=rev1").status_code == 422

    # The archive's time travel takes a revision too.
    assert table.ok("archivist", "GET", f"{base}/text?at=rev1")["seq"] == rev1["seq"]

    # Exports of a revision: under its symbol, the same bytes every time.
    export = table.http.get(
        f"{base}/export?format=akn&at=rev1",
        headers={"Authorization": f"Bearer {table.tokens['switzerland']}"},
    )
    assert export.status_code == 200
    assert b"WSIS-II/PC-3/DT/5/Rev.1" in zipfile.ZipFile(io.BytesIO(export.content)).read("dt5.xml")
    again_export = table.http.get(
        f"{base}/export?format=akn&at=rev1", headers={"Authorization": f"Bearer {table.tokens['chair']}"}
    )
    assert again_export.content == export.content
    await _revision_views_match_a_full_replay(server.database_url, "dt5", ["rev1", "rev2"])

    # The signed receipt checks, over HTTP and with the CLI; altered, it does not.
    signed = table.ok("switzerland", "GET", f"{base}/revisions/rev2/receipt")
    assert signed["format"] == "plenary-revision-v1" and signed["seq"] == rev2["seq"]
    assert table.ok("switzerland", "POST", f"{base}/audit/revisions/verify", signed)["ok"] is True
    forged = {**signed, "symbol": "WSIS-II/PC-3/DT/5/Rev.9"}
    report = table.ok("switzerland", "POST", f"{base}/audit/revisions/verify", forged)
    assert report["ok"] is False and report["problem"]["kind"] == "bad_signature"
    path = tmp_path / "rev2.json"
    path.write_text(json.dumps(signed))
    env = {"PLENARY_SECRET": server_secret(), "PLENARY_DATABASE_URL": server.database_url}
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        (original_payload,) = db.execute(
            "SELECT payload FROM log_entry WHERE room = 'dt5' AND seq = 2"
        ).fetchone()
    checked = plenary_command("audit", "check-revision", str(path), "--json", env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Rewriting an entry Rev.2 shows is caught.
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE log_entry SET payload = X'00' WHERE room = 'dt5' AND seq = 2")
    tampered = plenary_command("audit", "check-revision", str(path), env=env)
    assert tampered.returncode == 1 and "NOT OK: altered" in tampered.stdout
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE log_entry SET payload = ? WHERE room = 'dt5' AND seq = 2", (original_payload,))
    compared = plenary_command("compare", "dt5", "rev1", "rev2", env=env)
    assert compared.returncode == 0 and "There ~~should~~**shall** be" in compared.stdout
    babel = plenary_command("compare", "dt5", "rev1", "rev2", "--language", "xx", env=env)
    assert babel.returncode == 2 and babel.stdout == "" and babel.stderr.count("\n") == 1, babel
    assert "--language must be one of en" in babel.stderr

    # {draft}@rev1 serves Rev.1's text read-only, to a delegate too.
    async with RoomClient(server.ws, "dt5@rev1", token=table.tokens["switzerland"]) as past:
        await past.wait_synced()
        texts = [str(p.get("text")) for p in past.doc.get("paragraphs", type=Array)]
        assert texts[2] == "There should be an implementation mechanism."
    async with connect(f"{server.ws}/dt5@rev1?token={table.tokens['chair']}") as ws:
        await ws.send(encode_sync_update(b"\x01\x01\x01\x00\x04\x01\x01x\x01a\x00"))
        with pytest.raises(Exception):  # noqa: B017 - any close will do; the code is checked below
            for _ in range(10):
                await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code in (4400, 4403, 4422)
    async with connect(f"{server.ws}/dt5@rev3?token={table.tokens['chair']}") as ws:
        with pytest.raises(Exception):  # noqa: B017
            for _ in range(10):
                await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4400


def server_secret() -> str:
    from tests.conftest import TEST_SECRET

    return TEST_SECRET


async def _revision_views_match_a_full_replay(database_url: str, draft: str, revisions: list[str]) -> None:
    """A revision's view, built once from the history's checkpoints (and kept), is the view a full replay
    of the log up to its entry gives."""
    from dataclasses import replace

    from server.record.exports import read_revision_view, read_view
    from server.record.history import History
    from server.record.revisions import find_revision
    from server.storage.database import Database

    database = Database(database_url)
    try:
        for name in revisions:
            view = await read_revision_view(database, draft, name)
            record = await find_revision(History.of(database), draft, name)
            replayed = await read_view(database, draft, record["seq"])
            assert replayed is not None
            assert view == replace(replayed, symbol=record["symbol"], generated=view.generated)
            assert view.generated == record["time"][:19] + "Z"
            assert await read_revision_view(database, draft, name) is view  # kept: built once
    finally:
        await database.close()
