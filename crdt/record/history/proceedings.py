"""Meeting commands as the archive reads them: one line each ("Chair gave the floor to fl-3 (st-2)"),
and which of them belong to an informal meeting's attributed record (the Bureau's and the archivists')."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

#: Commands whose log entry says which delegation asked for or had the floor, or handed in a text.
ATTRIBUTING = ("floor.request", "floor.withdraw", "floor.remove", "floor.give", "statement.")
_PREFIXES = ("meeting.", "agenda.", "floor.", "statement.", "document.", "friends.", "summary.")


def is_proceedings(kind: str) -> bool:
    return kind.startswith(_PREFIXES)


def describe(kind: str, c: Mapping[str, Any], who: str) -> str | None:
    """A one-line summary of a meeting command, or None if ``kind`` is not one."""
    if not is_proceedings(kind):
        return None
    meeting = c.get("meeting")
    purpose = str(c.get("purpose", "speak")).replace("_", " ")
    given = c.get("entry") or "the next speaker"
    paragraphs, members = ", ".join(c.get("paragraphs") or []), ", ".join(c.get("members") or [])
    lines: dict[str, Callable[[], str]] = {
        "meeting.create": lambda: (
            f"{who} convened {c.get('id')}: {c.get('title')} ({c.get('kind')}, {c.get('starts')})"
        ),
        "meeting.open": lambda: f"{who} opened {meeting}",
        "meeting.suspend": lambda: f"{who} suspended {meeting}",
        "meeting.resume": lambda: f"{who} resumed {meeting}",
        "meeting.close": lambda: f"{who} closed {meeting}",
        "meeting.decision": lambda: f"{who} recorded a decision in {meeting}: {_short(c.get('text', ''))}",
        "agenda.set": lambda: f"{who} proposed the agenda of {meeting}",
        "agenda.adopt": lambda: (
            f"{who} adopted the agenda of {meeting}{' as amended' if c.get('items') else ''}"
        ),
        "agenda.take_up": lambda: f"{who} took up item {c.get('item')} in {meeting}",
        "floor.request": lambda: f"{who} asked for the floor in {meeting} ({purpose}, {c.get('id')})",
        "floor.withdraw": lambda: f"{who} withdrew {c.get('entry')} in {meeting}",
        "floor.remove": lambda: f"{who} removed {c.get('entry')} from the list in {meeting}",
        "floor.give": lambda: f"{who} gave the floor to {given} in {meeting} ({c.get('statement')})",
        "floor.end": lambda: f"{who} ended the turn in {meeting}",
        "floor.reorder": lambda: f"{who} reordered the list in {meeting}: {', '.join(c.get('order') or [])}",
        "floor.close": lambda: f"{who} closed the list of speakers in {meeting}",
        "floor.reopen": lambda: f"{who} reopened the list of speakers in {meeting}",
        "floor.limit": lambda: (
            f"{who} set the speaking time in {meeting} to {c.get('seconds') or 'no limit'}"
            + (" s" if c.get("seconds") else "")
        ),
        "floor.mode": lambda: f"{who} set the speaking order in {meeting} to {c.get('mode')}",
        "statement.summarise": lambda: (
            f"{who} summarised {c.get('statement')}: {_short(c.get('summary', ''))}"
        ),
        "statement.hand_in": lambda: f"{who} handed in the text of {c.get('statement')}",
        "document.submit": lambda: (
            f"{who} submitted {c.get('symbol') or 'a non-paper'} ({c.get('id')}, "
            f"{str(c.get('kind')).replace('_', ' ')}): {_short(c.get('title', ''))}"
        ),
        "document.introduce": lambda: f"{who} introduced {c.get('document')} in {meeting}",
        "friends.establish": lambda: (
            f"{who} established the {c.get('title') or 'Group of Friends of the Chair'} "
            f"{c.get('id')} on {', '.join(c.get('paragraphs') or [])} (working draft {c.get('draft')}) "
            f"until {c.get('deadline')}"
        ),
        "friends.mandate": lambda: (
            f"{who} gave this working draft its mandate from {c.get('parent')} "
            f"({c.get('group')}): {paragraphs}; members {members}"
        ),
        "friends.report": lambda: (
            f"{who} brought the text of {c.get('id')} to the plenary as amendments "
            f"{', '.join(a.get('id', '?') for a in c.get('amendments') or [])}"
        ),
        "friends.reported": lambda: (
            f"{who} reported this text to {c.get('parent')} as amendment set "
            f"{c.get('set')} ({', '.join(c.get('amendments') or [])})"
        ),
        "summary.publish": lambda: (
            f"{who} published the summary of {meeting} "
            f"(SHA-256 {str(c.get('sha256', ''))[:12]}…, summary entry {c.get('room_seq')})"
        ),
    }
    line = lines.get(kind)
    return line() if line is not None else f"{who}: {kind}"


def attributes_a_speaker(kind: str) -> bool:
    """Whether an entry of this kind tells who asked for or had the floor, or what they handed in."""
    return kind.startswith(ATTRIBUTING)


def _short(text: Any, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
