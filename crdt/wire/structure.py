"""Where each item of a document lives: an index from Yjs item ids to their parent type, so that an
incoming update can be located (which shared type does each struct write into, which items does each
deletion hit) before anything applies it.

A Yjs item names its parent explicitly only when it has no neighbours (a root type's name, or the id of
the item that holds a nested type, plus the map key); otherwise it inherits parent and key from its left
(or right) origin. :class:`ItemIndex` follows that rule over the document's items, kept as runs of
consecutive clocks of one client with one parent, which is what typing produces: one run per burst, not
one entry per character. Pure: it is fed the updates a document integrated, in order.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from crdt.wire.updates import ID, Update, decode_update

__all__ = ["ID", "ItemIndex", "Parent", "Placement", "Staged"]

#: A root type's name, or the id of the item holding a nested type; None when unknown (garbage
#: collected items, whose parent the document no longer records).
Parent = str | ID | None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an item sits: in ``parent``, under map key ``key`` (None in a sequence)."""

    parent: Parent
    key: str | None


_UNKNOWN = Placement(None, None)


@dataclass(slots=True)
class _Runs:
    """One client's items: run starts (sorted) and, for each run, its end and placement."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    places: list[Placement] = field(default_factory=list)

    def find(self, clock: int) -> int:
        """The index of the run holding ``clock``, or -1."""
        i = bisect_right(self.starts, clock) - 1
        if i >= 0 and clock < self.ends[i]:
            return i
        return -1

    @property
    def end(self) -> int:
        return self.ends[-1] if self.ends else 0

    def append(self, start: int, end: int, place: Placement) -> None:
        if self.ends and self.ends[-1] == start and self.places[-1] == place:
            self.ends[-1] = end  # the same burst of typing goes on
            return
        self.starts.append(start)
        self.ends.append(end)
        self.places.append(place)


@dataclass(frozen=True, slots=True)
class Staged:
    """An update located against the index, not yet integrated: its new items, and string values written
    under the keys the index keeps (``(map item id, key) → value``)."""

    runs: tuple[tuple[int, int, int, Placement], ...]
    values: Mapping[tuple[ID, str], str]
    delete_set: Mapping[int, list[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class _Item:
    client: int
    start: int
    end: int
    neighbours: tuple[ID | None, ID | None]
    parent_name: str | None
    parent_id: ID | None
    key: str | None

    def explicit(self) -> Placement | None:
        if self.parent_name is not None:
            return Placement(self.parent_name, self.key)
        if self.parent_id is not None:
            return Placement(self.parent_id, self.key)
        return None


def _last_string(content: object) -> str | None:
    if isinstance(content, tuple) and content and isinstance(content[-1], str):
        return content[-1]
    return None


class ItemIndex:
    """Item id → placement for every item of one document, and which items are deleted.

    ``keys``: map keys whose string values are worth keeping (a paragraph map's ``id``), recorded the
    first time each map gets one.
    """

    __slots__ = ("_deleted", "_runs", "keys", "values")

    def __init__(self, keys: Iterable[str] = ()) -> None:
        self._runs: dict[int, _Runs] = {}
        #: client → sorted, merged [start, end) ranges of deleted clocks.
        self._deleted: dict[int, list[list[int]]] = {}
        self.keys = frozenset(keys)
        self.values: dict[tuple[ID, str], str] = {}

    @classmethod
    def of_document(cls, state: bytes, keys: Iterable[str] = ()) -> ItemIndex:
        """The index of a document, from its full state (``doc.get_update()``)."""
        index = cls(keys)
        index.add(state)
        return index

    # Reading.

    def placement(self, item: ID) -> Placement:
        runs = self._runs.get(item[0])
        if runs is None:
            return _UNKNOWN
        i = runs.find(item[1])
        return runs.places[i] if i >= 0 else _UNKNOWN

    def is_deleted(self, item: ID) -> bool:
        ranges = self._deleted.get(item[0])
        if not ranges:
            return False
        i = bisect_right(ranges, [item[1], float("inf")]) - 1
        return i >= 0 and ranges[i][0] <= item[1] < ranges[i][1]

    def end(self, client: int) -> int:
        runs = self._runs.get(client)
        return runs.end if runs is not None else 0

    def runs_in(self, client: int, start: int, end: int) -> Iterator[tuple[int, int, Placement]]:
        """The known runs overlapping [start, end) of ``client``, clipped to it."""
        runs = self._runs.get(client)
        if runs is None:
            return
        i = max(runs.find(start), bisect_right(runs.starts, start) - 1, 0)
        while i < len(runs.starts) and runs.starts[i] < end:
            lo, hi = max(start, runs.starts[i]), min(end, runs.ends[i])
            if lo < hi:
                yield lo, hi, runs.places[i]
            i += 1

    def newly_deleted(self, delete_set: Mapping[int, list[tuple[int, int]]]) -> list[tuple[int, int, int]]:
        """``(client, start, end)`` of what ``delete_set`` deletes that is not deleted yet (a client's
        sync step 2 carries its whole delete set; only the new part changes anything)."""
        out = []
        for client, ranges in delete_set.items():
            known = self._deleted.get(client, [])
            for clock, length in ranges:
                start, end = clock, clock + length
                i = max(bisect_right(known, [start, float("inf")]) - 1, 0)
                while start < end and i < len(known):
                    k_start, k_end = known[i]
                    if k_end <= start:
                        i += 1
                        continue
                    if k_start >= end:
                        break
                    if k_start > start:
                        out.append((client, start, k_start))
                    start = max(start, k_end)
                    i += 1
                if start < end:
                    out.append((client, start, end))
        return out

    # Locating an update.

    def stage(self, update: Update, raw: bytes | None = None) -> Staged:
        """Locate ``update``'s new items without changing the index.

        ``raw``: the update's bytes, decoded again with values when ``update`` was decoded without them
        and writes a kept key (rare: a new paragraph).
        """
        local: dict[int, list[tuple[int, int, Placement]]] = {}
        values: dict[tuple[ID, str], str] = {}
        todo: list[_Item] = []
        need_values = False
        for group in update.structs:
            known = self.end(group.client)
            for struct in group.structs:
                if struct.end <= known:
                    continue  # integrated already
                start = max(struct.clock, known)
                if struct.kind != "item":
                    local.setdefault(struct.client, []).append((start, struct.end, _UNKNOWN))
                    continue
                todo.append(
                    _Item(
                        struct.client,
                        start,
                        struct.end,
                        (struct.origin, struct.right_origin),
                        struct.parent_name,
                        struct.parent_id,
                        struct.parent_sub,
                    )
                )
                if struct.parent_sub in self.keys and struct.parent_id is not None:
                    value = _last_string(struct.content)
                    if value is not None:
                        values[(struct.parent_id, struct.parent_sub)] = value
                    elif struct.content is None and struct.content_kind == "any":
                        need_values = True
        if need_values and raw is not None:
            for group in decode_update(raw).structs:
                for struct in group.structs:
                    value = _last_string(struct.content)
                    if struct.parent_sub in self.keys and struct.parent_id is not None and value is not None:
                        values[(struct.parent_id, struct.parent_sub)] = value

        def lookup(item: ID) -> Placement | None:
            """Where ``item`` is, or None while it is an item of this update not located yet."""
            for start, end, place in local.get(item[0], ()):
                if start <= item[1] < end:
                    return place
            if item[1] < self.end(item[0]):
                return self.placement(item)
            return None

        # Items may hang on items of a client listed later in the update: resolve until done.
        while todo:
            later = []
            for item in todo:
                place = item.explicit()
                if place is None:
                    found = [lookup(n) for n in item.neighbours if n is not None]
                    place = next((p for p in found if p is not None and p.parent is not None), None)
                    if place is None and None in found:
                        later.append(item)
                        continue
                local.setdefault(item.client, []).append((item.start, item.end, place or _UNKNOWN))
            if len(later) == len(todo):
                # Hanging on nothing anyone has (inspection refuses that): unknown.
                for item in later:
                    local.setdefault(item.client, []).append((item.start, item.end, _UNKNOWN))
                break
            todo = later
        runs = tuple(
            (client, start, end, place)
            for client, items in local.items()
            for start, end, place in sorted(items, key=lambda run: run[0])
        )
        return Staged(runs, values, update.delete_set)

    def staged_placement(self, staged: Staged, item: ID) -> Placement:
        """Where ``item`` sits, looking at ``staged`` items first."""
        for client, start, end, place in staged.runs:
            if client == item[0] and start <= item[1] < end:
                return place
        return self.placement(item)

    # Integrating.

    def commit(self, staged: Staged) -> None:
        for client, start, end, place in staged.runs:
            runs = self._runs.get(client)
            if runs is None:
                runs = self._runs[client] = _Runs()
            if start < runs.end:
                continue  # applied twice (cannot happen through stage(); cheap to guard)
            runs.append(start, end, place)
        for key, value in staged.values.items():
            self.values.setdefault(key, value)
        for client, ranges in staged.delete_set.items():
            for clock, length in ranges:
                self._mark_deleted(client, clock, clock + length)

    def add(self, update: bytes) -> None:
        """Integrate an update the document applied (trusted: our own log, a server edit)."""
        self.commit(self.stage(decode_update(update, values=False), update))

    def _mark_deleted(self, client: int, start: int, end: int) -> None:
        ranges = self._deleted.setdefault(client, [])
        i = bisect_right(ranges, [start, float("inf")])
        # Merge with the range before when they touch or overlap.
        if i > 0 and ranges[i - 1][1] >= start:
            i -= 1
            start = ranges[i][0]
            end = max(end, ranges[i][1])
            del ranges[i]
        while i < len(ranges) and ranges[i][0] <= end:
            end = max(end, ranges[i][1])
            del ranges[i]
        ranges.insert(i, [start, end])
