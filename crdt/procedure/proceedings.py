"""The proceedings of a draft: its meetings and everything that happens in them, as one fold of its log.

Meetings belong to a draft (the negotiation's text) and their commands (``meeting.*``, ``agenda.*``,
``floor.*``, ``statement.*``, ``document.*``, ``friends.*``, ``summary.*``) sit in the draft's log beside
the amendments and positions. :class:`Proceedings` is the part of the deliberation state they write; each
concept keeps its handlers in its own module (``meetings``, ``speakers``, ``statements``, ``documents``,
``friends``, ``summaries``), and :mod:`crdt.procedure.conference` registers them all.

Handlers see the deliberation state through :class:`Procedure` (what they read of it), so that none of
them imports :mod:`crdt.procedure.deliberation`, which imports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from crdt.procedure.commands import refuse
from crdt.procedure.consensus import Indicator


class MeetingKind(StrEnum):
    #: Statements attributed; the official record.
    FORMAL = "formal"
    #: Views recorded without attribution ("Some felt… Others…").
    INFORMAL = "informal"


class MeetingStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Profile(StrEnum):
    """How a process decides (the roll's procedure profile)."""

    #: Member States negotiate and decide; accredited stakeholders speak and submit.
    INTERGOVERNMENTAL = "intergovernmental"
    #: Every stakeholder group on an equal footing.
    MULTISTAKEHOLDER = "multistakeholder"


class DelegationKind(StrEnum):
    """What a delegation on the roll is; decides precedence on the speaking list."""

    MEMBER_STATE = "member_state"
    OBSERVER_STATE = "observer_state"
    INTERGOVERNMENTAL_ORGANISATION = "intergovernmental_organisation"
    #: Bodies, specialised agencies, funds and programmes of the UN system (the ITU, UNESCO).
    UN_SYSTEM = "un_system"
    ACCREDITED_ORGANISATION = "accredited_organisation"


@dataclass
class Proceedings:
    """Everything about the draft's meetings, folded from its log. Values are plain JSON."""

    #: ``mt-N`` → the meeting: title, kind, status, agenda, current item, decisions, history.
    meetings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``{meeting}/{item}`` → the speaking list of one agenda item.
    floors: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``st-N`` → a statement (one turn at the floor), attributed: the log knows who spoke.
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``doc-N`` → a document: background, proposal, contribution, non-paper, chair's text.
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``foc-N`` → a Group of Friends of the Chair established by this draft's plenary.
    friends: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: On a group's working draft: its mandate (parent draft, group, paragraphs, members, deadline).
    mandate: dict[str, Any] | None = None
    #: meeting → the published versions of its summary, in order.
    summaries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Speaking-list entries ever made (their ids are ``fl-N``).
    entries: int = 0


class Procedure(Protocol):
    """What the meeting handlers read and write of the deliberation state."""

    proceedings: Proceedings
    amendments: dict[str, dict[str, Any]]
    silences: dict[str, dict[str, Any]]
    locked: bool
    delegations: dict[str, str]

    def indicator(self, target: str) -> Indicator: ...


# Shared lookups.


def meeting_of(state: Procedure, command: Mapping[str, Any]) -> dict[str, Any]:
    meeting_id = command.get("meeting")
    meeting = state.proceedings.meetings.get(meeting_id) if isinstance(meeting_id, str) else None
    if meeting is None:
        raise refuse(f"no meeting {meeting_id!r} in this draft", 404)
    return meeting


def open_meeting(state: Procedure, command: Mapping[str, Any]) -> dict[str, Any]:
    """The meeting the command names, which must be in session (open, not suspended or closed)."""
    meeting = meeting_of(state, command)
    if meeting["status"] != MeetingStatus.OPEN:
        raise refuse(f"the meeting is {meeting['status']}", 409)
    return meeting


def floor_key(meeting_id: str, item: str) -> str:
    return f"{meeting_id}/{item}"


def roll_of(state: Procedure) -> Any | None:
    """The draft's roll (issue #15) when it names anyone: only then does it tell who is what."""
    roll = getattr(state, "roll", None)
    is_empty = getattr(roll, "is_empty", None)
    if roll is None or (callable(is_empty) and is_empty()):
        return None
    return roll


def profile_of(state: Procedure) -> Profile:
    """The draft's procedure profile: the roll's (set even while it names nobody), else intergovernmental
    (the UN default, and the seed's: an informal consultation open to all stakeholders inside an
    intergovernmental process)."""
    roll = getattr(state, "roll", None)
    profile = getattr(roll, "profile", None) or getattr(getattr(roll, "process", None), "profile", None)
    return Profile(profile) if profile in Profile.__members__.values() else Profile.INTERGOVERNMENTAL


def delegation_kind(state: Procedure, participant: str, delegation: str) -> str | None:
    """The kind of the delegation a participant sits in, from the roll; ``None`` when unknown (no roll,
    or not on it). See :func:`crdt.procedure.speakers.rank` for how an unknown kind sorts."""
    roll = roll_of(state)
    if roll is None:
        return None
    found = roll.delegation_of(participant) if hasattr(roll, "delegation_of") else None
    kind = getattr(found, "kind", None) if found is not None else None
    if kind is None and isinstance(found, Mapping):
        kind = found.get("kind")
    return str(kind) if kind in DelegationKind.__members__.values() else None


def text_field(command: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = command.get(name)
    if value is None or value == "":
        if required:
            raise refuse(f"missing {name!r}")
        return ""
    if not isinstance(value, str):
        raise refuse(f"{name!r} must be a string")
    if len(value) > limit:
        raise refuse(f"{name!r} longer than {limit} characters")
    return value


def id_list(command: Mapping[str, Any], name: str, limit: int) -> list[str]:
    value = command.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in value):
        raise refuse(f"{name!r} must be a list of ids")
    if len(value) > limit:
        raise refuse(f"at most {limit} {name}")
    if len(set(value)) != len(value):
        raise refuse(f"{name!r} names one twice")
    return list(value)
