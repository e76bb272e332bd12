"""The log's entries as history reads them, who wrote them, and replaying them into a document."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from crdt.errors import PlenaryError
from crdt.times import iso_us

UPDATE = "update"
COMMAND_PREFIX = "cmd."
#: The ``connection`` of the text edit an adopted amendment makes, and of an anchor's placement.
AMENDMENT_CONNECTION = "amendment/"
ANCHOR_CONNECTION = "anchor/"
#: What an embedded (non-text) item shows as in span text; it counts 1 in pycrdt's units.
EMBED = "\ufffc"

#: Pass-through exceptions when guarding pycrdt calls (its panics derive from BaseException).
_PASS_THROUGH = (KeyboardInterrupt, SystemExit, GeneratorExit, MemoryError)


class HistoryError(PlenaryError):
    """The log cannot be replayed as recorded (an update pycrdt refuses, a delta past the text)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One log entry, as much of it as history needs (the hash chain is the audit's business)."""

    seq: int
    time_us: int
    participant: str
    role: str
    kind: str
    connection: str
    payload: bytes

    @property
    def amendment(self) -> str | None:
        """The amendment whose adoption this text edit is, if it is one."""
        if self.connection.startswith(AMENDMENT_CONNECTION):
            return self.connection[len(AMENDMENT_CONNECTION) :] or None
        return None


@dataclass(frozen=True, slots=True)
class Person:
    """Who a participant id is, as far as the log (or the server) knows."""

    name: str | None = None
    delegation: str | None = None
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Origin:
    """Who wrote some text, and when: one per log entry, shared by every span it wrote."""

    seq: int
    time_us: int
    participant: str
    role: str
    amendment: str | None

    @classmethod
    def of(cls, entry: Entry) -> Origin:
        return cls(entry.seq, entry.time_us, entry.participant, entry.role, entry.amendment)

    def to_json(self, people: Mapping[str, Person] | None = None) -> dict[str, Any]:
        person = (people or {}).get(self.participant) or Person()
        return {
            "participant": self.participant,
            "name": person.name,
            "delegation": person.delegation,
            "group": person.group,
            "role": self.role,
            "seq": self.seq,
            "time": iso_us(self.time_us),
            "amendment": self.amendment,
        }


def _apply(doc: Doc, update: bytes, seq: int) -> None:
    try:
        doc.apply_update(update)
    except _PASS_THROUGH:
        raise
    except BaseException as exc:  # pyo3's PanicException included
        raise HistoryError(f"entry {seq}: the update could not be replayed ({type(exc).__name__})") from exc


def doc_from(state: bytes | None, entries: Iterable[Entry | bytes], *, skip_gc: bool = False) -> Doc:
    """A fresh document: a checkpoint's state, then the update entries (or bare payloads) after it.
    ``skip_gc`` keeps deleted items as items (blame orders the text by them)."""
    doc = Doc(skip_gc=skip_gc)
    if state:
        _apply(doc, state, 0)
    for entry in entries:
        if isinstance(entry, bytes):
            _apply(doc, entry, 0)
        elif entry.kind == UPDATE:
            _apply(doc, entry.payload, entry.seq)
    return doc


def fold_people(*sources: Mapping[str, Person] | None) -> dict[str, Person]:
    """Who is who: later sources fill in what earlier ones do not know (the log's own actors first)."""
    out: dict[str, Person] = {}
    for source in reversed([s for s in sources if s]):
        out.update(source)
    return out
