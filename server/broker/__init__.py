"""Fan-out between server processes.

:class:`Broker` is the embedded default: one process, nothing to relay.
:class:`server.broker.redis.RedisBroker` relays between processes that share one
database; see there for why it uses pub/sub and how gaps are caught.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from server.broker.messages import Message


class Receiver(Protocol):
    """What the broker calls on the process it serves."""

    def on_message(self, node: str, message: Message) -> None: ...

    def on_gap(self, reason: str) -> None:
        """Messages may have been lost: everything loaded must catch up from the database."""

    def on_node_gone(self, node: str) -> None:
        """Another process stopped or has not been heard from: its connections are gone."""


class Broker:
    """The in-process broker: a single process has nobody to tell."""

    #: Whether other processes may write to the same rooms (and this one must listen).
    shared = False

    def __init__(self) -> None:
        self.node = secrets.token_hex(6)
        self.receiver: Receiver | None = None
        #: False while the link to the other processes is down (they are polled instead).
        self.connected = True

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def subscribe(self, room: str) -> None:
        pass

    async def unsubscribe(self, room: str) -> None:
        pass

    def publish(self, room: str | None, message: Message) -> None:
        """Send ``message`` to the processes that have ``room`` loaded (``None``: to all)."""

    def stats(self) -> dict[str, int | bool | str]:
        return {"kind": "in-process", "node": self.node}
