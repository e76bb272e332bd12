"""Room names: every room a client may open is a draft or one of its sub-rooms, by the table below.

A draft id is a restricted slug (lowercase ASCII letters, digits and ``-``), so that no two ids look alike:
Cyrillic ``plаn-a``, fullwidth ``ｐlan-a``, a trailing space or NBSP, U+2028, ``café`` in NFC or NFD are
all refused with the character that is not allowed named. The draft id decides what a token may do.

=============================  ==============  =========================================================
pattern                        kind            what it is (and who writes it)
=============================  ==============  =========================================================
``{draft}``                    text            the draft's text (as the role, mode and lock allow);
                                               a Friends of the Chair group's working draft
                                               ``{parent}-foc-N`` is a draft of its own, so this row
``{draft}/deliberation``       deliberation    the deliberation state and meetings (server only)
``{draft}/summary/{meeting}``  summary         a meeting's summary being drafted (chair, secretariat),
                                               ``{meeting}`` a meeting id ``mt-N``
``{draft}@{seq}``              past            the text just after log entry ``seq`` (read-only,
                                               READ_HISTORY)
``{draft}@rev{N}``             revision        the text of Rev.N as issued (read-only)
=============================  ==============  =========================================================

Anything else (``{draft}/anything``, ``{draft}/deliberation@3``, …) is refused before a room is made.
Rooms of names outside this table that an older server let clients create stay in the log: ``plenary
audit verify`` still verifies their chains, but they can no longer be opened, so nothing is written to them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

MAX_ROOM_NAME = 200
#: Longest draft id (a Friends group's working draft ``{parent}-foc-N`` is cut to fit).
MAX_DRAFT_ID = 64
#: A draft id, as every layer checks it (the API's request models use ``DRAFT_ID.pattern``).
DRAFT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
DRAFT_ID_RULE = "lowercase ASCII letters, digits and '-' only, at most 64, not starting with '-'"


class RoomKind(StrEnum):
    TEXT = "text"
    DELIBERATION = "deliberation"
    SUMMARY = "summary"
    PAST = "past"
    REVISION = "revision"


_D = r"(?P<draft>[a-z0-9][a-z0-9-]{0,63})"
#: The table above, in code: each kind of room and the whole name it matches.
ROOM_PATTERNS: dict[RoomKind, re.Pattern[str]] = {
    RoomKind.TEXT: re.compile(rf"{_D}"),
    RoomKind.DELIBERATION: re.compile(rf"{_D}/deliberation"),
    RoomKind.SUMMARY: re.compile(rf"{_D}/summary/(?P<meeting>mt-[1-9][0-9]{{0,8}})"),
    RoomKind.PAST: re.compile(rf"{_D}@(?P<seq>[0-9]{{1,18}})"),
    RoomKind.REVISION: re.compile(rf"{_D}@(?P<rev>rev[1-9][0-9]{{0,5}})"),
}
ROOM_FORMS = "{draft}, {draft}/deliberation, {draft}/summary/mt-N, {draft}@{seq} or {draft}@revN"


@dataclass(frozen=True, slots=True)
class RoomName:
    name: str
    kind: RoomKind
    draft: str
    #: The meeting of a summary room.
    meeting: str | None = None


def draft_of(room: str) -> str:
    """The draft a room belongs to: ``d``, ``d/deliberation`` and ``d@42`` all belong to ``d``."""
    for separator in ("/", "@"):
        room = room.split(separator, 1)[0]
    return room


def draft_id_problem(draft: str) -> str | None:
    """Why ``draft`` is not a draft id (naming the first character that is not allowed), or None."""
    if DRAFT_ID.fullmatch(draft):
        return None
    if not draft:
        return "the draft id is empty"
    if len(draft) > MAX_DRAFT_ID:
        return f"draft id longer than {MAX_DRAFT_ID} characters"
    for position, ch in enumerate(draft):
        if not ("a" <= ch <= "z" or "0" <= ch <= "9" or ch == "-"):
            # The character first: a websocket close reason keeps only 120 bytes.
            return f"{_describe(ch)} at position {position} is not allowed in a draft id ({DRAFT_ID_RULE})"
    return f"a draft id may not start with '-' ({DRAFT_ID_RULE})"


def _describe(ch: str) -> str:
    if ch.isascii() and ch.isprintable() and ch != " ":
        return repr(ch)
    return f"U+{ord(ch):04X} {unicodedata.name(ch, '')}".rstrip()


def parse_room(name: str) -> RoomName | str:
    """The room ``name`` names, or why it names none (a reason for the client)."""
    if not name:
        return "room name is empty"
    if len(name) > MAX_ROOM_NAME:
        return f"room name longer than {MAX_ROOM_NAME} characters"
    problem = draft_id_problem(draft_of(name))
    if problem is not None:
        return problem
    for kind, pattern in ROOM_PATTERNS.items():
        match = pattern.fullmatch(name)
        if match is not None:
            return RoomName(name, kind, match["draft"], match.groupdict().get("meeting"))
    return f"{name!r} is not a room: rooms are {ROOM_FORMS}"


def room_name_problem(name: str) -> str | None:
    parsed = parse_room(name)
    return parsed if isinstance(parsed, str) else None
