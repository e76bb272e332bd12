"""Reservations and explanations of position, as the footnotes of the adopted text.

In UN practice a delegation that joins a consensus with a reservation has it footnoted in the text ("¹ The
delegation of X entered a reservation on paragraph 4."), and explanations of position given after a
decision go on the record beside it. The compilation, the clean text and the summary footnote both:

- **reservations**: each delegation's latest position, when it is ``reservation``, on a paragraph or on an
  amendment to it that was adopted (the reservation is then on the text the amendment put there);
- **explanations of position**: the deliberation snapshot's ``explanations`` map (target, a paragraph or an
  amendment id → ``[{delegation, group, text, by, at, decision}]``), absent from drafts that have none.

Each note is attached to the paragraph it concerns, in the order of the text, then reservations before
explanations, each in the order given.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from crdt.record.exports import DraftView

__all__ = ["NOTES_TITLE", "SUPERSCRIPTS", "Footnote", "by_paragraph", "footnotes", "marker"]

NOTES_TITLE = "Reservations and explanations of position"

_ADOPTED = ("adopted", "adopted_modified")
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True, slots=True)
class Footnote:
    number: int
    paragraph: str
    """The paragraph it is attached to."""
    target: str
    """What it is about: the paragraph, or an amendment to it."""
    kind: str
    """``reservation`` or ``explanation``."""
    delegation: str
    text: str
    """The whole note, one sentence or two."""


def marker(number: int) -> str:
    """¹, ², … ¹⁰."""
    return str(number).translate(SUPERSCRIPTS)


def _about(view: DraftView, target: str) -> tuple[str, str] | None:
    """(paragraph id, how the note names the target), or None if the target is unknown."""
    amendment = view.deliberation.get("amendments", {}).get(target)
    if amendment is not None:
        state = str(amendment.get("state", "")).replace("_", " ")
        return str(amendment["paragraph"]), f"amendment {target} to {view.cited(amendment)} ({state})"
    if target in view.by_id:
        return target, view.label(target)
    return None


def _quote(text: Any) -> str:
    text = " ".join(str(text or "").split())
    return f": “{text}”" if text else ""


def footnotes(view: DraftView, only: Collection[str] | None = None) -> list[Footnote]:
    """Every reservation and explanation of position (on the paragraphs in ``only``, if given), numbered
    in the order of the text."""
    found: dict[str, list[tuple[int, str, str, str, str]]] = {}  # paragraph → (rank, target, kind, who, text)
    positions = view.deliberation.get("positions", {}) or {}
    for target in positions:
        about = _about(view, target)
        if about is None:
            continue
        paragraph, name = about
        amendment = view.deliberation.get("amendments", {}).get(target)
        if amendment is not None and amendment.get("state") not in _ADOPTED:
            continue  # a reservation on a proposal that is not in the text is not on the text
        for position in view.positions(target):
            if position.get("stance") != "reservation":
                continue
            who = str(position.get("delegation") or "an unnamed delegation")
            why = _quote(position.get("explanation"))
            sentence = f"The delegation of {who} entered a reservation on {name}{why}."
            found.setdefault(paragraph, []).append((0, target, "reservation", who, sentence))
    explanations = view.deliberation.get("explanations") or {}
    if isinstance(explanations, Mapping):
        for target, given in explanations.items():
            about = _about(view, str(target))
            if about is None or not isinstance(given, list):
                continue
            paragraph, name = about
            for explanation in given:
                if not isinstance(explanation, Mapping):
                    continue
                who = str(explanation.get("delegation") or "an unnamed delegation")
                said = _quote(explanation.get("text"))
                sentence = f"The delegation of {who} explained its position on {name}{said}."
                found.setdefault(paragraph, []).append((1, str(target), "explanation", who, sentence))
    out: list[Footnote] = []
    for p in view.paragraphs:
        if only is not None and p.id not in only:
            continue
        for _rank, target, kind, who, sentence in sorted(found.get(p.id, []), key=lambda note: note[0]):
            out.append(Footnote(len(out) + 1, p.id, target, kind, who, sentence))
    return out


def by_paragraph(notes: list[Footnote]) -> dict[str, list[Footnote]]:
    out: dict[str, list[Footnote]] = {}
    for note in notes:
        out.setdefault(note.paragraph, []).append(note)
    return out
