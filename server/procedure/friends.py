"""Groups of Friends of the Chair on the server: the working draft a group gets, and the way its text
goes back to the plenary (see crdt/procedure/friends.py for the rules and the record).

Establishing a group is three steps, in this order so that a refusal leaves nothing behind: the mandate
checked against the parent's rules and text (nothing is created if it is refused), the working draft
created under the first free ``{parent}-foc-N`` with the mandated paragraphs as they read now (same ids,
so the text maps back), the parent's ``friends.establish`` (logged: the group and its working draft's
id), and the working draft's ``friends.mandate``. Reporting reads the working text and logs
``friends.report`` on the parent (the amendment set, anchored on the parent's paragraphs) and
``friends.reported`` on the working draft.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from crdt.procedure import friends as rules
from crdt.procedure.commands import CommandRefused, refuse
from crdt.procedure.draft import Paragraph, read_paragraphs
from server.identity import Action, Participant
from server.procedure.deliberation import Deliberations, actor_of
from server.procedure.drafts import DraftExists, create_draft, get_draft
from server.procedure.meetings import GROUP_DRAFT_INFIX, group_draft_id
from server.storage.database import now_us

if TYPE_CHECKING:
    from server.storage.database import Database
    from server.sync.rooms import Rooms

log = logging.getLogger("plenary.friends")

_GROUP_DRAFT = re.compile(re.escape(GROUP_DRAFT_INFIX) + r"\d+$")


#: Ids tried for a group's working draft (``{parent}-foc-N``, N from the group's number on) before giving up.
WORKING_DRAFT_TRIES = 20


async def establish(
    deliberations: Deliberations,
    database: Database,
    rooms: Rooms,
    parent: str,
    participant: Participant,
    mandate: dict[str, Any],
) -> dict[str, Any]:
    if not participant.may(Action.PRESIDE, parent):
        raise refuse("the chair establishes a Group of Friends of the Chair", 403)
    state = (await deliberations.current(parent)).state
    parent_room = await rooms.current(parent)
    present = {p.id: p for p in read_paragraphs(parent_room.replica.doc)}
    for pid in mandate.get("paragraphs") or []:
        if pid not in present:
            raise refuse(f"no paragraph {pid!r} in this draft", 404)
    rules.check_establish(state, mandate, now_us())  # refused here, nothing is created
    wanted = set(mandate["paragraphs"])
    paragraphs = [p for p in present.values() if p.id in wanted]
    info = await get_draft(database, parent)
    title = f"{mandate.get('title') or rules.GROUP_SPONSOR}: {info.title if info else parent}"[:500]
    working = await _working_draft(
        database, rooms, parent, len(state.proceedings.friends) + 1, title, paragraphs, participant
    )
    try:
        command = {"type": "friends.establish", "_parent": parent, "_draft": working, **mandate}
        group = await deliberations.execute(parent, command, participant)
    except CommandRefused:
        # Checked above: only a change in between (a paragraph deleted meanwhile) gets here.
        log.warning("draft %r: working draft %s created, but its group was refused", parent, working)
        raise
    await deliberations.execute_on_behalf(
        group["draft"],
        {
            "type": "friends.mandate",
            "parent": parent,
            "group": group["id"],
            **{k: group[k] for k in ("title", "paragraphs", "members", "deadline", "deadline_us")},
        },
        actor_of(participant, parent),
    )
    return group


async def _working_draft(
    database: Database,
    rooms: Rooms,
    parent: str,
    number: int,
    title: str,
    paragraphs: list[Paragraph],
    creator: Participant,
) -> str:
    """Create a group's working draft under the first free ``{parent}-foc-N`` (a long parent's cut
    prefix, or a room someone wrote into, may hold the obvious one) and return its id."""
    for candidate in range(number, number + WORKING_DRAFT_TRIES):
        draft_id = group_draft_id(parent, candidate)
        if await get_draft(database, draft_id) is not None:
            continue
        try:
            await create_draft(
                database,
                rooms,
                draft_id=draft_id,
                title=title,
                symbol="",
                paragraphs=paragraphs,
                creator=creator,
            )
        except DraftExists:
            continue
        return draft_id
    raise refuse(f"no free id for the group's working draft ({group_draft_id(parent, number)} and on)", 409)


async def report(
    deliberations: Deliberations, rooms: Rooms, parent: str, group_id: str, participant: Participant
) -> dict[str, Any]:
    if not participant.may(Action.PRESIDE, parent):
        raise refuse("the chair reports a group's text to the plenary", 403)
    state = (await deliberations.current(parent)).state
    group = state.proceedings.friends.get(group_id)
    if group is None:
        raise refuse(f"no group {group_id!r}", 404)
    working = await rooms.current(group["draft"])
    texts = {p.id: p.text for p in read_paragraphs(working.replica.doc) if p.id in group["paragraphs"]}
    for pid in group["paragraphs"]:
        texts.setdefault(pid, "")  # deleted by the group: proposed for deletion
    result = await deliberations.execute(
        parent,
        {"type": "friends.report", "id": group_id, "_texts": texts, "source_seq": working.seq},
        participant,
    )
    await deliberations.execute_on_behalf(
        group["draft"],
        {"type": "friends.reported", "parent": parent, "set": group_id, "amendments": result["amendments"]},
        actor_of(participant, parent),
    )
    return result


async def may_edit_text(deliberations: Deliberations, draft: str, participant: Participant) -> bool:
    """Whether a participant's connection to a draft's text room may change it: the role's right, and on
    a group's working draft, a seat in the group (the chair and the secretariat keep theirs)."""
    if not participant.may(Action.EDIT_TEXT, draft):
        return False
    if not _GROUP_DRAFT.search(draft):
        return True  # only a group's working draft can have a mandate: no need to load others' state
    mandate = (await deliberations.get(draft)).state.proceedings.mandate
    if mandate is None or str(participant.role_for(draft)) in ("chair", "secretariat"):
        return True
    return participant.delegation in mandate["members"]
