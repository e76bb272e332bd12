"""Where the update rules meet a live room: state, ownership and room limits."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from crdt.errors import UpdateRejected, UpdateTooLarge
from crdt.procedure.writes import PartIndex
from crdt.wire.inspection import Inspection, Limits, changes_anything, inspect_update
from server.config import Settings
from server.sync.closecodes import CloseCode
from server.sync.scopes import WriteScope, scope_problem

if TYPE_CHECKING:
    from server.sync.rooms import Room

log = logging.getLogger("plenary.inspection")


class Claimant(Protocol):
    """A connection that takes ownership of the Yjs client ids it writes with."""

    @property
    def actor(self) -> Any: ...

    def claim_client(self, room: Room, client: int) -> None: ...


class Inspector:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.limits = Limits(
            max_nesting_depth=settings.max_nesting_depth,
            max_string_bytes=settings.max_message_bytes,
            max_structs=settings.max_structs_per_update,
        )

    def check_update(self, room: Room, session: Claimant, update: bytes) -> Inspection:
        """Refuse (raise) unless ``session`` may apply ``update`` to ``room`` now."""
        inspection = inspect_update(update, room.client_state, self.limits)
        if room.size_estimate + len(update) > self.settings.max_document_bytes:
            raise UpdateTooLarge(f"the document would exceed {self.settings.max_document_bytes} bytes")
        guard = room.guard
        if guard is not None:
            # The procedure's rules (protected text, editing modes), before anything is applied.
            try:
                reason = guard.refusal(room, session.actor, inspection, update)
            except Exception as exc:  # a bug here must not apply an unchecked update, nor crash the session
                log.exception("room %r: an update could not be checked against the procedure", room.name)
                room.parts = None
                raise UpdateRejected("the update could not be checked; reload") from exc
            if reason is not None:
                raise UpdateRejected(reason, close_code=CloseCode.FORBIDDEN)
        for client in inspection.writers:
            session.claim_client(room, client)
        return inspection

    def check_scope(self, room: Room, scope: WriteScope, inspection: Inspection) -> None:
        """Refuse (4403) an update that writes outside what the connection may write (see scopes.py)."""
        update = inspection.update
        if not update.structs and not update.delete_set:
            return  # writes nothing (the usual empty step 2): no need for the index
        try:
            if room.parts is None:
                room.parts = PartIndex.of_state(room.replica.full_state())
            writes = room.parts.classify(inspection.update, room.client_state)
            if scope_problem(writes, scope, room.locked) is None:
                return
            # Deletions the document already has (a reconnecting client's step 2 carries them all) are no-ops.
            writes = room.parts.classify(inspection.update, room.client_state, room.deleted_ranges())
        except Exception as exc:  # a bug here must not apply an unchecked update, nor crash the session
            log.exception("room %r: an update could not be checked", room.name)
            room.parts = None
            raise UpdateRejected("the update could not be checked; reload") from exc
        problem = scope_problem(writes, scope, room.locked)
        if problem is not None:
            raise UpdateRejected(problem, close_code=CloseCode.FORBIDDEN)

    def changes_document(self, room: Room, update: bytes) -> bool:
        """For read-only connections: would this update change anything here?"""
        inspection = inspect_update(update, room.client_state, self.limits)
        if inspection.writers:
            return True
        if not inspection.update.delete_set:
            return False
        return changes_anything(inspection, room.deleted_ranges())
