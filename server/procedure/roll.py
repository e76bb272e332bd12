"""Who someone is on a draft: the roll decides, once it names people.

A token names a person. On a draft whose roll accredits people, the delegation, stakeholder group and
capacity come from the roll (a token claiming another delegation is ignored), and someone not on it
has no access to the draft: 403 over REST, close 4403 on the websocket, with the reason. A draft without
a roll takes the token's claims, as before.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from crdt.procedure.roll import BUREAU_ROLES, Person, PersonRole, Roll
from crdt.wire.protocol import encode_permission_denied
from server.identity import Participant, PermissionDeniedError, Role
from server.procedure.drafts import get_draft
from server.sync.closecodes import CloseCode
from server.sync.roomnames import draft_of

if TYPE_CHECKING:
    from server.storage.database import Database
    from server.sync.rooms import Rooms


class States(Protocol):
    """What the roll reads of the deliberation states (``server.procedure.deliberation.Deliberations``)."""

    @property
    def database(self) -> Database: ...

    def loaded(self, draft: str) -> Any: ...

    async def get(self, draft: str) -> Any: ...


NOT_ON_ROLL = "you are not on the roll of this draft: ask its chair or secretariat to accredit you"

#: What a person without a delegation shows as their seat (presence, the log, the events).
_SEATS = {
    PersonRole.CHAIR: "Bureau",
    PersonRole.VICE_CHAIR: "Bureau",
    PersonRole.SECRETARIAT: "Secretariat",
    PersonRole.ARCHIVIST: "Secretariat",
    PersonRole.TRANSLATOR: "Secretariat",
    PersonRole.OBSERVER: "Observer",
}


def seat_label(person: Person) -> str:
    return person.delegation or _SEATS.get(person.role, "Bureau")


def on_roll(roll: Roll, participant: Participant, draft: str) -> Participant:
    """``participant`` as the draft's roll has them; raises :class:`PermissionDeniedError` when the
    roll names people and not them. With an empty roll, ``participant`` unchanged."""
    if roll.is_empty():
        return participant
    person = roll.person(participant.id)
    if person is None:
        raise PermissionDeniedError(NOT_ON_ROLL)
    return seated(roll, person, draft, languages=participant.languages)


def seated(roll: Roll, person: Person, draft: str, languages: frozenset[str] = frozenset()) -> Participant:
    """The participant a person on the roll is on ``draft``: their delegation, group and capacity (and,
    for a translator, the ``languages`` their sign-in gives)."""
    delegation = roll.delegations.get(person.delegation) if person.delegation else None
    return Participant(
        id=person.id,
        name=person.name,
        delegation=seat_label(person),
        group=None if delegation is None or person.role in BUREAU_ROLES else delegation.group,
        roles={draft: Role(person.capacity)},
        languages=languages if person.role is PersonRole.TRANSLATOR else frozenset(),
    )


async def _state_of(deliberations: States, draft: str) -> Any | None:
    """The deliberation state of ``draft`` (None when it is no draft: a free room, or one that does not
    exist)."""
    loaded = deliberations.loaded(draft)
    if loaded is not None:
        return loaded.state
    if await get_draft(deliberations.database, draft) is None:
        return None
    return (await deliberations.get(draft)).state


async def roll_of(deliberations: States, draft: str) -> Roll | None:
    """The roll of ``draft`` (None when it is no draft: a free room, or one that does not exist)."""
    state = await _state_of(deliberations, draft)
    return None if state is None else state.roll


async def resolve(deliberations: States, draft: str, participant: Participant) -> Participant:
    """Who ``participant`` is on ``draft`` (see :func:`on_roll`). On a Group of Friends' working draft,
    who they are on the plenary's draft: its roll, and the role a token gives there when it names no
    role for the working draft (a token scoped to the plenary's draft reaches its groups' drafts)."""
    state = await _state_of(deliberations, draft)
    if state is None:
        return participant
    mandate = state.proceedings.mandate
    if mandate is None or not state.roll.is_empty():
        return on_roll(state.roll, participant, draft)
    parent = str(mandate["parent"])
    seat = await resolve(deliberations, parent, participant) if parent != draft else participant
    role = participant.roles.get(draft) or seat.role_for(parent)
    roles = {**seat.roles, draft: role} if role is not None else dict(seat.roles)
    return replace(seat, roles=roles)


def reseat(rooms: Rooms, draft: str, roll: Roll) -> int:
    """After a change to the roll: close the connections to ``draft`` of people no longer on it (4403),
    and of people whose seat changed (1012: they reconnect and sit where the roll now puts them).
    Returns how many were closed."""
    closed = 0
    for room in rooms:
        if draft_of(room.name) != draft:
            continue
        for session in list(room.sessions):
            actor = getattr(session, "actor", None)
            user = getattr(actor, "user", None) or {}
            if roll.is_empty():
                continue
            person = roll.person(session.participant_id)
            if person is None:
                reason = "your accreditation to this draft was withdrawn"
                session.send(encode_permission_denied(reason))
                session.close(CloseCode.FORBIDDEN, reason)
                closed += 1
                continue
            seat = seated(roll, person, draft)
            now = (seat.delegation, str(seat.group or ""), str(seat.role_for(draft)))
            if now != (user.get("delegation"), user.get("group"), user.get("role")):
                session.close(CloseCode.SERVICE_RESTART, "your accreditation changed: reconnect")
                closed += 1
    return closed
