"""Who someone is on a draft: the roll decides, once it names people.

A token names a person. On a draft whose roll accredits people, the delegation, stakeholder group and
capacity come from the roll (a token claiming another delegation is ignored), and someone not on it
has no access to the draft: 403 over REST, close 4403 on the websocket, with the reason. A draft without
a roll takes the token's claims, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crdt.procedure.roll import BUREAU_ROLES, Person, PersonRole, Roll
from server.identity import Participant, PermissionDeniedError, Role
from server.procedure.drafts import get_draft

if TYPE_CHECKING:
    from server.procedure.deliberation import Deliberations

NOT_ON_ROLL = "you are not on the roll of this draft: ask its chair or secretariat to accredit you"

#: What a person without a delegation shows as their seat (presence, the log, the events).
_SEATS = {
    PersonRole.CHAIR: "Bureau",
    PersonRole.VICE_CHAIR: "Bureau",
    PersonRole.SECRETARIAT: "Secretariat",
    PersonRole.ARCHIVIST: "Secretariat",
    PersonRole.OBSERVER: "Observer",
}


def seat_label(person: Person) -> str:
    return person.delegation or _SEATS.get(person.role, "Bureau")


def on_roll(roll: Roll, participant: Participant, draft: str) -> Participant:
    """``participant`` as the draft's roll has them; raises :class:`PermissionDeniedError` when the
    roll names people and not them. With an empty roll, ``participant`` unchanged."""
    if roll.is_empty:
        return participant
    person = roll.person(participant.id)
    if person is None:
        raise PermissionDeniedError(NOT_ON_ROLL)
    return seated(roll, person, draft)


def seated(roll: Roll, person: Person, draft: str) -> Participant:
    """The participant a person on the roll is on ``draft``: their delegation, group and capacity."""
    delegation = roll.delegations.get(person.delegation) if person.delegation else None
    return Participant(
        id=person.id,
        name=person.name,
        delegation=seat_label(person),
        group=None if delegation is None or person.role in BUREAU_ROLES else delegation.group,
        roles={draft: Role(person.capacity)},
    )


async def roll_of(deliberations: Deliberations, draft: str) -> Roll | None:
    """The roll of ``draft`` (None when it is no draft: a free room, or one that does not exist)."""
    loaded = deliberations.loaded(draft)
    if loaded is not None:
        return loaded.state.roll
    if await get_draft(deliberations.database, draft) is None:
        return None
    return (await deliberations.get(draft)).state.roll


async def resolve(deliberations: Deliberations, draft: str, participant: Participant) -> Participant:
    """Who ``participant`` is on ``draft`` (see :func:`on_roll`)."""
    roll = await roll_of(deliberations, draft)
    return participant if roll is None else on_roll(roll, participant, draft)
