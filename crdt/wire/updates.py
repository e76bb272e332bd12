"""Decode Yjs v1 updates into plain Python structures, so that incoming updates can be
inspected (clients, clocks, content, nesting depth) before anything applies them.

The v1 format (Yjs ``UpdateEncoderV1``, ``writeStructs``, ``writeDeleteSet``) is::

    update      = varUint(#clients) · client-structs* · delete-set
    client-structs = varUint(#structs) · varUint(client) · varUint(first clock) · struct*
    struct      = u8(info) · body     info & 0x1F: 0 GC, 10 Skip, 1..9 Item content ref
    item body   = [origin ID if info & 0x80] · [right origin ID if info & 0x40] ·
                  [if neither: varUint(1) · varString(root name) | varUint(0) · parent ID,
                   then varString(parent sub) if info & 0x20] · content
    delete-set  = varUint(#clients) · (varUint(client) · varUint(#ranges) · (varUint(clock) · varUint(len))*)*

An ID is ``varUint(client) · varUint(clock)``. Item lengths count UTF-16 code units for strings
and elements for Any/JSON/Deleted content; every other content kind has length 1.
"""

from __future__ import annotations

import json
import re
import sys
from itertools import accumulate
from typing import Final, Literal, NamedTuple

from crdt.errors import DecodeError
from crdt.wire.encoding import Decoder

__all__ = [
    "CONTENT_KINDS",
    "TYPE_NAMES",
    "UNDEFINED",
    "ClientStructs",
    "ContentTooLarge",
    "DocContent",
    "FormatContent",
    "NestingTooDeep",
    "Struct",
    "TooManyStructs",
    "TypeContent",
    "Undefined",
    "Update",
    "decode_update",
]

#: JS numbers are exact up to here; lib0 refuses varints above it, so we do too.
MAX_SAFE_INTEGER: Final = 2**53 - 1

ID = tuple[int, int]
StructKind = Literal["item", "gc", "skip"]
ContentKind = Literal["deleted", "json", "binary", "string", "embed", "format", "type", "any", "doc"]

#: Item content kind by content ref (``info & 0x1F``); 0 (GC) and 10 (Skip) are not item content.
CONTENT_KINDS: Final[tuple[str | None, ...]] = (
    None,
    "deleted",
    "json",
    "binary",
    "string",
    "embed",
    "format",
    "type",
    "any",
    "doc",
    None,
)
#: Shared type by type ref (Yjs ``typeRefs``).
TYPE_NAMES: Final = ("array", "map", "text", "xml_element", "xml_fragment", "xml_hook", "xml_text")
_TYPE_XML_ELEMENT: Final = 3
_TYPE_XML_HOOK: Final = 5


class NestingTooDeep(DecodeError):
    """An Any/JSON value nests deeper than the caller allows (a stack-exhaustion attack on clients)."""


class TooManyStructs(DecodeError):
    """The update declares more structs than ``max_structs`` (checked before decoding them)."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"update carries {count} structs (limit {limit})")
        self.count = count
        self.limit = limit


class ContentTooLarge(DecodeError):
    """A string or binary blob is longer than the caller allows."""


class Undefined:
    """JS ``undefined``, which lib0 Any values and legacy JSON content can carry, distinct from null."""

    __slots__ = ()
    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = Undefined()


class FormatContent(NamedTuple):
    """A Y.Text formatting mark: attribute name and JSON value (None/null ends the attribute)."""

    key: str
    value: object


class TypeContent(NamedTuple):
    """A nested shared type; ``node_name`` is the tag of an XmlElement or the name of an XmlHook."""

    type_name: str
    node_name: str | None


class DocContent(NamedTuple):
    """A subdocument reference: its guid and creation options (a lib0 Any value)."""

    guid: str
    opts: object


class Struct(NamedTuple):
    """One struct of an update. GC and Skip structs leave every item field None.

    ``parent_name`` is set for items whose parent is a root type, ``parent_id`` for items inside a
    nested type; both are None when the parent is implied by the origins. ``content`` is a str
    (string), bytes (binary), tuple of values (any, json), a value (embed), FormatContent,
    TypeContent, DocContent, or None (deleted, or values=False).
    """

    kind: StructKind
    client: int
    clock: int
    length: int
    origin: ID | None = None
    right_origin: ID | None = None
    parent_name: str | None = None
    parent_id: ID | None = None
    parent_sub: str | None = None
    content_kind: ContentKind | None = None
    content: object = None

    @property
    def end(self) -> int:
        """The clock just after this struct."""
        return self.clock + self.length


class ClientStructs(NamedTuple):
    """The consecutive structs one client contributes, from ``clock`` up to (excluding) ``end``."""

    client: int
    clock: int
    end: int
    structs: list[Struct]


class Update(NamedTuple):
    """A decoded v1 update.

    ``nesting_depth`` is the deepest container nesting of any Any/JSON/embed/format/doc-options
    value (a scalar is 0, ``[1]`` is 1, ``{"a": [1]}`` is 2). ``longest_string`` is the largest
    length-prefixed string or blob, in encoded bytes.
    """

    structs: list[ClientStructs]
    delete_set: dict[int, list[tuple[int, int]]]
    nesting_depth: int = 0
    longest_string: int = 0

    def clock_ranges(self) -> dict[int, tuple[int, int]]:
        """client -> (first clock, end clock) of its structs; Skip structs lie inside the range."""
        return {cs.client: (cs.clock, cs.end) for cs in self.structs}

    @property
    def struct_count(self) -> int:
        return sum(len(cs.structs) for cs in self.structs)

    @property
    def client_ids(self) -> tuple[int, ...]:
        """Clients that contribute structs, in wire order (the delete set may name others)."""
        return tuple(cs.client for cs in self.structs)

    @property
    def has_skips(self) -> bool:
        """True if some client's range has a hole (only produced by merging non-contiguous updates)."""
        return any(s.kind == "skip" for cs in self.structs for s in cs.structs)

    def strings(self) -> list[tuple[ID, str]]:
        """(id of first character, text) of every string item, for attribution."""
        return [
            ((s.client, s.clock), s.content)
            for cs in self.structs
            for s in cs.structs
            if isinstance(s.content, str) and s.content_kind == "string"
        ]

    @property
    def is_empty(self) -> bool:
        """No structs and no deletions (what an up-to-date peer answers to sync step 1)."""
        return not self.structs and not self.delete_set


def decode_update(
    data: bytes | bytearray | memoryview,
    *,
    max_depth: int = 64,
    max_string: int | None = None,
    max_structs: int | None = None,
    values: bool = True,
) -> Update:
    """Decode a Yjs v1 update, refusing anything Yjs would not have produced.

    Raises :class:`DecodeError` on malformed input (truncation, bad varints, unknown refs,
    invalid UTF-8 or JSON, zero-length structs, a client listed twice, trailing bytes), with
    :class:`NestingTooDeep` once a value nests deeper than ``max_depth`` and
    :class:`ContentTooLarge` for a string or blob above ``max_string`` bytes. With
    ``values=False`` Any/JSON/embed/format/binary/doc content is validated and measured but
    returned as None (strings are always kept).
    """
    buf = data if type(data) is bytes else bytes(data)
    try:
        return _decode(
            buf,
            max_depth,
            _NO_LIMIT if max_string is None else max_string,
            values,
            _NO_LIMIT if max_structs is None else max_structs,
        )
    except IndexError:
        # Every read indexes ``buf`` directly and lets running off the end raise IndexError,
        # which is cheaper than a bounds check per byte.
        raise DecodeError("unexpected end of update") from None


_new_struct = tuple.__new__
_ALL_BUT_ASTRAL_LEADS = bytes(b for b in range(256) if not 0xF0 <= b <= 0xF4)
_NO_LIMIT = sys.maxsize


# Multi-byte varints of 4 bytes or more are almost always client ids (Yjs' 32-bit ids take 5
# bytes, pycrdt's 53-bit ids 8), repeated in every update a client sends. Decoding them costs
# several big-int operations; a lookup by their exact bytes costs one slice and one dict probe.
# A cached key is a complete varint (terminator included), so a match anywhere decodes the same.
_LONG_VARINTS: dict[bytes, int] = {}
_LONG_VARINTS_MAX = 4096


def _var_uint_tail(buf: bytes, pos: int, first: int) -> tuple[int, int]:
    """Rest of a multi-byte varuint whose first byte (``first``) was already read; ``pos`` is after it.

    Running off the end of ``buf`` raises IndexError, which decode_update reports as truncation.
    """
    b = buf[pos]
    if b < 0x80:
        return (first & 0x7F) | (b << 7), pos + 1
    c = buf[pos + 1]
    if c < 0x80:
        return (first & 0x7F) | ((b & 0x7F) << 7) | (c << 14), pos + 2
    value = _LONG_VARINTS.get(buf[pos - 1 : pos + 4])
    if value is not None:
        return value, pos + 4
    value = _LONG_VARINTS.get(buf[pos - 1 : pos + 7])
    if value is not None:
        return value, pos + 7
    value = (first & 0x7F) | ((b & 0x7F) << 7) | ((c & 0x7F) << 14)
    stop = pos + 2
    shift = 21
    while True:
        b = buf[stop]
        stop += 1
        if shift == 49:
            # The 8th byte may only carry the 4 bits that reach 2^53 - 1 (lib0's limit).
            if b >= 0x80:
                raise DecodeError("varint too long")
            if b >= 0x10:
                raise DecodeError("varint above 2^53 - 1")
            value |= b << 49
            break
        value |= (b & 0x7F) << shift
        if b < 0x80:
            break
        shift += 7
    if stop - pos == 4 or stop - pos == 7:  # the two lengths looked up above
        if len(_LONG_VARINTS) >= _LONG_VARINTS_MAX:
            _LONG_VARINTS.clear()
        _LONG_VARINTS[buf[pos - 1 : stop]] = value
    return value, stop


def _oversize(n: int, max_string: int) -> DecodeError:
    if n > max_string:
        return ContentTooLarge(f"string or binary of {n} bytes exceeds the limit of {max_string}")
    return DecodeError("unexpected end of update (string)")


def _decode(buf: bytes, max_depth: int, max_string: int, values: bool, max_structs: int) -> Update:
    # The hot path (keystroke-sized string items) reads varints inline: a method call per
    # varint would cost more than the rest of the decoding. Rarer content goes through
    # _ValueReader, which shares the position with this loop.
    end = len(buf)
    pos = 0
    longest = 0
    reader: _ValueReader | None = None

    n_clients = buf[pos]
    pos += 1
    if n_clients & 0x80:
        n_clients, pos = _var_uint_tail(buf, pos, n_clients)
    result: list[ClientStructs] = []
    total_structs = 0
    for _ in range(n_clients):
        n_structs = buf[pos]
        pos += 1
        if n_structs & 0x80:
            n_structs, pos = _var_uint_tail(buf, pos, n_structs)
        total_structs += n_structs
        if total_structs > max_structs:
            # Refuse before building a million Python objects out of one message.
            raise TooManyStructs(total_structs, max_structs)
        client = buf[pos]
        pos += 1
        if client & 0x80:
            client, pos = _var_uint_tail(buf, pos, client)
        clock = buf[pos]
        pos += 1
        if clock & 0x80:
            clock, pos = _var_uint_tail(buf, pos, clock)
        first_clock = clock
        structs: list[Struct] = []
        append = structs.append
        for _ in range(n_structs):
            info = buf[pos]
            pos += 1
            ref = info & 0x1F
            if ref == 0 or ref == 10:
                if info != ref:
                    # Yjs ignores the high bits here but yrs reads such a byte as an item.
                    raise DecodeError(f"invalid struct info {info:#x}")
                length = buf[pos]
                pos += 1
                if length & 0x80:
                    length, pos = _var_uint_tail(buf, pos, length)
                if length == 0:
                    raise DecodeError("zero-length struct")
                append(
                    _new_struct(
                        Struct,
                        (
                            "gc" if ref == 0 else "skip",
                            client,
                            clock,
                            length,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                            None,
                        ),
                    )
                )
                clock += length
                continue
            if ref > 10:
                raise DecodeError(f"unknown content ref {ref}")

            origin = right_origin = parent_id = None
            parent_name = parent_sub = None
            if info & 0x80:
                oc = buf[pos]
                pos += 1
                if oc & 0x80:
                    oc, pos = _var_uint_tail(buf, pos, oc)
                ok = buf[pos]
                pos += 1
                if ok & 0x80:
                    ok, pos = _var_uint_tail(buf, pos, ok)
                origin = (oc, ok)
            if info & 0x40:
                oc = buf[pos]
                pos += 1
                if oc & 0x80:
                    oc, pos = _var_uint_tail(buf, pos, oc)
                ok = buf[pos]
                pos += 1
                if ok & 0x80:
                    ok, pos = _var_uint_tail(buf, pos, ok)
                right_origin = (oc, ok)
            if not info & 0xC0:
                # No origins to copy the parent from: it is written out.
                is_root = buf[pos]
                pos += 1
                if is_root & 0x80:
                    is_root, pos = _var_uint_tail(buf, pos, is_root)
                if is_root == 1:
                    n = buf[pos]
                    pos += 1
                    if n & 0x80:
                        n, pos = _var_uint_tail(buf, pos, n)
                    stop = pos + n
                    if n > max_string or stop > end:
                        raise _oversize(n, max_string)
                    if n > longest:
                        longest = n
                    parent_name = _utf8(buf[pos:stop])
                    pos = stop
                else:
                    oc = buf[pos]
                    pos += 1
                    if oc & 0x80:
                        oc, pos = _var_uint_tail(buf, pos, oc)
                    ok = buf[pos]
                    pos += 1
                    if ok & 0x80:
                        ok, pos = _var_uint_tail(buf, pos, ok)
                    parent_id = (oc, ok)
                if info & 0x20:
                    n = buf[pos]
                    pos += 1
                    if n & 0x80:
                        n, pos = _var_uint_tail(buf, pos, n)
                    stop = pos + n
                    if n > max_string or stop > end:
                        raise _oversize(n, max_string)
                    if n > longest:
                        longest = n
                    parent_sub = _utf8(buf[pos:stop])
                    pos = stop

            content: object
            if ref == 4:  # string: the common case
                n = buf[pos]
                pos += 1
                if n & 0x80:
                    n, pos = _var_uint_tail(buf, pos, n)
                stop = pos + n
                if n > max_string or stop > end:
                    raise _oversize(n, max_string)
                if n > longest:
                    longest = n
                raw = buf[pos:stop]
                pos = stop
                if raw.isascii():
                    content = raw.decode("ascii")
                    length = n
                else:
                    content = _utf8(raw)
                    # Yjs counts UTF-16 code units: characters outside the BMP count twice, and in
                    # valid UTF-8 each of them has exactly one lead byte F0..F4.
                    length = len(content) + len(raw.translate(None, _ALL_BUT_ASTRAL_LEADS))
            elif ref == 1:  # deleted: only a length survives
                length = buf[pos]
                pos += 1
                if length & 0x80:
                    length, pos = _var_uint_tail(buf, pos, length)
                content = None
            elif ref == 3:  # binary
                n = buf[pos]
                pos += 1
                if n & 0x80:
                    n, pos = _var_uint_tail(buf, pos, n)
                stop = pos + n
                if n > max_string or stop > end:
                    raise _oversize(n, max_string)
                if n > longest:
                    longest = n
                content = buf[pos:stop] if values else None
                pos = stop
                length = 1
            else:
                if reader is None:
                    reader = _ValueReader(buf, max_depth, max_string, values)
                reader.pos = pos
                content, length = _CONTENT_READERS[ref](reader)
                pos = reader.pos
            if length == 0:
                raise DecodeError("zero-length struct")
            append(
                _new_struct(
                    Struct,
                    (
                        "item",
                        client,
                        clock,
                        length,
                        origin,
                        right_origin,
                        parent_name,
                        parent_id,
                        parent_sub,
                        CONTENT_KINDS[ref],
                        content,
                    ),
                )
            )
            clock += length
        result.append(_new_struct(ClientStructs, (client, first_clock, clock, structs)))
    if len(result) > 1 and len({cs.client for cs in result}) != len(result):
        # Yjs keeps only the last run of a repeated client, yrs may not: refuse the ambiguity.
        raise DecodeError("a client appears twice in the update")

    delete_set: dict[int, list[tuple[int, int]]] = {}
    n_clients = buf[pos]
    pos += 1
    if n_clients & 0x80:
        n_clients, pos = _var_uint_tail(buf, pos, n_clients)
    for _ in range(n_clients):
        client = buf[pos]
        pos += 1
        if client & 0x80:
            client, pos = _var_uint_tail(buf, pos, client)
        n_ranges = buf[pos]
        pos += 1
        if n_ranges & 0x80:
            n_ranges, pos = _var_uint_tail(buf, pos, n_ranges)
        if not n_ranges:
            continue  # Yjs records no entry for an empty list either
        ranges = delete_set.get(client)
        if ranges is None:
            ranges = delete_set[client] = []
        for _ in range(n_ranges):
            clock = buf[pos]
            pos += 1
            if clock & 0x80:
                clock, pos = _var_uint_tail(buf, pos, clock)
            length = buf[pos]
            pos += 1
            if length & 0x80:
                length, pos = _var_uint_tail(buf, pos, length)
            ranges.append((clock, length))
    if pos != end:
        raise DecodeError(f"{end - pos} trailing bytes after the delete set")

    depth = 0
    if reader is not None:
        depth = reader.depth
        longest = max(longest, reader.longest)
    return _new_struct(Update, (result, delete_set, depth, longest))


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("string is not valid UTF-8") from None


# A JSON string literal, or an unterminated one running to the end of the text. It matches at
# every quote it starts from, so the regex engine never rescans a string: linear time even on
# hostile input such as '"\\' * 30000 (a pattern that can fail there would be quadratic).
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\[\s\S][^"\\]*)*(?:"|\\?\Z)')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _reject_constant(name: str) -> object:
    # Python accepts NaN/Infinity, JSON.parse does not: such content would break JS clients.
    raise DecodeError(f"invalid JSON constant {name}")


class _ValueReader(Decoder):
    """A :class:`Decoder` that also enforces the caller's depth and size limits and
    remembers the deepest nesting and the longest string it has read."""

    __slots__ = ("build", "depth", "longest", "max_depth", "max_string")

    def __init__(self, buf: bytes, max_depth: int, max_string: int, build: bool) -> None:
        super().__init__(buf)
        self.max_depth = max_depth
        self.max_string = max_string
        self.build = build
        self.depth = 0
        self.longest = 0

    def read_count(self) -> int:
        value = self.read_var_uint()
        if value > MAX_SAFE_INTEGER:
            raise DecodeError("varint above 2^53 - 1")
        return value

    def read_blob(self) -> bytes:
        n = self.read_count()
        if n > self.max_string:
            raise ContentTooLarge(f"string or binary of {n} bytes exceeds the limit of {self.max_string}")
        if n > self.longest:
            self.longest = n
        return self.read_bytes(n)

    def read_text(self) -> str:
        return _utf8(self.read_blob())

    def read_json(self) -> object:
        """A JSON text as Yjs' ``readJSON`` parses it."""
        return self.parse_json(self.read_text())

    def parse_json(self, text: str) -> object:
        """Parse JSON like ``JSON.parse``, measuring its nesting before Python's recursive parser sees it."""
        if "[" in text or "{" in text:
            brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
            if brackets:
                depth = max(accumulate(map(_BRACKET_STEP.__getitem__, brackets)))
                if depth > self.max_depth:
                    raise NestingTooDeep(f"JSON value nested {depth} deep (limit {self.max_depth})")
                if depth > self.depth:
                    self.depth = depth
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError as exc:
            raise DecodeError(f"invalid JSON content: {exc}") from None
        except RecursionError:
            raise NestingTooDeep("JSON value nested too deep") from None

    def read_any(self) -> object:
        """One lib0 Any value, decoded with an explicit stack so hostile nesting costs no recursion."""
        build = self.build
        max_depth = self.max_depth
        # Each frame is [container, elements still to read, is_object].
        stack: list[list] = []
        root: object = None
        while True:
            frame = stack[-1] if stack else None
            key = self.read_text() if frame is not None and frame[2] else None
            tag = self.read_u8()
            child = None
            value: object
            if tag == 119:
                value = self.read_text()
            elif tag == 125:
                value = self.read_var_int()
                if abs(value) > MAX_SAFE_INTEGER:
                    raise DecodeError("varint above 2^53 - 1")
            elif tag == 118 or tag == 117:
                n = self.read_count()
                depth = len(stack) + 1
                if depth > max_depth:
                    raise NestingTooDeep(f"Any value nested deeper than {max_depth}")
                if depth > self.depth:
                    self.depth = depth
                value = ({} if tag == 118 else []) if build else None
                if n:
                    child = [value, n, tag == 118]
            elif tag == 126:
                value = None
            elif tag == 120:
                value = True
            elif tag == 121:
                value = False
            elif tag == 127:
                value = UNDEFINED
            elif tag == 123:
                value = self.read_f64()
            elif tag == 124:
                value = self.read_f32()
            elif tag == 122:
                value = self.read_i64()
            elif tag == 116:
                value = self.read_blob()
            else:
                raise DecodeError(f"unknown Any type {tag}")

            if frame is None:
                root = value
            else:
                if build:
                    if key is None:
                        frame[0].append(value)
                    else:
                        frame[0][key] = value
                frame[1] -= 1
            if child is not None:
                stack.append(child)
                continue
            while stack and not stack[-1][1]:
                stack.pop()
            if not stack:
                return root if build else None


def _read_json_content(r: _ValueReader) -> tuple[object, int]:
    n = r.read_count()
    out = []
    for _ in range(n):
        # Legacy Yjs wrote undefined as the bare word, which JSON.parse cannot read.
        text = r.read_text()
        out.append(UNDEFINED if text == "undefined" else r.parse_json(text))
    return (tuple(out) if r.build else None), n


def _read_embed(r: _ValueReader) -> tuple[object, int]:
    value = r.read_json()
    return (value if r.build else None), 1


def _read_format(r: _ValueReader) -> tuple[object, int]:
    key = r.read_text()
    value = r.read_json()
    return (FormatContent(key, value) if r.build else None), 1


def _read_type(r: _ValueReader) -> tuple[object, int]:
    ref = r.read_count()
    if ref >= len(TYPE_NAMES):
        raise DecodeError(f"unknown type ref {ref}")
    name = r.read_text() if ref in (_TYPE_XML_ELEMENT, _TYPE_XML_HOOK) else None
    return TypeContent(TYPE_NAMES[ref], name), 1


def _read_any_content(r: _ValueReader) -> tuple[object, int]:
    n = r.read_count()
    read_any = r.read_any
    if r.build:
        return tuple([read_any() for _ in range(n)]), n
    for _ in range(n):
        read_any()
    return None, n


def _read_doc(r: _ValueReader) -> tuple[object, int]:
    guid = r.read_text()
    opts = r.read_any()
    return (DocContent(guid, opts) if r.build else None), 1


def _unexpected(r: _ValueReader) -> tuple[object, int]:
    raise AssertionError("handled inline")  # pragma: no cover


_CONTENT_READERS = (
    _unexpected,
    _unexpected,
    _read_json_content,
    _unexpected,
    _unexpected,
    _read_embed,
    _read_format,
    _read_type,
    _read_any_content,
    _read_doc,
)
