"""Meeting commands on the server: who may send each one, and the facts the server adds before the pure
rules (``crdt/procedure/conference.py``) see them: ids, checked paragraph ids, the next document symbol,
the spans and anchors of a Friends of the Chair's amendment set.

Imported by :mod:`server.procedure.deliberation`, which runs every command the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pycrdt import Doc

from crdt.offsets import utf16_length
from crdt.procedure.anchors import anchor_key, place_anchor
from crdt.procedure.commands import Actor, refuse
from crdt.procedure.deliberation import Deliberation
from crdt.procedure.documents import next_symbol, symbol_problem
from crdt.procedure.draft import find_text
from server.identity import Action

#: The permission each meeting command needs (merged into the deliberation's ``REQUIRED``).
REQUIRED: Mapping[str, Action] = {
    "meeting.create": Action.MANAGE_MEETINGS,
    "agenda.set": Action.MANAGE_MEETINGS,
    "meeting.open": Action.PRESIDE,
    "meeting.suspend": Action.PRESIDE,
    "meeting.resume": Action.PRESIDE,
    "meeting.close": Action.PRESIDE,
    "agenda.adopt": Action.PRESIDE,
    "agenda.take_up": Action.PRESIDE,
    "meeting.decision": Action.PRESIDE,
    "floor.request": Action.REQUEST_FLOOR,
    "floor.withdraw": Action.REQUEST_FLOOR,
    "floor.remove": Action.PRESIDE,
    "floor.give": Action.PRESIDE,
    "floor.end": Action.PRESIDE,
    "floor.reorder": Action.PRESIDE,
    "floor.close": Action.PRESIDE,
    "floor.reopen": Action.PRESIDE,
    "floor.limit": Action.PRESIDE,
    "floor.mode": Action.PRESIDE,
    "statement.summarise": Action.MANAGE_MEETINGS,
    "statement.hand_in": Action.REQUEST_FLOOR,
    "document.submit": Action.SUBMIT_DOCUMENT,
    "document.introduce": Action.SUBMIT_DOCUMENT,
    "friends.establish": Action.PRESIDE,
    "friends.report": Action.PRESIDE,
    "summary.publish": Action.PRESIDE,
}
#: Sent by the server on a group's working draft, on behalf of the chair who acted on the parent.
ON_BEHALF = frozenset({"friends.mandate", "friends.reported"})
COMMANDS = frozenset(REQUIRED) | ON_BEHALF

GROUP_DRAFT_INFIX = "-foc-"
MAX_DRAFT_ID = 64


def group_draft_id(parent: str, number: int) -> str:
    """``{parent}-foc-{n}``: a lowercase slug like every draft id, cut to fit 64 characters."""
    suffix = f"{GROUP_DRAFT_INFIX}{number}"
    return parent[: MAX_DRAFT_ID - len(suffix)].rstrip("-") + suffix


def summary_room(draft: str, meeting: str) -> str:
    """The room where a meeting's summary is drafted: a live text with its own log."""
    return f"{draft}/summary/{meeting}"


def prepare(
    state: Deliberation,
    doc: Doc,
    command: dict[str, Any],
    actor: Actor,
    paragraph: Callable[[Any], Any],
) -> dict[str, Any]:
    """Complete a meeting command with what the server knows (``paragraph(id)`` refuses unknown ids)."""
    kind = command["type"]
    proceedings = state.proceedings

    def paragraphs(ids: Any) -> None:
        for pid in ids or []:
            paragraph(pid)

    if kind == "meeting.create":
        command["id"] = f"mt-{len(proceedings.meetings) + 1}"
    if kind in ("meeting.create", "agenda.set", "agenda.adopt"):
        for item in command.get("agenda") or command.get("items") or []:
            if isinstance(item, Mapping):
                paragraphs(item.get("paragraphs"))
    elif kind == "floor.request":
        command["id"] = f"fl-{proceedings.entries + 1}"
    elif kind == "floor.give":
        command["statement"] = f"st-{len(proceedings.statements) + 1}"
    elif kind == "statement.summarise":
        paragraphs(command.get("paragraphs"))
    elif kind == "meeting.decision":
        command["id"] = f"dc-{sum(len(m['decisions']) for m in proceedings.meetings.values()) + 1}"
    elif kind == "document.submit":
        _document(state, command, actor)
        paragraphs(command.get("paragraphs"))
    elif kind == "friends.establish":
        number = len(proceedings.friends) + 1
        command["id"] = f"foc-{number}"
        parent = command.pop("_parent", "")
        if not parent:
            raise refuse("the parent draft is the server's to give", 400)
        # The working draft the server created for it (a free id: see server/procedure/friends.py).
        command["draft"] = command.pop("_draft", "") or group_draft_id(parent, number)
        paragraphs(command.get("paragraphs"))
    elif kind == "friends.report":
        command.update(_amendment_set(state, doc, command.pop("_texts", None) or {}))
    return command


def _document(state: Deliberation, command: dict[str, Any], actor: Actor) -> None:
    base = command.pop("_symbol_base", "") or "PLENARY"  # the draft's: see documents.symbol_base
    command["id"] = f"doc-{len(state.proceedings.documents) + 1}"
    if command.get("symbol"):
        if actor.role not in ("chair", "secretariat"):
            raise refuse("the secretariat issues symbols: submit without one", 403)
        return
    if command.get("kind") != "non_paper":
        symbol = next_symbol(state, base, str(command.get("kind")))
        if symbol is not None and symbol_problem(symbol) is not None:
            symbol = next_symbol(state, "PLENARY", str(command.get("kind")))
        command["symbol"] = symbol


def _amendment_set(state: Deliberation, doc: Doc, texts: Mapping[str, str]) -> dict[str, Any]:
    """One whole-paragraph substitution per mandated paragraph whose text the group changed (a deletion
    where the group deleted the paragraph), each anchored on the parent's paragraph."""
    changes = []
    number = len(state.amendments)
    for pid, text in texts.items():
        target = find_text(doc, pid)
        if target is None:
            raise refuse(f"paragraph {pid!r} is no longer in the draft", 409)
        original = str(target)
        if text == original:
            continue
        number += 1
        amendment_id = f"am-{number}"
        changes.append(
            {
                "id": amendment_id,
                "paragraph": pid,
                "start": 0,
                "end": utf16_length(original),
                "original": original,
                # An empty paragraph cannot hold an anchor: its adoption inserts at the recorded offset.
                "anchor": anchor_key(amendment_id) if original else None,
                "text": text,
            }
        )
    edits = [_placing(change) for change in changes if change["anchor"] is not None]
    return {"amendments": changes, "_text_edits": edits}


def _placing(change: Mapping[str, Any]) -> tuple[Callable[[Doc], None], str]:
    paragraph, anchor_id, end = change["paragraph"], change["id"], change["end"]

    def edit(doc: Doc) -> None:
        text = find_text(doc, paragraph)
        if text is not None:
            place_anchor(text, anchor_id, 0, end)

    return edit, f"anchor/{anchor_id}"
