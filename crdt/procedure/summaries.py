"""Published meeting summaries.

The chair's summary of a meeting is drafted in a room of its own (``{draft}/summary/{meeting}``, a live
text with its own log and chain). Publishing records a version in the draft's log: its text, the
SHA-256 of that text (UTF-8) and the summary room's entry (sequence number and chain hash) it was taken
from, so that one signed receipt of the draft's log vouches for both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from crdt.procedure.commands import Actor, need, refuse
from crdt.procedure.proceedings import Procedure, meeting_of

MAX_SUMMARY_TEXT = 200_000


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _publish(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    text = c.get("text")
    if not isinstance(text, str) or not text.strip():
        raise refuse("the summary is empty: draft it first", 409)
    if len(text) > MAX_SUMMARY_TEXT:
        raise refuse(f"a summary has at most {MAX_SUMMARY_TEXT} characters")
    if need(c, "sha256") != digest(text):
        raise refuse("sha256 does not match the text")
    versions = state.proceedings.summaries.get(meeting["id"], [])
    if versions and versions[-1]["sha256"] == c["sha256"]:
        raise refuse("this text is published already", 409)
    version = {
        "meeting": meeting["id"],
        "version": len(versions) + 1,
        "text": text,
        "sha256": c["sha256"],
        "room": need(c, "room"),
        "room_seq": need(c, "room_seq", int),
        "room_hash": need(c, "room_hash"),
        "published": now,
        "published_us": now_us,
        "by": actor.name,
    }
    state.proceedings.summaries.setdefault(meeting["id"], []).append(version)
    return version


HANDLERS = {"summary.publish": _publish}
