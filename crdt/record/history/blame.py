"""Blame and diffs: the text replayed update by update, every character attributed to its entry."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from pycrdt import Array, Doc, Map, Text

from crdt.offsets import utf16_length
from crdt.procedure.draft import PARAGRAPHS
from crdt.record.history.entries import EMBED, UPDATE, Entry, HistoryError, Origin, Person, _apply
from crdt.record.history.spans import Span, SpanList, _runs


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
