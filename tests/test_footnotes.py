"""Reservations and explanations of position are footnoted in the compilation, the clean text (Markdown
and HTML) and the summary. Pure: a view built from plain values, with the ``explanations`` map the
deliberation snapshot carries (target → [{delegation, group, text, by, at, decision}])."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lxml import etree
from pycrdt import Doc

from crdt.procedure.commands import Actor
from crdt.procedure.deliberation import Deliberation
from crdt.procedure.draft import Paragraph, write_paragraphs
from crdt.record.exports import DraftView, compilation, draft_view
from crdt.record.exports.summary import summary

CHAIR = Actor("chair", "Ambassador Keller", "Bureau", "international_organization", "chair")
KENYA = Actor("ke", "Delegate of Kenya", "Kenya", "government", "delegate")
CSC = Actor("cs", "Delegate of CSC", "Civil Society Caucus", "civil_society", "delegate")
BRAZIL = Actor("br", "Delegate of Brazil", "Brazil", "government", "delegate")

TEXT = "Member States should press ahead with national dialogues."


def view(explanations: dict[str, list[dict[str, Any]]] | None = None) -> DraftView:
    doc = Doc()
    write_paragraphs(
        doc,
        [
            Paragraph("p1", "operative", "Any mechanism must be multi-stakeholder."),
            Paragraph("p2", "operative", TEXT),
            Paragraph("p3", "operative", "Not agreed <yet> & open."),
        ],
    )
    state = Deliberation()
    clock = iter(range(1, 100))

    def apply(command: dict[str, Any], actor: Actor) -> None:
        n = next(clock)
        state.apply(command, actor, n * 1_000_000, f"2005-05-02T10:00:{n:02d}Z")

    apply({"type": "position.state", "target": "p1", "stance": "support"}, BRAZIL)
    apply({"type": "position.state", "target": "p1", "stance": "reservation"}, KENYA)
    apply(
        {
            "type": "position.state",
            "target": "p1",
            "stance": "reservation",
            "explanation": "pending capitals",
        },
        CSC,
    )
    apply({"type": "position.state", "target": "p1", "stance": "support"}, CSC)  # latest counts: withdrawn
    apply(
        {
            "type": "amendment.propose",
            "id": "am-1",
            "paragraph": "p2",
            "kind": "substitution",
            "start": 21,
            "end": 32,
            "original": "press ahead",
            "text": "proceed swiftly",
            "reference": "2",
        },
        BRAZIL,
    )
    apply({"type": "position.state", "target": "am-1", "stance": "reservation"}, KENYA)
    apply({"type": "amendment.adopt", "id": "am-1", "superseded": [], "span": [21, 32]}, CHAIR)
    apply({"type": "position.state", "target": "p3", "stance": "reservation"}, BRAZIL)
    for pid in ("p1", "p2"):
        apply({"type": "paragraph.status", "paragraph": pid, "status": "agreed"}, CHAIR)
    built = draft_view(
        doc,
        state,
        draft_id="tunis",
        title="T",
        symbol="",
        created="2005-05-02T09:00:00Z",
        generated="2005-05-02T12:00:00Z",
    )
    if explanations is not None:
        built = replace(built, deliberation={**built.deliberation, "explanations": explanations})
    return built


EXPLANATIONS = {
    "am-1": [
        {
            "delegation": "Civil Society Caucus",
            "group": "civil_society",
            "text": "We joined the consensus, but <dialogues> must include us & others.",
            "by": "cs",
            "at": "2005-05-02T11:00:00Z",
            "decision": "adopted",
        }
    ]
}
RESERVATION_P1 = "The delegation of Kenya entered a reservation on paragraph 1."
RESERVATION_AM1 = "The delegation of Kenya entered a reservation on amendment am-1 to paragraph 2 (adopted)."
EXPLANATION = (
    "The delegation of Civil Society Caucus explained its position on amendment am-1 to paragraph 2 "
    "(adopted): “We joined the consensus, but <dialogues> must include us & others.”"
)


def test_compilation_and_clean_markdown_footnote_reservations_and_explanations():
    shown = view(EXPLANATIONS)
    for kind in ("compilation", "clean"):
        text = compilation.markdown(shown, kind)
        line1 = next(line for line in text.splitlines() if line.startswith("**1.**"))
        line2 = next(line for line in text.splitlines() if line.startswith("**2.**"))
        assert line1.endswith("[^1]") and line2.endswith("[^2][^3]"), (line1, line2)
        assert f"[^1]: {RESERVATION_P1}" in text
        assert f"[^2]: {RESERVATION_AM1}" in text
        assert "[^3]: The delegation of Civil Society Caucus explained its position" in text
        assert "\\<dialogues\\> must include us \\& others" in text  # escaped like the rest
        assert "Civil Society Caucus entered" not in text  # its reservation was withdrawn (latest: support)
        if kind == "clean":
            assert "Brazil entered" not in text  # p3 is not agreed: not in the clean text
        else:
            assert "[^4]: The delegation of Brazil entered a reservation on paragraph 3." in text


def test_html_footnotes_are_linked_and_escaped():
    page = compilation.html(view(EXPLANATIONS), "clean")
    root = etree.fromstring(page.split("\n", 1)[1].encode())  # well-formed XML after the doctype
    notes = root.findall(".//section[@aria-labelledby='positions-title']/ol/li")
    assert [li.get("id") for li in notes] == ["fn-1", "fn-2", "fn-3"]
    assert "".join(notes[2].itertext()).startswith(EXPLANATION)
    assert root.find(".//p[@id='para-p1']//a[@href='#fn-1']") is not None


def test_summary_footnotes_with_superscripts():
    text = summary(view(EXPLANATIONS))
    assert "Paragraph 1 (“Any mechanism must be multi-stakeholder.”): agreed.¹" in text
    assert "Amendment am-1 by Brazil was adopted on 2005-05-02: in paragraph 2, " in text
    assert f"¹ {RESERVATION_P1}" in text and f"² {RESERVATION_AM1}" in text and f"³ {EXPLANATION}." in text
    adopted = next(line for line in text.splitlines() if "Amendment am-1 by Brazil was adopted" in line)
    assert adopted.endswith("²³")


def test_no_explanations_map_is_tolerated():
    text = compilation.markdown(view(None))
    assert f"[^1]: {RESERVATION_P1}" in text and "explained its position" not in text
    odd = replace(
        view(None), deliberation={**view(None).deliberation, "explanations": {"nope": 3, "p1": [7]}}
    )
    assert "explained" not in summary(odd)
