"""The messages processes relay to each other through Redis: bytes in, messages out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdt.errors import DecodeError
from server.broker.messages import Access, Entry, Heartbeat, Leaving, Presence, decode, encode

names = st.text(max_size=40)
blobs = st.binary(max_size=200)
counts = st.integers(min_value=0, max_value=2**53)

messages = st.one_of(
    st.builds(Entry, names, counts, counts, names, names, blobs, blobs),
    st.builds(Presence, names, blobs),
    st.builds(Access, names, names, st.booleans()),
    st.builds(Heartbeat, counts),
    st.just(Leaving()),
)


@given(st.text(min_size=1, max_size=20), messages)
def test_every_message_comes_back_as_it_was_sent(node, message):
    assert decode(encode(node, message)) == (node, message)


def test_a_relayed_update_is_carried_byte_for_byte():
    update = bytes.fromhex("01019bd8e1c40200040104746578740161 00".replace(" ", ""))
    entry = Entry("summit", 42, 1_796_000_000_000_000, "alice", "update", b"\x01\x02\x03", update)
    data = encode("node-a", entry)
    assert data.endswith(update)  # the logged bytes, never re-encoded
    assert decode(data)[1].payload == update


@pytest.mark.parametrize(
    "data",
    [
        b"",  # nothing
        b"\x09\x01a",  # unknown kind
        encode("n", Heartbeat(7)) + b"\x00",  # trailing bytes
        encode("n", Entry("r", 1, 2, "p", "update", b"", b"xyz"))[:-2],  # truncated
    ],
)
def test_anything_else_is_refused(data):
    with pytest.raises(DecodeError):
        decode(data)
