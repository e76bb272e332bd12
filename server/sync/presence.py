"""Presence in a room: who is here and where their cursor is (y-protocols awareness).

Coalesced (the states that changed within ``AWARENESS_BATCH_SECONDS`` go out as one message), relayed to the
other processes through the broker, and in large rooms renewals batched (``RENEWAL_BATCH_SECONDS``). A mixin
of :class:`server.sync.rooms.Room`, which holds the state it reads and writes.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from crdt.wire.awareness import AwarenessEntry, Presence, decode_awareness, encode_awareness_update
from crdt.wire.protocol import encode_awareness
from server.broker import Broker
from server.broker import messages as relay
from server.config import Settings

#: Presence changes are sent at most this often per room (seconds).
AWARENESS_BATCH_SECONDS = 0.03
#: In large rooms, presence renewals (unchanged states) go out in a slow batch: well inside y-protocols'
#: 30 s timeout for 15 s renewals, so nobody drops out of "Present", at a cost per member that no longer
#: grows with the number of members.
RENEWAL_BATCH_SECONDS = 5.0


class Member(Protocol):
    """A connection in a room, as the room sees it (``server.sync.sessions.Session``)."""

    id: str
    participant_id: str
    role: str
    #: Yjs client ids the connection announced in presence, and those it wrote with.
    awareness_clients: set[int]
    owned_clients: set[int]

    def send(self, frame: bytes, wire: bytes | None = None) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class _Registry(Protocol):
    broker: Broker


class RoomPresence:
    """The presence half of a room (see the module's docstring)."""

    __slots__ = ()

    name: str
    closed: bool
    presence: Presence
    sessions: set[Member]
    remote_clients: dict[str, set[int]]
    _settings: Settings
    _registry: _Registry
    _pending_awareness: dict[int, AwarenessEntry]
    _pending_sources: set[Any]
    _pending_relay: dict[int, AwarenessEntry]
    _pending_renewals: set[int]
    _awareness_timer: asyncio.TimerHandle | None
    _renewal_timer: asyncio.TimerHandle | None

    def broadcast(self, frame: bytes, exclude: Member | None = None) -> None:
        raise NotImplementedError

    def receive_awareness(self, session: Member, entries: list[AwarenessEntry]) -> None:
        """Presence is coalesced: the states that changed within ``AWARENESS_BATCH_SECONDS``
        go out as one message, instead of one message per cursor move per recipient
        (500 people moving their cursor once a second would otherwise be 250,000 sends/s).

        In a room of over ``quiet_presence_above`` connections, renewals (an unchanged state
        at a later clock, every 15 s from every client) wait for a slow batch
        (``RENEWAL_BATCH_SECONDS``): relayed at once, they cost every member's renewal times
        every member; batched, one message per member every few seconds keeps everyone present."""
        renewals: set[int] = set()
        if len(self.sessions) > self._settings.quiet_presence_above:
            renewals = {entry.client for entry in entries if self.presence.renews(entry)}
        accepted = self.presence.apply(entries)
        if renewals:
            renewed = [entry for entry in accepted if entry.client in renewals]
            accepted = [entry for entry in accepted if entry.client not in renewals]
            if renewed:
                self._pending_renewals.update(entry.client for entry in renewed)
                if self._renewal_timer is None:
                    self._renewal_timer = asyncio.get_running_loop().call_later(
                        RENEWAL_BATCH_SECONDS, self._flush_renewals
                    )
        if not accepted:
            return
        pending = self._pending_awareness
        for entry in accepted:
            pending[entry.client] = entry
        if self._registry.broker.shared:
            for entry in accepted:
                self._pending_relay[entry.client] = entry
            if self.remote_clients:
                # A client that moved here from another process is ours now.
                for clients in self.remote_clients.values():
                    clients.difference_update(entry.client for entry in accepted)
        self._pending_sources.add(session)
        self._schedule_awareness()

    def _flush_renewals(self) -> None:
        self._renewal_timer = None
        clients, self._pending_renewals = self._pending_renewals, set()
        if self.closed:
            return
        renewed = self.presence.latest(clients)
        if not renewed:
            return
        for entry in renewed:
            self._pending_awareness.setdefault(entry.client, entry)
            if self._registry.broker.shared:
                self._pending_relay.setdefault(entry.client, entry)
        self._pending_sources.add(None)  # type: ignore[arg-type]  # everyone hears the batch
        self._schedule_awareness()

    def receive_remote_awareness(self, node: str, update: bytes) -> None:
        """Presence relayed from another process's connections."""
        accepted = self.presence.apply(decode_awareness(update))
        if not accepted:
            return
        mine = self.remote_clients.setdefault(node, set())
        pending = self._pending_awareness
        for entry in accepted:
            pending[entry.client] = entry
            if entry.state is None:
                mine.discard(entry.client)
            else:
                mine.add(entry.client)
        self._pending_sources.add(None)  # type: ignore[arg-type]
        self._schedule_awareness()

    def drop_node(self, node: str) -> None:
        """Another process is gone: so is the presence of its connections."""
        clients = self.remote_clients.pop(node, None)
        if clients:
            gone = self.presence.remove(clients)
            if gone:
                self.broadcast(encode_awareness(encode_awareness_update(gone)))

    def _schedule_awareness(self) -> None:
        if self._awareness_timer is None:
            self._awareness_timer = asyncio.get_running_loop().call_later(
                AWARENESS_BATCH_SECONDS, self._flush_awareness
            )

    def _flush_awareness(self) -> None:
        self._awareness_timer = None
        pending, sources = self._pending_awareness, self._pending_sources
        self._pending_awareness, self._pending_sources = {}, set()
        if self._pending_relay:
            mine, self._pending_relay = self._pending_relay, {}
            if not self.closed:
                self._registry.broker.publish(
                    self.name, relay.Presence(self.name, encode_awareness_update(mine.values()))
                )
        if not pending or self.closed:
            return
        # With one sender, it need not hear its own state back; with several, everyone
        # gets the one message (a client ignores its own state at a clock it has).
        exclude = next(iter(sources)) if len(sources) == 1 else None
        self.broadcast(encode_awareness(encode_awareness_update(pending.values())), exclude=exclude)

    def awareness_frame(self) -> bytes | None:
        states = self.presence.current()
        if not states:
            return None
        return encode_awareness(encode_awareness_update(states))
