"""A Yjs document replica held by one side of a sync: pycrdt behind a narrow, safe door.

pycrdt (yrs) panics on some inputs, and ``pyo3_runtime.PanicException`` derives
from ``BaseException``; ``except Exception`` would let it kill the server. Every
call here that takes bytes from a peer turns such a panic, and any other error,
into :class:`~crdt.errors.UpdateRejected`, so callers deal with one exception.
"""

from __future__ import annotations

from collections.abc import Callable

from pycrdt import Doc, TransactionEvent

from crdt.errors import DecodeError, UpdateRejected
from crdt.wire.encoding import Decoder

#: Exceptions that must never be swallowed when guarding a pycrdt call.
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


class Replica:
    """One document: apply updates, report what changed, answer sync requests."""

    __slots__ = ("_changes", "_subscription", "doc")

    def __init__(self, doc: Doc | None = None) -> None:
        self.doc = doc if doc is not None else Doc()
        self._changes: list[bytes] = []
        # The transaction observer reports the exact update a transaction made,
        # and nothing for a duplicate: that is what gets logged and broadcast.
        self._subscription = self.doc.observe(self._on_transaction)

    def _on_transaction(self, event: TransactionEvent) -> None:
        self._changes.append(event.update)

    def apply(self, update: bytes) -> bytes | None:
        """Apply a peer's v1 update; return the update of what it changed, or None.

        Raises :class:`UpdateRejected` if pycrdt refuses the bytes or panics.
        """
        changes = self._changes
        changes.clear()
        try:
            self.doc.apply_update(update)
        except _PASS_THROUGH:
            raise
        except BaseException as exc:  # includes pyo3's PanicException
            changes.clear()
            raise UpdateRejected(f"update could not be applied: {type(exc).__name__}") from exc
        if not changes:
            return None
        change = changes[0] if len(changes) == 1 else _merge(changes)
        changes.clear()
        return change if change != b"\x00\x00" else None

    def transact(self, edit: Callable[[Doc], None]) -> bytes | None:
        """Run a trusted local edit in one transaction; return the update it made, or None."""
        changes = self._changes
        changes.clear()
        with self.doc.transaction():
            edit(self.doc)
        change = _merge(changes) if len(changes) > 1 else (changes[0] if changes else None)
        changes.clear()
        return change if change != b"\x00\x00" else None

    def load(self, update: bytes) -> None:
        """Apply trusted bytes (our own log or snapshot) without reporting changes."""
        self.doc.apply_update(update)
        self._changes.clear()

    def state_vector(self) -> bytes:
        return self.doc.get_state()

    def diff(self, state_vector: bytes) -> bytes:
        """The update a peer with ``state_vector`` lacks (a sync step 2 payload)."""
        _check_state_vector(state_vector)
        try:
            return self.doc.get_update(state_vector)
        except _PASS_THROUGH:
            raise
        except BaseException as exc:
            raise UpdateRejected(f"state vector could not be used: {type(exc).__name__}") from exc

    def full_state(self) -> bytes:
        return self.doc.get_update()

    def state(self) -> dict[int, int]:
        """Client id → next expected clock, decoded from the state vector."""
        return decode_state_vector(self.doc.get_state())

    def close(self) -> None:
        self.doc.unobserve(self._subscription)


def _merge(changes: list[bytes]) -> bytes:
    # One apply_update is one transaction, so this is not expected; if yrs ever
    # splits one, a doc replay gives a single update without merge_updates'
    # quadratic cost.
    doc = Doc()
    for change in changes:
        doc.apply_update(change)
    return doc.get_update()


def decode_state_vector(data: bytes) -> dict[int, int]:
    """Decode ``varUint(n) · n × (varUint(client) · varUint(clock))``."""
    decoder = Decoder(data)
    count = decoder.read_var_uint()
    if count > decoder.remaining():  # every entry takes at least two bytes
        raise DecodeError("state vector count exceeds its length")
    state = {}
    for _ in range(count):
        client = decoder.read_var_uint()
        state[client] = decoder.read_var_uint()
    if not decoder.at_end():
        raise DecodeError("unexpected bytes after the state vector")
    return state


def _check_state_vector(data: bytes) -> None:
    try:
        decode_state_vector(data)
    except DecodeError as exc:
        raise UpdateRejected(f"malformed state vector: {exc}") from exc
