"""The speaking list: who asked for the floor on the current agenda item, in which order they speak, who
has it now and until when.

The order (:func:`speaking_order`) is a pure function of the requests waiting, the chair's explicit
order and the meeting's mode, so that it is written down once and tested on its own:

1. **Points of order** come first, in the order they were raised: they interrupt, and the chair rules on
   them at once. Nobody reorders them.
2. Then the entries **the chair placed** (``floor.reorder``), in the chair's order: the chair's decision
   wins over every rule below.
3. Then **rights of reply**, in the order asked.
4. Then **requests to speak**, ordered by the meeting's mode:

   - ``precedence`` (intergovernmental meetings, the default there): Member States, then observer States,
     then intergovernmental organisations and the UN system, then accredited organisations (civil
     society, business), each class in the order asked. A delegation whose kind is unknown sorts as a
     Member State when the draft has no roll (nobody can tell; nobody is demoted) and last when it has
     one (it is not on it).
   - ``request_order`` (the default in multistakeholder meetings; either profile may choose it): first
     come, first served.
   - ``alternate`` (multistakeholder meetings only): the chair alternates stakeholder groups: the next
     speaker comes from the group that spoke least recently on this item (a group that has not spoken
     yet comes first), ties going to the earliest request; within a group, first come, first served.

Also here, the rules of asking: one request to speak per delegation per agenda item (a delegation that
has spoken on the item, or waits to, cannot ask again); at most one pending point of order and one
pending right of reply per delegation, and at most :data:`MAX_REPLIES` rights of reply per delegation per
item (the General Assembly's practice); in intergovernmental meetings only States raise points of order
and exercise rights of reply. The list can be closed to new requests to speak (points of order and rights
of reply stay possible), and a time limit gives each turn a deadline in server time that every client
counts down to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from crdt.procedure.commands import Actor, need, refuse
from crdt.procedure.consensus import StakeholderGroup
from crdt.procedure.proceedings import (
    DelegationKind,
    MeetingKind,
    Procedure,
    Profile,
    delegation_kind,
    floor_key,
    id_list,
    meeting_of,
    open_meeting,
    profile_of,
)

#: Rights of reply one delegation may exercise on one agenda item.
MAX_REPLIES = 2
#: Bounds of a speaking time limit, in seconds.
MIN_LIMIT_S, MAX_LIMIT_S = 10, 3600


class Purpose(StrEnum):
    POINT_OF_ORDER = "point_of_order"
    RIGHT_OF_REPLY = "right_of_reply"
    SPEAK = "speak"


class FloorMode(StrEnum):
    PRECEDENCE = "precedence"
    REQUEST_ORDER = "request_order"
    ALTERNATE = "alternate"


#: The modes a chair may choose under each profile.
MODES: Mapping[Profile, tuple[FloorMode, ...]] = {
    Profile.INTERGOVERNMENTAL: (FloorMode.PRECEDENCE, FloorMode.REQUEST_ORDER),
    Profile.MULTISTAKEHOLDER: (FloorMode.REQUEST_ORDER, FloorMode.ALTERNATE),
}

_RANKS = {
    DelegationKind.MEMBER_STATE: 0,
    DelegationKind.OBSERVER_STATE: 1,
    DelegationKind.INTERGOVERNMENTAL_ORGANISATION: 2,
    DelegationKind.UN_SYSTEM: 2,
    DelegationKind.ACCREDITED_ORGANISATION: 3,
}
#: The class of a delegation the roll does not know: after everyone on it.
_UNKNOWN = 4


def default_mode(profile: Profile | str) -> FloorMode:
    return MODES[Profile(profile)][0]


def rank(kind: str | None, *, group: str = "") -> int:
    """Precedence class of a delegation in intergovernmental meetings (lower speaks first). Without a
    kind (no roll, or a roll that gives none), a delegation of the ``government`` stakeholder group counts
    as a State; anyone else speaks after everyone whose kind is known."""
    if kind is None:
        return _RANKS[DelegationKind.MEMBER_STATE] if group == StakeholderGroup.GOVERNMENT else _UNKNOWN
    return _RANKS[DelegationKind(kind)] if kind in DelegationKind.__members__.values() else _UNKNOWN


@dataclass(frozen=True, slots=True)
class Request:
    """One entry waiting on a speaking list, as the order rule sees it."""

    id: str
    delegation: str
    group: str
    #: The delegation's kind on the roll; None when unknown.
    kind: str | None
    purpose: Purpose
    #: When it was asked, as a sequence number (earlier asks have smaller numbers).
    number: int


def speaking_order(
    waiting: Iterable[Request],
    *,
    profile: Profile | str,
    mode: FloorMode | str,
    pinned: Sequence[str] = (),
    spoken_groups: Sequence[str] = (),
) -> list[str]:
    """The ids of ``waiting`` in the order they get the floor (see the module's docstring).

    ``pinned`` is the chair's explicit order (ids not waiting are ignored); ``spoken_groups`` the
    stakeholder groups of the turns already taken on this item, oldest first (for ``alternate``).
    """
    requests = sorted(waiting, key=lambda r: r.number)
    by_id = {r.id: r for r in requests}
    points = [r.id for r in requests if r.purpose == Purpose.POINT_OF_ORDER]
    placed = [i for i in dict.fromkeys(pinned) if i in by_id and by_id[i].purpose != Purpose.POINT_OF_ORDER]
    taken = {*points, *placed}
    replies = [r.id for r in requests if r.purpose == Purpose.RIGHT_OF_REPLY and r.id not in taken]
    speakers = [r for r in requests if r.purpose == Purpose.SPEAK and r.id not in taken]
    mode = FloorMode(mode)
    if mode == FloorMode.PRECEDENCE and Profile(profile) == Profile.INTERGOVERNMENTAL:
        speakers.sort(key=lambda r: (rank(r.kind, group=r.group), r.number))
    elif mode == FloorMode.ALTERNATE:
        history = [*spoken_groups, *(by_id[i].group for i in placed), *(by_id[i].group for i in replies)]
        speakers = _alternating(speakers, history)
    return [*points, *placed, *replies, *(r.id for r in speakers)]


def _alternating(requests: list[Request], history: Sequence[str]) -> list[Request]:
    last: dict[str, int] = {}
    for index, group in enumerate(history):
        last[group] = index
    turn = len(history)
    queues: dict[str, list[Request]] = {}
    for request in requests:  # in request order
        queues.setdefault(request.group, []).append(request)
    out: list[Request] = []
    while queues:
        group = min(queues, key=lambda g: (last.get(g, -1), queues[g][0].number))
        out.append(queues[group].pop(0))
        if not queues[group]:
            del queues[group]
        last[group] = turn
        turn += 1
    return out


# State: one speaking list per agenda item, kept in Proceedings.floors.


def floor_of(state: Procedure, meeting: dict[str, Any], *, create: bool = False) -> dict[str, Any] | None:
    """The speaking list of the meeting's current item (made on first use when ``create``)."""
    item = meeting.get("current_item")
    if item is None:
        if create:
            raise refuse("no agenda item is before the meeting: the chair takes one up first", 409)
        return None
    key = floor_key(meeting["id"], item)
    floor = state.proceedings.floors.get(key)
    if floor is None and create:
        floor = {
            "meeting": meeting["id"],
            "item": item,
            "open": True,
            "entries": {},
            "pinned": [],
            "order": [],
            "current": None,
            "spoken": [],
            "spoken_groups": [],
        }
        state.proceedings.floors[key] = floor
    return floor


def mode_of(state: Procedure, meeting: Mapping[str, Any]) -> FloorMode:
    profile = profile_of(state)
    chosen = meeting.get("floor_mode")
    if chosen in MODES[profile]:
        return FloorMode(chosen)
    return default_mode(profile)


def _reorder(state: Procedure, meeting: Mapping[str, Any], floor: dict[str, Any]) -> None:
    waiting = [
        Request(e["id"], e["delegation"], e["group"], e["kind"], Purpose(e["purpose"]), e["number"])
        for e in floor["entries"].values()
        if e["state"] == "waiting"
    ]
    floor["pinned"] = [i for i in floor["pinned"] if floor["entries"].get(i, {}).get("state") == "waiting"]
    floor["order"] = speaking_order(
        waiting,
        profile=profile_of(state),
        mode=mode_of(state, meeting),
        pinned=floor["pinned"],
        spoken_groups=floor["spoken_groups"],
    )


def end_turn(state: Procedure, meeting: Mapping[str, Any], now_us: int, now: str) -> None:
    """The current speaker (if any) yields: the turn and its statement end now."""
    for floor in state.proceedings.floors.values():
        if floor["meeting"] != meeting["id"] or floor["current"] is None:
            continue
        current = floor["current"]
        entry = floor["entries"][current["entry"]]
        entry["state"] = "spoke"
        floor["spoken"].append(entry["id"])
        floor["spoken_groups"].append(entry["group"])
        statement = state.proceedings.statements.get(current["statement"])
        if statement is not None:
            statement["ended"] = now
            statement["ended_us"] = now_us
        floor["current"] = None


# Handlers.


def _request(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    meeting = open_meeting(state, c)
    purpose = c.get("purpose", Purpose.SPEAK.value)
    if purpose not in Purpose.__members__.values():
        raise refuse(f"purpose must be one of {', '.join(Purpose)}")
    if not actor.delegation:
        raise refuse("the floor is given to delegations: your token names none", 403)
    item = c.get("item")
    if item is not None and item != meeting.get("current_item"):
        raise refuse("the floor is requested on the agenda item before the meeting", 409)
    existing = floor_of(state, meeting)
    if existing is None and meeting.get("current_item") is None:
        floor_of(state, meeting, create=True)  # refuses: no item before the meeting
    kind = delegation_kind(state, actor.participant, actor.delegation)
    entries = existing["entries"] if existing is not None else {}
    mine = [e for e in entries.values() if e["delegation"] == actor.delegation]
    if purpose == Purpose.SPEAK:
        if existing is not None and not existing["open"]:
            raise refuse("the list of speakers on this item is closed", 409)
        if any(e["purpose"] == Purpose.SPEAK and e["state"] != "withdrawn" for e in mine):
            raise refuse(f"{actor.delegation} is already on the list of speakers for this item", 409)
    else:
        if profile_of(state) == Profile.INTERGOVERNMENTAL and not _is_state(kind, actor):
            what = (
                "raise a point of order" if purpose == Purpose.POINT_OF_ORDER else "exercise a right of reply"
            )
            raise refuse(f"in an intergovernmental meeting only States {what}", 403)
        if any(e["purpose"] == purpose and e["state"] == "waiting" for e in mine):
            raise refuse(f"{actor.delegation} already has a {purpose.replace('_', ' ')} waiting", 409)
        replies = [e for e in mine if e["purpose"] == Purpose.RIGHT_OF_REPLY and e["state"] != "withdrawn"]
        if purpose == Purpose.RIGHT_OF_REPLY and len(replies) >= MAX_REPLIES:
            raise refuse(f"at most {MAX_REPLIES} rights of reply per delegation on one item", 409)
    entry_id = need(c, "id")
    if entry_id in entries:
        raise refuse(f"entry {entry_id!r} exists", 409)
    # Every check passed: only now may the list come into being.
    floor = floor_of(state, meeting, create=True)
    assert floor is not None
    state.proceedings.entries += 1
    entry = {
        "id": entry_id,
        "meeting": meeting["id"],
        "item": floor["item"],
        "delegation": actor.delegation,
        "group": actor.group,
        "kind": kind,
        "purpose": purpose,
        "by": actor.participant,
        "name": actor.name,
        "asked": now,
        "number": state.proceedings.entries,
        "state": "waiting",
    }
    floor["entries"][entry_id] = entry
    _reorder(state, meeting, floor)
    return entry


def _is_state(kind: str | None, actor: Actor) -> bool:
    if kind is not None:
        return kind in (DelegationKind.MEMBER_STATE, DelegationKind.OBSERVER_STATE)
    # No kind on the roll (or no roll): the declared stakeholder group is all anyone can tell by.
    return actor.group == StakeholderGroup.GOVERNMENT


def _waiting_entry(floor: Mapping[str, Any], c: Mapping[str, Any]) -> dict[str, Any]:
    entry = floor["entries"].get(need(c, "entry"))
    if entry is None:
        raise refuse("no such entry on the speaking list of the current item", 404)
    if entry["state"] != "waiting":
        raise refuse(f"the entry is not waiting (it is {entry['state']})", 409)
    return entry


def _withdraw(state: Procedure, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    floor = floor_of(state, meeting)
    if floor is None:
        raise refuse("no speaking list on the current item", 404)
    entry = _waiting_entry(floor, c)
    if c["type"] == "floor.withdraw" and entry["delegation"] != actor.delegation:
        raise refuse("only the delegation that asked may withdraw its request", 403)
    entry["state"] = "withdrawn"
    entry["withdrawn"] = now
    _reorder(state, meeting, floor)
    return entry


def _give(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    meeting = open_meeting(state, c)
    floor = floor_of(state, meeting)
    if floor is None or not floor["order"]:
        raise refuse("nobody is waiting for the floor on this item", 409)
    entry_id = c.get("entry") or floor["order"][0]
    entry = _waiting_entry(floor, {"entry": entry_id})
    statement_id = need(c, "statement")
    if statement_id in state.proceedings.statements:
        raise refuse(f"statement {statement_id!r} exists", 409)
    end_turn(state, meeting, now_us, now)
    limit = meeting.get("time_limit_s")
    entry["state"] = "speaking"
    floor["current"] = {
        "entry": entry["id"],
        "statement": statement_id,
        "delegation": entry["delegation"],
        "group": entry["group"],
        "purpose": entry["purpose"],
        "started": now,
        "started_us": now_us,
        "limit_s": limit,
        "deadline_us": now_us + limit * 1_000_000 if limit else None,
        "given_by": actor.name,
    }
    state.proceedings.statements[statement_id] = {
        "id": statement_id,
        "meeting": meeting["id"],
        "item": floor["item"],
        "entry": entry["id"],
        "purpose": entry["purpose"],
        "delegation": entry["delegation"],
        "group": entry["group"],
        "kind": entry["kind"],
        "speaker": {"participant": entry["by"], "name": entry["name"]},
        "formal": meeting["kind"] == MeetingKind.FORMAL,
        "started": now,
        "started_us": now_us,
        "ended": None,
        "ended_us": None,
        "summary": "",
        "stance": None,
        "paragraphs": [],
        "documents": [],
        "text": "",
    }
    _reorder(state, meeting, floor)
    return floor["current"]


def _end(state: Procedure, c: Mapping[str, Any], _a: Actor, now_us: int, now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    floor = floor_of(state, meeting)
    if floor is None or floor["current"] is None:
        raise refuse("nobody has the floor", 409)
    statement = floor["current"]["statement"]
    end_turn(state, meeting, now_us, now)
    return {"statement": statement, "ended": now}


def _reorder_command(state: Procedure, c: Mapping[str, Any], _a: Actor, _n: int, _now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    floor = floor_of(state, meeting)
    if floor is None:
        raise refuse("no speaking list on the current item", 404)
    order = id_list(c, "order", 500)
    for entry_id in order:
        entry = _waiting_entry(floor, {"entry": entry_id})
        if entry["purpose"] == Purpose.POINT_OF_ORDER:
            raise refuse("points of order are heard first, in the order raised: they cannot be moved", 409)
    floor["pinned"] = order
    _reorder(state, meeting, floor)
    return {"order": floor["order"]}


def _open_close(state: Procedure, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    floor = floor_of(state, meeting, create=True)
    assert floor is not None
    floor["open"] = c["type"] == "floor.reopen"
    floor["closed_at" if not floor["open"] else "reopened_at"] = now
    return {"item": floor["item"], "open": floor["open"]}


def _limit(state: Procedure, c: Mapping[str, Any], _a: Actor, _n: int, _now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    seconds = c.get("seconds")
    if seconds is not None and (
        not isinstance(seconds, int) or isinstance(seconds, bool) or not MIN_LIMIT_S <= seconds <= MAX_LIMIT_S
    ):
        raise refuse(f"seconds must be between {MIN_LIMIT_S} and {MAX_LIMIT_S}, or null for no limit")
    meeting["time_limit_s"] = seconds
    return {"time_limit_s": seconds}


def _mode(state: Procedure, c: Mapping[str, Any], _a: Actor, _n: int, _now: str) -> dict[str, Any]:
    meeting = meeting_of(state, c)
    profile = profile_of(state)
    mode = c.get("mode")
    if mode not in MODES[profile]:
        allowed = ", ".join(MODES[profile])
        article = "an" if str(profile)[0] in "aeiou" else "a"
        raise refuse(f"in {article} {profile} process the speaking order is one of: {allowed}", 409)
    meeting["floor_mode"] = mode
    floor = floor_of(state, meeting)
    if floor is not None:
        _reorder(state, meeting, floor)
    return {"floor_mode": mode}


HANDLERS = {
    "floor.request": _request,
    "floor.withdraw": _withdraw,
    "floor.remove": _withdraw,
    "floor.give": _give,
    "floor.end": _end,
    "floor.reorder": _reorder_command,
    "floor.close": _open_close,
    "floor.reopen": _open_close,
    "floor.limit": _limit,
    "floor.mode": _mode,
}
