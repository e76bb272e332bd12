"""Who has been removed from which draft: revocation, checked on every connection and request."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from server.broker import messages as relay
from server.identity import Participant
from server.storage.database import now_us
from server.storage.schema import REVOCATIONS
from server.sync.closecodes import CloseCode
from server.sync.roomnames import draft_of

if TYPE_CHECKING:
    from collections.abc import Set

    from server.broker import Broker
    from server.storage.database import Database
    from server.sync.rooms import Rooms
    from server.sync.sessions import Session


class Access:
    def __init__(self, database: Database, rooms: Rooms, broker: Broker, sessions: Set[Session]) -> None:
        self.database = database
        self.rooms = rooms
        self.broker = broker
        #: The process's open connections (the application's set, read when a revocation closes some).
        self.sessions = sessions
        self._revoked: set[tuple[str, str]] = set()
        self._changes: list[list[tuple[tuple[str, str], bool]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def _set(self, draft: str, participant: str, revoked: bool) -> None:
        key = (draft, participant)
        if revoked:
            self._revoked.add(key)
        else:
            self._revoked.discard(key)
        for changes in self._changes:
            changes.append((key, revoked))

    async def load(self) -> None:
        """Read every revocation, and close the connections of anyone revoked (a process that
        reloads after lost messages may hold connections it was never told to close)."""
        changes: list[tuple[tuple[str, str], bool]] = []
        self._changes.append(changes)  # what changes while the table is read is applied over it
        try:
            async with self.database.engine.connect() as conn:
                rows = (await conn.execute(select(REVOCATIONS.c.draft, REVOCATIONS.c.participant))).all()
        finally:
            self._changes.remove(changes)
        revoked = {(row.draft, row.participant) for row in rows}
        for key, is_revoked in changes:
            if is_revoked:
                revoked.add(key)
            else:
                revoked.discard(key)
        self._revoked = revoked
        for session in list(self.sessions):
            if (draft_of(session.room_name), session.participant_id) in self._revoked:
                session.refuse(CloseCode.FORBIDDEN, "your access to this draft was revoked")

    def revoked(self, draft: str, participant: str) -> bool:
        return (draft, participant) in self._revoked

    async def revoke(self, draft: str, participant: str, by: Participant) -> int:
        """Remove ``participant`` from ``draft``: record it, log it, close their connections now."""
        database = self.database
        async with database.engine.begin() as conn:
            await conn.execute(
                delete(REVOCATIONS).where(
                    REVOCATIONS.c.draft == draft, REVOCATIONS.c.participant == participant
                )
            )
            await conn.execute(
                insert(REVOCATIONS).values(
                    draft=draft, participant=participant, revoked_by=by.id, time_us=now_us()
                )
            )
        self._set(draft, participant, True)
        # Told to the other processes as soon as it is recorded; one that misses it reloads
        # the revocations (and disconnects) when it notices lost messages.
        self.broker.publish(None, relay.Access(draft, participant, revoked=True))
        closed = self._disconnect(draft, participant)
        await self._log(draft, "access.revoked", participant, by)
        return closed

    def apply(self, draft: str, participant: str, *, revoked: bool) -> None:
        """A revocation or reinstatement another process recorded."""
        if revoked:
            self._set(draft, participant, True)
            self._disconnect(draft, participant)
        else:
            # Lets someone back in: believed only from the table (a replayed message must not).
            task = asyncio.get_running_loop().create_task(self._reinstate_if_recorded(draft, participant))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _reinstate_if_recorded(self, draft: str, participant: str) -> None:
        async with self.database.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(REVOCATIONS.c.draft).where(
                        REVOCATIONS.c.draft == draft, REVOCATIONS.c.participant == participant
                    )
                )
            ).first()
        if row is None:
            self._set(draft, participant, False)

    def _disconnect(self, draft: str, participant: str) -> int:
        closed = 0
        for session in list(self.sessions):
            if session.participant_id == participant and draft_of(session.room_name) == draft:
                session.refuse(CloseCode.FORBIDDEN, "your access to this draft was revoked")
                closed += 1
        return closed

    async def reinstate(self, draft: str, participant: str, by: Participant) -> None:
        async with self.database.engine.begin() as conn:
            await conn.execute(
                delete(REVOCATIONS).where(
                    REVOCATIONS.c.draft == draft, REVOCATIONS.c.participant == participant
                )
            )
        self._set(draft, participant, False)
        await self._log(draft, "access.reinstated", participant, by)
        self.broker.publish(None, relay.Access(draft, participant, revoked=False))

    async def _log(self, draft: str, kind: str, participant: str, by: Participant) -> None:
        room = await self.rooms.open(draft)
        payload = json.dumps({"participant": participant}, sort_keys=True).encode()
        room.append(payload, kind=kind, connection="api", participant=by.id, role=str(by.role_for(draft)))
        await room.until_logged()
