"""Anchors: annotations and amendments that point at a span of a paragraph that others keep editing.

An anchor is a **range mark**, the Y.Text formatting attribute ``{"anchor:<id>": True}`` on the characters it
covers. Why formatting rather than offsets or relative positions:

- the mark lives on the characters' own items, so it travels with them through any concurrent insert or
  delete on any replica, and all replicas converge on the same marked characters;
- text typed *inside* the span or *at its end* inherits the mark (Yjs and pycrdt give text inserted without
  explicit attributes the attributes of the character before it), so the span grows with the words people
  add to it; text typed at its start does not;
- deletes shrink the span; once all of its characters are deleted the anchor is detached
  (:func:`resolve_anchor` returns ``None``);
- every Yjs client finds the span in ``text.toDelta()`` without custom resolution code, and pycrdt's
  ``Text.diff()`` is the same delta. (Relative positions need resolving on each replica, and pycrdt's
  ``StickyIndex`` mixes units on non-ASCII text: see ``shared/docs/yjs-python-facts.md``.)

Measured, identical in pycrdt 0.14 ``Text.insert(i, s)`` and Yjs 13 ``text.insert(i, s)`` (no attributes
argument), with the span ``[2, 5)`` of ``"abcdefgh"``:

=============================  ==========================================================================
insert at 2 (the start)        not marked: ``abXY[cde]fgh``
insert at 3 or 4 (inside)      marked: ``ab[cXYde]fgh``
insert at 5 (the end)          marked: ``ab[cdeXY]fgh`` (also pycrdt's ``text += s`` at the end of a text)
insert with attributes given   not marked, wherever it is, even with ``{}``: the mark is split and the span
                               is *fragmented* (``ab[c]XY[de]fgh``); editor bindings that pass attributes
                               do this
delete all of ``cde``, then    not marked (``abZfgh``): a detached anchor is not revived by typing where
insert at 2                    it was
=============================  ==========================================================================

Under concurrency (measured with real Yjs replicas in ``tests/test_anchors.py``):

- an insert made concurrently with :func:`place_anchor` exactly at one of the span's boundaries lands inside
  or outside according to Yjs's order for concurrent items with the same neighbours, the same on every
  replica: with the placer's client id below the inserter's, text typed at the start is taken in and text
  typed at the end is left out; with it above, the reverse;
- if one replica deletes the whole span while another types inside it, the result depends on the deleter:
  Yjs (JS) also deletes the format markers its deletion made useless, so the typed text is not marked and
  the anchor is detached; pycrdt leaves them, so the typed text alone carries the anchor;
- :func:`remove_anchor` (or a JS ``format(i, n, {"anchor:<id>": null})``) concurrent with typing inside the
  span removes the whole mark, the typed text included.

Zero-width anchors (an insertion point, for "insert these words after ..." amendments) cannot be a
formatted range. :func:`place_point` marks the one code point next to the point and records the side in
the attribute's value: ``"after"`` (the point follows the marked character; the default) or ``"before"``
(the point precedes it); :attr:`Span.position` is the point. Either way, text typed exactly at the point
ends up *before* it (``"after"``: the typed text inherits the mark and the point moves past it;
``"before"``: the typed text is not marked and the point stays before the marked character).

Units: public offsets are **UTF-16 code units**, as Yjs and JS count; pycrdt's ``Text`` counts UTF-8
bytes, and conversions go through :mod:`crdt.offsets` (an offset inside a surrogate pair raises). An embed
counts 1 in every unit and shows as U+FFFC in :attr:`Span.text`. Only the values ``True``, ``"after"`` and
``"before"`` mark a character: anything else a client writes under an ``anchor:`` key, or under a key whose
id is not a valid anchor id, is ignored by the resolvers (:func:`remove_anchor` clears any value).

Pure: no I/O. Every function takes an integrated pycrdt ``Text`` (one paragraph's, see
:func:`crdt.procedure.draft.find_text`) and writes, if at all, in one transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pycrdt import Text

from crdt.errors import PlenaryError
from crdt.offsets import OffsetError, Unit, convert_offset

__all__ = [
    "ANCHOR_PREFIX",
    "EMBED",
    "MAX_ANCHOR_ID",
    "AnchorIdError",
    "OffsetError",
    "Point",
    "Span",
    "anchor_key",
    "place_anchor",
    "place_point",
    "remove_anchor",
    "resolve_all",
    "resolve_anchor",
]

ANCHOR_PREFIX = "anchor:"
MAX_ANCHOR_ID = 64
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
#: What an embed (a non-string delta insert) shows as in :attr:`Span.text`: it counts 1 in Yjs and pycrdt.
EMBED = "\ufffc"


class AnchorIdError(PlenaryError, ValueError):
    """An anchor id that is not a short slug."""


class Point(StrEnum):
    """Where a zero-width anchor's point lies relative to the character that carries its mark.

    The value is also the attribute's value in the document, so every replica knows which side it is.
    """

    AFTER = "after"
    """The mark is on the character before the point; the point is the end of the marked text."""
    BEFORE = "before"
    """The mark is on the character after the point; the point is the start of the marked text."""


_MARK_VALUES: dict[str, Point] = {Point.AFTER.value: Point.AFTER, Point.BEFORE.value: Point.BEFORE}


@dataclass(frozen=True, slots=True)
class Span:
    """Where an anchor is now. Offsets are UTF-16 code units into the paragraph's text."""

    start: int
    end: int
    text: str
    """The text from ``start`` to ``end`` (including unmarked gaps when fragmented); embeds show as U+FFFC."""
    fragmented: bool = False
    """The mark is in several pieces: ``start``/``end`` are the hull from the first to the last piece."""
    pieces: tuple[tuple[int, int], ...] = ()
    """The marked ranges, in order, contiguous ones merged: one piece unless fragmented."""
    point: Point | None = None
    """For a zero-width anchor (:func:`place_point`), which side of the marked text the point is on."""

    @property
    def position(self) -> int | None:
        """The insertion point of a zero-width anchor (UTF-16), ``None`` for a range."""
        if self.point is None:
            return None
        return self.end if self.point is Point.AFTER else self.start


def anchor_key(anchor_id: str) -> str:
    """The formatting attribute that marks ``anchor_id``: ``"anchor:" + anchor_id``.

    Ids are short slugs (letters, digits, ``.``, ``_``, ``-``; first a letter or digit; at most 64), so that
    keys stay small in every formatted item and never collide with other formatting attributes.
    """
    if not isinstance(anchor_id, str) or not _ID.fullmatch(anchor_id):
        raise AnchorIdError(
            f"bad anchor id {anchor_id!r}: letters, digits, '.', '_', '-', at most {MAX_ANCHOR_ID}"
        )
    return ANCHOR_PREFIX + anchor_id


# The delta, as (string, attrs) chunks with their lengths.


def _utf16_len(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) // 2


def _chunks(text: Text) -> list[tuple[str, dict[str, Any] | None, bool]]:
    """``text.diff()`` with embeds replaced by U+FFFC and flagged."""
    out = []
    for value, attrs in text.diff():
        if isinstance(value, str):
            out.append((value, attrs, False))
        else:
            out.append((EMBED, attrs, True))
    return out


def _check_offset(offset: object, name: str) -> int:
    if isinstance(offset, bool) or not isinstance(offset, int):
        raise OffsetError(f"{name} offset must be an int, not {type(offset).__name__}")
    return offset


def _to_utf8(chunks: Iterable[tuple[str, Any, bool]], offsets: list[int]) -> list[int]:
    """UTF-8 (pycrdt) offsets for ascending, checked UTF-16 ``offsets``; raises :class:`OffsetError`."""
    out: list[int] = []
    pending = iter(offsets)
    want = next(pending, None)
    pos16 = pos8 = 0
    for s, _attrs, embed in chunks:
        n16 = 1 if embed else _utf16_len(s)
        while want is not None and want <= pos16 + n16:
            local = want - pos16
            if embed or s.isascii():
                out.append(pos8 + local)
            else:
                try:
                    out.append(pos8 + convert_offset(s, local, src=Unit.UTF16, dst=Unit.UTF8))
                except OffsetError as exc:
                    raise OffsetError(
                        f"UTF-16 offset {want} falls inside a surrogate pair", offset=want, unit=Unit.UTF16
                    ) from exc
            want = next(pending, None)
        pos16 += n16
        pos8 += 1 if embed else (len(s) if s.isascii() else len(s.encode("utf-8")))
    while want is not None:  # only an empty text gets here with a valid offset (0)
        if want != pos16:
            raise OffsetError(
                f"UTF-16 offset {want} is outside the text (0..{pos16})", offset=want, unit=Unit.UTF16
            )
        out.append(pos8)
        want = next(pending, None)
    return out


def _neighbour_width(
    chunks: list[tuple[str, dict[str, Any] | None, bool]], offset: int, side: Point
) -> int | None:
    """UTF-16 width of the code point before (``AFTER``) or after (``BEFORE``) a checked ``offset``."""
    pos16 = 0
    for s, _attrs, embed in chunks:
        n16 = 1 if embed else _utf16_len(s)
        inside = pos16 < offset <= pos16 + n16 if side is Point.AFTER else pos16 <= offset < pos16 + n16
        if inside:
            if embed:
                return 1
            cp = convert_offset(s, offset - pos16, src=Unit.UTF16, dst=Unit.CODEPOINT)
            char = s[cp - 1] if side is Point.AFTER else s[cp]
            return 2 if ord(char) > 0xFFFF else 1
        pos16 += n16
    return None


# Resolution.


def _scan(text: Text, only: str | None) -> dict[str, Span]:
    """One pass over ``text.diff()``: the spans of every anchor key (or of the key ``only``)."""
    strings: list[str] = []
    # key -> [first chunk, start, last chunk, end, pieces (start, end), point]
    found: dict[str, list[Any]] = {}
    pos = 0
    i = -1
    for value, attrs in text.diff():
        i += 1
        if value.__class__ is str:
            n = len(value) if value.isascii() else len(value.encode("utf-16-le", "surrogatepass")) >> 1
        else:
            value, n = EMBED, 1
        strings.append(value)
        end = pos + n
        if attrs:
            for key, mark in attrs.items():
                if only is None:
                    if not key.startswith(ANCHOR_PREFIX):
                        continue
                elif key != only:
                    continue
                if mark is True:
                    point = None
                elif mark.__class__ is str and mark in _MARK_VALUES:
                    point = _MARK_VALUES[mark]
                else:
                    continue  # a value that marks nothing
                state = found.get(key)
                if state is None:
                    found[key] = [i, pos, i, end, [(pos, end)], point]
                else:
                    pieces = state[4]
                    if pieces[-1][1] == pos:
                        pieces[-1] = (pieces[-1][0], end)
                    else:
                        pieces.append((pos, end))
                    state[2] = i
                    state[3] = end
        pos = end
    spans = {}
    skip = len(ANCHOR_PREFIX)
    for key, (first, start, last, end, pieces, point) in found.items():
        anchor_id = key[skip:]
        if only is None and not _ID.fullmatch(anchor_id):
            continue  # some client's own "anchor:..." attribute that no anchor of ours can have
        spans[anchor_id] = Span(
            start, end, "".join(strings[first : last + 1]), len(pieces) > 1, tuple(pieces), point
        )
    return spans


def resolve_anchor(text: Text, anchor_id: str) -> Span | None:
    """Where ``anchor_id`` is now in ``text``, or ``None`` if no character carries its mark (never placed,
    removed, or all of its characters deleted)."""
    return _scan(text, anchor_key(anchor_id)).get(anchor_id)


def resolve_all(text: Text) -> dict[str, Span]:
    """Every anchor in ``text`` by id, in one pass over its delta. Detached anchors are absent."""
    return _scan(text, None)


# Placing and removing.


def _marked_hull_utf8(chunks: list[tuple[str, dict[str, Any] | None, bool]], key: str) -> tuple[int, int]:
    """The UTF-8 hull of the chunks carrying ``key`` with any value; ``(0, 0)`` if none."""
    first = last = None
    pos8 = 0
    for s, attrs, embed in chunks:
        n8 = 1 if embed else (len(s) if s.isascii() else len(s.encode("utf-8")))
        if attrs and attrs.get(key) is not None:
            if first is None:
                first = pos8
            last = pos8 + n8
        pos8 += n8
    if first is None or last is None:
        return 0, 0
    return first, last


def _clear(text: Text, chunks: list[tuple[str, dict[str, Any] | None, bool]], key: str) -> bool:
    start8, end8 = _marked_hull_utf8(chunks, key)
    if start8 == end8:
        return False
    text.format(start8, end8, {key: None})
    return True


def place_anchor(text: Text, anchor_id: str, start: int, end: int) -> None:
    """Mark ``[start, end)`` (UTF-16 code units, as JS counts) of ``text`` as anchor ``anchor_id``.

    If the anchor is already in ``text`` it is moved: its old marks are removed in the same transaction.
    Raises :class:`AnchorIdError` for a bad id and :class:`OffsetError` (a ``ValueError``) if an offset is
    outside the text or inside a surrogate pair, or if the span is empty or reversed (use :func:`place_point`
    for an insertion point). Offsets between the code points of a grapheme cluster (inside a flag or a
    ZWJ emoji sequence, before a combining accent) are valid Yjs offsets and accepted.
    """
    key = anchor_key(anchor_id)
    start = _check_offset(start, "start")
    end = _check_offset(end, "end")
    if start < 0:
        raise OffsetError(f"UTF-16 offset {start} is negative", offset=start, unit=Unit.UTF16)
    if start >= end:
        raise OffsetError(
            f"anchor span [{start}, {end}) is empty or reversed; use place_point for an insertion point",
            offset=start,
            unit=Unit.UTF16,
        )
    with text.doc.transaction():
        chunks = _chunks(text)
        start8, end8 = _to_utf8(chunks, [start, end])
        _clear(text, chunks, key)
        text.format(start8, end8, {key: True})


def place_point(text: Text, anchor_id: str, offset: int, point: Point | str | None = None) -> Point:
    """Anchor ``anchor_id`` at the insertion point ``offset`` (UTF-16), a zero-width anchor.

    The mark goes on one code point next to the point: the one before it for :attr:`Point.AFTER`, the one
    after it for :attr:`Point.BEFORE`. ``None`` chooses ``AFTER`` unless ``offset`` is 0. Returns the side
    used; it is also stored in the document (the attribute's value) and comes back as :attr:`Span.point`, and
    :attr:`Span.position` is the point. Raises :class:`OffsetError` if the offset is invalid or there is no
    character on the chosen side (an empty text cannot hold an anchor).
    """
    key = anchor_key(anchor_id)
    offset = _check_offset(offset, "point")
    if offset < 0:
        raise OffsetError(f"UTF-16 offset {offset} is negative", offset=offset, unit=Unit.UTF16)
    side = Point.AFTER if point is None and offset > 0 else Point(point or Point.BEFORE)
    with text.doc.transaction():
        chunks = _chunks(text)
        _to_utf8(chunks, [offset])  # checks the offset itself
        width = _neighbour_width(chunks, offset, side)
        if width is None:
            where = "before" if side is Point.AFTER else "after"
            raise OffsetError(
                f"no character {where} UTF-16 offset {offset} to carry a {side.value!r} point anchor",
                offset=offset,
                unit=Unit.UTF16,
            )
        first, last = (offset - width, offset) if side is Point.AFTER else (offset, offset + width)
        start8, end8 = _to_utf8(chunks, [first, last])
        _clear(text, chunks, key)
        text.format(start8, end8, {key: side.value})
    return side


def remove_anchor(text: Text, anchor_id: str) -> bool:
    """Remove every mark of ``anchor_id`` (formatting it to ``None``); returns whether there was one.

    Clears the attribute whatever its value, including values the resolvers ignore.
    """
    key = anchor_key(anchor_id)
    with text.doc.transaction():
        return _clear(text, _chunks(text), key)
