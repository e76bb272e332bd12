"""Which part of a draft's text document an update writes into: an original paragraph's words, one
language's translation of it, the list of paragraphs, a paragraph's fields.

The server needs this *before* it applies an update (a translator may only write into the translations of
their languages), and the record needs it for every entry of the log (when did a paragraph's original last
change? :mod:`crdt.procedure.translations`). pycrdt cannot say where an update will land, so this reads the
update itself (``crdt.wire.updates``): every Yjs item names its parent type, or an *origin* (the item it was
inserted next to) whose parent it shares. :class:`PartIndex` remembers, for every item of the document, the
shared type it belongs to, as runs of consecutive clocks (a paragraph typed in one go is one run), and what
each shared type is in the draft's schema (``crdt/procedure/draft.py``)::

    paragraphs (root array) ─ map {id, kind, text: Y.Text, translations: Y.Map {language: Y.Text}}

Deletions name the items they delete; the index says where those were. Formatting (the anchors of
annotations and amendments) is told apart from words. Pure and append-only: items never change parent.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from crdt.procedure.draft import PARAGRAPHS
from crdt.wire.updates import Struct, Update, decode_update

ID = tuple[int, int]
#: A shared type: a root (``("root", name)``) or the item that created a nested one.
TypeKey = tuple[str, str] | ID

TRANSLATIONS = "translations"


class Part(NamedTuple):
    """What a shared type is in the draft's schema."""

    kind: str
    """``paragraphs`` (the root array), ``paragraph`` (one paragraph's map), ``text`` (its original),
    ``translations`` (its map of translations), ``translation`` (one language's text), ``other``."""
    paragraph: ID | None = None
    """The item that created the paragraph's map: its identity, whatever its ``id`` field says."""
    language: str | None = None


_OTHER = Part("other")


class _Run(NamedTuple):
    end: int
    parent: TypeKey | None
    """``None``: garbage-collected content, whose parent is not known any more."""
    sub: str | None
    words: bool
    """False for formatting marks and content deleted before it was sent (no word changes)."""


@dataclass
class Writes:
    """What an update writes. Paragraphs are named by the item that created their map (see
    :meth:`PartIndex.paragraph_id` for the ``id`` they carry)."""

    #: The list of paragraphs itself: paragraphs added, removed or moved.
    structure: bool = False
    #: Paragraphs whose original words changed (inserted or deleted characters).
    originals: set[ID] = field(default_factory=set)
    #: (paragraph, language) whose translation's words changed.
    translations: set[tuple[ID, str]] = field(default_factory=set)
    #: Formatting only (anchors): paragraphs' originals, and (paragraph, language) translations.
    original_marks: set[ID] = field(default_factory=set)
    translation_marks: set[tuple[ID, str]] = field(default_factory=set)
    #: Entries of a paragraph's map written or removed: (paragraph, key) — id, kind, text, translations.
    fields: set[tuple[ID, str]] = field(default_factory=set)
    #: Entries of a paragraph's translations map: (paragraph, language) — a translation text set or removed.
    translation_fields: set[tuple[ID, str]] = field(default_factory=set)
    #: Anything outside the paragraphs (other roots, nested types elsewhere).
    other: bool = False
    #: Items whose place could not be told (a parent garbage-collected, an origin not in the document).
    unknown: bool = False

    @property
    def languages(self) -> set[str]:
        """Every language whose translations it writes (words, marks, or the texts themselves)."""
        return {lang for _, lang in self.translations | self.translation_marks | self.translation_fields}

    @property
    def touches_original(self) -> bool:
        """Whether it writes anything but translations: the original text, the paragraphs, their fields."""
        fields = {key for _, key in self.fields}
        return bool(
            self.structure
            or self.originals
            or self.original_marks
            or self.other
            or self.unknown
            or fields - {TRANSLATIONS}
        )


class PartIndex:
    """Where every item of one document is (see the module docstring)."""

    def __init__(self) -> None:
        #: client → (run starts, runs), sorted by clock.
        self._starts: dict[int, list[int]] = {}
        self._runs: dict[int, list[_Run]] = {}
        #: What each nested type is, by the item that created it.
        self._types: dict[ID, Part] = {}
        #: The ``id`` field of each paragraph's map.
        self._ids: dict[ID, str] = {}

    @classmethod
    def of_state(cls, state: bytes) -> PartIndex:
        """The index of a whole document (its full-state update)."""
        index = cls()
        index.feed(decode_update(state), classify=False)
        return index

    # Lookups.

    def paragraph_id(self, paragraph: ID) -> str | None:
        return self._ids.get(paragraph)

    def known(self, client: int) -> int:
        """The clock just after the last item of ``client`` indexed."""
        runs = self._runs.get(client)
        return runs[-1].end if runs else 0

    def _run_at(self, item: ID) -> _Run | None:
        client, clock = item
        starts = self._starts.get(client)
        if not starts:
            return None
        i = bisect.bisect_right(starts, clock) - 1
        if i < 0:
            return None
        run = self._runs[client][i]
        return run if clock < run.end else None

    # Reading an update.

    def _placed(self, update: Update) -> list[_Placed]:
        """Every item of ``update`` with its parent and key, resolved through origins (which may point at
        items of the same update, of any client, in any order), in client and clock order."""
        placed: list[_Placed] = []
        waiting: list[Struct] = []
        run_at = self._run_at
        # Most updates (a keystroke, a pasted word) hang on items the document has: one pass.
        for group in update.structs:
            for struct in group.structs:
                if struct.kind != "item":
                    continue
                if struct.parent_name is not None:
                    placed.append(_Placed(struct, ("root", struct.parent_name), struct.parent_sub))
                    continue
                if struct.parent_id is not None:
                    placed.append(_Placed(struct, struct.parent_id, struct.parent_sub))
                    continue
                run = None
                if struct.origin is not None:
                    run = run_at(struct.origin)
                if run is None and struct.right_origin is not None:
                    run = run_at(struct.right_origin)
                if run is None:
                    waiting.append(struct)
                else:
                    placed.append(_Placed(struct, run.parent, run.sub))
        if not waiting:
            return placed
        local = _Local(placed)

        def where(item: ID) -> tuple[TypeKey | None, str | None] | None:
            found = local.at(item)
            return None if found is None else (found.parent, found.sub)

        while waiting:
            left: list[Struct] = []
            for struct in waiting:
                resolved: tuple[TypeKey | None, str | None] | None = None
                for origin in (struct.origin, struct.right_origin):
                    if origin is not None and (resolved := where(origin)) is not None:
                        break
                if resolved is None:
                    left.append(struct)
                else:
                    local.add(_Placed(struct, resolved[0], resolved[1]))
            if len(left) == len(waiting):
                # Hanging on items nobody knows (the inspector refuses such updates from clients).
                for struct in left:
                    local.add(_Placed(struct, None, None))
                break
            waiting = left
        return local.all()

    def _new_types(self, placed: list[_Placed]) -> dict[ID, Part]:
        """What the types an update creates are (a paragraph's map, then its text, …), in any order."""
        found: dict[ID, Part] = {}
        waiting = [p for p in placed if p.struct.content_kind == "type"]
        while waiting:
            left = []
            unresolved = {(w.struct.client, w.struct.clock) for w in waiting}
            for p in waiting:
                parent = p.parent
                if parent in unresolved and parent not in found:
                    left.append(p)  # its parent is created by this update too: after it
                    continue
                item = (p.struct.client, p.struct.clock)
                found[item] = _child(self._part(parent, found), p.sub, p.struct, item)
            if len(left) == len(waiting):
                break
            waiting = left
        return found

    def _part(self, parent: TypeKey | None, new: dict[ID, Part] | None = None) -> Part:
        if parent is None:
            return Part("unknown")
        if parent[0] == "root":
            return Part("paragraphs") if parent[1] == PARAGRAPHS else _OTHER
        found = self._types.get(parent)  # type: ignore[arg-type]
        if found is None and new:
            found = new.get(parent)  # type: ignore[arg-type]
        return found or _OTHER

    def classify(
        self,
        update: Update,
        state: Mapping[int, int] | None = None,
        deleted: Mapping[int, list[tuple[int, int]]] | None = None,
    ) -> Writes:
        """What ``update`` writes. Items below ``state`` (client → next clock: already in the document) are
        not new and do not count; nor do deletions of what ``deleted`` (the document's delete set) holds.
        Deleting a paragraph deletes everything in it: that is the paragraph's deletion (``structure``),
        not a write into its texts."""
        return self._classify(update, self._placed(update), state or {}, deleted)

    def _classify(
        self,
        update: Update,
        placed: list[_Placed],
        state: Mapping[int, int],
        deleted: Mapping[int, list[tuple[int, int]]] | None = None,
    ) -> Writes:
        writes = Writes()
        new = self._new_types(placed) if any(p.struct.content_kind == "type" for p in placed) else None
        for p in placed:
            if p.struct.end > state.get(p.struct.client, 0):
                _record(writes, self._part(p.parent, new), p.sub, _words(p.struct))
        if not update.delete_set:
            return writes
        local = _Local(placed)
        removed = _Ranges(update.delete_set)
        done = _Ranges(deleted or {})
        for client, ranges in update.delete_set.items():
            for clock, length in ranges:
                for start, end, parent, sub, words in self._deleted(local, client, clock, clock + length):
                    if done.covers(client, start, end) or self._inside_deleted(parent, removed, local):
                        continue
                    _record(writes, self._part(parent, new), sub, words)
        return writes

    def _inside_deleted(self, parent: TypeKey | None, removed: _Ranges, local: _Local) -> bool:
        """Whether ``parent`` (a nested type) or one of the types holding it is deleted by the update."""
        for _ in range(8):  # the schema nests four deep; anything deeper is not the draft's
            if parent is None or parent[0] == "root":
                return False
            client, clock = parent  # type: ignore[misc]
            if removed.covers(client, clock, clock + 1):
                return True
            run = self._run_at((client, clock))
            if run is None:
                placed = local.at((client, clock))
                parent = placed.parent if placed is not None else None
            else:
                parent = run.parent
        return False

    def _deleted(
        self, local: _Local, client: int, start: int, end: int
    ) -> list[tuple[int, int, TypeKey | None, str | None, bool]]:
        """Where the items of ``client`` in [start, end) are, piece by piece: this update's, then the
        index's (start, end, parent, key, words)."""
        out = []
        clock = start
        while clock < end:
            placed = local.at((client, clock))
            if placed is not None:
                stop = min(end, placed.struct.end)
                out.append((clock, stop, placed.parent, placed.sub, _words(placed.struct)))
                clock = stop
                continue
            run = self._run_at((client, clock))
            if run is not None:
                stop = min(end, run.end)
                out.append((clock, stop, run.parent, run.sub, run.words))
                clock = stop
                continue
            out.append((clock, end, None, None, True))  # not in this document
            break
        return out

    # Growing.

    def feed(self, update: Update, *, classify: bool = True) -> Writes | None:
        """Add an applied update's new items to the index; returns what it wrote (as :meth:`classify`),
        unless ``classify`` is false."""
        placed = self._placed(update)
        writes = None
        if classify:
            known = {client: self.known(client) for client in update.client_ids}
            writes = self._classify(update, placed, known)
        if any(p.struct.content_kind == "type" for p in placed):
            self._types.update(self._new_types(placed))
        for p in placed:
            struct = p.struct
            client = struct.client
            start = max(struct.clock, self.known(client))
            if struct.end <= start:
                continue  # known already
            if p.sub == "id" and struct.content_kind == "any" and isinstance(struct.content, tuple):
                owner = self._part(p.parent)
                if owner.kind == "paragraph" and struct.content and isinstance(struct.content[-1], str):
                    self._ids[owner.paragraph] = struct.content[-1]  # type: ignore[index]
            self._append(client, start, _Run(struct.end, p.parent, p.sub, _words(struct)))
        for struct in (s for g in update.structs for s in g.structs if s.kind == "gc"):
            start = max(struct.clock, self.known(struct.client))
            if struct.end > start:
                self._append(struct.client, start, _Run(struct.end, None, None, True))
        return writes

    def _append(self, client: int, start: int, run: _Run) -> None:
        starts = self._starts.setdefault(client, [])
        runs = self._runs.setdefault(client, [])
        if runs and start < runs[-1].end:
            return  # out of order (a gc struct listed after items): already covered
        if runs and runs[-1].end == start and runs[-1][1:] == run[1:]:
            runs[-1] = run
        else:
            starts.append(start)
            runs.append(run)

    def feed_bytes(self, update: bytes) -> Writes:
        """:meth:`feed`, from the update's bytes; what it wrote."""
        writes = self.feed(decode_update(update))
        assert writes is not None
        return writes


class _Placed(NamedTuple):
    struct: Struct
    parent: TypeKey | None
    sub: str | None


class _Ranges:
    """A delete set (client → sorted, merged (clock, length)), for "is this range in it?"."""

    def __init__(self, ranges: Mapping[int, list[tuple[int, int]]]) -> None:
        self._ranges = ranges
        self._starts = {client: [clock for clock, _ in rs] for client, rs in ranges.items()}

    def covers(self, client: int, start: int, end: int) -> bool:
        starts = self._starts.get(client)
        if not starts:
            return False
        ranges = self._ranges[client]
        i = bisect.bisect_right(starts, start) - 1
        while 0 <= i < len(ranges):
            clock, length = ranges[i]
            if clock > start:
                return False
            if start < clock + length:
                start = clock + length
                if start >= end:
                    return True
            i += 1
        return start >= end


class _Local:
    """An update's placed items by client, sorted by clock, for lookups by id."""

    def __init__(self, placed: list[_Placed] | None = None) -> None:
        self._starts: dict[int, list[int]] = {}
        self._items: dict[int, list[_Placed]] = {}
        for p in placed or ():
            self.add(p)

    def add(self, placed: _Placed) -> None:
        client = placed.struct.client
        starts = self._starts.setdefault(client, [])
        at = bisect.bisect_right(starts, placed.struct.clock)
        starts.insert(at, placed.struct.clock)
        self._items.setdefault(client, []).insert(at, placed)

    def at(self, item: ID) -> _Placed | None:
        starts = self._starts.get(item[0])
        if not starts:
            return None
        i = bisect.bisect_right(starts, item[1]) - 1
        if i < 0:
            return None
        placed = self._items[item[0]][i]
        return placed if item[1] < placed.struct.end else None

    def all(self) -> list[_Placed]:
        return [p for client in sorted(self._items) for p in self._items[client]]


def _words(struct: Struct) -> bool:
    return struct.content_kind not in ("format", "deleted")


def _child(parent: Part, sub: str | None, struct: Struct, item: ID) -> Part:
    """What a nested type created by ``struct`` (in ``parent``, under key ``sub``) is."""
    type_name = getattr(struct.content, "type_name", None)
    if parent.kind == "paragraphs" and type_name == "map":
        return Part("paragraph", item)
    if parent.kind == "paragraph" and sub == "text" and type_name == "text":
        return Part("text", parent.paragraph)
    if parent.kind == "paragraph" and sub == TRANSLATIONS and type_name == "map":
        return Part("translations", parent.paragraph)
    if parent.kind == "translations" and sub and type_name == "text":
        return Part("translation", parent.paragraph, sub)
    return _OTHER


def _record(writes: Writes, part: Part, sub: str | None, words: bool) -> None:
    kind = part.kind
    if kind == "paragraphs":
        writes.structure = True
    elif kind == "paragraph":
        writes.fields.add((part.paragraph, sub or ""))  # type: ignore[arg-type]
    elif kind == "text":
        (writes.originals if words else writes.original_marks).add(part.paragraph)  # type: ignore[arg-type]
    elif kind == "translations":
        writes.translation_fields.add((part.paragraph, sub or ""))  # type: ignore[arg-type]
    elif kind == "translation":
        target = (part.paragraph, part.language)
        (writes.translations if words else writes.translation_marks).add(target)  # type: ignore[arg-type]
    elif kind == "unknown":
        writes.unknown = True
    else:
        writes.other = True
