"""The items of a document state in document order, with their ids: what blame reads authorship from.

A full-state v1 update lists each client's items in clock order, each with its origin (the id
of the item to its left when it was inserted) and right origin, not in document order. The
order is recovered here by integrating them the way Yjs does (``Item.integrate``: the YATA
conflict resolution), in any causal order: the result does not depend on it, which is what
makes Yjs a CRDT.

Items are first cut wherever an id points inside them (an origin points at an item's last
clock, a right origin or a parent at its first, a deletion range at either end), so that every
reference names one whole piece: two dictionary look-ups instead of Yjs' split-on-demand.
Clock offsets count UTF-16 code units in strings, as in Yjs.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from typing import Any

from crdt.record.history.entries import HistoryError
from crdt.wire.updates import Struct, decode_update

ID = tuple[int, int]


class Piece:
    """An item, or the part of one between two cuts, as integrated: its neighbours and parent."""

    __slots__ = (
        "client",
        "clock",
        "content",
        "deleted",
        "done",
        "gc",
        "kind",
        "left",
        "length",
        "origin",
        "parent",
        "parent_id",
        "parent_name",
        "previous",
        "right",
        "right_origin",
        "sub",
        "type",
    )

    def __init__(self, struct: Struct, clock: int, length: int, content: Any, origin: ID | None) -> None:
        self.client = struct.client
        self.clock = clock
        self.length = length
        self.kind = struct.content_kind
        self.content = content
        self.origin = origin
        self.right_origin = struct.right_origin
        self.parent_name = struct.parent_name
        self.parent_id = struct.parent_id
        self.sub = struct.parent_sub
        self.gc = struct.kind != "item"
        self.deleted = self.gc or struct.content_kind == "deleted"
        self.done = False
        self.left: Piece | None = None
        self.right: Piece | None = None
        self.parent: SharedType | None = None
        #: The piece just before in this client's clocks: Yjs integrates a client's items in order.
        self.previous: Piece | None = None
        #: The shared type this item holds (content kind "type"), once something is put in it.
        self.type: SharedType | None = None

    @property
    def live(self) -> bool:
        return not self.deleted and not self.gc


class SharedType:
    """A Y type's children: the first piece of its sequence and the last piece of each map key."""

    __slots__ = ("map", "start")

    def __init__(self) -> None:
        self.start: Piece | None = None
        self.map: dict[str, Piece] = {}

    def sequence(self) -> Iterator[Piece]:
        piece = self.start
        while piece is not None:
            yield piece
            piece = piece.right

    def value(self, key: str) -> Piece | None:
        """The live item holding ``key`` (the last one integrated, as in Yjs), if any."""
        piece = self.map.get(key)
        return piece if piece is not None and piece.live else None


def utf16_cut(text: str, offsets: list[int]) -> list[str]:
    """``text`` cut at increasing UTF-16 offsets (inside it)."""
    if text.isascii() or max(text) < "\U00010000":
        bounds = offsets
    else:
        bounds, units, index = [], 0, 0
        wanted = iter(offsets)
        target = next(wanted, None)
        for index, char in enumerate(text):
            while target is not None and units >= target:
                bounds.append(index)
                target = next(wanted, None)
            if target is None:
                break
            units += 2 if char >= "\U00010000" else 1
        else:
            index = len(text)
        while target is not None and units >= target:
            bounds.append(len(text))
            target = next(wanted, None)
    out, last = [], 0
    for bound in bounds:
        out.append(text[last:bound])
        last = bound
    out.append(text[last:])
    return out


def _cut_content(struct: Struct, offsets: list[int]) -> list[Any]:
    content = struct.content
    if struct.content_kind == "string" and isinstance(content, str):
        return utf16_cut(content, offsets)
    if isinstance(content, tuple):
        bounds = [0, *offsets, len(content)]
        return [content[a:b] for a, b in itertools.pairwise(bounds)]
    return [content] * (len(offsets) + 1)


class ItemStore:
    """Every item of a state, integrated: :attr:`roots` holds the root types by name."""

    def __init__(self, state: bytes) -> None:
        try:
            update = decode_update(state, max_depth=1_000)
        except Exception as exc:  # DecodeError and friends: the caller falls back to replaying
            raise HistoryError(f"the state could not be decoded: {exc}") from exc
        self.roots: dict[str, SharedType] = {}
        cuts: dict[int, set[int]] = {}
        for client, ranges in update.delete_set.items():
            marks = cuts.setdefault(client, set())
            for clock, length in ranges:
                marks.add(clock)
                marks.add(clock + length)
        for group in update.structs:
            for struct in group.structs:
                if struct.origin is not None:
                    cuts.setdefault(struct.origin[0], set()).add(struct.origin[1] + 1)
                if struct.right_origin is not None:
                    cuts.setdefault(struct.right_origin[0], set()).add(struct.right_origin[1])
                if struct.parent_id is not None:
                    client, clock = struct.parent_id
                    cuts.setdefault(client, set()).update((clock, clock + 1))
        self._by_start: dict[ID, Piece] = {}
        self._by_end: dict[ID, Piece] = {}
        pieces: list[Piece] = []
        for group in update.structs:
            marks = sorted(cuts.get(group.client, ()))
            previous: Piece | None = None
            for struct in group.structs:
                if struct.kind == "skip":
                    continue
                start, end = struct.clock, struct.end
                low, high = bisect.bisect_right(marks, start), bisect.bisect_left(marks, end)
                offsets = [mark - start for mark in marks[low:high]]
                contents = _cut_content(struct, offsets) if offsets else [struct.content]
                bounds = [start, *(start + o for o in offsets), end]
                origin = struct.origin
                for content, clock, stop in zip(contents, bounds, bounds[1:], strict=False):
                    piece = Piece(struct, clock, stop - clock, content, origin)
                    piece.previous, previous = previous, piece
                    self._by_start[(piece.client, clock)] = piece
                    self._by_end[(piece.client, stop - 1)] = piece
                    pieces.append(piece)
                    origin = (piece.client, stop - 1)
        self._mark_deleted(update.delete_set)
        # A piece is pushed once to start and once per piece waiting on it (each waits on at most 4).
        self._stack_limit = 5 * len(pieces) + 4
        for piece in pieces:
            if not piece.done:
                self._integrate_with_dependencies(piece)

    def _mark_deleted(self, delete_set: dict[int, list[tuple[int, int]]]) -> None:
        for client, ranges in delete_set.items():
            for clock, length in ranges:
                end = clock + length
                while clock < end:
                    piece = self._by_start.get((client, clock))
                    if piece is None:  # a range over clocks this state does not hold
                        clock += 1
                        continue
                    piece.deleted = True
                    clock += piece.length

    def _find(self, table: dict[ID, Piece], id_: ID) -> Piece:
        piece = table.get(id_)
        if piece is None:
            raise HistoryError(f"the state references item {id_} it does not hold")
        return piece

    def _dependencies(self, piece: Piece) -> list[Piece]:
        deps = [] if piece.previous is None else [piece.previous]
        if piece.origin is not None:
            deps.append(self._find(self._by_end, piece.origin))
        if piece.right_origin is not None:
            deps.append(self._find(self._by_start, piece.right_origin))
        if piece.parent_id is not None:
            deps.append(self._find(self._by_start, piece.parent_id))
        return deps

    def _integrate_with_dependencies(self, first: Piece) -> None:
        stack = [first]
        while stack:
            piece = stack[-1]
            if piece.done:
                stack.pop()
                continue
            waiting = [dep for dep in self._dependencies(piece) if not dep.done]
            if waiting:
                if len(stack) > self._stack_limit:
                    raise HistoryError("the state's items depend on each other in a cycle")
                stack.extend(waiting)
                continue
            stack.pop()
            piece.done = True
            if not piece.gc:
                self._integrate(piece)

    def _integrate(self, piece: Piece) -> None:
        """Yjs ``Item.integrate`` (yjs 13.6), for a piece whose dependencies are integrated."""
        left = self._by_end[piece.origin] if piece.origin is not None else None
        right = self._by_start[piece.right_origin] if piece.right_origin is not None else None
        for neighbour in (left, right):
            if neighbour is not None and (neighbour.gc or neighbour.parent is None):
                piece.gc = True  # Yjs turns an item whose neighbour was collected into a GC struct
                return
        if left is not None:
            parent, piece.sub = left.parent, left.sub
        elif right is not None:
            parent, piece.sub = right.parent, right.sub
        elif piece.parent_name is not None:
            parent = self.roots.get(piece.parent_name)
            if parent is None:
                parent = self.roots[piece.parent_name] = SharedType()
        else:
            holder = self._by_start[piece.parent_id]  # type: ignore[index]
            if holder.gc or holder.kind != "type":
                piece.gc = True
                return
            if holder.type is None:
                holder.type = SharedType()
            parent = holder.type
        assert parent is not None
        piece.parent = parent
        sub = piece.sub
        if (left is None and (right is None or right.left is not None)) or (
            left is not None and left.right is not right
        ):
            if left is not None:
                o = left.right
            elif sub is not None:
                o = parent.map.get(sub)
                while o is not None and o.left is not None:
                    o = o.left
            else:
                o = parent.start
            conflicting: set[int] = set()
            before_origin: set[int] = set()
            by_end = self._by_end
            while o is not None and o is not right:
                before_origin.add(id(o))
                conflicting.add(id(o))
                if piece.origin == o.origin:
                    if o.client < piece.client:
                        left = o
                        conflicting.clear()
                    elif piece.right_origin == o.right_origin:
                        break
                elif o.origin is not None and id(by_end.get(o.origin)) in before_origin:
                    if id(by_end.get(o.origin)) not in conflicting:
                        left = o
                        conflicting.clear()
                else:
                    break
                o = o.right
        piece.left = left
        if left is not None:
            piece.right = left.right
            left.right = piece
        elif sub is not None:
            r = parent.map.get(sub)
            while r is not None and r.left is not None:
                r = r.left
            piece.right = r
        else:
            piece.right = parent.start
            parent.start = piece
        if piece.right is not None:
            piece.right.left = piece
        elif sub is not None:
            parent.map[sub] = piece
