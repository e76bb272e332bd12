"""Attributed spans: a paragraph's text cut into runs, each written by one log entry."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from crdt.offsets import utf16_length
from crdt.record.history.entries import HistoryError, Origin


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
