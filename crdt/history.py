"""Time travel over a draft's log: the text, the deliberation state, blame and diffs at any entry.

Pure (no I/O): ``server/history.py`` reads the log of room ``{draft}`` and hands its entries in,
in ``seq`` order. The log is the truth and everything here is a fold of it:

- **the text** at entry *n* is the ``update`` payloads up to *n* replayed into a fresh pycrdt
  ``Doc``. :class:`TextTimeline` keeps a full-state checkpoint every few thousand entries, so a
  past version costs one checkpoint load plus at most that many updates, however long the log;
- **the deliberation state** at *n* is the ``cmd.*`` entries up to *n* folded through
  :meth:`crdt.deliberation.Deliberation.apply` with the logged actor and time, exactly as the
  server rebuilds it on load (:class:`CommandTimeline`);
- **blame** (:class:`BlameFold`): pycrdt exposes no per-character authorship, so the updates are
  replayed one by one and each text event's delta is applied to a list of attributed spans per
  paragraph. Deltas count UTF-8 bytes (pycrdt), spans keep Python text, and positions are reported
  in UTF-16 code units like every public Plenary API. Formatting (a ``retain`` with attributes:
  anchors of annotations and amendments) changes no attribution;
- **diffs** come from the same fold: :meth:`BlameFold.mark` stamps every span with its offset in the
  text as it was then; what is unstamped later was inserted since, and deletions of stamped text
  are recorded with who deleted it.

Observers: each paragraph's ``Text`` is observed directly (the raw yrs observer, which skips
pycrdt's conversion of every event's target and path), so a text event lands on its paragraph's
spans without going through array indices, which yrs' array deltas can get wrong (see
:meth:`BlameFold._check`); the root array and each paragraph's map are observed for paragraphs
coming and going. Cost: yrs computes a text event's delta by walking the whole ``Y.Text`` (as Yjs
does), so attribution costs O(length of the paragraph) per entry. On the automerge-paper trace
(259,778 keystrokes into one paragraph of 105,000 characters) computing the deltas alone takes
≈30 s, where replaying without observers takes 1.5 s; real drafts spread their text over many
paragraphs, each its own ``Y.Text``. The server keeps blame folds and continues them.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pycrdt import Array, Doc, Map, Text

from crdt.deliberation import Actor, CommandRefused, Deliberation
from crdt.draft import PARAGRAPHS
from crdt.errors import PlenaryError
from crdt.offsets import utf16_length
from crdt.times import iso_seconds, iso_us

__all__ = [
    "BlameFold",
    "CommandEntry",
    "CommandTimeline",
    "Entry",
    "EntryChange",
    "HistoryError",
    "Origin",
    "Person",
    "TextTimeline",
    "amendment_story",
    "describe",
    "doc_from",
    "fold_people",
    "iso_us",
    "text_change",
]

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


# --- entries -------------------------------------------------------------------------------------


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


def doc_from(state: bytes | None, entries: Iterable[Entry | bytes]) -> Doc:
    """A fresh document: a checkpoint's state, then the update entries (or bare payloads) after it."""
    doc = Doc()
    if state:
        _apply(doc, state, 0)
    for entry in entries:
        if isinstance(entry, bytes):
            _apply(doc, entry, 0)
        elif entry.kind == UPDATE:
            _apply(doc, entry.payload, entry.seq)
    return doc


# --- (a) the text: a replayed document with checkpoints ------------------------------------------


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
        self.doc = Doc()
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

    def state_at(self, seq: int) -> Deliberation:
        """The deliberation state just after entry ``seq`` (a fresh copy: the caller may keep it)."""
        count = bisect.bisect_right(self._seqs, seq)
        index = bisect.bisect_right([n for n, _ in self._checkpoints], count) - 1
        done, saved = self._checkpoints[index]
        state = copy.deepcopy(saved)
        for entry in self.entries[done:count]:
            self._fold(state, entry)
        return state


# --- (c) blame: attributed spans ------------------------------------------------------------------


@dataclass(slots=True)
class Span:
    """A run of text written by one entry. ``size`` is in pycrdt's units (UTF-8 bytes; 1 for an
    embed); ``base`` is its UTF-16 offset in the text as marked (None: written since the mark)."""

    text: str
    size: int
    origin: Origin
    base: int | None = None


def _split(span: Span, at: int) -> tuple[Span, Span]:
    """Cut a span ``at`` bytes from its start (a character boundary: pycrdt never cuts inside one)."""
    text = span.text
    if span.size == len(text):  # one byte per character: ASCII (or a single embed)
        left, right = text[:at], text[at:]
    else:
        raw = text.encode()
        try:
            left, right = raw[:at].decode(), raw[at:].decode()
        except UnicodeDecodeError as exc:
            raise HistoryError(f"a delta cuts inside a character of {text!r}") from exc
    base = span.base
    return (
        Span(left, at, span.origin, base),
        Span(right, span.size - at, span.origin, None if base is None else base + utf16_length(left)),
    )


class SpanList:
    """A paragraph's spans in order, addressed by byte offset.

    Blocks of a few dozen spans with their byte sizes make an edit cost O(blocks + block size)
    rather than O(spans), and a remembered block makes the common case (the next edit is near
    the last one, as in typing) O(block size). A fully attributed long document has one span per
    keystroke entry: the automerge-paper trace ends with ~100,000 of them in one paragraph.
    """

    BLOCK = 64

    __slots__ = ("_hint", "blocks", "sizes")

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        self.blocks: list[list[Span]] = []
        self.sizes: list[int] = []
        chunk: list[Span] = []
        for span in spans:
            chunk.append(span)
            if len(chunk) == self.BLOCK:
                self.blocks.append(chunk)
                self.sizes.append(sum(s.size for s in chunk))
                chunk = []
        if chunk or not self.blocks:
            self.blocks.append(chunk)
            self.sizes.append(sum(s.size for s in chunk))
        self._hint = (0, 0)

    def __iter__(self) -> Iterator[Span]:
        for block in self.blocks:
            yield from block

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def text(self) -> str:
        return "".join(span.text for span in self)

    def _block_at(self, pos: int) -> tuple[int, int]:
        """The block holding byte ``pos`` (the last block for the end) and where it starts."""
        sizes = self.sizes
        index, start = self._hint
        if index >= len(sizes):
            index, start = 0, 0
        if pos < start:
            while pos < start:
                index -= 1
                start -= sizes[index]
        else:
            last = len(sizes) - 1
            while index < last and pos >= start + sizes[index]:
                start += sizes[index]
                index += 1
            if pos > start + sizes[index]:
                raise HistoryError(f"offset {pos} is past the end of the text ({start + sizes[index]} bytes)")
        self._hint = (index, start)
        return index, start

    def insert(self, pos: int, span: Span) -> None:
        index, start = self._block_at(pos)
        block = self.blocks[index]
        offset = pos - start
        i = 0
        while i < len(block) and offset >= block[i].size:
            offset -= block[i].size
            i += 1
        if offset:
            block[i : i + 1] = _split(block[i], offset)
            i += 1
        block.insert(i, span)
        self.sizes[index] += span.size
        if len(block) > 2 * self.BLOCK:
            half = len(block) // 2
            left, right = block[:half], block[half:]
            self.blocks[index : index + 1] = [left, right]
            self.sizes[index : index + 1] = [sum(s.size for s in left), sum(s.size for s in right)]

    def delete(self, pos: int, length: int) -> list[Span]:
        """Remove ``length`` bytes at ``pos``; return the removed pieces, in order."""
        removed: list[Span] = []
        index, start = self._block_at(pos)
        first = index
        offset = pos - start
        remaining = length
        while remaining > 0:
            if index >= len(self.blocks):
                raise HistoryError(f"deleting {length} bytes at {pos}: past the end of the text")
            block = self.blocks[index]
            i = 0
            while i < len(block) and offset >= block[i].size:
                offset -= block[i].size
                i += 1
            if i < len(block) and offset:
                block[i : i + 1] = _split(block[i], offset)
                i += 1
            offset = 0
            while i < len(block) and remaining > 0:
                span = block[i]
                if span.size <= remaining:
                    del block[i]
                    removed.append(span)
                    remaining -= span.size
                    self.sizes[index] -= span.size
                else:
                    left, right = _split(span, remaining)
                    block[i] = right
                    removed.append(left)
                    self.sizes[index] -= remaining
                    remaining = 0
            index += 1
        last = min(index, len(self.blocks))
        if any(not self.blocks[i] for i in range(first, last)):
            keep = [i for i in range(len(self.blocks)) if self.blocks[i] or not first <= i < last]
            self.blocks = [self.blocks[i] for i in keep] or [[]]
            self.sizes = [self.sizes[i] for i in keep] or [0]
            self._hint = (0, 0)
        return removed


@dataclass(slots=True)
class Removal:
    """Text that was there at the mark, and was deleted since: by whom, and who had written it."""

    text: str
    base: int
    author: Origin
    by: Origin


@dataclass(slots=True)
class ParagraphChange:
    """What one entry did to one paragraph (for the events' one-line summaries)."""

    inserted: int = 0
    deleted: int = 0
    formatted: bool = False
    added: bool = False
    removed: bool = False


@dataclass
class EntryChange:
    """What one update entry did, paragraph by paragraph (ids as they are after it)."""

    paragraphs: dict[str, ParagraphChange] = field(default_factory=dict)

    def of(self, pid: str) -> ParagraphChange:
        return self.paragraphs.setdefault(pid, ParagraphChange())


class _Track:
    """One element of the ``paragraphs`` array, followed through the log.

    Holds the pycrdt wrappers it observes (a subscription lives only as long as its wrapper),
    its id and kind as last seen (a deleted map can no longer be read), and its spans.
    """

    __slots__ = ("element", "id", "kind", "map_sub", "mark", "removals", "spans", "text", "text_sub")

    def __init__(self, element: Any) -> None:
        self.element = element
        self.map_sub: Any = None
        self.text: Text | None = None
        self.text_sub: Any = None
        self.id: str | None = None
        self.kind: str | None = None
        self.spans = SpanList()
        #: (id, text) at the mark, if the track existed then.
        self.mark: tuple[str | None, str] | None = None
        self.removals: list[Removal] = []

    @property
    def subscribed(self) -> bool:
        return self.text_sub is not None

    def unobserve(self) -> None:
        with contextlib.suppress(Exception):  # a type that is gone has nothing left to unobserve
            if self.text_sub is not None:
                self.text_sub.drop()
            if self.map_sub is not None and self.element is not None:
                self.element.unobserve(self.map_sub)
        self.text_sub = self.map_sub = None


def _id_of(element: Any) -> str | None:
    pid = element.get("id") if isinstance(element, Map) else None
    return pid if isinstance(pid, str) else None


class BlameFold:
    """The text document replayed update by update, with every character attributed.

    Feed it entries in order (:meth:`feed`); ask :meth:`blame` for attributed spans,
    :meth:`mark` then :meth:`diff` for what changed since. Start it from a checkpoint
    (``state``, ``seq``) when attribution does not matter (the events' summaries): the text
    already there is attributed to a placeholder origin at that seq.
    """

    def __init__(self, state: bytes | None = None, seq: int = 0) -> None:
        self.doc = Doc()
        self.array = self.doc.get(PARAGRAPHS, type=Array)
        self.tracks: list[_Track] = []
        self.seq = seq
        self.marked_at: int | None = None
        self._removed_tracks: list[_Track] = []
        self._errors: list[BaseException] = []
        self._change = EntryChange()
        self._origin = Origin(seq, 0, "", "", None)
        self._array_changed = False
        self._before: list[_Track] = []
        self._born: list[_Track] = []
        self._touched: dict[int, _Track] = {}
        self._broken: dict[int, _Track] = {}
        #: Entries whose deltas did not add up and were reconciled with the document: (seq, why).
        self.repairs: list[tuple[int, str]] = []
        self._array_subscription = self.array.observe(self._on_array)
        if state:
            _apply(self.doc, state, seq)
            self._check()

    # Feeding.

    def feed(self, entry: Entry) -> EntryChange | None:
        """Fold one entry; for an update, return what it changed."""
        if entry.seq <= self.seq:
            raise HistoryError(f"entry {entry.seq} after {self.seq}: the log must be fed in order")
        self.seq = entry.seq
        if entry.kind != UPDATE:
            return None
        self._origin = Origin.of(entry)
        self._change = change = EntryChange()
        _apply(self.doc, entry.payload, entry.seq)
        self._check()
        return change

    def _check(self) -> None:
        """Reconcile what the deltas said with the document itself.

        yrs (pycrdt 0.14) can report a wrong array delta: after an update carrying a GC struct,
        a later ``[retain 6, delete 1]`` deleted element 5 of 6 (Yjs reports ``retain 5`` for the
        same updates). So the paragraphs are matched with the array's elements after every array
        event, and each touched text's span size with its length; a mismatch is repaired (by
        paragraph id, by aligning the texts) and recorded in :attr:`repairs`.
        """
        self._raise_errors()
        if self._array_changed:
            self._array_changed = False
            elements = list(self.array)
            if len(elements) != len(self.tracks) or any(
                track.id != _id_of(element) for track, element in zip(self.tracks, elements, strict=True)
            ):
                self.repairs.append(
                    (self.seq, "the paragraphs array's delta did not match: re-matched by id")
                )
                self.tracks = self._rematch(elements)
            kept = {id(track) for track in self.tracks}
            for track in self._born:
                if id(track) in kept and track.id is not None:
                    self._change.of(track.id).added = True
                elif id(track) not in kept:
                    track.unobserve()
            for track in self._before:
                if id(track) not in kept:
                    self._drop(track)
            self._before, self._born = [], []
        touched, self._touched = self._touched, {}
        broken, self._broken = self._broken, {}
        for key, track in touched.items():
            if track.text is None or not track.subscribed:
                continue
            if key in broken or len(track.text) != track.spans.size:
                self._realign(track)

    def _rematch(self, elements: list[Any]) -> list[_Track]:
        """The tracks for ``elements``: the ones there before, by paragraph id, then the new ones."""
        candidates: dict[str | None, list[_Track]] = {}
        for track in [*self._before, *self._born]:
            candidates.setdefault(track.id, []).append(track)
        tracks = []
        for element in elements:
            found = candidates.get(_id_of(element))
            if found:
                tracks.append(found.pop(0))
            else:
                track = self._track(element)
                self._born.append(track)
                tracks.append(track)
        return tracks

    def _realign(self, track: _Track) -> None:
        """Rebuild a paragraph's spans from its text, keeping the attribution of what is unchanged."""
        import difflib

        assert track.text is not None
        self.repairs.append((self.seq, f"spans of {track.id} realigned with the text"))
        new = "".join(c if isinstance(c, str) else EMBED for c, _ in track.text.diff())
        chars: list[Span] = []  # one per character, keeping its author and its place at the mark
        for span in track.spans:
            base = span.base
            for ch in span.text:
                chars.append(Span(ch, 1 if ch == EMBED else len(ch.encode()), span.origin, base))
                if base is not None:
                    base += utf16_length(ch)
        old = "".join(span.text for span in chars)
        rebuilt: list[Span] = []
        removed: list[Span] = []
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        for op, a0, a1, b0, b1 in matcher.get_opcodes():
            if op == "equal":
                rebuilt.extend(chars[a0:a1])
            else:
                removed.extend(chars[a0:a1])
                if b1 > b0:
                    rebuilt.append(self._new_span(new[b0:b1]))
        self._record_removals(track, [piece for piece in removed if piece.base is not None])
        track.spans = SpanList(rebuilt)

    def _raise_errors(self) -> None:
        if self._errors:
            errors, self._errors = self._errors, []
            raise HistoryError(f"entry {self.seq}: {errors[0]}") from errors[0]

    # Observers, called by pycrdt inside apply_update. An exception there would come back
    # wrapped at the end of the transaction: keep it, and raise it from feed().

    def _on_array(self, event: Any) -> None:
        # Applied tentatively: removals take effect in _check(), once the result is verified.
        if not self._array_changed:
            self._array_changed = True
            self._before = list(self.tracks)
            self._born = []
        try:
            index = 0
            for op in event.delta:
                if "retain" in op:
                    index += op["retain"]
                elif "insert" in op:
                    for element in op["insert"]:
                        track = self._track(element)
                        self._born.append(track)
                        self.tracks.insert(index, track)
                        index += 1
                elif "delete" in op:
                    del self.tracks[index : index + op["delete"]]
        except Exception as exc:
            self._errors.append(exc)

    def _track(self, element: Any) -> _Track:
        track = _Track(element)
        if isinstance(element, Map):
            track.map_sub = element.observe(partial(self._on_map, track))
            pid, kind = element.get("id"), element.get("kind")
            track.id = pid if isinstance(pid, str) else None
            track.kind = kind if isinstance(kind, str) else None
            self._attach_text(track, element.get("text"))
        return track

    def _attach_text(self, track: _Track, text: Any) -> None:
        if track.text_sub is not None:
            with contextlib.suppress(Exception):  # the replaced text is gone with its subscription
                track.text_sub.drop()
        track.text = track.text_sub = None
        spans: list[Span] = []
        if isinstance(text, Text):
            track.text = text
            # The raw (yrs) observer: pycrdt's wrapper would also convert every event's
            # target and path, which costs more than the delta itself on a long text.
            track.text_sub = text.integrated.observe(partial(self._on_text, track))
            spans = [self._new_span(content) for content, _attributes in text.diff()]
        track.spans = SpanList(spans)

    def _new_span(self, content: Any) -> Span:
        if isinstance(content, str):
            return Span(content, len(content.encode()), self._origin)
        return Span(EMBED, 1, self._origin)

    def _drop(self, track: _Track) -> None:
        track.unobserve()
        if track.id is not None:
            change = self._change.of(track.id)
            change.removed = True
            change.deleted += sum(len(span.text) for span in track.spans)
        self._record_removals(track, list(track.spans))
        if track.mark is not None:
            self._removed_tracks.append(track)

    def _record_removals(self, track: _Track, pieces: list[Span]) -> None:
        if self.marked_at is None:
            return
        for piece in pieces:
            if piece.base is not None:
                track.removals.append(Removal(piece.text, piece.base, piece.origin, self._origin))

    def _on_map(self, track: _Track, event: Any) -> None:
        self._touched[id(track)] = track
        try:
            keys = event.keys
            element = track.element
            if "id" in keys:
                pid = element.get("id")
                track.id = pid if isinstance(pid, str) else None
            if "kind" in keys:
                kind = element.get("kind")
                track.kind = kind if isinstance(kind, str) else None
            if "text" in keys:
                before = list(track.spans)
                self._record_removals(track, before)
                self._attach_text(track, element.get("text"))
                if track.id is not None:
                    change = self._change.of(track.id)
                    change.deleted += sum(len(span.text) for span in before)
                    change.inserted += sum(len(span.text) for span in track.spans)
        except Exception as exc:
            self._errors.append(exc)

    def _on_text(self, track: _Track, event: Any) -> None:
        self._touched[id(track)] = track
        try:
            spans = track.spans
            change = self._change.of(track.id) if track.id is not None else ParagraphChange()
            pos = 0
            for op in event.delta:
                if "retain" in op:
                    pos += op["retain"]
                    if op.get("attributes") is not None:
                        change.formatted = True  # formatting (anchors) changes no attribution
                elif "insert" in op:
                    span = self._new_span(op["insert"])
                    spans.insert(pos, span)
                    pos += span.size
                    change.inserted += len(span.text)
                elif "delete" in op:
                    pieces = spans.delete(pos, op["delete"])
                    change.deleted += sum(len(piece.text) for piece in pieces)
                    self._record_removals(track, pieces)
        except HistoryError:
            self._broken[id(track)] = track  # the delta does not fit the spans: realign in _check()
        except Exception as exc:
            self._errors.append(exc)

    # Reading.

    def blame(self, people: Mapping[str, Person] | None = None) -> list[dict[str, Any]]:
        """Per paragraph: its text and the spans that make it, in UTF-16 code units, merged by entry."""
        out = []
        for track in self.tracks:
            if track.id is None:
                continue
            spans = []
            position = 0
            for origin, text in _runs(track.spans):
                length = utf16_length(text)
                spans.append(
                    {"start": position, "end": position + length, "text": text, **origin.to_json(people)}
                )
                position += length
            out.append({"id": track.id, "kind": track.kind, "text": track.spans.text(), "spans": spans})
        return out

    def mark(self) -> None:
        """Remember the text as it is now: :meth:`diff` reports what changed since."""
        self.marked_at = self.seq
        self._removed_tracks = []
        for track in self.tracks:
            track.removals = []
            position = 0
            for span in track.spans:
                span.base = position
                position += utf16_length(span.text)
            track.mark = (track.id, track.spans.text())

    def diff(self, people: Mapping[str, Person] | None = None) -> list[dict[str, Any]]:
        """Per paragraph changed since :meth:`mark`: the text before and after, what was inserted
        (where, in the text after) and deleted (where, in the text before), and by whom."""
        if self.marked_at is None:
            raise HistoryError("diff() needs mark() first")
        out = []
        for track, present in [
            *((t, True) for t in self.tracks),
            *((t, False) for t in self._removed_tracks),
        ]:
            inserted = []
            if present:
                position = 0
                for origin, text in _runs(track.spans, unstamped=True):
                    length = utf16_length(text)
                    if origin is not None:
                        inserted.append({"at": position, "text": text, **origin.to_json(people)})
                    position += length
            deleted = [
                {
                    "at": removal.base,
                    "text": removal.text,
                    **removal.by.to_json(people),
                    "written_by": removal.author.to_json(people),
                }
                for removal in _merge_removals(track.removals)
            ]
            if track.mark is None:
                status = "added"
            elif not present:
                status = "removed"
            elif inserted or deleted:
                status = "changed"
            else:
                continue
            before_id, before = track.mark if track.mark is not None else (None, None)
            pid = track.id if present else before_id
            if pid is None:
                continue
            out.append(
                {
                    "id": pid,
                    "status": status,
                    "before": before,
                    "after": track.spans.text() if present else None,
                    "inserted": inserted,
                    "deleted": deleted,
                }
            )
        return out


def _runs(spans: Iterable[Span], *, unstamped: bool = False) -> Iterator[tuple[Any, str]]:
    """Adjacent spans of one origin, merged. With ``unstamped``: runs of text written since the
    mark (origin) and of text that was there (None)."""
    current: Any = _NOTHING
    parts: list[str] = []
    for span in spans:
        key = (span.origin if span.base is None else None) if unstamped else span.origin
        if key is not current and parts:
            yield current, "".join(parts)
            parts = []
        current = key
        parts.append(span.text)
    if parts:
        yield current, "".join(parts)


_NOTHING = object()


def _merge_removals(removals: list[Removal]) -> list[Removal]:
    """Deleted pieces in text order, contiguous pieces deleted by one entry from one author merged."""
    out: list[Removal] = []
    for removal in sorted(removals, key=lambda r: r.base):
        last = out[-1] if out else None
        if (
            last is not None
            and last.by is removal.by
            and last.author is removal.author
            and last.base + utf16_length(last.text) == removal.base
        ):
            last.text += removal.text
        else:
            out.append(Removal(removal.text, removal.base, removal.author, removal.by))
    return out


# --- readable events ------------------------------------------------------------------------------


def _who(actor: Actor) -> str:
    if actor.role == "system":
        return "Plenary"
    if actor.role == "delegate" and actor.delegation:
        return actor.delegation
    return actor.name or actor.participant


def _describe_command(entry: CommandEntry) -> str:
    c, who = entry.command, _who(entry.actor)
    kind = entry.type
    target = c.get("target") or c.get("paragraph") or c.get("id")
    if kind == "annotation.create":
        if c.get("reply_to"):
            return f"{who} replied to {c['reply_to']} ({c.get('id')})"
        where = (
            f" on a span of {c.get('paragraph')}"
            if c.get("quote") is not None
            else f" on {c.get('paragraph')}"
        )
        return f"{who} annotated{where} ({c.get('id')})"
    if kind in ("annotation.resolve", "annotation.reopen"):
        return f"{who} {'resolved' if kind.endswith('resolve') else 'reopened'} {c.get('id')}"
    if kind == "amendment.propose":
        return f"{who} proposed {c.get('id')} ({c.get('kind')}) on {c.get('paragraph')}"
    if kind == "amendment.cosponsor":
        return f"{who} co-sponsored {c.get('id')}"
    if kind == "amendment.withdraw":
        return f"{who} withdrew {c.get('id')}"
    if kind == "amendment.adopt":
        modified = " as modified" if c.get("modified_text") is not None else ""
        superseded = f", superseding {', '.join(c['superseded'])}" if c.get("superseded") else ""
        return f"{who} adopted {c.get('id')}{modified}{superseded}"
    if kind == "amendment.reject":
        return f"{who} rejected {c.get('id')}: {_short(c.get('reason', ''))}"
    if kind == "position.state":
        return f"{who}: {str(c.get('stance', '')).replace('_', ' ')} on {target}"
    if kind == "paragraph.status":
        return f"{who} marked {target} {str(c.get('status', '')).replace('_', ' ')}"
    if kind == "paragraph.reopen":
        return f"{target} reopened: its text changed"
    if kind in ("text.lock", "text.unlock"):
        return f"{who} {'locked' if kind == 'text.lock' else 'unlocked'} the text"
    if kind == "rule.set":
        return f"{who} set the decision rule to {c.get('rule')}"
    if kind == "period.open":
        scope = ", ".join(c["paragraphs"]) if c.get("paragraphs") else "the whole draft"
        return f"{who} opened comment period {c.get('id')} on {scope} until {c.get('deadline')}"
    if kind == "period.extend":
        return f"{who} extended {c.get('id')} until {c.get('deadline')}"
    if kind == "period.close":
        return f"{who} closed {c.get('id')}"
    if kind == "silence.start":
        return f"{who} put {target} under silence procedure until {c.get('deadline')}"
    if kind == "silence.restart":
        return f"silence procedure on {target} restarted: its text changed"
    if kind == "silence.conclude":
        return f"silence procedure on {target} concluded without objection"
    return f"{who}: {kind}"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe_change(entry: Entry, change: EntryChange | None) -> str:
    prefix = ""
    if entry.amendment:
        prefix = f"adoption of {entry.amendment}: "
    elif entry.connection.startswith(ANCHOR_CONNECTION):
        anchor = entry.connection[len(ANCHOR_CONNECTION) :]
        where = ", ".join(change.paragraphs) if change and change.paragraphs else "the text"
        return f"anchored {anchor} on {where}"
    if change is None or not change.paragraphs:
        return prefix + "no visible change"
    parts = []
    added = [pid for pid, c in change.paragraphs.items() if c.added and not c.removed]
    removed = [pid for pid, c in change.paragraphs.items() if c.removed and not c.added]
    edited = {pid: c for pid, c in change.paragraphs.items() if not c.added and not c.removed}
    if added:
        parts.append(f"added {_plural('paragraph', added)}")
    if removed:
        parts.append(f"removed {_plural('paragraph', removed)}")
    words = {pid: c for pid, c in edited.items() if c.inserted or c.deleted}
    if words:
        inserted = sum(c.inserted for c in words.values())
        deleted = sum(c.deleted for c in words.values())
        parts.append(f"text edit on {', '.join(words)} (+{inserted} −{deleted} chars)")
    formatted = [pid for pid, c in edited.items() if c.formatted and pid not in words]
    if formatted:
        parts.append(f"formatting on {', '.join(formatted)}")
    return prefix + ("; ".join(parts) if parts else "no visible change")


def _plural(noun: str, ids: list[str]) -> str:
    return f"{noun} {ids[0]}" if len(ids) == 1 else f"{noun}s {', '.join(ids)}"


def describe(entry: Entry, *, command: CommandEntry | None = None, change: EntryChange | None = None) -> str:
    """A one-line summary of a log entry, for people reading the history."""
    if entry.kind == UPDATE:
        return _describe_change(entry, change)
    if command is not None:
        return _describe_command(command)
    payload: dict[str, Any] = {}
    try:
        loaded = json.loads(entry.payload)
        payload = loaded if isinstance(loaded, dict) else {}
    except ValueError:
        pass
    if entry.kind == "draft.created":
        count = len(payload.get("paragraphs") or [])
        return (
            f"{entry.participant} created the draft {_short(payload.get('title', ''))!r} ({count} paragraphs)"
        )
    if entry.kind == "access.revoked":
        return f"{entry.participant} removed {payload.get('participant')} from the draft"
    if entry.kind == "access.reinstated":
        return f"{entry.participant} let {payload.get('participant')} back in"
    return f"{entry.kind} by {entry.participant or 'the server'}"


# --- amendments' stories and text changes -----------------------------------------------------------


def text_change(before: str, after: str) -> dict[str, Any]:
    """The one contiguous change turning ``before`` into ``after``: where (UTF-16), what went, what came."""
    prefix = 0
    limit = min(len(before), len(after))
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    return {
        "at": utf16_length(before[:prefix]),
        "deleted": before[prefix : len(before) - suffix],
        "inserted": after[prefix : len(after) - suffix],
    }


def _actor_json(actor: Actor) -> dict[str, Any]:
    return {
        "participant": actor.participant,
        "name": actor.name,
        "delegation": actor.delegation or None,
        "role": actor.role,
    }


def amendment_story(
    amendment_id: str,
    commands: Iterable[CommandEntry],
    *,
    final: Mapping[str, Any] | None,
    anchored: Entry | None = None,
    adoption: Entry | None = None,
    paragraph_before: str | None = None,
    paragraph_after: str | None = None,
    people: Mapping[str, Person] | None = None,
) -> dict[str, Any]:
    """The story of one amendment, from the log: proposed, co-sponsored, every position over time,
    silence procedures, the decision, and the exact text change its adoption made."""
    events: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    silence: list[dict[str, Any]] = []

    def event(entry: CommandEntry | Entry, name: str, **detail: Any) -> dict[str, Any]:
        if isinstance(entry, CommandEntry):
            by = _actor_json(entry.actor)
        else:
            by = Origin.of(entry).to_json(people)
            by = {key: by[key] for key in ("participant", "name", "delegation", "role")}
        record = {"seq": entry.seq, "time": iso_us(entry.time_us), "event": name, "by": by, **detail}
        events.append(record)
        return record

    for entry in commands:
        c, kind = entry.command, entry.type
        if kind == "amendment.propose" and c.get("id") == amendment_id:
            event(
                entry,
                "proposed",
                kind=c.get("kind"),
                paragraph=c.get("paragraph"),
                start=c.get("start"),
                end=c.get("end"),
                original=c.get("original"),
                text=c.get("text"),
                justification=c.get("justification", ""),
            )
        elif kind in ("amendment.cosponsor", "amendment.withdraw") and c.get("id") == amendment_id:
            event(entry, "cosponsored" if kind.endswith("cosponsor") else "withdrawn")
        elif kind == "amendment.adopt" and c.get("id") == amendment_id:
            modified = c.get("modified_text")
            event(entry, "adopted_modified" if modified is not None else "adopted", modified_text=modified)
        elif kind == "amendment.reject" and c.get("id") == amendment_id:
            event(entry, "rejected", reason=c.get("reason"))
        elif kind in ("amendment.adopt", "silence.conclude") and amendment_id in (c.get("superseded") or []):
            event(entry, "superseded", by_amendment=c.get("id") or c.get("target"))
        elif kind == "position.state" and c.get("target") == amendment_id:
            position = {
                "seq": entry.seq,
                "time": iso_us(entry.time_us),
                "delegation": entry.actor.delegation,
                "group": entry.actor.group,
                "stance": c.get("stance"),
                "explanation": c.get("explanation") or "",
                "by": entry.actor.participant,
            }
            positions.append(position)
            event(entry, "position", stance=c.get("stance"), explanation=c.get("explanation") or "")
        elif kind.startswith("silence.") and c.get("target") == amendment_id:
            record = event(entry, kind.replace(".", "_"), deadline=c.get("deadline"))
            silence.append(record)
    if anchored is not None:
        event(anchored, "anchored")
    change = None
    if adoption is not None:
        event(adoption, "text_changed")
        before, after = paragraph_before or "", paragraph_after or ""
        change = {
            "seq": adoption.seq,
            "time": iso_us(adoption.time_us),
            "paragraph": (final or {}).get("paragraph"),
            "before": paragraph_before,
            "after": paragraph_after,
            **text_change(before, after),
        }
    events.sort(key=lambda record: record["seq"])
    return {
        "id": amendment_id,
        "state": (final or {}).get("state"),
        "kind": (final or {}).get("kind"),
        "paragraph": (final or {}).get("paragraph"),
        "sponsor": (final or {}).get("sponsor"),
        "cosponsors": (final or {}).get("cosponsors", []),
        "decision": (final or {}).get("decision"),
        "events": events,
        "positions": positions,
        "silence": silence,
        "text_change": change,
    }


def fold_people(*sources: Mapping[str, Person] | None) -> dict[str, Person]:
    """Who is who: later sources fill in what earlier ones do not know (the log's own actors first)."""
    out: dict[str, Person] = {}
    for source in reversed([s for s in sources if s]):
        out.update(source)
    return out
