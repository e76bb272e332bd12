"""Interim inspector (replaced by the full rule set in crdt/inspection.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pycrdt import get_state

from crdt.errors import UpdateRejected
from crdt.replica import decode_state_vector
from server.config import Settings

if TYPE_CHECKING:
    from server.rooms import Room
    from server.sessions import Session


class Inspector:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def check_update(self, room: Room, session: Session, update: bytes) -> None:
        try:
            clients = decode_state_vector(get_state(update))
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise UpdateRejected("update does not decode") from exc
        for client in clients:
            session.claim_client(room, client)

    def changes_document(self, room: Room, update: bytes) -> bool:
        return True
