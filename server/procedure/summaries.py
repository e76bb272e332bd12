"""A meeting's summary while the chair drafts it: room ``{draft}/summary/{meeting}``, one root ``Y.Text``
named ``summary``, a document in its own right with its own log and chain. The chair and the secretariat
write in it; everyone with access to the draft may follow it live.

Also here: which rooms a connection may write in (the text, on a group's working draft only its members;
a summary room, the chair and the secretariat).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pycrdt import Doc, Text

from server.identity import Action, Participant
from server.procedure.friends import may_edit_text
from server.procedure.meetings import summary_room

if TYPE_CHECKING:
    from server.procedure.deliberation import Deliberations
    from server.sync.rooms import Rooms

SUMMARY_TEXT = "summary"
_SUMMARY_INFIX = "/summary/"


def summary_text(doc: Doc) -> Text:
    return doc.get(SUMMARY_TEXT, type=Text)


async def write(rooms: Rooms, draft: str, meeting: str, text: str, participant: Participant) -> int:
    """Replace the summary's text (a generated draft): one edit by ``participant``; the room's seq after."""
    room = await rooms.open(summary_room(draft, meeting))

    def replace(doc: Doc) -> None:
        summary = summary_text(doc)
        if len(summary):
            del summary[0 : len(summary)]
        summary.insert(0, text)

    room.edit(replace, participant=participant.id, role=str(participant.role_for(draft)), connection="api")
    await room.until_logged()
    return room.seq


async def read(rooms: Rooms, draft: str, meeting: str) -> tuple[str, int]:
    """The summary's text as the log holds it now, and the entry it is as of."""
    room = await rooms.current(summary_room(draft, meeting))
    return str(summary_text(room.replica.doc)), room.seq


async def room_editable(
    deliberations: Deliberations, room: str, draft: str, participant: Participant
) -> bool:
    if room == draft:
        return await may_edit_text(deliberations, draft, participant)
    if room.startswith(draft + _SUMMARY_INFIX) and "@" not in room:
        meeting = room[len(draft + _SUMMARY_INFIX) :]
        if not meeting or "/" in meeting:
            return False
        state = (
            (await deliberations.get(draft)).state if participant.may(Action.MANAGE_MEETINGS, draft) else None
        )
        return state is not None and meeting in state.proceedings.meetings
    return False
