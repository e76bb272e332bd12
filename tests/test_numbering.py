"""Paragraph numbering (crdt/procedure/numbering.py): the one function every view numbers with.

Plain cases from UN practice first, then a hypothesis state machine: random inserts, deletes and moves of
paragraphs of every kind, freezing and unfreezing at random, with the invariants after every step.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from pycrdt import Doc

from crdt.procedure.deliberation import Deliberation
from crdt.procedure.draft import Paragraph, ParagraphKind, write_paragraphs
from crdt.procedure.numbering import SUFFIXES, numbering
from crdt.record.exports import akn, compilation, draft_view

AKN = "{http://docs.oasis-open.org/legaldocml/ns/akn/3.0}"


def P(pid: str, kind: str) -> Paragraph:
    return Paragraph(pid, ParagraphKind(kind), f"text of {pid}")


BASE = [
    P("h1", "heading"),
    P("pp1", "preambular"),
    P("pp2", "preambular"),
    P("op1", "operative"),
    P("op2", "operative"),
    P("op3", "operative"),
    P("op4", "operative"),
    P("i1", "item"),
    P("i2", "item"),
    P("i3", "item"),
    P("op5", "operative"),
]


def test_unfrozen_numbers_follow_the_order():
    n = numbering(BASE)
    assert [n.number(p.id) for p in BASE] == ["", "", "", "1", "2", "3", "4", "(a)", "(b)", "(c)", "5"]
    assert n.reference("i3") == "4 (c)" and n.reference("pp2") == "PP2" and n.reference("h1") == ""


def test_an_item_inserted_after_b_once_frozen_is_b_bis_and_c_stays_c():
    frozen = numbering(BASE).frozen()
    inserted = [*BASE[:9], P("new", "item"), P("new2", "item"), *BASE[9:]]
    n = numbering(inserted, frozen)
    assert n.number("new") == "(b bis)" and n.number("new2") == "(b ter)"
    assert n.reference("new") == "4 (b bis)"
    assert n.reference("i3") == "4 (c)"  # an amendment filed against 4 (c) still reads 4 (c)
    # Unfrozen, the same text reletters.
    assert numbering(inserted).reference("i3") == "4 (e)"


def test_operative_and_preambular_bis_and_the_first_position():
    frozen = numbering(BASE).frozen()
    text = [P("pp0", "preambular"), *BASE[:4], P("x", "operative"), *BASE[4:], P("y", "operative")]
    n = numbering(text, frozen)
    assert n.reference("pp0") == "PP0 bis"  # before the first: counted from 0
    assert n.number("x") == "1 bis" and n.number("op2") == "2" and n.number("y") == "5 bis"


def test_deleted_numbers_are_not_reused_and_moved_paragraphs_keep_theirs():
    frozen = numbering(BASE).frozen()
    text = [p for p in BASE if p.id != "op3"]
    text.insert(text.index(BASE[4]) + 1, P("z", "operative"))  # after op2, where op3 was
    n = numbering(text, frozen)
    assert n.number("z") == "2 bis" and n.number("op4") == "4"
    moved = [p for p in BASE if p.id != "op1"] + [BASE[3]]
    assert numbering(moved, frozen).number("op1") == "1"


def test_freezing_again_keeps_the_frozen_numbers():
    frozen = numbering(BASE).frozen()
    text = [*BASE[:5], P("x", "operative"), *BASE[5:]]
    again = numbering(text, frozen).frozen()
    assert again["x"] == "2 bis" and again["op3"] == "3" and again["@references"]
    # A paragraph inserted between 2 and the now frozen 2 bis takes the next free suffix.
    text.insert(5, P("w", "operative"))
    n = numbering(text, again)
    assert n.number("x") == "2 bis" and n.number("w") == "2 ter"


def test_a_number_frozen_before_references_existed_still_reads():
    # Logs written before references froze items as "(c)", preambular paragraphs as "".
    legacy = {
        "op1": "1",
        "op2": "2",
        "op3": "3",
        "op4": "4",
        "i1": "(a)",
        "i2": "(b)",
        "i3": "(c)",
        "pp1": "",
    }
    text = [*BASE[:9], P("new", "item"), *BASE[9:]]
    n = numbering(text, legacy)
    assert n.number("new") == "(b bis)" and n.reference("i3") == "4 (c)"


# The state machine.

KINDS = [str(k) for k in ParagraphKind]
LATIN = set(SUFFIXES)


def _base_and_suffix(value: str) -> tuple[str, str]:
    base, _, last = value.rpartition(" ")
    return (base, last) if base and (last in LATIN or last.isdigit()) else (value, "")


class Numbering(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.paragraphs: list[Paragraph] = []
        self.frozen: dict[str, str] | None = None
        self.made = 0

    @rule(kind=st.sampled_from(KINDS), where=st.integers(0, 1000))
    def insert(self, kind: str, where: int) -> None:
        self.made += 1
        at = where % (len(self.paragraphs) + 1)
        self.paragraphs.insert(at, P(f"x{self.made}", kind))

    @precondition(lambda self: self.paragraphs)
    @rule(where=st.integers(0, 1000))
    def delete(self, where: int) -> None:
        del self.paragraphs[where % len(self.paragraphs)]

    @precondition(lambda self: len(self.paragraphs) > 1)
    @rule(source=st.integers(0, 1000), to=st.integers(0, 1000))
    def move(self, source: int, to: int) -> None:
        paragraph = self.paragraphs.pop(source % len(self.paragraphs))
        self.paragraphs.insert(to % (len(self.paragraphs) + 1), paragraph)

    @rule()
    def freeze(self) -> None:
        # As the server does: freezing (again) keeps what is frozen.
        before = dict(self.frozen) if self.frozen is not None else None
        self.frozen = numbering(self.paragraphs, self.frozen).frozen()
        if before is not None:
            assert all(self.frozen.get(pid, ref) == ref for pid, ref in before.items()), (
                "refreezing renumbered"
            )
            self.frozen = {**before, **self.frozen}

    @rule()
    def unfreeze(self) -> None:
        self.frozen = None

    @invariant()
    def numbers_are_unique_and_frozen_ones_stay(self) -> None:
        n = numbering(self.paragraphs, self.frozen)
        assert numbering(self.paragraphs, self.frozen) == n  # deterministic
        refs = [n.reference(p.id) for p in self.paragraphs if p.kind != ParagraphKind.HEADING]
        assert all(refs) and len(refs) == len(set(refs)), refs
        for p in self.paragraphs:
            number = n.number(p.id)
            if p.kind == ParagraphKind.ITEM:
                assert re.fullmatch(r"\(.+\)", number) and n.reference(p.id).endswith(number)
            elif p.kind == ParagraphKind.OPERATIVE:
                assert number == n.reference(p.id) and number
            else:
                assert number == ""
            if self.frozen is not None and p.id in self.frozen and p.kind != ParagraphKind.HEADING:
                assert n.reference(p.id) == self.frozen[p.id], (p.id, self.frozen)

    @invariant()
    def inserted_paragraphs_come_after_their_frozen_predecessor(self) -> None:
        if self.frozen is None:
            return
        n = numbering(self.paragraphs, self.frozen)
        series: dict[object, list[Paragraph]] = {}
        for p in self.paragraphs:
            key = (p.kind, n.parents.get(p.id)) if p.kind == ParagraphKind.ITEM else p.kind
            if p.kind != ParagraphKind.HEADING:
                series.setdefault(key, []).append(p)
        for members in series.values():
            if not any(m.id in self.frozen for m in members):
                continue  # a series with nothing frozen (the items of a new paragraph) is numbered afresh
            predecessor = "0"
            for m in members:
                value = n.reference(m.id)
                if m.kind == ParagraphKind.ITEM:
                    value = n.number(m.id)[1:-1]
                elif m.kind == ParagraphKind.PREAMBULAR:
                    value = value[2:]
                if m.id in self.frozen:
                    predecessor = _base_and_suffix(value)[0]
                    continue
                base, suffix = _base_and_suffix(value)
                assert base == predecessor and suffix, (m.id, value, predecessor)

    @invariant()
    def every_view_numbers_alike(self) -> None:
        if not self.paragraphs:
            return
        n = numbering(self.paragraphs, self.frozen)
        doc = Doc()
        write_paragraphs(doc, self.paragraphs)
        state = Deliberation()
        state.numbering = self.frozen
        view = draft_view(
            doc,
            state,
            draft_id="d",
            title="T",
            symbol="",
            created="2005-05-02T09:00:00Z",
            generated="2005-05-02T12:00:00Z",
        )
        assert [(p.id, p.number, p.reference) for p in view.paragraphs] == [
            (p.id, n.number(p.id), n.reference(p.id)) for p in self.paragraphs
        ]
        shown = re.findall(r"^\*\*(.+?)\*\* \(", compilation.markdown(view), re.MULTILINE)
        assert shown == [
            n.number(p.id) + ("." if p.kind == ParagraphKind.OPERATIVE else "")
            for p in self.paragraphs
            if n.number(p.id)
        ]
        root = ET.fromstring(akn.draft_document(view))
        numbered = {
            element.get("eId"): element.find(f"{AKN}num").text
            for element in root.iter()
            if element.find(f"{AKN}num") is not None
        }
        for p in self.paragraphs:
            if n.number(p.id):
                eid = akn.paragraph_eid(view.by_id[p.id])
                assert numbered[eid].rstrip(".") == n.number(p.id)


# Budget: 60 runs of up to 30 steps (about 10 s).
TestNumbering = Numbering.TestCase
TestNumbering.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
