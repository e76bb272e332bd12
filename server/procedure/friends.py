"""Groups of Friends of the Chair on the server: the working draft a group gets, and the way its text
goes back to the plenary (see crdt/procedure/friends.py for the rules and the record).

Establishing a group is three steps, in this order so that a refusal leaves nothing behind: the parent's
``friends.establish`` (checked, logged: the group and its working draft's id), the working draft created
with the mandated paragraphs as they read now (same ids, so the text maps back), and its
``friends.mandate``. Reporting reads the working text and logs ``friends.report`` on the parent (the
amendment set, anchored on the parent's paragraphs) and ``friends.reported`` on the working draft.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from crdt.procedure.commands import refuse
from crdt.procedure.draft import read_paragraphs
from server.identity import Action, Participant
from server.procedure.deliberation import Deliberations, actor_of
from server.procedure.drafts import DraftExists, create_draft, get_draft
from server.procedure.meetings import GROUP_DRAFT_INFIX, group_draft_id

if TYPE_CHECKING:
    from server.storage.database import Database
    from server.sync.rooms import Rooms

log = logging.getLogger("plenary.friends")

_GROUP_DRAFT = re.compile(re.escape(GROUP_DRAFT_INFIX) + r"\d+$")


async def establish(
    deliberations: Deliberations,
    database: Database,
    rooms: Rooms,
    parent: str,
    participant: Participant,
    mandate: dict[str, Any],
) -> dict[str, Any]:
    state = (await deliberations.current(parent)).state
    expected = group_draft_id(parent, len(state.proceedings.friends) + 1)
    if await get_draft(database, expected) is not None or (await database.head(expected)).seq > 0:
        raise refuse(f"a draft {expected!r} exists already: the group's working draft needs that id", 409)
    group = await deliberations.execute(
        parent, {"type": "friends.establish", "_parent": parent, **mandate}, participant
    )
    parent_room = await rooms.current(parent)
    wanted = set(group["paragraphs"])
    paragraphs = [p for p in read_paragraphs(parent_room.replica.doc) if p.id in wanted]
    info = await get_draft(database, parent)
    title = f"{group['title']}: {info.title if info else parent}"
    try:
        await create_draft(
            database,
            rooms,
            draft_id=group["draft"],
            title=title[:500],
            symbol="",
            paragraphs=paragraphs,
            creator=participant,
        )
    except (DraftExists, ValueError) as exc:
        log.error("draft %r: group %s recorded, its working draft not created: %s", parent, group["id"], exc)
        raise refuse(
            f"the group was recorded but its working draft could not be created: {exc}", 409
        ) from exc
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
