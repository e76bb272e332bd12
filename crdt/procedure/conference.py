"""Every command of the meetings, registered once, and what the deliberation document publishes of them.

The deliberation registers :data:`HANDLERS` with its own and folds them the same way; :func:`publish`
gives the maps added to the read-only ``{draft}/deliberation`` document:

=============  ================  ===========================================================================
map            key               value
=============  ================  ===========================================================================
``meetings``   ``mt-N``          title, kind, status, starts, agenda (items, adopted), current item, decisions
``speakers``   ``mt-N``          the current item's speaking list: open, mode, time limit, ``order``
                                 (waiting, in speaking order), ``current`` (who has the floor, since and
                                 until when: ``deadline_us``, server time; in an informal meeting the
                                 group only) and ``spoken``
``statements`` ``st-N``          a turn at the floor and its summary; attributed in formal meetings, the
                                 stakeholder group only in informal ones
``documents``  ``doc-N``         symbol, kind, title, author, addressee, date, language, file, where
                                 introduced, and a proposal's consensus indicator
``friends``    ``foc-N``         a Group of Friends of the Chair (on a working draft: ``mandate``)
``summaries``  ``mt-N``          the published versions of the meeting's summary, the latest text
=============  ================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crdt.procedure import documents, friends, meetings, speakers, statements, summaries
from crdt.procedure.commands import Actor
from crdt.procedure.proceedings import MeetingKind, MeetingStatus, Procedure

HANDLERS: Mapping[str, Any] = {
    **meetings.HANDLERS,
    **speakers.HANDLERS,
    **statements.HANDLERS,
    **documents.HANDLERS,
    **friends.HANDLERS,
    **summaries.HANDLERS,
}

#: What of the current turn an informal meeting keeps out of what it publishes (the log keeps it).
_ATTRIBUTING = ("delegation", "entry", "given_by")

MAPS = ("meetings", "speakers", "statements", "documents", "friends", "summaries")


def admit(state: Procedure, command: Mapping[str, Any], actor: Actor) -> None:
    """Refusals that hold for every command, before its own rules (a group's working draft)."""
    friends.admit(state, command, actor)


def publish(state: Procedure) -> dict[str, dict[str, Any]]:
    proceedings = state.proceedings
    in_session = {
        m["id"]: m
        for m in proceedings.meetings.values()
        if m["status"] in (MeetingStatus.OPEN, MeetingStatus.SUSPENDED)
    }
    speaking: dict[str, Any] = {}
    for meeting_id, meeting in in_session.items():
        floor = speakers.floor_of(state, meeting)
        if floor is not None:
            speaking[meeting_id] = _floor(state, meeting, floor)
    groups: dict[str, Any] = dict(proceedings.friends)
    if proceedings.mandate is not None:
        groups["mandate"] = proceedings.mandate
    return {
        "meetings": proceedings.meetings,
        "speakers": speaking,
        "statements": {key: statements.published(s) for key, s in proceedings.statements.items()},
        "documents": {key: documents.published(state, d) for key, d in proceedings.documents.items()},
        "friends": groups,
        "summaries": {
            meeting: {
                "versions": [{k: v for k, v in version.items() if k != "text"} for version in versions],
                "text": versions[-1]["text"],
            }
            for meeting, versions in proceedings.summaries.items()
            if versions
        },
    }


def _floor(state: Procedure, meeting: Mapping[str, Any], floor: Mapping[str, Any]) -> dict[str, Any]:
    entries = floor["entries"]

    def entry(entry_id: str) -> dict[str, Any]:
        e = entries[entry_id]
        return {k: e[k] for k in ("id", "delegation", "group", "kind", "purpose", "asked")}

    formal = meeting["kind"] == MeetingKind.FORMAL
    current = floor["current"]
    if current is not None and not formal:
        # What an informal meeting publishes carries no attribution: the group speaking, not who.
        current = {k: v for k, v in current.items() if k not in _ATTRIBUTING}
    return {
        "meeting": meeting["id"],
        "item": floor["item"],
        "open": floor["open"],
        "mode": str(speakers.mode_of(state, meeting)),
        "time_limit_s": meeting.get("time_limit_s"),
        "order": [entry(i) for i in floor["order"]],
        "current": current,
        # The room sees who speaks; an informal meeting's record of who spoke is the archive's.
        "spoken": [entry(i) for i in floor["spoken"]] if formal else len(floor["spoken"]),
        "pinned": floor["pinned"],
    }
