"""Awareness (presence): who is in a room and where their cursor is.

An awareness update is ``varUint(n)`` then n × ``varUint(clientID) · varUint(clock)
· varString(JSON state or "null")`` (y-protocols ``awareness.js``). :class:`Presence`
keeps a room's states with the same acceptance rule as Yjs, so the server relays
exactly what clients would accept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crdt.errors import DecodeError, ProtocolError
from crdt.wire.encoding import Decoder, encode_var_string, encode_var_uint

#: Default cap on one client's JSON state. Cursors and a name take a few
#: hundred bytes; 64 KiB leaves room for rich presence and stops abuse.
MAX_STATE_BYTES = 64 * 1024

#: How many states one awareness message may carry. A client announces its own
#: state; the server relays states of many clients, so the cap is generous.
MAX_STATES_PER_MESSAGE = 10_000


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client: int
    clock: int
    #: The JSON text of the state, or ``None`` when the client left.
    state: str | None
    #: The decoded state, when it was decoded anyway (validation), so nobody parses it twice.
    value: dict[str, Any] | None = field(default=None, compare=False, repr=False)


def decode_awareness(payload: bytes, *, max_state_bytes: int = MAX_STATE_BYTES) -> list[AwarenessEntry]:
    """Decode and validate an awareness update.

    Every state must be ``null`` or a JSON object no larger than ``max_state_bytes``.
    """
    decoder = Decoder(payload)
    try:
        count = decoder.read_var_uint()
        if count > MAX_STATES_PER_MESSAGE:
            raise ProtocolError(f"awareness update carries {count} states (limit {MAX_STATES_PER_MESSAGE})")
        entries = []
        for _ in range(count):
            client = decoder.read_var_uint()
            clock = decoder.read_var_uint()
            length = decoder.read_var_uint()
            if length > max_state_bytes:
                raise ProtocolError(f"awareness state of {length} bytes (limit {max_state_bytes})")
            raw = decoder.read_bytes(length)
            text, value = _validate_state(raw)
            entries.append(AwarenessEntry(client, clock, text, value))
    except DecodeError as exc:
        raise ProtocolError(f"malformed awareness update: {exc}") from exc
    if not decoder.at_end():
        raise ProtocolError("unexpected bytes after the awareness update")
    return entries


def _validate_state(raw: bytes) -> tuple[str | None, dict[str, Any] | None]:
    if raw == b"null":
        return None, None
    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError("awareness state is not valid JSON (or nested too deeply)") from exc
    if not isinstance(value, dict):
        raise ProtocolError("awareness state must be a JSON object or null")
    return text, value


def encode_awareness_update(entries: Iterable[AwarenessEntry]) -> bytes:
    entries = list(entries)
    parts = [encode_var_uint(len(entries))]
    for entry in entries:
        parts.append(encode_var_uint(entry.client))
        parts.append(encode_var_uint(entry.clock))
        parts.append(encode_var_string("null" if entry.state is None else entry.state))
    return b"".join(parts)


class Presence:
    """The awareness states of one room, as the server knows them."""

    __slots__ = ("_states",)

    def __init__(self) -> None:
        self._states: dict[int, AwarenessEntry] = {}

    def __len__(self) -> int:
        return sum(1 for entry in self._states.values() if entry.state is not None)

    def apply(self, entries: Iterable[AwarenessEntry]) -> list[AwarenessEntry]:
        """Merge entries; return those a Yjs client would accept (the ones to relay)."""
        accepted = []
        states = self._states
        for entry in entries:
            current = states.get(entry.client)
            if (
                current is None
                or current.clock < entry.clock
                or (current.clock == entry.clock and entry.state is None and current.state is not None)
            ):
                states[entry.client] = entry
                accepted.append(entry)
        return accepted

    def renews(self, entry: AwarenessEntry) -> bool:
        """Whether ``entry`` only renews a live state (same state, a later clock), as every
        y-protocols client does every 15 s so that others do not time it out."""
        current = self._states.get(entry.client)
        return (
            current is not None
            and current.state is not None
            and current.state == entry.state
            and current.clock < entry.clock
        )

    def remove(self, clients: Iterable[int]) -> list[AwarenessEntry]:
        """Mark clients as gone; return the ``null`` entries to broadcast."""
        removed = []
        for client in clients:
            current = self._states.get(client)
            if current is not None and current.state is not None:
                entry = AwarenessEntry(client, current.clock + 1, None)
                self._states[client] = entry
                removed.append(entry)
        return removed

    def latest(self, clients: Iterable[int]) -> list[AwarenessEntry]:
        """The live states of ``clients`` as they stand now (a renewal sent late carries the newest clock)."""
        states = self._states
        return [e for c in clients if (e := states.get(c)) is not None and e.state is not None]

    def current(self) -> list[AwarenessEntry]:
        """Every live state, for a client that just joined or asked."""
        return [entry for entry in self._states.values() if entry.state is not None]
