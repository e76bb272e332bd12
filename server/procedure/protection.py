"""The text's guard on a live room: every client update is located and judged against the deliberation
state (agreed text, editing modes, closed comment periods, negotiating rights) before it is applied.

The rules are pure (crdt/procedure/protection.py); this wires them to a room. A refused update never
reaches the replica or the log: the client gets an auth message with the reason, the connection closes
4403, and the client re-syncs from what the server holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crdt.procedure.deliberation import Deliberation
from crdt.procedure.draft import read_paragraphs
from crdt.procedure.protection import Editor, edit_refusal, locate, protections_apply
from crdt.procedure.writes import PartIndex
from crdt.wire.inspection import Inspection
from server.storage.database import now_us

if TYPE_CHECKING:
    from server.sync.rooms import Room


def editor_of(actor: Any) -> Editor:
    """The sender of an update, from a connection's actor (``server.sync.sessions.Actor``), whose
    ``user`` fields the server set from the roll or the token."""
    user = actor.user or {}
    return Editor(actor.participant_id, actor.role, user.get("delegation", ""), user.get("group", ""))


class TextGuard:
    """Refuses updates the procedure does not allow (see ``server.sync.rooms.Guard``)."""

    __slots__ = ("_state",)

    def __init__(self, state: Callable[[], Deliberation | None]) -> None:
        self._state = state

    def refusal(self, room: Room, editor: Any, inspection: Inspection, raw: bytes) -> str | None:
        state = self._state()
        if state is None:
            return None  # no procedure loaded for this room: nothing decided yet to protect
        who = editor_of(editor)
        now = now_us()
        if not protections_apply(state, who, now):
            return None
        if room.parts is None:
            room.parts = PartIndex.of_state(room.replica.full_state())
        index, update = room.parts, inspection.update

        def judge(deleted: Any = None) -> str | None:
            writes = index.classify(update, room.client_state, deleted)
            changes = locate(
                index, writes, update, raw, lambda: {p.id for p in read_paragraphs(room.replica.doc)}
            )
            return edit_refusal(state, who, changes, now)

        reason = judge()
        if reason is None:
            return None
        # Deletions the document already has (a reconnecting client's step 2 carries them all) change
        # nothing: judged again without them (rarely needed, and it reads the document's delete set).
        return judge(room.deleted_ranges()) if update.delete_set else reason
