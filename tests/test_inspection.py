"""The update rules (crdt/wire/inspection.py): every rejection with its exception class and
close code, acceptance of normal, duplicate and overlapping updates, and two properties:
real pycrdt edit sequences always pass, and mutated bytes only ever raise ProtocolError
(and, once inspected, never escape Replica.apply as anything but UpdateRejected).

The hand-made updates are written byte by byte in Yjs' v1 format (see crdt/wire/updates.py);
tests/test_hostile_updates.py reuses the builders below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, merge_updates

from crdt.errors import ProtocolError, UpdateRejected, UpdateTooLarge
from crdt.wire.encoding import encode_var_bytes, encode_var_string, encode_var_uint
from crdt.wire.inspection import MAX_CLOCK, ClockGap, Inspection, Limits, changes_anything, inspect_update
from crdt.wire.replica import Replica, decode_state_vector

DEFAULT = Limits()

# --- v1 builders -----------------------------------------------------------------------------

ID = tuple[int, int]


def v(n: int) -> bytes:
    return encode_var_uint(n)


def item(
    content_ref: int,
    content: bytes,
    *,
    origin: ID | None = None,
    right_origin: ID | None = None,
    parent: str | ID = "text",
    parent_sub: str | None = None,
) -> bytes:
    """One item struct. Without origins the parent is written out (root name or parent item id)."""
    info = content_ref
    body = b""
    if origin is not None:
        info |= 0x80
        body += v(origin[0]) + v(origin[1])
    if right_origin is not None:
        info |= 0x40
        body += v(right_origin[0]) + v(right_origin[1])
    if origin is None and right_origin is None:
        if isinstance(parent, str):
            body += v(1) + encode_var_string(parent)
        else:
            body += v(0) + v(parent[0]) + v(parent[1])
        if parent_sub is not None:
            info |= 0x20
            body += encode_var_string(parent_sub)
    return bytes([info]) + body + content


def string_item(text: str, **kw) -> bytes:
    return item(4, encode_var_string(text), **kw)


def deleted_item(length: int, **kw) -> bytes:
    return item(1, v(length), **kw)


def any_item(*values: bytes, **kw) -> bytes:
    """ContentAny: ``values`` are encoded lib0 Any values (see :func:`nested_any`)."""
    return item(8, v(len(values)) + b"".join(values), **kw)


def json_item(*texts: str, **kw) -> bytes:
    return item(2, v(len(texts)) + b"".join(encode_var_string(t) for t in texts), **kw)


def gc(length: int) -> bytes:
    return b"\x00" + v(length)


def skip(length: int) -> bytes:
    return b"\x0a" + v(length)


def nested_any(depth: int) -> bytes:
    """A lib0 Any value: ``depth`` one-element arrays around a null (``[[null]]`` is depth 2)."""
    return b"\x75\x01" * depth + b"\x7e"


def any_string(text: str) -> bytes:
    return b"\x77" + encode_var_string(text)


def build(
    *groups: tuple[int, int, list[bytes]], delete_set: dict[int, list[tuple[int, int]]] | None = None
) -> bytes:
    """A v1 update: ``groups`` are (client, first clock, [struct bytes]) and a delete set."""
    out = v(len(groups))
    for client, clock, structs in groups:
        out += v(len(structs)) + v(client) + v(clock) + b"".join(structs)
    ds = delete_set or {}
    out += v(len(ds))
    for client, ranges in ds.items():
        out += v(client) + v(len(ranges)) + b"".join(v(c) + v(n) for c, n in ranges)
    return out


def refused(data: bytes, state: dict[int, int] | None = None, limits: Limits = DEFAULT) -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        inspect_update(data, state or {}, limits)
    return info.value


def tracked_doc(client_id: int) -> tuple[Doc, list[bytes]]:
    doc = Doc(client_id=client_id)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    return doc, updates


def state_of(doc: Doc) -> dict[int, int]:
    return decode_state_vector(doc.get_state())


# --- the builders make what pycrdt reads -----------------------------------------------------


def test_handmade_updates_apply_in_pycrdt() -> None:
    replica = Replica()
    text = replica.doc.get("text", type=Text)
    array = replica.doc.get("arr", type=Array)
    first = build((5, 0, [string_item("héllo😀")]))
    assert inspect_update(first, {}, DEFAULT).new_state == {5: 7}  # UTF-16 code units
    assert replica.apply(first) is not None
    second = build(
        (5, 7, [string_item("!", origin=(5, 6)), deleted_item(3, origin=(5, 7))]),
        (6, 0, [any_item(nested_any(20), parent="arr")]),
        delete_set={5: [(0, 1)]},
    )
    inspection = inspect_update(second, replica.state(), DEFAULT)
    assert inspection.writers == (5, 6)
    assert inspection.new_state == {5: 11, 6: 1}
    assert replica.apply(second) is not None
    assert str(text) == "éllo😀!"
    assert len(array) == 1
    assert replica.state() == {5: 11, 6: 1}


# --- ProtocolError (4400): bytes that do not decode ------------------------------------------

VALID = build((5, 0, [string_item("hello")]))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff",
        b"\x01",
        VALID[:-1],
        VALID[:-4],
        VALID + b"\x00",
        VALID + b"\x00\x00",
        b"\x00\x00\x00",
        b"\x01\x01\x05\x00\x1f\x00\x00",  # unknown content ref 31
        b"\x01\x01\x05\x00\x04\x01\x04text\x00\x00",  # a zero-length string item
        build((5, 0, [string_item("a")]), (5, 1, [string_item("b", origin=(5, 0))])),  # client twice
        build((5, 0, [item(4, v(2) + b"\xc3\x28")])),  # invalid UTF-8
        build((5, 0, [json_item("{not json")])),
        build((5, 0, [json_item("NaN")])),
        build((5, 0, [item(8, v(1) + b"\x6f")])),  # unknown Any tag
        b"\x01\x81\x80\x80\x80\x80\x80\x80\x80\x01",  # a varint too long
        build((5, 0, [string_item("hello")]))[:-1] + b"\x01\x05\x01",  # delete set cut short
    ],
    ids=lambda d: d.hex()[:40],
)
def test_undecodable_updates_are_protocol_errors(data: bytes) -> None:
    exc = refused(data)
    assert type(exc) is ProtocolError
    assert exc.close_code == 4400
    assert exc.reason.startswith("update does not decode")


def test_trailing_bytes_are_named() -> None:
    exc = refused(VALID + b"\x07\x07")
    assert type(exc) is ProtocolError and exc.close_code == 4400
    assert "trailing bytes" in exc.reason


def test_length_prefix_past_the_end_but_under_the_limit_is_a_decode_error() -> None:
    data = build((5, 0, [item(4, v(1000) + b"abc")]))
    exc = refused(data)
    assert type(exc) is ProtocolError and exc.close_code == 4400


# --- UpdateRejected (4422): nesting ----------------------------------------------------------


@pytest.mark.parametrize("depth", [65, 100, 20_000, 50_000])
def test_any_nested_over_the_limit_is_rejected(depth: int) -> None:
    exc = refused(build((5, 0, [any_item(nested_any(depth))])))
    assert type(exc) is UpdateRejected
    assert exc.close_code == 4422
    assert "nested deeper than 64" in exc.reason


def test_any_nested_at_the_limit_is_accepted() -> None:
    inspection = inspect_update(build((5, 0, [any_item(nested_any(64))])), {}, DEFAULT)
    assert inspection.update.nesting_depth == 64
    assert inspection.writers == (5,)


@pytest.mark.parametrize(
    "struct",
    [
        json_item("[" * 5 + "]" * 5),
        item(5, encode_var_string('{"a":' * 5 + "1" + "}" * 5)),  # embed
        item(6, encode_var_string("bold") + encode_var_string("[[[[[1]]]]]")),  # format
        item(9, encode_var_string("guid") + nested_any(5)),  # subdocument options
        any_item(b"\x76\x01" + encode_var_string("k") + nested_any(4)),  # object holding arrays
    ],
    ids=["json", "embed", "format", "doc", "any-object"],
)
def test_every_json_like_content_counts_towards_nesting(struct: bytes) -> None:
    data = build((5, 0, [struct]))
    exc = refused(data, limits=Limits(max_nesting_depth=4))
    assert type(exc) is UpdateRejected and exc.close_code == 4422
    assert inspect_update(data, {}, Limits(max_nesting_depth=5)).update.nesting_depth == 5


def test_json_brackets_inside_strings_do_not_count() -> None:
    data = build((5, 0, [json_item('["[[[[[[[[[[[[[[["]')]))
    assert inspect_update(data, {}, Limits(max_nesting_depth=1)).writers == (5,)


def test_deep_json_text_is_rejected_without_recursion() -> None:
    exc = refused(build((5, 0, [json_item("[" * 100_000 + "]" * 100_000)])))
    assert type(exc) is UpdateRejected and exc.close_code == 4422


# --- UpdateRejected (4422): clocks -----------------------------------------------------------


@pytest.mark.parametrize(
    "state, clock",
    [({}, 1), ({}, 5), ({5: 3}, 4), ({5: 3}, 100), ({}, 2**31), ({}, 2**32 - 2), ({6: 10}, 1)],
)
def test_clock_gap_is_rejected(state: dict[int, int], clock: int) -> None:
    exc = refused(build((5, clock, [string_item("gap", parent="text")])), state)
    # A ClockGap: the server asks the owner of the id for a step 2, and refuses anyone else.
    assert isinstance(exc, ClockGap) and exc.client == 5 and exc.close_code == 4422
    assert f"clock gap for client 5: starts at {clock}, document has {state.get(5, 0)}" in exc.reason


def test_gap_in_a_second_client_is_rejected() -> None:
    data = build((5, 0, [string_item("ok")]), (6, 2, [string_item("gap")]))
    exc = refused(data, {6: 1})
    assert isinstance(exc, ClockGap) and exc.client == 6 and "client 6" in exc.reason


def test_contiguous_clock_is_accepted() -> None:
    inspection = inspect_update(build((5, 3, [string_item("abc", origin=(5, 2))])), {5: 3}, DEFAULT)
    assert inspection.writers == (5,) and inspection.new_state == {5: 6}


@pytest.mark.parametrize(
    "state, data",
    [
        ({}, build((5, 0, [deleted_item(2**31)]))),
        ({}, build((5, 0, [gc(2**32 - 1)]))),
        ({}, build((5, 0, [string_item("a"), deleted_item(2**31 - 1, origin=(5, 0))]))),
        ({5: 2**31 - 1}, build((5, 2**31 - 1, [string_item("x")]))),
        ({5: 2**32 - 2}, build((5, 2**32 - 2, [string_item("x")]))),
        ({5: 2**40}, build((5, 2**40, [gc(1)]))),
    ],
    ids=["deleted-2^31", "gc-2^32", "two-structs", "last-clock", "near-2^32", "2^40"],
)
def test_clock_at_or_past_2_31_is_rejected(state: dict[int, int], data: bytes) -> None:
    exc = refused(data, state)
    assert type(exc) is UpdateRejected and exc.close_code == 4422
    assert "out of range" in exc.reason


def test_clock_just_below_2_31_is_accepted() -> None:
    inspection = inspect_update(build((5, 0, [deleted_item(MAX_CLOCK - 1)])), {}, DEFAULT)
    assert inspection.new_state == {5: MAX_CLOCK - 1}


def test_skip_structs_are_rejected() -> None:
    handmade = build((5, 0, [string_item("a"), skip(2), string_item("d", origin=(5, 2))]))
    exc = refused(handmade)
    assert type(exc) is UpdateRejected and exc.close_code == 4422
    assert "skip" in exc.reason

    # What pycrdt makes when it merges updates that are not contiguous.
    doc, updates = tracked_doc(5)
    text = doc.get("text", type=Text)
    for i in range(3):
        text.insert(i, "abc"[i])
    merged = merge_updates(updates[0], updates[2])
    exc = refused(merged)
    assert type(exc) is UpdateRejected and "skip" in exc.reason


def test_skip_only_update_is_rejected() -> None:
    exc = refused(build((5, 0, [skip(3)])))
    assert type(exc) is UpdateRejected and "skip" in exc.reason


@pytest.mark.parametrize(
    "state, data",
    [
        ({}, build(delete_set={5: [(0, 1)]})),
        ({5: 3}, build(delete_set={5: [(2, 2)]})),
        ({5: 3}, build(delete_set={5: [(0, 1), (3, 1)]})),
        ({5: 3}, build(delete_set={5: [(0, 1)], 6: [(0, 1)]})),
        ({5: 3}, build(delete_set={5: [(2**40, 1)]})),
        ({5: 3}, build((5, 3, [string_item("ab", origin=(5, 2))]), delete_set={5: [(4, 2)]})),
    ],
    ids=["unknown-client", "past-end", "second-range", "other-client", "far", "past-new-structs"],
)
def test_delete_set_past_the_known_clocks_is_rejected(state: dict[int, int], data: bytes) -> None:
    exc = refused(data, state)
    assert type(exc) is UpdateRejected and exc.close_code == 4422
    assert "does not exist" in exc.reason


def test_delete_set_within_the_known_clocks_is_accepted() -> None:
    assert inspect_update(build(delete_set={5: [(0, 3)]}), {5: 3}, DEFAULT).writers == ()
    # Deleting what the same update inserts.
    data = build((5, 3, [string_item("ab", origin=(5, 2))]), delete_set={5: [(0, 1), (3, 2)]})
    assert inspect_update(data, {5: 3}, DEFAULT).new_state == {5: 5}


# --- UpdateTooLarge (4413) -------------------------------------------------------------------


def test_too_many_structs() -> None:
    limits = Limits(max_structs=10)
    structs = [string_item("a")] + [string_item("b", origin=(5, i)) for i in range(10)]
    exc = refused(build((5, 0, structs)), limits=limits)
    assert type(exc) is UpdateTooLarge and exc.close_code == 4413
    assert "11 structs (limit 10)" in exc.reason
    assert inspect_update(build((5, 0, structs[:10])), {}, limits).new_state == {5: 10}


def test_struct_limit_counts_all_clients() -> None:
    limits = Limits(max_structs=3)
    data = build((5, 0, [string_item("a"), string_item("b", origin=(5, 0))]), (6, 0, [gc(1), gc(1)]))
    exc = refused(data, limits=limits)
    assert type(exc) is UpdateTooLarge


def test_pycrdt_map_with_many_keys_is_too_many_structs() -> None:
    doc, updates = tracked_doc(5)
    meta = doc.get("meta", type=Map)
    with doc.transaction():
        for i in range(11):
            meta[f"k{i}"] = i
    exc = refused(updates[0], limits=Limits(max_structs=10))
    assert type(exc) is UpdateTooLarge and exc.close_code == 4413


@pytest.mark.parametrize(
    "struct",
    [
        string_item("x" * 101),
        string_item("é" * 51),  # 102 bytes, 51 UTF-16 units: bytes count
        item(3, encode_var_bytes(b"\x00" * 101)),  # binary
        string_item("x", parent="r" * 101),  # root name
        string_item("x", parent_sub="k" * 101),  # map key
        any_item(any_string("x" * 101)),
        any_item(b"\x74" + encode_var_bytes(b"\x00" * 101)),  # Any binary
        any_item(b"\x76\x01" + encode_var_string("k" * 101) + b"\x7e"),  # Any object key
        json_item('"' + "x" * 100 + '"'),
        item(5, encode_var_string('"' + "x" * 100 + '"')),  # embed
        item(6, encode_var_string("f" * 101) + encode_var_string("true")),  # format key
        item(9, encode_var_string("g" * 101) + b"\x7e"),  # subdocument guid
    ],
    ids=[
        "string",
        "utf8",
        "binary",
        "root",
        "key",
        "any",
        "any-binary",
        "any-key",
        "json",
        "embed",
        "format",
        "doc",
    ],
)
def test_oversize_strings(struct: bytes) -> None:
    limits = Limits(max_string_bytes=100)
    exc = refused(build((5, 0, [struct])), limits=limits)
    assert type(exc) is UpdateTooLarge and exc.close_code == 4413
    assert "larger than 100 bytes" in exc.reason


def test_string_at_the_limit_is_accepted() -> None:
    inspection = inspect_update(build((5, 0, [string_item("x" * 100)])), {}, Limits(max_string_bytes=100))
    assert inspection.update.longest_string == 100


def test_oversize_length_prefix_is_too_large_even_without_the_bytes() -> None:
    # A 4 GB claim in a 20-byte message: refused on the claim, nothing allocated.
    exc = refused(build((5, 0, [item(4, v(2**32))])), limits=Limits(max_string_bytes=1000))
    assert type(exc) is UpdateTooLarge


# --- what passes -----------------------------------------------------------------------------


def test_normal_pycrdt_updates() -> None:
    doc, updates = tracked_doc(7)
    text = doc.get("text", type=Text)
    meta = doc.get("meta", type=Map)
    text.insert(0, "hello")
    text.insert(5, " wörld 😀")
    meta["title"] = {"a": [1, 2, {"b": None}]}
    del text[0:2]
    state: dict[int, int] = {}
    expected_ends = [5, 5 + len(" wörld 😀".encode("utf-16-le")) // 2]
    expected_ends.append(expected_ends[-1] + 1)
    for n, update in enumerate(updates):
        inspection = inspect_update(update, state, DEFAULT)
        assert isinstance(inspection, Inspection)
        if n < 3:
            assert inspection.writers == (7,)
            assert inspection.new_state == {7: expected_ends[n]}
        else:  # a delete: nobody writes
            assert inspection.writers == () and inspection.new_state == {}
            assert inspection.update.delete_set == {7: [(0, 2)]}
        state.update(inspection.new_state)
    assert state == state_of(doc)


def test_empty_update_is_accepted() -> None:
    inspection = inspect_update(b"\x00\x00", {5: 3}, DEFAULT)
    assert inspection.writers == () and inspection.new_state == {} and inspection.update.is_empty


def test_duplicates_have_no_writers() -> None:
    doc, updates = tracked_doc(7)
    text = doc.get("text", type=Text)
    text.insert(0, "hello")
    text.insert(5, " world")
    state = state_of(doc)
    for update in [*updates, doc.get_update()]:
        inspection = inspect_update(update, state, DEFAULT)
        assert inspection.writers == () and inspection.new_state == {}
    # Entirely below the state, even far below.
    assert inspect_update(updates[0], {7: 1000}, DEFAULT).writers == ()


def test_overlapping_update_writes_only_its_new_part() -> None:
    doc, updates = tracked_doc(7)
    text = doc.get("text", type=Text)
    text.insert(0, "hello")
    text.insert(5, " world")
    whole = doc.get_update()  # clocks 0..11
    inspection = inspect_update(whole, {7: 5}, DEFAULT)
    assert inspection.writers == (7,)
    assert inspection.new_state == {7: 11}
    assert inspection.update.clock_ranges() == {7: (0, 11)}
    # And pycrdt agrees: applying it where 0..5 exists gives 0..11.
    replica = Replica()
    replica.apply(updates[0])
    assert replica.apply(whole) is not None
    assert replica.state() == {7: 11} and str(replica.doc.get("text", type=Text)) == "hello world"


def test_overlap_and_duplicate_from_several_clients() -> None:
    data = build(
        (5, 0, [string_item("aaaa")]),
        (6, 0, [string_item("bb", origin=(5, 3))]),
        (7, 0, [string_item("c", origin=(6, 1))]),
    )
    inspection = inspect_update(data, {5: 4, 6: 1, 7: 0}, DEFAULT)
    assert inspection.writers == (6, 7)
    assert inspection.new_state == {6: 2, 7: 1}


def test_inspection_is_pure() -> None:
    state = {5: 3}
    inspect_update(build((5, 3, [string_item("abc", origin=(5, 2))])), state, DEFAULT)
    assert state == {5: 3}


# --- changes_anything ------------------------------------------------------------------------


def inspected(data: bytes, state: dict[int, int]) -> Inspection:
    return inspect_update(data, state, DEFAULT)


def test_changes_anything_with_writers() -> None:
    assert changes_anything(inspected(build((5, 3, [gc(1)])), {5: 3}), {})


def test_changes_anything_for_delete_sets() -> None:
    state = {5: 20, 6: 5}
    deleted = {5: [(0, 2), (2, 3), (10, 5)], 6: [(1, 1)]}  # adjacent ranges on purpose
    for ds, changes in [
        ({}, False),
        ({5: [(0, 5)]}, False),
        ({5: [(1, 3), (11, 2)]}, False),
        ({5: [(0, 5), (10, 5)], 6: [(1, 1)]}, False),
        ({5: [(0, 6)]}, True),
        ({5: [(9, 2)]}, True),
        ({5: [(14, 2)]}, True),
        ({5: [(5, 1)]}, True),
        ({6: [(0, 1)]}, True),
        ({6: [(1, 2)]}, True),
    ]:
        assert changes_anything(inspected(build(delete_set=ds), state), deleted) is changes, ds
    assert changes_anything(inspected(build(delete_set={6: [(1, 1)]}), state), {5: [(0, 20)]})


def test_changes_anything_against_a_real_delete_set() -> None:
    doc, _ = tracked_doc(5)
    text = doc.get("text", type=Text)
    text.insert(0, "0123456789abcdefghij")
    for start, stop in [(2, 4), (4, 6), (0, 1), (10, 12)]:
        del text[start:stop]
    full = doc.get_update()
    deleted = inspected(full, {}).update.delete_set
    # A read-only peer holding the same document answers our step 1 with its whole delete set.
    peer = Doc(client_id=99)
    peer.apply_update(full)
    answer = peer.get_update(doc.get_state())
    assert not changes_anything(inspected(answer, state_of(doc)), deleted)
    # One more deletion, and it changes something.
    del peer.get("text", type=Text)[0:1]
    answer = peer.get_update(doc.get_state())
    assert changes_anything(inspected(answer, state_of(doc)), deleted)


# --- property: real edit sequences always pass -------------------------------------------------

CLIENTS = (11, 22, 2**32 - 1)
KEYS = ("a", "b", "c", "d")
TEXTS = st.text(alphabet=st.sampled_from("ab é€😀\n"), min_size=1, max_size=6)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=6,
)
EDIT_OPS = st.one_of(
    st.tuples(st.just("insert"), st.integers(0, 2), st.integers(0, 1000), TEXTS),
    st.tuples(st.just("delete"), st.integers(0, 2), st.integers(0, 1000), st.integers(1, 4)),
    st.tuples(st.just("set"), st.integers(0, 2), st.sampled_from(KEYS), VALUES),
    st.tuples(st.just("unset"), st.integers(0, 2), st.sampled_from(KEYS)),
    st.tuples(st.just("pull"), st.integers(0, 2)),
    st.tuples(st.just("peer"), st.integers(0, 2), st.integers(0, 2)),
    st.tuples(st.just("replay"), st.integers(0, 1000)),
)


def utf8_offset(text: str, index: int) -> int:
    """pycrdt's Text offsets are UTF-8 bytes: convert a code point index."""
    return len(text[:index].encode())


def _edit(doc: Doc, op: tuple) -> None:
    text = doc.get("text", type=Text)
    meta = doc.get("meta", type=Map)
    kind = op[0]
    current = str(text)
    if kind == "insert":
        text.insert(utf8_offset(current, op[2] % (len(current) + 1)), op[3])
    elif kind == "delete" and current:
        start = op[2] % len(current)
        stop = min(len(current), start + op[3])
        del text[utf8_offset(current, start) : utf8_offset(current, stop)]
    elif kind == "set":
        meta[op[2]] = op[3]
    elif kind == "unset" and op[2] in meta:
        del meta[op[2]]


def check_passes(update: bytes, receiver: Doc, sender_state: dict[int, int]) -> Inspection:
    """``update`` passes against ``receiver``; its writers and new state are what pycrdt says."""
    before = state_of(receiver)
    inspection = inspect_update(update, before, DEFAULT)
    grown = {c: clock for c, clock in sender_state.items() if clock > before.get(c, 0)}
    assert dict(inspection.new_state) == grown
    assert set(inspection.writers) == set(grown)
    for client, (start, end) in inspection.update.clock_ranges().items():
        assert start <= before.get(client, 0), "a gap in a real update"
        assert end == sender_state[client]
    receiver.apply_update(update)
    assert state_of(receiver) == {**before, **grown}
    return inspection


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EDIT_OPS, min_size=1, max_size=25))
def test_real_edit_sequences_pass(ops: list[tuple]) -> None:
    hub = Doc(client_id=1)
    docs = []
    for client in CLIENTS:
        doc, updates = tracked_doc(client)
        docs.append((doc, updates))
    sent: list[bytes] = []
    for op in ops:
        kind = op[0]
        if kind == "pull":
            doc = docs[op[1]][0]
            check_passes(hub.get_update(doc.get_state()), doc, state_of(hub))
        elif kind == "peer":
            source, target = docs[op[1]][0], docs[op[2]][0]
            check_passes(source.get_update(target.get_state()), target, state_of(source))
        elif kind == "replay":
            if sent:
                inspection = inspect_update(sent[op[1] % len(sent)], state_of(hub), DEFAULT)
                assert inspection.writers == () and inspection.new_state == {}
        else:
            doc, updates = docs[op[1]]
            before = state_of(doc)
            updates.clear()
            _edit(doc, op)
            after = state_of(doc)
            assert len(updates) <= 1
            for update in updates:
                # The transaction's own update: its author writes exactly its new clocks ...
                inspection = inspect_update(update, before, DEFAULT)
                client = doc.client_id
                if after.get(client, 0) > before.get(client, 0):
                    assert inspection.writers == (client,)
                    assert inspection.new_state == {client: after[client]}
                    assert inspection.update.clock_ranges() == {
                        client: (before.get(client, 0), after[client])
                    }
                else:
                    assert inspection.writers == () and inspection.update.delete_set
                # ... and it passes at the hub, which has everything its author has seen.
                check_passes(update, hub, after)
                sent.append(update)
    # Everybody converges, and the hub's whole state passes against an empty document.
    for doc, _ in docs:
        check_passes(hub.get_update(doc.get_state()), doc, state_of(hub))
        assert str(doc.get("text", type=Text)) == str(hub.get("text", type=Text))
    check_passes(hub.get_update(), Doc(client_id=2), state_of(hub))


# --- property: mutated bytes -----------------------------------------------------------------


def _corpus() -> list[tuple[bytes, bytes]]:
    """(what the receiver already has, a valid update for it)."""
    cases: list[tuple[bytes, bytes]] = []
    doc, updates = tracked_doc(7)
    text = doc.get("text", type=Text)
    meta = doc.get("meta", type=Map)
    arr = doc.get("arr", type=Array)
    text.insert(0, "hello wörld 😀")
    text.format(0, 5, {"bold": True})
    text.insert_embed(2, {"image": "x.png"})
    meta["title"] = {"nested": [1, 2.5, {"deep": [None, True, "s"]}]}
    meta["blob"] = b"\x00\x01\x02"
    meta["child"] = Map({"k": "v"})
    arr.append(Text("inner"))
    arr.extend([1, "two", [3]])
    del text[0:3]
    meta["title"] = "replaced"
    other = Doc(client_id=2**32 - 1)
    other.apply_update(doc.get_update())
    other.get("text", type=Text).insert(1, "XY")
    other_update = other.get_update(doc.get_state())
    previous = b"\x00\x00"
    for update in updates:
        cases.append((previous, update))
        previous = merge_updates(previous, update)
    cases.append((b"\x00\x00", doc.get_update()))
    cases.append((doc.get_update(), other_update))
    for handmade in [
        build((5, 0, [any_item(nested_any(30))])),
        build((5, 0, [string_item("a"), deleted_item(3, origin=(5, 0)), gc(2)]), delete_set={5: [(0, 1)]}),
        build((5, 0, [json_item('{"a":[1]}', "undefined")]), (6, 0, [string_item("b", origin=(5, 0))])),
    ]:
        cases.append((b"\x00\x00", handmade))
    return cases


def _yjs_fixtures() -> list[tuple[bytes, bytes]]:
    """Updates made by real Yjs (some start past clock 0, or carry skips: rejected as they are)."""
    fixtures = json.loads((Path(__file__).parent / "fixtures" / "yjs_updates.json").read_text("utf-8"))
    return [
        (b"\x00\x00", bytes.fromhex(case["update"]))
        for case in fixtures["cases"]
        if len(case["update"]) < 8000
    ]


VALID_CORPUS = _corpus()
CORPUS = VALID_CORPUS + _yjs_fixtures()

MUTATION = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("set"), st.integers(0, 10_000), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 4)),
    st.tuples(st.just("truncate"), st.integers(0, 10_000)),
)


def mutate(data: bytes, mutation: tuple) -> bytes:
    buf = bytearray(data)
    kind, where = mutation[0], mutation[1] % (len(buf) + 1)
    if kind == "flip" and buf:
        buf[where % len(buf)] ^= mutation[2]
    elif kind == "set" and buf:
        buf[where % len(buf)] = mutation[2]
    elif kind == "insert":
        buf[where:where] = mutation[2]
    elif kind == "delete":
        del buf[where : where + mutation[2]]
    elif kind == "truncate":
        del buf[where:]
    return bytes(buf)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(CORPUS))), st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_updates_only_raise_protocol_errors(case: int, mutations: list[tuple]) -> None:
    known, update = CORPUS[case]
    for mutation in mutations:
        update = mutate(update, mutation)
    replica = Replica()
    replica.load(known)
    state = replica.state()
    try:
        inspect_update(update, state, DEFAULT)
    except ProtocolError as exc:
        assert exc.close_code in (4400, 4413, 4422)
        return
    except BaseException as exc:
        pytest.fail(f"inspect_update raised {type(exc).__name__}: {exc}")
    try:
        replica.apply(update)
    except UpdateRejected:
        pass
    except BaseException as exc:
        pytest.fail(f"Replica.apply let {type(exc).__name__} escape: {exc}")
    # The replica is still usable.
    replica.state_vector()
    replica.full_state()


def test_corpus_is_valid() -> None:
    assert len(CORPUS) > len(VALID_CORPUS) + 10
    for known, update in VALID_CORPUS:
        replica = Replica()
        replica.load(known)
        inspect_update(update, replica.state(), DEFAULT)
        replica.apply(update)
