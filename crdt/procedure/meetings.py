"""Meetings and their agendas: convened (scheduled), opened, suspended, resumed and closed by the chair;
an agenda adopted at the start (as proposed, or as amended) and taken up item by item; the decisions and
conclusions the chair announces.

A draft has at most one meeting in session (open or suspended) at a time: the floor, the statements
and the documents introduced belong to it. A meeting's kind (formal or informal) is fixed when it is
convened: it decides how its statements are published, and changing it afterwards would change the
record of what was said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crdt.procedure.commands import Actor, need, refuse
from crdt.procedure.proceedings import (
    MeetingKind,
    MeetingStatus,
    Procedure,
    id_list,
    meeting_of,
    open_meeting,
    text_field,
)
from crdt.procedure.speakers import end_turn

MAX_TITLE = 500
MAX_ITEMS = 100
MAX_DECISION = 5_000

#: Which status each command moves a meeting from, and to.
_MOVES: Mapping[str, tuple[tuple[str, ...], str, str]] = {
    "meeting.open": ((MeetingStatus.SCHEDULED,), MeetingStatus.OPEN, "opened"),
    "meeting.suspend": ((MeetingStatus.OPEN,), MeetingStatus.SUSPENDED, "suspended"),
    "meeting.resume": ((MeetingStatus.SUSPENDED,), MeetingStatus.OPEN, "resumed"),
    "meeting.close": ((MeetingStatus.OPEN, MeetingStatus.SUSPENDED), MeetingStatus.CLOSED, "closed"),
}


def agenda_items(state: Procedure, c: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The agenda items of a command, numbered 1, 2, … (paragraph ids are checked by the server)."""
    items = c.get("items", c.get("agenda"))
    if items is None:
        return []
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise refuse(f"the agenda is a list of at most {MAX_ITEMS} items")
    out = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            raise refuse("each agenda item is an object with a title")
        documents = id_list(item, "documents", 200)
        for document in documents:
            if document not in state.proceedings.documents:
                raise refuse(f"agenda item {number}: no document {document!r}", 404)
        amendments = id_list(item, "amendments", 200)
        for amendment in amendments:
            if amendment not in state.amendments:
                raise refuse(f"agenda item {number}: no amendment {amendment!r}", 404)
        out.append(
            {
                "id": str(number),
                "title": text_field(item, "title", MAX_TITLE, required=True),
                "paragraphs": id_list(item, "paragraphs", 5_000),
                "documents": documents,
                "amendments": amendments,
            }
        )
    return out


def _create(state: Procedure, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    kind = c.get("kind")
    if kind not in MeetingKind.__members__.values():
        raise refuse(f"kind must be one of {', '.join(MeetingKind)}")
    starts_us = need(c, "starts_us", int)
    meeting_id = need(c, "id")
    if meeting_id in state.proceedings.meetings:
        raise refuse(f"meeting {meeting_id!r} exists", 409)
    meeting = {
        "id": meeting_id,
        "title": text_field(c, "title", MAX_TITLE, required=True),
        "kind": kind,
        "status": MeetingStatus.SCHEDULED.value,
        "starts": need(c, "starts"),
        "starts_us": starts_us,
        "timezone": text_field(c, "timezone", 64),
        "venue": text_field(c, "venue", MAX_TITLE),
        "convened_by": text_field(c, "convened_by", MAX_TITLE),
        "purpose": text_field(c, "purpose", MAX_DECISION),
        "open_to": text_field(c, "open_to", MAX_TITLE),
        "report_to": text_field(c, "report_to", MAX_TITLE),
        "agenda": {"items": agenda_items(state, c), "adopted": None},
        "current_item": None,
        "floor_mode": None,
        "time_limit_s": None,
        "decisions": [],
        "created": now,
        "created_by": actor.name,
        "opened": None,
        "opened_us": None,
        "closed": None,
        "closed_us": None,
        "history": [{"event": "convened", "at": now, "by": actor.name}],
    }
    state.proceedings.meetings[meeting_id] = meeting
    return meeting


def _move(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    sources, target, event = _MOVES[c["type"]]
    if meeting["status"] not in sources:
        raise refuse(f"the meeting is {meeting['status']}: it cannot be {event}", 409)
    if target == MeetingStatus.OPEN and c["type"] == "meeting.open":
        for other in state.proceedings.meetings.values():
            if other["status"] in (MeetingStatus.OPEN, MeetingStatus.SUSPENDED):
                raise refuse(f"{other['id']} ({other['title']}) is in session: close it first", 409)
        meeting["opened"], meeting["opened_us"] = now, now_us
    if target != MeetingStatus.OPEN:
        end_turn(state, meeting, now_us, now)
    if target == MeetingStatus.CLOSED:
        meeting["closed"], meeting["closed_us"] = now, now_us
    meeting["status"] = target.value
    meeting["history"].append({"event": event, "at": now, "by": actor.name})
    return meeting


def _set_agenda(state: Procedure, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    if meeting["agenda"]["adopted"] is not None:
        raise refuse("the agenda was adopted: it is the meeting's now", 409)
    if meeting["status"] == MeetingStatus.CLOSED:
        raise refuse("the meeting is closed", 409)
    meeting["agenda"]["items"] = agenda_items(state, c)
    meeting["history"].append({"event": "agenda proposed", "at": now, "by": actor.name})
    return meeting["agenda"]


def _adopt_agenda(
    state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str
) -> dict[str, Any]:
    meeting = open_meeting(state, c)
    agenda = meeting["agenda"]
    if agenda["adopted"] is not None:
        raise refuse("the agenda is adopted already", 409)
    amended = "items" in c and c["items"] is not None
    items = agenda_items(state, c) if amended else agenda["items"]
    if not items:
        raise refuse("the agenda has no items", 422)
    agenda["items"] = items
    agenda["adopted"] = {"at": now, "at_us": now_us, "by": actor.name, "as_amended": amended}
    meeting["history"].append(
        {"event": "agenda adopted as amended" if amended else "agenda adopted", "at": now, "by": actor.name}
    )
    return agenda


def _take_up(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    meeting = open_meeting(state, c)
    if meeting["agenda"]["adopted"] is None:
        raise refuse("the agenda is adopted before its items are taken up", 409)
    item = need(c, "item")
    found = next((i for i in meeting["agenda"]["items"] if i["id"] == item), None)
    if found is None:
        raise refuse(f"no item {item!r} on the agenda", 404)
    if meeting["current_item"] == item:
        raise refuse(f"item {item} is before the meeting already", 409)
    end_turn(state, meeting, now_us, now)
    meeting["current_item"] = item
    found.setdefault("taken_up", []).append({"at": now, "at_us": now_us})
    meeting["history"].append({"event": f"took up item {item}", "at": now, "by": actor.name})
    return found


def _decide(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    if meeting["status"] not in (MeetingStatus.OPEN, MeetingStatus.SUSPENDED):
        raise refuse(f"the meeting is {meeting['status']}", 409)
    decision = {
        "id": need(c, "id"),
        "item": meeting["current_item"],
        "text": text_field(c, "text", MAX_DECISION, required=True),
        "at": now,
        "at_us": now_us,
        "by": actor.name,
    }
    meeting["decisions"].append(decision)
    return decision


HANDLERS = {
    "meeting.create": _create,
    "meeting.open": _move,
    "meeting.suspend": _move,
    "meeting.resume": _move,
    "meeting.close": _move,
    "agenda.set": _set_agenda,
    "agenda.adopt": _adopt_agenda,
    "agenda.take_up": _take_up,
    "meeting.decision": _decide,
}
