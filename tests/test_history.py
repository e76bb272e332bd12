"""Time travel: the text, deliberation state, blame and diffs at any entry of a draft's log.

The pure folds (crdt/record/history.py) are checked against random concurrent editing in which every
edit writes characters no other edit writes, so the true author of each character is known;
the server (server/record/history.py, server/api/history.py) is checked by driving a scripted session
over a real server and asking, afterwards, for the text at every moment that was recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from client.session import RoomClient
from crdt.offsets import codepoint_to_utf8, utf16_length, utf16_to_utf8
from crdt.procedure.draft import read_paragraphs
from crdt.record.history import (
    BlameFold,
    CommandTimeline,
    Entry,
    HistoryError,
    TextTimeline,
    doc_from,
)
from crdt.record.history.spans import SpanList
from tests.conftest import ROOT, eventually
from tests.test_deliberation import Table, create

# --- the pure folds --------------------------------------------------------------------------------


def _char(edit: int) -> str:
    """A character only edit ``edit`` ever writes: 3-byte CJK for even edits, 4-byte astral for odd."""
    return chr(0x4E00 + edit) if edit % 2 == 0 else chr(0x20000 + edit)


class Scripted:
    """Three replicas editing concurrently through a server replica whose changes are the log."""

    def __init__(self, seed: int, *, gc: bool = False) -> None:
        self.rng = random.Random(seed)
        self.server = Doc(client_id=1, skip_gc=not gc)
        self.replica = Doc(client_id=2)
        self.entries: list[Entry] = []
        self.author_of_edit: dict[int, int] = {}  # edit → seq that logged it
        self.docs_at: dict[int, list[tuple[str, str]]] = {}
        # Without GC by default: replicas that garbage-collect their own deletions send GC structs,
        # with which yrs itself sometimes goes astray (text integrated into the paragraphs array).
        self.clients = [Doc(client_id=100 + i, skip_gc=not gc) for i in range(3)]
        self.queues: list[list[tuple[int | None, bytes]]] = [[] for _ in self.clients]
        self.edits = 0
        self._changes: list[bytes] = []
        self.server.observe(lambda event: self._changes.append(event.update))
        with self.server.transaction():
            array = self.server.get("paragraphs", type=Array)
            for i in range(3):
                array.append(Map({"id": f"p{i + 1}", "kind": "operative", "text": Text(self._word())}))
        self._log(list(range(1, self.edits + 1)), "chair", "api")
        for client in self.clients:
            client.apply_update(self.server.get_update())

    def _word(self, length: int = 4) -> str:
        self.edits += 1
        return _char(self.edits) * length

    def _log(self, edits: list[int], participant: str, connection: str) -> None:
        for change in self._changes:
            seq = len(self.entries) + 1
            self.entries.append(
                Entry(seq, 1_000_000 * seq, participant, "delegate", "update", connection, change)
            )
            for edit in edits:
                self.author_of_edit[edit] = seq
            # What clients see is the logged updates replayed (the server broadcasts exactly those).
            self.replica.apply_update(change)
            self.docs_at[seq] = [(p.id, p.text) for p in read_paragraphs(self.replica)]
        self._changes.clear()

    def edit(self, who: int) -> None:
        doc = self.clients[who]
        array = doc.get("paragraphs", type=Array)
        updates: list[bytes] = []
        subscription = doc.observe(lambda event: updates.append(event.update))
        roll = self.rng.random()
        if roll < 0.05 and len(array) > 1:
            del array[self.rng.randrange(len(array))]
            edit = None
        elif roll < 0.1 or not len(array):
            word = self._word()
            edit = self.edits
            array.insert(
                self.rng.randrange(len(array) + 1),
                Map({"id": f"q{edit}", "kind": "item", "text": Text(word)}),
            )
        else:
            text = array[self.rng.randrange(len(array))]["text"]
            current = str(text)
            at = self.rng.randrange(len(current) + 1)
            if roll < 0.6 or not current:
                word = self._word(self.rng.randrange(1, 4))
                edit = self.edits
                text.insert(codepoint_to_utf8(current, at), word)
            elif roll < 0.85:
                end = min(len(current), at + self.rng.randrange(1, 5))
                start8, end8 = codepoint_to_utf8(current, at), codepoint_to_utf8(current, end)
                if end8 > start8:
                    del text[start8:end8]
                edit = None
            else:
                doc.unobserve(subscription)
                self.anchor()
                return
        doc.unobserve(subscription)
        for update in updates:
            self.queues[who].append((edit, update))

    def anchor(self) -> None:
        """The server marks a span (as it anchors annotations and amendments): formatting only."""
        array = self.server.get("paragraphs", type=Array)
        text = array[self.rng.randrange(len(array))]["text"] if len(array) else None
        current = str(text) if text is not None else ""
        if not current:
            return
        at = self.rng.randrange(len(current))
        end = min(len(current), at + self.rng.randrange(1, 6))
        start8, end8 = codepoint_to_utf8(current, at), codepoint_to_utf8(current, end)
        text.format(start8, end8 - start8, {f"anchor:a{len(self.entries)}": True})
        self._log([], "chair", "anchor/a")

    def deliver(self, who: int) -> None:
        """The server receives the oldest queued update of replica ``who``."""
        if not self.queues[who]:
            return
        edit, update = self.queues[who].pop(0)
        self.server.apply_update(update)
        self._log([] if edit is None else [edit], f"delegate-{who}", f"conn-{who}")

    def sync_back(self, who: int) -> None:
        self.clients[who].apply_update(self.server.get_update(self.clients[who].get_state()))

    def run(self, steps: int) -> None:
        for _ in range(steps):
            who = self.rng.randrange(3)
            action = self.rng.random()
            if action < 0.5:
                self.edit(who)
            elif action < 0.85:
                self.deliver(who)
            else:
                self.sync_back(who)
        for who in range(3):
            while self.queues[who]:
                self.deliver(who)


def _edit_of(char: str) -> int:
    code = ord(char)
    return code - 0x20000 if code >= 0x20000 else code - 0x4E00


def _check_blame(script: Scripted, fold: BlameFold, seq: int) -> None:
    blame = fold.blame()
    assert [(p["id"], p["text"]) for p in blame] == script.docs_at[seq]
    for paragraph in blame:
        units = paragraph["text"].encode("utf-16-le")
        position = 0
        for span in paragraph["spans"]:
            assert span["start"] == position
            assert units[2 * span["start"] : 2 * span["end"]].decode("utf-16-le") == span["text"]
            position = span["end"]
            for char in set(span["text"]):
                assert script.author_of_edit[_edit_of(char)] == span["seq"], (char, span)
        assert position == utf16_length(paragraph["text"])


@pytest.mark.parametrize("seed", range(6))
def test_blame_attributes_every_character_to_the_entry_that_wrote_it(seed):
    script = Scripted(seed)
    script.run(400)
    fold = BlameFold()
    checkpoints = sorted({len(script.entries) // 3, len(script.entries) // 2, len(script.entries)})
    for entry in script.entries:
        fold.feed(entry)
        if entry.seq in checkpoints:
            _check_blame(script, fold, entry.seq)


@pytest.mark.parametrize("seed", range(4))
def test_diff_reports_net_insertions_and_deletions_with_their_authors(seed):
    script = Scripted(100 + seed)
    script.run(300)
    n = len(script.entries)
    start, end = n // 3, n
    fold = BlameFold()
    for entry in script.entries[:start]:
        fold.feed(entry)
    fold.mark()
    for entry in script.entries[start:end]:
        fold.feed(entry)
    before = dict(script.docs_at[start])
    after = dict(script.docs_at[end])
    changes = {(c["id"], c["status"]): c for c in fold.diff()}
    for pid in set(before) | set(after):
        old, new = before.get(pid, ""), after.get(pid, "")
        status = "added" if pid not in before else "removed" if pid not in after else "changed"
        change = changes.get((pid, status))
        if status == "changed" and Counter(old) == Counter(new):
            assert change is None or not (change["inserted"] or change["deleted"])
            continue
        assert change is not None, (pid, status, changes.keys())
        inserted = "".join(i["text"] for i in change["inserted"])
        deleted = "".join(d["text"] for d in change["deleted"])
        # Every edit writes its own character (several times): counts tell what came and went.
        assert Counter(inserted) == Counter(new) - Counter(old)
        assert Counter(deleted) == Counter(old) - Counter(new)
        old16 = old.encode("utf-16-le")
        new16 = new.encode("utf-16-le")
        for piece in change["inserted"]:
            assert new16[2 * piece["at"] :].decode("utf-16-le").startswith(piece["text"])
            assert piece["seq"] > start
        for piece in change["deleted"]:
            assert old16[2 * piece["at"] :].decode("utf-16-le").startswith(piece["text"])
            assert piece["seq"] > start
            assert piece["written_by"]["seq"] == script.author_of_edit[_edit_of(piece["text"][0])]


def test_text_timeline_checkpoints_give_every_past_text():
    script = Scripted(7)
    script.run(300)
    timeline = TextTimeline(every=17, max_bytes=4_000)
    for entry in script.entries:
        timeline.feed(entry)
    assert timeline.checkpoints > 2
    for seq in range(1, len(script.entries) + 1):
        base, state = timeline.nearest(seq)
        assert base <= seq
        doc = doc_from(state, [e for e in script.entries if base < e.seq <= seq])
        assert [(p.id, p.text) for p in read_paragraphs(doc)] == script.docs_at[seq]


def test_spans_split_on_byte_offsets_and_refuse_to_cut_a_character():
    from crdt.record.history import Origin
    from crdt.record.history.spans import Span

    origin = Origin(1, 0, "a", "delegate", None)
    spans = SpanList([Span("a🌍b", 6, origin)])
    spans.insert(5, Span("X", 1, origin))
    assert spans.text() == "a🌍Xb"
    assert "".join(s.text for s in spans.delete(1, 4)) == "🌍"
    assert spans.text() == "aXb"
    with pytest.raises(HistoryError):
        SpanList([Span("🌍", 4, origin)]).insert(2, Span("X", 1, origin))
    with pytest.raises(HistoryError):
        spans.delete(2, 10)


def test_spans_stay_consistent_through_many_block_splits_and_merges():
    from crdt.record.history import Origin
    from crdt.record.history.spans import Span

    rng = random.Random(3)
    spans = SpanList()
    mirror = ""
    most_blocks = 0
    for i in range(5_000):
        origin = Origin(i, 0, "p", "delegate", None)
        if mirror and rng.random() < (0.2 if i < 3_000 else 0.9):
            at = rng.randrange(len(mirror))
            length = rng.randrange(1, min(8, len(mirror) - at) + 1)
            removed = spans.delete(at, length)
            assert "".join(s.text for s in removed) == mirror[at : at + length]
            mirror = mirror[:at] + mirror[at + length :]
        else:
            at = rng.randrange(len(mirror) + 1) if rng.random() < 0.3 else len(mirror)
            word = "".join(rng.choice("abc") for _ in range(rng.randrange(1, 4)))
            spans.insert(at, Span(word, len(word), origin))
            mirror = mirror[:at] + word + mirror[at:]
        assert spans.size == len(mirror)
        most_blocks = max(most_blocks, len(spans.blocks))
    assert spans.text() == mirror
    assert most_blocks > 10


def test_command_timeline_matches_a_straight_fold():
    from crdt.procedure.commands import Actor
    from crdt.procedure.deliberation import Deliberation

    actor = Actor("ch", "Switzerland delegate", "Switzerland", "government", "delegate")
    entries = []
    for i in range(1, 700):
        command = {
            "type": "position.state",
            "target": f"p{i % 5}",
            "stance": "support" if i % 3 else "objection",
        }
        payload = json.dumps({"command": command, "actor": actor.to_json()}).encode()
        entries.append(
            Entry(i, 1_700_000_000_000_000 + i, "ch", "delegate", "cmd.position.state", "api", payload)
        )
    timeline = CommandTimeline(every=50)
    for entry in entries:
        timeline.feed(entry)
    for seq in (0, 1, 49, 50, 51, 333, 699):
        straight = Deliberation()
        for command in timeline.entries[:seq]:
            straight.apply(command.command, command.actor, command.time_us, "t")
        assert timeline.state_at(seq).positions.keys() == straight.positions.keys()
        assert [len(v) for v in timeline.state_at(seq).positions.values()] == [
            len(v) for v in straight.positions.values()
        ]
    assert timeline.people["ch"].delegation == "Switzerland"


# --- the server: a scripted session, then time travel over it --------------------------------------


@dataclass
class Step:
    label: str
    seq: int
    paragraphs: list[dict[str, Any]]  # id, number, kind, text: as clients saw them
    deliberation: dict[str, Any]


@dataclass
class Played:
    table: Table
    steps: list[Step] = field(default_factory=list)

    def seq(self, label: str) -> int:
        return next(step.seq for step in self.steps if step.label == label)

    def get(self, who: str, path: str, status: int = 200) -> Any:
        response = self.table(who, "GET", path)
        assert response.status_code == status, response.text
        return response.json()


def _paragraph_map(doc: Doc, pid: str) -> Map:
    for element in doc.get("paragraphs", type=Array):
        if element.get("id") == pid:
            return element
    raise AssertionError(f"no paragraph {pid}")


def splice(client: RoomClient, pid: str, start16: int, end16: int, insert: str = "") -> None:
    """Replace [start16, end16) (UTF-16, as a JS client counts) of a paragraph, in one transaction."""
    text = _paragraph_map(client.doc, pid)["text"]
    current = str(text)
    start8, end8 = utf16_to_utf8(current, start16), utf16_to_utf8(current, end16)
    with client.doc.transaction():
        if end8 > start8:
            del text[start8:end8]
        if insert:
            text.insert(start8, insert)


def find16(text: str, needle: str) -> int:
    return utf16_length(text[: text.index(needle)])


async def play(server, tokens) -> Played:
    """Three delegations edit (with emoji), an amendment is proposed, debated and adopted, a
    paragraph is added; after every step the text a client holds is recorded with the head seq."""
    table = Table(server, tokens)
    played = Played(table)
    create(table)
    async with RoomClient(server.ws, "tunis", token=table.tokens["archivist"]) as watch:
        await watch.wait_synced()

        async def record(label: str, editor: RoomClient | None = None) -> None:
            def converged() -> list[dict[str, Any]] | None:
                served = table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"]
                shown = [(p["id"], p["kind"], p["text"]) for p in served]
                for client in (watch, editor):
                    if client is not None and shown != [
                        (p.id, str(p.kind), p.text) for p in read_paragraphs(client.doc)
                    ]:
                        return None
                return served

            served = await eventually(converged)
            head = table.ok("archivist", "GET", "/api/drafts/tunis/events?limit=1")["head"]
            deliberation = table.ok("chair", "GET", "/api/drafts/tunis/deliberation")
            paragraphs = [{k: p[k] for k in ("id", "number", "reference", "kind", "text")} for p in served]
            played.steps.append(Step(label, head, paragraphs, deliberation))

        await record("created")
        async with (
            RoomClient(server.ws, "tunis", token=table.tokens["switzerland"]) as swiss,
            RoomClient(server.ws, "tunis", token=table.tokens["csc"]) as csc,
            RoomClient(server.ws, "tunis", token=table.tokens["ccbi"]) as ccbi,
        ):
            for client in (swiss, csc, ccbi):
                await client.wait_synced()
            p2 = str(_paragraph_map(swiss.doc, "p2")["text"])
            splice(swiss, "p2", utf16_length(p2), utf16_length(p2), " 🇨🇭 Swiss text")
            await record("swiss typed", swiss)
            splice(csc, "p3", 0, 0, "🕊️ ")
            await record("csc dove", csc)
            p3 = str(_paragraph_map(csc.doc, "p3")["text"])
            at = find16(p3, "regional and ")
            splice(csc, "p3", at, at + len("regional and "), "")
            await record("csc deleted", csc)
            await eventually(lambda: "Swiss text" in str(_paragraph_map(ccbi.doc, "p2")["text"]))
            p2 = str(_paragraph_map(ccbi.doc, "p2")["text"])
            at = find16(p2, "text")
            splice(ccbi, "p2", at, at + 4, "business")
            await record("ccbi replaced", ccbi)

            span = {"paragraph": "p5", "start": 19, "end": 43}  # "implementation mechanism"
            proposal = table.ok(
                "switzerland",
                "POST",
                "/api/drafts/tunis/amendments",
                {
                    **span,
                    "kind": "substitution",
                    "text": "implementation process",
                    "justification": "lighter",
                },
            )["result"]
            assert proposal["id"] == "am-1"
            await record("proposed")
            table.ok("ccbi", "POST", "/api/drafts/tunis/amendments/am-1/cosponsor")
            await record("cosponsored")
            table.ok("switzerland", "PUT", "/api/drafts/tunis/positions/am-1", {"stance": "support"})
            table.ok(
                "csc",
                "PUT",
                "/api/drafts/tunis/positions/am-1",
                {"stance": "objection", "explanation": "vague"},
            )
            await record("objection")
            table.ok("csc", "PUT", "/api/drafts/tunis/positions/am-1", {"stance": "support"})
            await record("support")
            table.ok("chair", "POST", "/api/drafts/tunis/amendments/am-1/adopt", {})
            await record("adopted")
            await eventually(lambda: "process" in str(_paragraph_map(csc.doc, "p5")["text"]))
            p5 = str(_paragraph_map(csc.doc, "p5")["text"])
            at = find16(p5, "process")
            splice(csc, "p5", at, at, "inclusive ")
            await record("csc inside amendment", csc)
            array = swiss.doc.get("paragraphs", type=Array)
            array.insert(5, Map({"id": "p8", "kind": "operative", "text": Text("New ✨ paragraph")}))
            await record("swiss added p8", swiss)
    return played


_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def normalised(value: Any) -> Any:
    """The deliberation state with times blurred: the live state stamps a command a few µs before
    its log entry is written, and the replay (like the server's own reload) uses the entry's time."""
    if isinstance(value, dict):
        return {k: 0 if k.endswith("_us") else normalised(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalised(v) for v in value]
    if isinstance(value, str) and _TIME.match(value):
        return "<time>"
    return value


async def plenary_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_time_travel_equals_what_clients_saw(server, tokens):
    played = await play(server, tokens)
    seqs = [step.seq for step in played.steps]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    for step in played.steps:
        past = played.get("archivist", f"/api/drafts/tunis/text?at={step.seq}")
        assert past["seq"] == step.seq
        assert past["paragraphs"] == [
            {**p, "length_utf16": utf16_length(p["text"]), "translations": {}} for p in step.paragraphs
        ], step.label
        assert normalised(past["deliberation"]) == normalised(step.deliberation), step.label

    # A moment given as a time: the last entry at or before it.
    adopted = played.get("chair", f"/api/drafts/tunis/text?at={played.seq('adopted')}")
    assert played.get("chair", f"/api/drafts/tunis/text?at={adopted['time']}")["seq"] == played.seq("adopted")
    assert played.get("chair", "/api/drafts/tunis/text?at=0")["paragraphs"] == []
    assert played.get("chair", "/api/drafts/tunis/text")["seq"] == seqs[-1]
    played.get("chair", "/api/drafts/tunis/text?at=99999", 404)
    played.get("chair", "/api/drafts/tunis/text?at=2001-01-01T00:00:00Z", 404)
    played.get("chair", "/api/drafts/tunis/text?at=yesterday", 422)
    played.get("chair", "/api/drafts/tunis/text?at=2030-01-01T00:00:00", 422)  # no timezone

    # A past version as a read-only Yjs room.
    for label in ("csc dove", "adopted"):
        seq = played.seq(label)
        step = next(s for s in played.steps if s.label == label)
        async with RoomClient(
            server.ws, f"tunis@{seq}", token=played.table.tokens["archivist"], reconnect=False
        ) as past:
            await past.wait_synced()
            assert [(p.id, p.text) for p in read_paragraphs(past.doc)] == [
                (p["id"], p["text"]) for p in step.paragraphs
            ]
            _paragraph_map(past.doc, "p2")["text"].insert(0, "X")
            await eventually(lambda past=past: past.closed.is_set())
            assert past.close_code == 4403
    assert played.get("chair", "/api/drafts/tunis")["paragraphs"][1]["text"].startswith("Any")
    for who, room, code in [
        ("switzerland", f"tunis@{seqs[2]}", 4403),
        ("observer", f"tunis@{seqs[2]}", 4403),
        ("archivist", "tunis@99999", 4400),
        ("archivist", "tunis@latest", 4400),
    ]:
        # A raw socket: the refusal comes right after the upgrade, before any sync.
        async with connect(f"{server.ws}/{room}?token={played.table.tokens[who]}") as ws:
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
            assert ws.close_code == code, (who, room, ws.close_reason)

    # The command line reads the same history from the database.
    url = server.database_url
    seq = played.seq("ccbi replaced")
    code, out, err = await plenary_cli("history", "tunis", "--at", str(seq), "--json", "--database-url", url)
    assert code == 0, err
    assert (
        json.loads(out)["paragraphs"]
        == played.get("archivist", f"/api/drafts/tunis/text?at={seq}")["paragraphs"]
    )
    code, out, _ = await plenary_cli("history", "tunis", "--at", str(seq), "--database-url", url)
    assert code == 0 and "Swiss business" in out
    code, out, _ = await plenary_cli("blame", "tunis", "--database-url", url)
    assert code == 0 and "via am-1" in out and "Switzerland" in out
    code, out, _ = await plenary_cli(
        "events", "tunis", "--after", "2", "--limit", "50", "--database-url", url
    )
    assert code == 0 and "Switzerland proposed am-1 (substitution) on paragraph 3" in out
    code, _, err = await plenary_cli("history", "nope", "--database-url", url)
    assert code == 1 and "no log" in err


def _spans(blame: dict[str, Any], pid: str) -> list[dict[str, Any]]:
    paragraph = next(p for p in blame["paragraphs"] if p["id"] == pid)
    units = paragraph["text"].encode("utf-16-le")
    position = 0
    for span in paragraph["spans"]:
        assert span["start"] == position
        assert units[2 * span["start"] : 2 * span["end"]].decode("utf-16-le") == span["text"]
        position = span["end"]
    assert position == utf16_length(paragraph["text"])
    return paragraph["spans"]


def _written(spans: list[dict[str, Any]], text: str) -> dict[str, Any]:
    return next(span for span in spans if text in span["text"])


async def test_blame_and_diff(server, tokens):
    played = await play(server, tokens)
    blame = played.get("archivist", "/api/drafts/tunis/blame")
    assert blame["seq"] == played.steps[-1].seq and blame["unit"] == "utf16"
    created = played.seq("created")

    p2 = _spans(blame, "p2")
    text2 = next(p["text"] for p in blame["paragraphs"] if p["id"] == "p2")
    assert text2.endswith("character 🌍. 🇨🇭 Swiss business")
    swiss = _written(p2, "Swiss")
    assert (swiss["delegation"], swiss["role"], swiss["participant"]) == (
        "Switzerland",
        "delegate",
        "switzerland",
    )
    assert swiss["text"] == " 🇨🇭 Swiss "
    assert swiss["start"] == utf16_length(
        "Any implementation mechanism must have a multi-stakeholder character 🌍."
    )
    business = _written(p2, "business")
    assert (business["text"], business["delegation"]) == ("business", "CCBI")
    assert business["start"] == swiss["end"] and business["end"] == utf16_length(text2)
    assert _written(p2, "Any")["seq"] == created and _written(p2, "Any")["role"] == "chair"

    p3 = _spans(blame, "p3")
    dove = p3[0]
    assert (dove["text"], dove["start"], dove["end"]) == ("🕊️ ", 0, 4)  # U+1F54A is two UTF-16 units
    assert dove["delegation"] == "Civil Society Caucus"

    p5 = _spans(blame, "p5")
    adopted = [span for span in p5 if span["amendment"] == "am-1"]
    assert "".join(span["text"] for span in adopted) == "implementation process"
    assert {(s["participant"], s["role"], s["delegation"]) for s in adopted} == {("chair", "chair", "Bureau")}
    assert _written(p5, "inclusive")["delegation"] == "Civil Society Caucus"
    assert _written(p5, "inclusive")["amendment"] is None

    p8 = _spans(blame, "p8")
    assert [(s["text"], s["delegation"]) for s in p8] == [("New ✨ paragraph", "Switzerland")]
    delegations = {s["delegation"] for p in blame["paragraphs"] for s in p["spans"]}
    assert {"Switzerland", "CCBI", "Civil Society Caucus", "Bureau"} <= delegations

    # Blame of a past text: before the adoption, p5 was the chair's.
    before = played.get("archivist", f"/api/drafts/tunis/blame?at={played.seq('support')}")
    assert {s["participant"] for s in _spans(before, "p5")} == {"chair"}

    # The adoption, as a diff.
    diff = played.get(
        "archivist", f"/api/drafts/tunis/diff?from={played.seq('support')}&to={played.seq('adopted')}"
    )
    assert [(c["id"], c["status"]) for c in diff["paragraphs"]] == [("p5", "changed")]
    change = diff["paragraphs"][0]
    assert [(i["text"], i["at"], i["amendment"], i["participant"]) for i in change["inserted"]] == [
        ("implementation process", 19, "am-1", "chair")
    ]
    assert [(d["text"], d["at"], d["amendment"]) for d in change["deleted"]] == [
        ("implementation mechanism", 19, "am-1")
    ]
    assert change["deleted"][0]["written_by"]["seq"] == created

    # The whole session, as a diff.
    diff = played.get("archivist", f"/api/drafts/tunis/diff?from={created}")
    changes = {c["id"]: c for c in diff["paragraphs"]}
    assert changes["p8"]["status"] == "added" and changes["p8"]["before"] is None
    assert {(i["text"], i["delegation"]) for i in changes["p2"]["inserted"]} == {
        (" 🇨🇭 Swiss ", "Switzerland"),
        ("business", "CCBI"),
    }
    assert changes["p2"]["deleted"] == []  # "text" came and went inside the window: not a net change
    assert [(i["text"], i["at"]) for i in changes["p3"]["inserted"]] == [("🕊️ ", 0)]
    deleted = changes["p3"]["deleted"]
    assert [(d["text"], d["delegation"], d["written_by"]["role"]) for d in deleted] == [
        ("regional and ", "Civil Society Caucus", "chair")
    ]
    assert changes["p3"]["before"][deleted[0]["at"] :].startswith("regional and ")  # no astral chars before
    assert played.get("archivist", f"/api/drafts/tunis/diff?from={created}&to={created}")["paragraphs"] == []
    played.get("archivist", f"/api/drafts/tunis/diff?from={played.seq('adopted')}&to={created}", 422)


async def test_events_amendment_story_and_who_may_read_history(server, tokens):
    played = await play(server, tokens)
    head = played.steps[-1].seq

    # Everything, paged.
    seen: list[dict[str, Any]] = []
    after = 0
    while True:
        page = played.get("archivist", f"/api/drafts/tunis/events?after={after}&limit=7")
        seen.extend(page["events"])
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert [e["seq"] for e in seen] == list(range(1, head + 1))
    summaries = [e["summary"] for e in seen]
    assert any(s.startswith("chair created the draft") for s in summaries)
    assert "Switzerland proposed am-1 (substitution) on paragraph 3" in summaries
    assert "CCBI co-sponsored am-1" in summaries
    assert "Civil Society Caucus: objection on am-1" in summaries
    assert any(s.startswith("Chair adopted am-1") for s in summaries)
    assert "anchored am-1 on p5" in summaries
    assert "text edit on p2 (+14 −0 chars)" in summaries  # " 🇨🇭 Swiss text": 14 code points
    assert "text edit on p2 (+8 −4 chars)" in summaries
    assert any(s.startswith("adoption of am-1: text edit on p5 (+22 −24 chars)") for s in summaries)
    assert "added paragraph p8" in summaries

    # Filters, server-side: decisions only (commands that applied), and a search over the summaries.
    decided = played.get("archivist", "/api/drafts/tunis/events?limit=1000&decisions=true")["events"]
    assert decided and all(e["kind"].startswith("cmd.") and "skipped" not in e for e in decided)
    assert decided == [e for e in seen if e["kind"].startswith("cmd.") and "skipped" not in e]
    found = played.get("archivist", "/api/drafts/tunis/events?limit=1000&q=CO-SPONSORED")["events"]
    assert [e["summary"] for e in found] == ["CCBI co-sponsored am-1"]
    found = played.get("archivist", "/api/drafts/tunis/events?limit=1000&q=text%20edit%20on%20p2")["events"]
    assert found == [e for e in seen if "text edit on p2" in e["summary"]] and len(found) >= 2
    swiss = played.get("archivist", "/api/drafts/tunis/events?limit=1000&delegation=Switzerland")["events"]
    assert swiss and swiss == [e for e in seen if e["participant"] == "switzerland"]
    for bad in ("decisions=yes", "q=" + "x" * 201, "delegation=" + "d" * 201):
        problem = played.get("archivist", f"/api/drafts/tunis/events?{bad}", 422)
        assert problem["detail"].startswith(bad.split("=")[0]), problem
    paths = played.get("archivist", "/api/openapi.json")["paths"]["/api/drafts/{draft}/events"]["get"]
    assert {"decisions", "q", "delegation"} <= {p["name"] for p in paths["parameters"]}

    # A delegate reads their own entries only; an observer reads none.
    mine = played.get("switzerland", "/api/drafts/tunis/events?limit=1000")
    assert mine["participant"] == "switzerland"
    assert {e["participant"] for e in mine["events"]} == {"switzerland"}
    assert {e["kind"] for e in mine["events"]} >= {"update", "cmd.amendment.propose", "cmd.position.state"}
    assert [e for e in seen if e["participant"] == "switzerland"] == mine["events"]
    for path in ("text", "blame", "diff?from=1", "events", "amendments/am-1/history"):
        played.get("observer", f"/api/drafts/tunis/{path}", 403)
    for path in ("text", "blame", "diff?from=1", "amendments/am-1/history"):
        played.get("switzerland", f"/api/drafts/tunis/{path}", 403)
    played.get("secretariat", "/api/drafts/tunis/text")
    played.get("archivist", "/api/drafts/nope/text", 404)
    played.get("archivist", "/api/drafts/tunis/amendments/am-9/history", 404)

    # The story of the amendment.
    story = played.get("archivist", "/api/drafts/tunis/amendments/am-1/history")
    assert (
        story["state"] == "adopted" and story["sponsor"] == "Switzerland" and story["cosponsors"] == ["CCBI"]
    )
    events = [(e["event"], e["by"]["delegation"]) for e in story["events"]]
    assert events[:3] == [("proposed", "Switzerland"), ("anchored", "Switzerland"), ("cosponsored", "CCBI")]
    assert ("adopted", "Bureau") in events and events[-1] == ("text_changed", "Bureau")
    assert [(p["delegation"], p["stance"]) for p in story["positions"]] == [
        ("Switzerland", "support"),
        ("Civil Society Caucus", "objection"),
        ("Civil Society Caucus", "support"),
    ]
    change = story["text_change"]
    assert change["seq"] == played.seq("adopted")
    assert change["before"].startswith("There should be an implementation mechanism,")
    assert change["after"].startswith("There should be an implementation process,")
    assert (change["deleted"], change["inserted"], change["at"]) == ("mechanism", "process", 34)


def test_spans_that_disagree_with_the_text_are_realigned_keeping_attribution():
    """Should a delta ever be wrong (yrs has been seen to report a wrong array delta), the fold
    notices that a paragraph's spans no longer add up to its text and realigns them."""
    script = Scripted(11)
    script.run(120)
    fold = BlameFold()
    for entry in script.entries[:-1]:
        fold.feed(entry)
    last = script.entries[-1]
    # Corrupt one paragraph's spans, then make sure the next entry touches it.
    track = next(t for t in fold.tracks if t.spans.size > 8)
    lost = next(iter(track.spans)).text[0]
    track.spans.delete(0, len(lost.encode()))
    doc = Doc(client_id=999)
    doc.apply_update(fold.doc.get_update())
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    text = _paragraph_map(doc, track.id)["text"]
    text.insert(len(str(text).encode()), "\u4e00")  # edit 0's character: unattributed in the script
    fold.feed(Entry(last.seq + 1, 0, "fixer", "delegate", "update", "c", updates[0]))
    assert fold.repairs and fold.repairs[-1][0] == last.seq + 1
    paragraph = next(p for p in fold.blame() if p["id"] == track.id)
    assert paragraph["text"] == str(text)
    for span in paragraph["spans"]:
        if span["seq"] == last.seq + 1:  # what the spans had lost is known to be there, not by whom
            assert set(span["text"]) <= {lost, "\u4e00"}
            continue
        for char in set(span["text"]):
            assert script.author_of_edit[_edit_of(char)] == span["seq"]
