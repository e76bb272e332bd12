"""The text and the deliberation state at any entry: folds of the log with checkpoints."""

from __future__ import annotations

import bisect
import copy
import json
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from crdt.procedure.commands import Actor, CommandRefused
from crdt.procedure.deliberation import Deliberation
from crdt.record.history.entries import COMMAND_PREFIX, UPDATE, Entry, HistoryError, Person, _apply
from crdt.times import iso_seconds


class TextTimeline:
    """The text document folded entry by entry, keeping a full-state checkpoint every so often.

    A checkpoint is ``doc.get_update()`` (compact: the whole automerge-paper history is 377 KB),
    taken every ``every`` entries or every ``every_bytes`` of update payload, whichever comes
    first. When the checkpoints of one draft pass ``max_bytes``, every other one is dropped and
    the spacing doubles: memory stays bounded, a past version gets at most twice as slow.
    """

    def __init__(self, *, every: int = 5_000, every_bytes: int = 2 << 20, max_bytes: int = 64 << 20) -> None:
        self.every = every
        self.every_bytes = every_bytes
        self.max_bytes = max_bytes
        # Without GC: deleted items stay items, so blame can order the text from the state's ids
        # (a collected item that a live one names as its neighbour would lose its place).
        self.doc = Doc(skip_gc=True)
        #: The last entry folded, and the time it was written.
        self.seq = 0
        self.time_us = 0
        self._seqs: list[int] = [0]
        self._states: list[bytes] = [b""]
        self._pending_bytes = 0
        self.nbytes = 0

    def feed(self, entry: Entry) -> None:
        if entry.seq <= self.seq:
            raise HistoryError(f"entry {entry.seq} after {self.seq}: the log must be fed in order")
        self.seq = entry.seq
        self.time_us = entry.time_us
        if entry.kind != UPDATE:
            return
        _apply(self.doc, entry.payload, entry.seq)
        self._pending_bytes += len(entry.payload)
        if entry.seq - self._seqs[-1] >= self.every or self._pending_bytes >= self.every_bytes:
            self.checkpoint()

    def checkpoint(self) -> None:
        if self._seqs[-1] == self.seq:
            return
        state = self.doc.get_update()
        self._seqs.append(self.seq)
        self._states.append(state)
        self.nbytes += len(state)
        self._pending_bytes = 0
        while self.nbytes > self.max_bytes and len(self._seqs) > 2:
            self._thin()

    def _thin(self) -> None:
        keep = [i for i in range(len(self._seqs)) if i % 2 == 0 or i == len(self._seqs) - 1]
        self._seqs = [self._seqs[i] for i in keep]
        self._states = [self._states[i] for i in keep]
        self.nbytes = sum(map(len, self._states))
        self.every *= 2
        self.every_bytes *= 2

    def nearest(self, seq: int) -> tuple[int, bytes]:
        """The last checkpoint at or before ``seq``: its seq and its state (``b""`` for the empty doc)."""
        index = bisect.bisect_right(self._seqs, seq) - 1
        return self._seqs[index], self._states[index]

    @property
    def checkpoints(self) -> int:
        return len(self._seqs)


# --- (b) the deliberation state ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandEntry:
    seq: int
    time_us: int
    command: dict[str, Any]
    actor: Actor

    @property
    def type(self) -> str:
        return str(self.command.get("type", ""))


class CommandTimeline:
    """The draft's deliberation commands, parsed once, folded to any seq.

    A deep copy of the state every ``every`` commands bounds the cost of a past state.
    ``people`` learns who each participant is from the actors the commands were logged with.
    """

    def __init__(self, *, every: int = 250) -> None:
        self.every = every
        self.entries: list[CommandEntry] = []
        self._seqs: list[int] = []
        self.people: dict[str, Person] = {}
        self._state = Deliberation()
        self._checkpoints: list[tuple[int, Deliberation]] = [(0, copy.deepcopy(self._state))]
        #: Commands the fold refused (the server logs the same on load): (seq, why).
        self.refused: list[tuple[int, str]] = []

    def feed(self, entry: Entry) -> None:
        if not entry.kind.startswith(COMMAND_PREFIX):
            return
        try:
            record = json.loads(entry.payload)
            actor = Actor(**record["actor"])
            command = dict(record["command"])
        except (ValueError, KeyError, TypeError) as exc:
            self.refused.append((entry.seq, f"unreadable command: {exc}"))
            return
        parsed = CommandEntry(entry.seq, entry.time_us, command, actor)
        self.entries.append(parsed)
        self._seqs.append(entry.seq)
        if actor.participant and actor.role != "system":
            self.people[actor.participant] = Person(actor.name, actor.delegation or None, actor.group or None)
        self._fold(self._state, parsed)
        if len(self.entries) % self.every == 0:
            self._checkpoints.append((len(self.entries), copy.deepcopy(self._state)))

    def _fold(self, state: Deliberation, entry: CommandEntry) -> None:
        try:
            state.apply(entry.command, entry.actor, entry.time_us, iso_seconds(entry.time_us))
        except CommandRefused as exc:  # the log is the truth: keep going, as the server does
            if state is self._state:
                self.refused.append((entry.seq, exc.detail))
        except Exception as exc:  # a fold is total (crdt.procedure.deliberation.fold_entry)
            if state is self._state:
                self.refused.append((entry.seq, f"{type(exc).__name__}: {exc}"))

    def state_at(self, seq: int) -> Deliberation:
        """The deliberation state just after entry ``seq`` (a fresh copy: the caller may keep it)."""
        count = bisect.bisect_right(self._seqs, seq)
        index = bisect.bisect_right([n for n, _ in self._checkpoints], count) - 1
        done, saved = self._checkpoints[index]
        state = copy.deepcopy(saved)
        for entry in self.entries[done:count]:
            self._fold(state, entry)
        return state
