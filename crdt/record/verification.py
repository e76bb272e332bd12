"""Verifying a room's hash chain (see chain.py): is the log exactly what was written?

Pure: no I/O. Entries are fed in stored order (``ORDER BY seq``), in as many
batches as convenient; the verifier keeps a constant amount of state (the last
entry's seq and hash, and at most one entry of look-ahead), so millions of rows
can be streamed through it.

Each entry is checked in this order, and the FIRST problem is reported, named by
a sequence number and one of these kinds:

``altered``
    The entry's stored hash is not ``SHA-256(tag · stored prev_hash · fields)``:
    a byte of a field (payload, participant, time_us, role, kind, clients,
    connection, room, seq), of its ``prev_hash`` or of its ``hash`` was changed.
    Since ``seq`` is hashed, moving a row's contents to another ``seq`` (two
    rows' contents swapped while the seq column stays put) is caught here too.
``removed``
    The sequence numbers jump: entries ``seq`` .. (next stored seq - 1) are gone.
``reordered``
    The sequence numbers go backwards: an entry is stored after a later one
    (two swapped rows in an export, say).
``inserted``
    Two entries claim the same seq, or an entry whose own hash is correct does
    not link to the previous entry (its ``prev_hash`` is not the previous
    entry's hash): an entry was spliced in, or one before it was replaced and
    re-hashed.
``truncated``
    Entries were removed from the end: the chain stops before a seq it is known
    to have reached (a receipt's ``anchor``, or ``min_head_seq`` from other
    evidence such as a snapshot). A chain alone cannot show this.
``rewritten``
    The chain is internally consistent but the entry at the anchor's seq is not
    the one the anchor (a signed receipt) recorded: the log was re-hashed from
    some point on, which only an outside anchor can show.

What a chain cannot show on its own: entries removed from its end, and a
rewrite of everything from some entry to the end with freshly computed hashes
(the hash is not keyed). Signed receipts of the head (server/record/audit.py) close
both gaps for anyone who keeps one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from crdt.record.chain import GENESIS, EntryFields, entry_hash

__all__ = [
    "Anchor",
    "ChainProblem",
    "ChainReport",
    "ChainVerifier",
    "EntryLike",
    "ProblemKind",
    "verify_chain",
]


class EntryLike(Protocol):
    """A stored log entry: a database row, a dataclass, anything with these attributes."""

    @property
    def room(self) -> str: ...
    @property
    def seq(self) -> int: ...
    @property
    def time_us(self) -> int: ...
    @property
    def connection(self) -> str: ...
    @property
    def participant(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def clients(self) -> bytes: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def prev_hash(self) -> bytes: ...
    @property
    def hash(self) -> bytes: ...


class ProblemKind(StrEnum):
    ALTERED = "altered"
    REMOVED = "removed"
    REORDERED = "reordered"
    INSERTED = "inserted"
    TRUNCATED = "truncated"
    REWRITTEN = "rewritten"


@dataclass(frozen=True, slots=True)
class Anchor:
    """A point the chain is known to have passed: entry ``seq`` had hash ``hash``."""

    seq: int
    hash: bytes


@dataclass(frozen=True, slots=True)
class ChainProblem:
    kind: ProblemKind
    #: The first sequence number concerned (for ``removed`` and ``truncated``,
    #: the first missing one).
    seq: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "seq": self.seq, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The verdict on one chain. When not ``ok``, ``count``/``head_*`` describe
    the intact prefix before the problem."""

    room: str | None
    ok: bool
    #: Entries verified intact.
    count: int
    #: The last intact entry (``expected_first_seq - 1`` and the starting hash when none).
    head_seq: int
    head_hash: bytes
    problem: ChainProblem | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "room": self.room,
            "ok": self.ok,
            "count": self.count,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash.hex(),
            "problem": None if self.problem is None else self.problem.to_dict(),
        }


def _as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"expected bytes, got {type(value).__name__}")


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def _as_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


class ChainVerifier:
    """Verifies one room's chain incrementally.

    >>> verifier = ChainVerifier(room="r")
    >>> for batch in batches:               # doctest: +SKIP
    ...     if not verifier.feed(batch):    # a problem was found: stop reading
    ...         break
    >>> report = verifier.finish()          # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        room: str | None = None,
        expected_first_seq: int = 1,
        prev_hash: bytes = GENESIS,
        anchor: Anchor | None = None,
        min_head_seq: int | None = None,
        min_head_evidence: str = "other evidence",
    ) -> None:
        if anchor is not None and anchor.seq < expected_first_seq - 1:
            raise ValueError(f"anchor seq {anchor.seq} is before the start of verification")
        self.room = room
        self.anchor = anchor
        self.min_head_seq = min_head_seq
        self.min_head_evidence = min_head_evidence
        self.count = 0
        self.head_seq = expected_first_seq - 1
        self.head_hash = prev_hash
        self.problem: ChainProblem | None = None
        #: A seq jump seen but not yet classified: (first missing seq, seq found).
        #: The next entry tells a removal from a reordering.
        self._gap: tuple[int, int] | None = None
        self._finished = False
        if anchor is not None and anchor.seq == self.head_seq:
            self._check_anchor(self.head_seq, prev_hash)

    @property
    def done(self) -> bool:
        """A problem was found: no further entry can change the verdict."""
        return self.problem is not None

    def feed(self, entries: Iterable[EntryLike]) -> bool:
        """Check the next entries; return False once a problem is found (stop feeding)."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        for entry in entries:
            if self.problem is not None:
                return False
            self._check(entry)
        return self.problem is None

    def finish(self) -> ChainReport:
        """The verdict, once every entry has been fed."""
        self._finished = True
        if self.problem is None and self._gap is not None:
            missing, found = self._gap
            self._fail(ProblemKind.REMOVED, missing, _missing_detail(missing, found))
        if self.problem is None and self.anchor is not None and self.head_seq < self.anchor.seq:
            self._fail(
                ProblemKind.TRUNCATED,
                self.head_seq + 1,
                f"the log ends at seq {self.head_seq}, but the receipt records seq {self.anchor.seq}: "
                f"entries {self.head_seq + 1}..{self.anchor.seq} (at least) were removed from the end",
            )
        if self.problem is None and self.min_head_seq is not None and self.head_seq < self.min_head_seq:
            self._fail(
                ProblemKind.TRUNCATED,
                self.head_seq + 1,
                f"the log ends at seq {self.head_seq}, but seq {self.min_head_seq} is known to have been "
                f"written ({self.min_head_evidence}): entries {self.head_seq + 1}..{self.min_head_seq} "
                "(at least) were removed from the end",
            )
        return ChainReport(
            room=self.room,
            ok=self.problem is None,
            count=self.count,
            head_seq=self.head_seq,
            head_hash=self.head_hash,
            problem=self.problem,
        )

    # The checks.

    def _fail(self, kind: ProblemKind, seq: int, detail: str) -> None:
        if self.problem is None:
            self.problem = ChainProblem(kind, seq, detail)

    def _check(self, entry: EntryLike) -> None:
        try:
            seq = _as_int(entry.seq)
        except (TypeError, AttributeError) as exc:
            self._fail(ProblemKind.ALTERED, self.head_seq + 1, f"an entry after seq {self.head_seq}: {exc}")
            return
        expected = self.head_seq + 1

        if self._gap is not None:
            missing, found = self._gap
            self._gap = None
            if seq < found:
                self._fail(
                    ProblemKind.REORDERED,
                    missing,
                    f"entry {seq} is stored after entry {found}: the entries are out of order",
                )
            else:
                self._fail(ProblemKind.REMOVED, missing, _missing_detail(missing, found))
            return

        if seq > expected:
            # Removed, unless the missing entry comes next (then: reordered).
            self._gap = (expected, seq)
            return
        if seq < expected:
            if self.count == 0:
                self._fail(
                    ProblemKind.INSERTED,
                    seq,
                    f"entry {seq} comes before the chain's first entry ({expected}): it was inserted",
                )
            elif seq == self.head_seq:
                self._fail(ProblemKind.INSERTED, seq, f"two entries claim seq {seq}: one was inserted")
            else:
                self._fail(
                    ProblemKind.REORDERED,
                    seq,
                    f"entry {seq} is stored after entry {self.head_seq}: the entries are out of order",
                )
            return

        try:
            room = _as_str(entry.room)
            fields = EntryFields(
                room=room,
                seq=seq,
                time_us=_as_int(entry.time_us),
                connection=_as_str(entry.connection),
                participant=_as_str(entry.participant),
                role=_as_str(entry.role),
                kind=_as_str(entry.kind),
                clients=_as_bytes(entry.clients),
                payload=_as_bytes(entry.payload),
            )
            stored_prev = _as_bytes(entry.prev_hash)
            stored_hash = _as_bytes(entry.hash)
            computed = entry_hash(stored_prev, fields)
        except (TypeError, ValueError, AttributeError, struct.error) as exc:
            self._fail(ProblemKind.ALTERED, seq, f"entry {seq} cannot be read as a log entry: {exc}")
            return
        if self.room is not None and room != self.room:
            self._fail(
                ProblemKind.ALTERED, seq, f"entry {seq} names room {room!r}, not {self.room!r}: it was moved"
            )
            return
        if computed != stored_hash:
            self._fail(
                ProblemKind.ALTERED,
                seq,
                f"entry {seq} does not match its hash: a field, its prev_hash or its hash was changed",
            )
            return
        if stored_prev != self.head_hash:
            self._fail(
                ProblemKind.INSERTED,
                seq,
                f"entry {seq} does not link to entry {self.head_seq} (its prev_hash is not that entry's "
                f"hash): an entry was inserted, or one before it was replaced and re-hashed",
            )
            return
        self._check_anchor(seq, stored_hash)
        if self.problem is not None:
            return
        self.count += 1
        self.head_seq = seq
        self.head_hash = stored_hash

    def _check_anchor(self, seq: int, digest: bytes) -> None:
        if self.anchor is not None and seq == self.anchor.seq and digest != self.anchor.hash:
            self._fail(
                ProblemKind.REWRITTEN,
                seq,
                f"entry {seq} is consistent with the chain but is not the entry the receipt recorded "
                f"(hash {digest.hex()} instead of {self.anchor.hash.hex()}): the log was rewritten "
                "from this entry or an earlier one",
            )


def _missing_detail(missing: int, found: int) -> str:
    what = f"entry {missing} is" if found == missing + 1 else f"entries {missing}..{found - 1} are"
    return f"{what} missing: the log goes from seq {missing - 1} to seq {found}"


def verify_chain(
    entries: Iterable[EntryLike],
    *,
    expected_first_seq: int = 1,
    prev_hash: bytes = GENESIS,
    room: str | None = None,
    anchor: Anchor | None = None,
    min_head_seq: int | None = None,
) -> ChainReport:
    """Verify a whole chain (or its part from ``expected_first_seq``, starting at ``prev_hash``).

    ``anchor`` (from a receipt) must lie on the chain; ``min_head_seq`` is a seq
    the chain is known to have reached. Stops at the first problem.
    """
    verifier = ChainVerifier(
        room=room,
        expected_first_seq=expected_first_seq,
        prev_hash=prev_hash,
        anchor=anchor,
        min_head_seq=min_head_seq,
    )
    verifier.feed(entries)
    return verifier.finish()
