"""The v1 update decoder against updates made by real Yjs (fixtures from
tests/js/make_update_fixtures.mjs), against pycrdt, and against hostile bytes."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, get_state

from crdt.errors import DecodeError
from crdt.wire.encoding import Decoder, encode_var_string, encode_var_uint
from crdt.wire.updates import (
    UNDEFINED,
    ContentTooLarge,
    DocContent,
    FormatContent,
    NestingTooDeep,
    TypeContent,
    Update,
    decode_update,
)

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "yjs_updates.json").read_text("utf-8"))["cases"]
FIXTURE_BYTES = {case["name"]: bytes.fromhex(case["update"]) for case in FIXTURES}


# --- helpers -----------------------------------------------------------------------------


def tagged(value: Any) -> Any:
    """Python content in the fixture's JSON form (bytes/undefined tagged, tuples as lists)."""
    if value is UNDEFINED:
        return {"$undefined": True}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, FormatContent | DocContent | TypeContent):
        return [tagged(v) for v in value]
    if isinstance(value, list | tuple):
        return [tagged(v) for v in value]
    if isinstance(value, dict):
        return {k: tagged(v) for k, v in value.items()}
    return value


def untag_bigints(value: Any) -> Any:
    """BigInt decodes to a plain int in Python."""
    if isinstance(value, dict):
        if set(value) == {"$bigint"}:
            return int(value["$bigint"])
        return {k: untag_bigints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untag_bigints(v) for v in value]
    return value


def decode_state_vector(sv: bytes) -> dict[int, int]:
    d = Decoder(sv)
    out = {}
    for _ in range(d.read_var_uint()):
        client = d.read_var_uint()
        out[client] = d.read_var_uint()
    assert d.at_end()
    return out


def update_with(content_ref: int, content: bytes, *, info_extra: int = 0, client: int = 1) -> bytes:
    """One item at clock 0 in root type "r", followed by an empty delete set."""
    return (
        b"\x01\x01"
        + encode_var_uint(client)
        + b"\x00"
        + bytes([content_ref | info_extra])
        + b"\x01"
        + encode_var_string("r")
        + content
        + b"\x00"
    )


def any_content(*values: bytes) -> bytes:
    return encode_var_uint(len(values)) + b"".join(values)


def nested_arrays(depth: int) -> bytes:
    """A lib0 Any value: ``depth`` arrays of one element each around a null."""
    return b"\x75\x01" * depth + b"\x7e"


# --- against real Yjs ----------------------------------------------------------------------


@pytest.mark.parametrize("case", FIXTURES, ids=[c["name"] for c in FIXTURES])
def test_fixture_matches_yjs_decoder(case: dict[str, Any]) -> None:
    expected = case["expected"]
    update = decode_update(bytes.fromhex(case["update"]))

    assert [cs.client for cs in update.structs] == [c["client"] for c in expected["clients"]]
    for cs, exp in zip(update.structs, expected["clients"], strict=True):
        assert (cs.clock, cs.end) == (exp["clock"], exp["end"])
        assert len(cs.structs) == len(exp["structs"])
        for struct, exp_struct in zip(cs.structs, exp["structs"], strict=True):
            assert struct.client == cs.client
            got = {"kind": struct.kind, "clock": struct.clock, "length": struct.length}
            if struct.kind == "item":
                got |= {
                    "origin": list(struct.origin) if struct.origin else None,
                    "right_origin": list(struct.right_origin) if struct.right_origin else None,
                    "parent_name": struct.parent_name,
                    "parent_id": list(struct.parent_id) if struct.parent_id else None,
                    "parent_sub": struct.parent_sub,
                    "content_kind": struct.content_kind,
                    "content": tagged(struct.content),
                }
            assert got == untag_bigints(exp_struct)

    assert {str(c): [list(r) for r in rs] for c, rs in update.delete_set.items()} == expected["delete_set"]
    assert update.nesting_depth == expected["nesting_depth"]
    assert update.clock_ranges() == {c["client"]: (c["clock"], c["end"]) for c in expected["clients"]}
    assert update.struct_count == sum(len(c["structs"]) for c in expected["clients"])
    assert update.client_ids == tuple(c["client"] for c in expected["clients"])


def test_fixtures_cover_every_struct_and_content_kind() -> None:
    kinds, content_kinds, type_names = set(), set(), set()
    for data in FIXTURE_BYTES.values():
        for cs in decode_update(data).structs:
            for s in cs.structs:
                kinds.add(s.kind)
                content_kinds.add(s.content_kind)
                if isinstance(s.content, TypeContent):
                    type_names.add(s.content.type_name)
    assert kinds == {"item", "gc", "skip"}
    assert content_kinds - {None} == {
        "deleted",
        "json",
        "binary",
        "string",
        "embed",
        "format",
        "type",
        "any",
        "doc",
    }
    assert type_names == {"array", "map", "text", "xml_element", "xml_fragment", "xml_hook", "xml_text"}


def test_string_lengths_count_utf16_code_units() -> None:
    update = decode_update(FIXTURE_BYTES["text_unicode"])
    for _, text in update.strings():
        assert text
    by_text = {s.content: s.length for cs in update.structs for s in cs.structs}
    assert by_text["Grüße, "] == 7
    assert by_text["😀👍🏽 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 "] == len("😀👍🏽 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ".encode("utf-16-le")) // 2 == 22


def test_keystroke_update_shape() -> None:
    update = decode_update(FIXTURE_BYTES["keystroke_6"])  # the emoji
    (cs,) = update.structs
    (item,) = cs.structs
    assert (item.content, item.length, item.origin) == ("😀", 2, (4294967295, 5))
    assert update.clock_ranges() == {4294967295: (6, 8)}
    assert update.strings() == [((4294967295, 6), "😀")]


def test_skip_and_delete_only_updates() -> None:
    skip = decode_update(FIXTURE_BYTES["skip"])
    assert skip.has_skips
    assert [s.kind for s in skip.structs[0].structs] == ["item", "skip", "item"]
    delete_only = decode_update(FIXTURE_BYTES["delete_only"])
    assert delete_only.structs == [] and delete_only.delete_set == {7: [(0, 2)]}
    assert not delete_only.is_empty and decode_update(b"\x00\x00").is_empty


def test_values_false_keeps_strings_and_structure() -> None:
    for name, data in FIXTURE_BYTES.items():
        full, light = decode_update(data), decode_update(data, values=False)
        assert full.clock_ranges() == light.clock_ranges(), name
        assert full.strings() == light.strings(), name
        assert (full.nesting_depth, full.longest_string) == (light.nesting_depth, light.longest_string)
        for a, b in zip(
            (s for cs in full.structs for s in cs.structs),
            (s for cs in light.structs for s in cs.structs),
            strict=True,
        ):
            assert a[:10] == b[:10]
            if a.content_kind in {"any", "json", "embed", "format", "binary", "doc"}:
                assert b.content is None


def test_accepts_bytearray_and_memoryview() -> None:
    data = FIXTURE_BYTES["text_unicode"]
    assert decode_update(bytearray(data)) == decode_update(memoryview(data)) == decode_update(data)


# --- against pycrdt ------------------------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**31), 2**31)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
embeds = st.dictionaries(st.text(max_size=3), json_values, max_size=2)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
texts |= st.sampled_from(["😀", "é", "👍🏽", "漢字", "a😀b", "𝔘"])
ops = st.lists(
    st.one_of(
        st.tuples(st.just("insert"), st.integers(0, 3), st.floats(0, 1), texts),
        st.tuples(st.just("insert_bold"), st.integers(0, 3), st.floats(0, 1), texts),
        st.tuples(st.just("delete"), st.integers(0, 3), st.floats(0, 1), st.floats(0, 1)),
        st.tuples(st.just("format"), st.integers(0, 3), st.floats(0, 1), st.floats(0, 1)),
        # Embeds are objects: a string embed would be indistinguishable from text in Text.diff().
        st.tuples(st.just("embed"), st.integers(0, 3), st.floats(0, 1), embeds),
        st.tuples(st.just("append"), st.integers(0, 3), json_values),
        st.tuples(st.just("append_map"), st.integers(0, 3), json_values),
        st.tuples(st.just("set"), st.integers(0, 3), st.text(max_size=3), json_values),
        st.tuples(st.just("sync"), st.integers(0, 3), st.integers(0, 3)),
    ),
    min_size=1,
    max_size=25,
)


def byte_offset(text: Text, fraction: float) -> int:
    """A UTF-8 byte offset (pycrdt's unit; an embed counts 1) on a character boundary.

    An offset inside a multi-byte character makes pycrdt emit a corrupt update (an empty string
    item), which the decoder rightly refuses, so the tests must not produce one.
    """
    boundaries = [0]
    for insert, _ in text.diff():
        for unit in insert if isinstance(insert, str) else [None]:
            boundaries.append(boundaries[-1] + (len(unit.encode("utf-8")) if unit else 1))
    return boundaries[int(fraction * (len(boundaries) - 1))]


def plain(value: Any) -> Any:
    """Decoded content compared with Python input: tuples as lists, all numbers as float."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_agrees_with_pycrdt_on_random_edits(edits: list[tuple]) -> None:
    docs = [Doc() for _ in range(4)]
    for doc in docs:
        doc.get("t", type=Text)
        doc.get("a", type=Array)
        doc.get("m", type=Map)
    captured: list[list[bytes]] = [[] for _ in docs]
    subs = [doc.observe(lambda e, i=i: captured[i].append(e.update)) for i, doc in enumerate(docs)]

    for op in edits:
        doc_index = op[1]
        doc = docs[doc_index]
        text: Text = doc["t"]
        before = decode_state_vector(doc.get_state())
        seen = len(captured[doc_index])
        inserted: str | None = None
        appended: Any = None
        if op[0] in ("insert", "insert_bold"):
            text.insert(byte_offset(text, op[2]), op[3], {"bold": True} if op[0] == "insert_bold" else None)
            inserted = op[3]
        elif op[0] == "delete":
            start = byte_offset(text, min(op[2], op[3]))
            stop = byte_offset(text, max(op[2], op[3]))
            if stop > start:
                del text[start:stop]
        elif op[0] == "format":
            start = byte_offset(text, min(op[2], op[3]))
            stop = byte_offset(text, max(op[2], op[3]))
            if stop > start:
                text.format(start, stop, {"italic": True, "link": {"href": "x"}})
        elif op[0] == "embed":
            text.insert_embed(byte_offset(text, op[2]), op[3])
        elif op[0] == "append":
            doc["a"].append(op[2])
            appended = op[2]
        elif op[0] == "append_map":
            doc["a"].append(Map({"v": op[2]}))
        elif op[0] == "set":
            doc["m"][op[2]] = op[3]
            appended = op[3]
        elif op[0] == "sync" and op[1] != op[2]:
            source = docs[op[2]]
            doc.apply_update(source.get_update(doc.get_state()))
        after = decode_state_vector(doc.get_state())

        new_updates = captured[doc_index][seen:]
        assert len(new_updates) <= 1
        for update in new_updates:
            decoded = decode_update(update)
            ranges = decoded.clock_ranges()
            # Every struct in a transaction's update extends its client's state contiguously.
            assert ranges == {c: (before.get(c, 0), after[c]) for c in after if after[c] != before.get(c, 0)}
            # pycrdt reports the clients whose structs start at clock 0, up to their end clock.
            assert decode_state_vector(get_state(update)) == {c: e for c, (s, e) in ranges.items() if s == 0}
            if inserted is not None:
                assert "".join(t for _, t in decoded.strings()) == inserted
            if appended is not None:
                (item,) = (s for cs in decoded.structs for s in cs.structs)
                assert plain(item.content) == [plain(appended)]

    for doc in docs:
        full = doc.get_update()
        decoded = decode_update(full)
        assert {c: e for c, (s, e) in decoded.clock_ranges().items()} == decode_state_vector(get_state(full))
        assert all(s == 0 for s, _ in decoded.clock_ranges().values())
        assert decode_state_vector(doc.get_state()) == {c: e for c, (_, e) in decoded.clock_ranges().items()}
    del subs


def test_pycrdt_emoji_clock_is_utf16() -> None:
    doc = Doc()
    text = doc.get("t", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda e: updates.append(e.update))
    text += "a😀é👍🏽"
    (item,) = decode_update(updates[0]).structs[0].structs
    assert item.content == "a😀é👍🏽" and item.length == 1 + 2 + 1 + 4
    assert decode_state_vector(get_state(updates[0])) == {doc.client_id: 8}


# --- malformed and hostile input -----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FIXTURE_BYTES))
def test_every_truncation_is_a_decode_error(name: str) -> None:
    data = FIXTURE_BYTES[name]
    for cut in range(len(data)) if len(data) < 2000 else range(0, len(data), 37):
        with pytest.raises(DecodeError):
            decode_update(data[:cut])


@pytest.mark.parametrize("name", sorted(FIXTURE_BYTES))
def test_trailing_bytes_are_a_decode_error(name: str) -> None:
    with pytest.raises(DecodeError, match="trailing"):
        decode_update(FIXTURE_BYTES[name] + b"\x00")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "end"),
        (b"\xff" * 12, "varint"),
        (b"\x01\x01\x01\x00\x04", "end"),  # item cut after its info byte
        (b"\x81\x80\x80\x80\x80\x80\x80\x80\x01", "varint"),
        (b"\x01\x01" + encode_var_uint(2**53) + b"\x00\x00\x01\x00", "2\\^53"),
        (update_with(11, b""), "content ref"),
        (update_with(31, b""), "content ref"),
        (b"\x01\x01\x01\x00\x80\x01\x00", "struct info"),  # GC with high bits
        (b"\x01\x01\x01\x00\x4a\x01\x00", "struct info"),  # skip with high bits
        (b"\x01\x01\x01\x00\x00\x00\x00", "zero-length"),
        (update_with(4, b"\x00"), "zero-length"),
        (update_with(8, b"\x00"), "zero-length"),
        (update_with(1, b"\x00"), "zero-length"),
        (update_with(4, b"\x02\xc3\x28"), "UTF-8"),
        (update_with(4, b"\x03\xed\xa0\x80"), "UTF-8"),  # an encoded surrogate
        (update_with(8, any_content(b"\x73")), "Any type"),
        (update_with(8, any_content(b"\x80")), "Any type"),
        (update_with(8, any_content(b"\x76\x01\x01\xff\x7e")), "UTF-8"),
        (update_with(5, encode_var_string("{bad json")), "JSON"),
        (update_with(5, encode_var_string("NaN")), "JSON"),
        (update_with(6, encode_var_string("bold") + encode_var_string("[1,")), "JSON"),
        (update_with(2, b"\x01" + encode_var_string("Infinity")), "JSON"),
        (update_with(7, b"\x07"), "type ref"),
        (b"\x02" + b"\x01\x01\x00\x00\x01" * 2 + b"\x00", "twice"),
        (b"\x00\x01\x01\x01\x05", "end"),  # delete set cut short
        (b"\x00\x00\x00", "trailing"),
    ],
)
def test_malformed_updates_raise_decode_error(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decode_update(data)


def test_random_garbage_only_raises_decode_error() -> None:
    import random

    rng = random.Random(1234)
    for _ in range(3000):
        data = rng.randbytes(rng.randrange(0, 64))
        with contextlib.suppress(DecodeError):
            decode_update(data)


mutations = st.lists(
    st.tuples(st.sampled_from(["set", "insert", "delete"]), st.integers(0, 10**6), st.integers(0, 255)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(FIXTURE_BYTES)), mutations, st.booleans())
def test_mutated_updates_decode_or_raise_decode_error(name: str, edits: list[tuple], values: bool) -> None:
    data = bytearray(FIXTURE_BYTES[name])
    for kind, where, byte in edits:
        i = where % (len(data) + 1)
        if kind == "insert":
            data.insert(i, byte)
        elif data and i < len(data):
            if kind == "set":
                data[i] = byte
            else:
                del data[i]
    try:
        result = decode_update(bytes(data), values=values, max_string=4096)
    except DecodeError:
        return
    assert isinstance(result, Update)
    for start, end in result.clock_ranges().values():
        assert end >= start


def test_deep_any_nesting_is_refused_fast_without_recursion() -> None:
    attack = update_with(8, any_content(nested_arrays(50_000)))
    assert len(attack) > 100_000
    started = time.perf_counter()
    with pytest.raises(NestingTooDeep):
        decode_update(attack)
    assert time.perf_counter() - started < 0.05
    # The explicit stack copes with the full depth when a caller allows it: no RecursionError.
    assert decode_update(attack, max_depth=10**6).nesting_depth == 50_000


def test_deep_any_object_nesting_and_depth_limit_boundary() -> None:
    deep_objects = b"\x76\x01\x01k" * 70 + b"\x78"
    with pytest.raises(NestingTooDeep):
        decode_update(update_with(8, any_content(deep_objects)))
    assert decode_update(update_with(8, any_content(nested_arrays(64)))).nesting_depth == 64
    with pytest.raises(NestingTooDeep):
        decode_update(update_with(8, any_content(nested_arrays(65))))
    assert decode_update(update_with(8, any_content(nested_arrays(3))), max_depth=3).nesting_depth == 3
    with pytest.raises(NestingTooDeep):
        decode_update(update_with(8, any_content(nested_arrays(3))), max_depth=2)
    # Subdocument options are Any values too.
    with pytest.raises(NestingTooDeep):
        decode_update(update_with(9, encode_var_string("guid") + nested_arrays(100)))


@pytest.mark.parametrize("ref", [2, 5, 6])
def test_deep_json_nesting_is_refused(ref: int) -> None:
    deep = "[" * 50_000 + "]" * 50_000
    body = encode_var_string(deep)
    content = {2: b"\x01" + body, 5: body, 6: encode_var_string("k") + body}[ref]
    started = time.perf_counter()
    with pytest.raises(NestingTooDeep):
        decode_update(update_with(ref, content))
    with pytest.raises(NestingTooDeep):  # json.loads' RecursionError is reported the same way
        decode_update(update_with(ref, content), max_depth=10**6)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    "text",
    ['"\\' * 40_000, '"' * 100_000, '["' * 50_000, '"' + "\\a" * 50_000, "[\\" * 50_000 + '"'],
)
def test_hostile_json_strings_cost_linear_time(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(DecodeError):
        decode_update(update_with(5, encode_var_string(text)))
    assert time.perf_counter() - started < 0.5


def test_brackets_inside_json_strings_do_not_count() -> None:
    value = '{"a": "[[[[{{{{", "b": ["]]]"]}'
    update = decode_update(update_with(5, encode_var_string(value)), max_depth=2)
    item = update.structs[0].structs[0]
    assert item.content == {"a": "[[[[{{{{", "b": ["]]]"]} and update.nesting_depth == 2


def test_max_string_limits_strings_and_blobs() -> None:
    text = update_with(4, encode_var_string("x" * 100))
    assert decode_update(text, max_string=100).longest_string == 100
    with pytest.raises(ContentTooLarge):
        decode_update(text, max_string=99)
    blob = update_with(3, encode_var_uint(50) + b"\x01" * 50)
    with pytest.raises(ContentTooLarge):
        decode_update(blob, max_string=49)
    long_value = b"\x77" + encode_var_string("y" * 30)
    nested = update_with(8, any_content(b"\x76\x01" + encode_var_string("k") + long_value))
    assert decode_update(nested).longest_string == 30
    with pytest.raises(ContentTooLarge):
        decode_update(nested, max_string=29)
    # A length claim far beyond the message is refused before anything is sliced.
    claim = b"\x01\x01\x01\x00\x04\x01\x01r" + encode_var_uint(2**40)
    with pytest.raises(ContentTooLarge):
        decode_update(claim, max_string=1 << 20)
    with pytest.raises(DecodeError):
        decode_update(claim)


def test_any_scalars_decode_like_lib0() -> None:
    values = (
        b"\x7f",
        b"\x7e",
        b"\x79",
        b"\x78",
        b"\x7d\x41",
        b"\x7d\x3f",
        b"\x7d\xc1\x01",
        b"\x7c\x3f\xc0\x00\x00",
        b"\x7b\x3f\xb9\x99\x99\x99\x99\x99\x9a",
        b"\x7a\xff\xff\xff\xff\xff\xff\xff\xfe",
        b"\x77\x02hi",
        b"\x74\x02\x00\xff",
        b"\x75\x00",
        b"\x76\x00",
    )
    (item,) = decode_update(update_with(8, any_content(*values))).structs[0].structs
    assert item.content == (
        UNDEFINED,
        None,
        False,
        True,
        -1,
        63,
        -65,
        1.5,
        0.1,
        -2,
        "hi",
        b"\x00\xff",
        [],
        {},
    )
    assert item.length == len(values)
