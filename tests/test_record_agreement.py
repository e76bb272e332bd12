"""Every view of the record agrees with every other at the same entry: the live text, ``GET …/text?at=``,
``plenary history``, the events and every export number the paragraphs alike (frozen numbers, "bis"
insertions, then unfrozen), and every export says which entry it shows, with that entry's time and hash.
One real server (SQLite), a real websocket client for the paragraph insertions.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
import zipfile

from lxml import etree
from pycrdt import Array, Map, Text

from client.session import RoomClient
from crdt.times import iso_us
from tests.conftest import eventually, plenary_command
from tests.test_deliberation import Table, create

AKN = "{http://docs.oasis-open.org/legaldocml/ns/akn/3.0}"
D = "/api/drafts/tunis"


def _head(table: Table) -> int:
    return table.ok("chair", "GET", f"{D}/events?limit=1")["head"]


def _entry(server, seq: int) -> tuple[int, str]:
    path = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        time_us, digest = db.execute(
            "SELECT time_us, hash FROM log_entry WHERE room = 'tunis' AND seq = ?", (seq,)
        ).fetchone()
    return time_us, bytes(digest).hex()


def _numbers_in_markdown(text: str) -> list[str]:
    return [n.rstrip(".") for n in re.findall(r"^\*\*(.+?)\*\* \(", text, re.MULTILINE)]


def _numbers_in_akn(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        root = etree.fromstring(archive.read("tunis.xml"))
    return [num.text.rstrip(".") for num in root.iter(f"{AKN}num")]


async def test_every_view_numbers_alike_and_states_its_moment(server, tokens):
    table = Table(server, tokens)
    create(table)
    table.ok("chair", "POST", f"{D}/numbering/freeze")
    # An amendment filed against item (b) of paragraph 3 ("stakeholder", UTF-16 2–13 of p7).
    amendment = table.ok(
        "ccbi",
        "POST",
        f"{D}/amendments",
        {"paragraph": "p7", "kind": "substitution", "start": 2, "end": 13, "text": "multistakeholder"},
    )["result"]
    assert amendment["reference"] == "3 (b)"
    async with RoomClient(server.ws, "tunis", token=table.tokens["secretariat"]) as secretariat:
        await secretariat.wait_synced()
        paragraphs = secretariat.doc.get("paragraphs", type=Array)
        ids = [p["id"] for p in paragraphs]
        # An item after (a), and an operative paragraph after the heading before paragraph 3.
        paragraphs.insert(
            ids.index("p6") + 1, Map({"id": "p6-bis", "kind": "item", "text": Text("a roadmap;")})
        )
        paragraphs.insert(
            ids.index("p4") + 1, Map({"id": "p4-bis", "kind": "operative", "text": Text("Inserted.")})
        )
        await eventually(lambda: len(table.ok("chair", "GET", D)["paragraphs"]) == 9)
    live = {p["id"]: p["number"] for p in table.ok("chair", "GET", D)["paragraphs"]}
    assert (live["p6-bis"], live["p7"], live["p4-bis"], live["p5"]) == ("(a bis)", "(b)", "2 bis", "3")
    frozen_seq = _head(table)
    table.ok("chair", "POST", f"{D}/numbering/unfreeze")
    head_seq = _head(table)
    live = {p["id"]: (p["number"], p["reference"]) for p in table.ok("chair", "GET", D)["paragraphs"]}
    assert live["p7"] == ("(c)", "4 (c)")

    for seq in (frozen_seq, head_seq):
        text = table.ok("archivist", "GET", f"{D}/text?at={seq}")
        numbers = {p["id"]: (p["number"], p["reference"]) for p in text["paragraphs"]}
        shown = [p["number"] for p in text["paragraphs"] if p["number"]]
        cli = plenary_command(
            "history", "tunis", "--at", str(seq), "--json", "--database-url", server.database_url
        )
        assert cli.returncode == 0, cli.stderr
        assert {
            p["id"]: (p["number"], p["reference"]) for p in json.loads(cli.stdout)["paragraphs"]
        } == numbers
        time_us, digest = _entry(server, seq)
        assert text["time"] == iso_us(time_us)
        moment = f"entry {seq} of its log ({text['time']}, hash {digest})"
        for fmt in ("markdown", "html", "summary", "annotations"):
            response = table("archivist", "GET", f"{D}/export?format={fmt}&at={seq}")
            assert response.status_code == 200, response.text
            assert moment in response.text, (fmt, response.text[:600])
            if fmt == "markdown":
                assert _numbers_in_markdown(response.text) == shown
        archive = table("archivist", "GET", f"{D}/export?format=akn&at={seq}").content
        assert _numbers_in_akn(archive) == shown
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            for name in zipped.namelist():
                record = etree.fromstring(zipped.read(name)).find(".//{urn:plenary:record}record")
                assert record is not None and record.get("seq") == str(seq) and record.get("hash") == digest
        if seq == frozen_seq:
            assert numbers["p6-bis"] == ("(a bis)", "3 (a bis)") and numbers["p4-bis"] == ("2 bis", "2 bis")
        else:
            assert numbers == live

    # The live export states the head it was made from.
    receipt = table.ok("chair", "GET", f"{D}/audit/head")
    assert receipt["seq"] == head_seq
    now = table("archivist", "GET", f"{D}/export?format=markdown").text
    assert f"entry {head_seq} of its log (" in now and receipt["hash"] in now
    # The amendment is cited with the number it had when it was filed, and the one it has now.
    assert "then 3 (b), now 4 (c)" in now
    events = table.ok("chair", "GET", f"{D}/events?limit=1000")["events"]
    proposed = next(e for e in events if e["kind"] == "cmd.amendment.propose")
    assert "paragraph 3 (b)" in proposed["summary"]
