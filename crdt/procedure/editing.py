"""Who may type into the text: the editing mode of a draft, and of single paragraphs where the chair wants.

Practice changes with the stage (../shared/docs/domain.md): open drafting in a small group; a pen-holder
(the secretariat or a facilitator) holding the pen while the others propose; amendments only once the
text is tabled for negotiation. The chair sets the mode (command ``editing.mode``), logged like every
procedure fact. ``text.lock`` stays the chair's "pens down" switch on top of the mode: while the text is
locked nobody types, whatever the mode, and unlocking returns to the mode in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crdt.procedure.commands import Actor, refuse

__all__ = ["EDITING_COMMANDS", "Editing", "EditingMode", "Pen"]

#: Named pen-holders per mode (facilitators, a drafting group's members).
MAX_PEN_HOLDERS = 50


class EditingMode(StrEnum):
    #: Every delegation with negotiating rights edits live, with the Bureau and the secretariat.
    OPEN = "open"
    #: Only the secretariat and the named pen-holders edit; everyone else proposes amendments.
    PEN_HOLDER = "pen_holder"
    #: Nobody edits directly: the text changes only by adopted amendments.
    AMENDMENTS_ONLY = "amendments_only"


@dataclass(frozen=True, slots=True)
class Pen:
    """A mode with its pen-holders (participant ids; only meaningful for ``pen_holder``)."""

    mode: EditingMode = EditingMode.OPEN
    holders: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"mode": str(self.mode), "pen_holders": list(self.holders)}


@dataclass
class Editing:
    """The draft's mode, and the paragraphs the chair set apart."""

    draft: Pen = field(default_factory=Pen)
    paragraphs: dict[str, Pen] = field(default_factory=dict)

    def pen_for(self, paragraph: str | None) -> Pen:
        """The mode in force for ``paragraph`` (None: the draft's, for new paragraphs and reordering)."""
        if paragraph is not None:
            found = self.paragraphs.get(paragraph)
            if found is not None:
                return found
        return self.draft

    def to_json(self) -> dict[str, Any]:
        return {
            "editing_mode": str(self.draft.mode),
            "pen_holders": list(self.draft.holders),
            "paragraph_modes": {pid: pen.to_json() for pid, pen in sorted(self.paragraphs.items())},
        }


def _pen(c: Mapping[str, Any]) -> Pen:
    mode = c.get("mode")
    if mode not in EditingMode.__members__.values():
        raise refuse(f"mode must be one of {', '.join(EditingMode)}")
    holders = c.get("pen_holders") or []
    if not isinstance(holders, list) or not all(isinstance(h, str) and 0 < len(h) <= 200 for h in holders):
        raise refuse("pen_holders must be a list of participant ids")
    if len(holders) > MAX_PEN_HOLDERS:
        raise refuse(f"at most {MAX_PEN_HOLDERS} pen-holders")
    if mode != EditingMode.PEN_HOLDER and holders:
        raise refuse("pen-holders are named only in pen_holder mode")
    return Pen(EditingMode(mode), tuple(dict.fromkeys(holders)))


def set_mode(editing: Editing, c: Mapping[str, Any], _actor: Actor, _n: int, _now: str) -> dict[str, Any]:
    """``editing.mode``: the draft's mode, or (``paragraph``) one paragraph's; ``mode: null`` on a
    paragraph returns it to the draft's mode."""
    paragraph = c.get("paragraph")
    if paragraph is not None and (not isinstance(paragraph, str) or not paragraph):
        raise refuse("paragraph must be a paragraph id")
    if paragraph is not None and c.get("mode") is None:
        editing.paragraphs.pop(paragraph, None)
        return {"paragraph": paragraph, **editing.draft.to_json(), "inherited": True}
    pen = _pen(c)
    if paragraph is None:
        editing.draft = pen
        return pen.to_json()
    editing.paragraphs[paragraph] = pen
    return {"paragraph": paragraph, **pen.to_json()}


EDITING_COMMANDS = {"editing.mode": set_mode}
