"""Conversions between the three units text offsets are counted in: UTF-16 code units (Yjs, JS clients and
Plenary's public APIs), Python code points (``str`` indexing) and UTF-8 bytes (pycrdt's ``Text``). An offset
that is not a character boundary raises :class:`OffsetError`; nothing is ever rounded.
"""

from __future__ import annotations

import re
from enum import StrEnum

from crdt.errors import PlenaryError

__all__ = [
    "OffsetError",
    "Unit",
    "codepoint_span_to_utf8",
    "codepoint_span_to_utf16",
    "codepoint_to_utf8",
    "codepoint_to_utf16",
    "convert_offset",
    "convert_span",
    "utf8_length",
    "utf8_span_to_codepoint",
    "utf8_span_to_utf16",
    "utf8_to_codepoint",
    "utf8_to_utf16",
    "utf16_length",
    "utf16_span_to_codepoint",
    "utf16_span_to_utf8",
    "utf16_to_codepoint",
    "utf16_to_utf8",
]


class Unit(StrEnum):
    """What an offset counts."""

    UTF16 = "utf16"
    """UTF-16 code units: what Yjs and JS count, and what Plenary's public APIs speak."""
    CODEPOINT = "codepoint"
    """Unicode code points: Python ``str`` indices."""
    UTF8 = "utf8"
    """UTF-8 bytes: what pycrdt's ``Text`` counts."""


_UNIT_NAMES = {Unit.UTF16: "UTF-16", Unit.CODEPOINT: "code point", Unit.UTF8: "UTF-8"}


class OffsetError(PlenaryError, ValueError):
    """An offset that does not denote a character boundary of the text, or text that cannot be encoded."""

    def __init__(self, reason: str, *, offset: int | None = None, unit: Unit | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset
        self.unit = unit


# A lone surrogate code point (from "\ud83d" escapes in JSON, say) has no UTF-8 or UTF-16 encoding and
# can never be in a Yjs document, so any offset into such text is meaningless.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_text(text: str) -> None:
    match = _SURROGATE.search(text)
    if match is not None:
        raise OffsetError(
            f"text contains a lone surrogate U+{ord(match.group()):04X} at code point {match.start()}"
        )


def _out_of_range(offset: int, length: int, unit: Unit) -> OffsetError:
    return OffsetError(
        f"{_UNIT_NAMES[unit]} offset {offset} is outside the text (0..{length})", offset=offset, unit=unit
    )


def _to_codepoint(text: str, offset: int, unit: Unit) -> int:
    """The code-point offset of a boundary given in ``unit``; raises unless it is a boundary."""
    ascii_only = text.isascii()  # O(1) in CPython: the string records whether it is ASCII
    if ascii_only or unit is Unit.CODEPOINT:
        if not 0 <= offset <= len(text):
            raise _out_of_range(offset, len(text), unit)
        if not ascii_only:
            _check_text(text)
        return offset
    _check_text(text)
    if unit is Unit.UTF16:
        data = text.encode("utf-16-le")
        length = len(data) // 2
        if not 0 <= offset <= length:
            raise _out_of_range(offset, length, unit)
        cut = 2 * offset
        # Little-endian: the second byte of a code unit is its high byte; DC..DF marks a low surrogate,
        # the second half of a pair.
        if cut < len(data) and 0xDC <= data[cut + 1] <= 0xDF:
            raise OffsetError(
                f"UTF-16 offset {offset} falls inside a surrogate pair", offset=offset, unit=unit
            )
        return len(data[:cut].decode("utf-16-le"))
    data = text.encode("utf-8")
    length = len(data)
    if not 0 <= offset <= length:
        raise _out_of_range(offset, length, unit)
    # 10xxxxxx is a continuation byte: the offset would split a multi-byte sequence.
    if offset < length and data[offset] & 0xC0 == 0x80:
        raise OffsetError(
            f"UTF-8 offset {offset} falls inside a multi-byte character", offset=offset, unit=unit
        )
    return len(data[:offset].decode("utf-8"))


def _from_codepoint(text: str, offset: int, unit: Unit) -> int:
    """The offset in ``unit`` of a code-point boundary already checked by :func:`_to_codepoint`."""
    if unit is Unit.CODEPOINT or text.isascii():
        return offset
    if unit is Unit.UTF16:
        return len(text[:offset].encode("utf-16-le")) // 2
    return len(text[:offset].encode("utf-8"))


def convert_offset(text: str, offset: int, *, src: Unit, dst: Unit) -> int:
    """Convert a boundary offset of ``text`` from unit ``src`` to unit ``dst``.

    An offset is a boundary *between* characters, from ``0`` to the length of the text inclusive. Raises
    :class:`OffsetError` if ``offset`` is negative, beyond the end of ``text``, inside a surrogate pair
    (UTF-16) or inside a multi-byte sequence (UTF-8), also when ``src == dst`` (the call then only
    validates), and if ``text`` contains a lone surrogate. Never rounding matters: pycrdt accepts an offset
    inside a character and writes an update that Yjs clients cannot integrate.

    Grapheme clusters are *not* protected: an offset between the two regional indicators of 🇫🇷, inside a
    ZWJ emoji sequence or between ``e`` and a combining accent is a valid Yjs offset and is converted like
    any other; whether an edit may split a user-perceived character is the caller's decision.

    O(len(text)), in C (``str.encode``/``bytes.decode``); ASCII text, where all three units coincide, is
    answered without encoding.
    """
    return _from_codepoint(text, _to_codepoint(text, offset, src), dst)


def convert_span(text: str, start: int, end: int, *, src: Unit, dst: Unit) -> tuple[int, int]:
    """Convert the half-open span ``[start, end)`` of ``text`` from ``src`` to ``dst``.

    Spans are ``(start, end)`` pairs like Python slices, pycrdt's ``del text[start:end]`` and
    ``Text.format(start, stop, attrs)``; a Yjs ``(index, length)`` pair is ``(index, index + length)``.

    Raises :class:`OffsetError` if either end is not a valid offset or if ``start > end``.
    """
    if start > end:
        raise OffsetError(f"span start {start} is after its end {end}", offset=start, unit=src)
    first = _to_codepoint(text, start, src)
    last = _to_codepoint(text, end, src)
    return _from_codepoint(text, first, dst), _from_codepoint(text, last, dst)


def utf16_length(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, as JS's ``string.length`` and Yjs's ``Y.Text.length``."""
    if text.isascii():
        return len(text)
    _check_text(text)
    return len(text.encode("utf-16-le")) // 2


def utf8_length(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes, as pycrdt's ``len(Text)``."""
    if text.isascii():
        return len(text)
    _check_text(text)
    return len(text.encode("utf-8"))


def utf16_to_utf8(text: str, offset: int) -> int:
    return convert_offset(text, offset, src=Unit.UTF16, dst=Unit.UTF8)


def utf8_to_utf16(text: str, offset: int) -> int:
    return convert_offset(text, offset, src=Unit.UTF8, dst=Unit.UTF16)


def utf16_to_codepoint(text: str, offset: int) -> int:
    return convert_offset(text, offset, src=Unit.UTF16, dst=Unit.CODEPOINT)


def codepoint_to_utf16(text: str, offset: int) -> int:
    return convert_offset(text, offset, src=Unit.CODEPOINT, dst=Unit.UTF16)


def utf8_to_codepoint(text: str, offset: int) -> int:
    return convert_offset(text, offset, src=Unit.UTF8, dst=Unit.CODEPOINT)


def codepoint_to_utf8(text: str, offset: int) -> int:
    return convert_offset(text, offset, src=Unit.CODEPOINT, dst=Unit.UTF8)


def utf16_span_to_utf8(text: str, start: int, end: int) -> tuple[int, int]:
    return convert_span(text, start, end, src=Unit.UTF16, dst=Unit.UTF8)


def utf8_span_to_utf16(text: str, start: int, end: int) -> tuple[int, int]:
    return convert_span(text, start, end, src=Unit.UTF8, dst=Unit.UTF16)


def utf16_span_to_codepoint(text: str, start: int, end: int) -> tuple[int, int]:
    return convert_span(text, start, end, src=Unit.UTF16, dst=Unit.CODEPOINT)


def codepoint_span_to_utf16(text: str, start: int, end: int) -> tuple[int, int]:
    return convert_span(text, start, end, src=Unit.CODEPOINT, dst=Unit.UTF16)


def utf8_span_to_codepoint(text: str, start: int, end: int) -> tuple[int, int]:
    return convert_span(text, start, end, src=Unit.UTF8, dst=Unit.CODEPOINT)


def codepoint_span_to_utf8(text: str, start: int, end: int) -> tuple[int, int]:
    return convert_span(text, start, end, src=Unit.CODEPOINT, dst=Unit.UTF8)
