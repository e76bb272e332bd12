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
from crdt.procedure.protection import Editor, edit_refusal, locate, protections_apply
from crdt.wire.updates import Update
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

    def refusal(self, room: Room, editor: Any, update: Update, raw: bytes) -> str | None:
        state = self._state()
        if state is None:
            return None  # no procedure loaded for this room: nothing decided yet to protect
        who = editor_of(editor)
        now = now_us()
        if not protections_apply(state, who, now):
            return None
        index = room.item_index()
        return edit_refusal(state, who, locate(index, index.stage(update, raw)), now)
