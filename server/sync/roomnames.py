"""Room names: ``{draft}`` (the text), ``{draft}/deliberation`` (read-only state),
``{draft}@{seq}`` (a past version). The draft id decides what a token may do."""

from __future__ import annotations

import unicodedata

MAX_ROOM_NAME = 200


def draft_of(room: str) -> str:
    """The draft a room belongs to: ``d``, ``d/deliberation`` and ``d@42`` all belong to ``d``."""
    for separator in ("/", "@"):
        room = room.split(separator, 1)[0]
    return room


def room_name_problem(name: str) -> str | None:
    if not name:
        return "room name is empty"
    if len(name) > MAX_ROOM_NAME:
        return f"room name longer than {MAX_ROOM_NAME} characters"
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        return "room name contains control characters"
    if not draft_of(name):
        return "room name has no draft id"
    return None
