"""The hash chain over a room's log: the canonical encoding of an entry and its hash.

Each entry's hash is ``SHA-256(CHAIN_TAG · prev_hash · canonical fields)``; the
first entry's ``prev_hash`` is 32 zero bytes. Fields are encoded in a fixed order
so that anyone can re-check a chain with a few lines of their own code:

- ``seq``, ``time_us``: 8-byte big-endian signed integers;
- ``room``, ``connection``, ``participant``, ``role``, ``kind``: UTF-8, each
  preceded by its length as a 4-byte big-endian unsigned integer (absent = empty);
- ``clients``, ``payload``: raw bytes, length-prefixed the same way.

Changing any stored field, removing, inserting or reordering an entry changes a
hash from that point on, which verification detects.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

CHAIN_TAG = b"plenary-log-v1\x00"
GENESIS = bytes(32)

_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class EntryFields:
    """The fields of a log entry that its hash covers."""

    room: str
    seq: int
    time_us: int
    connection: str
    participant: str
    role: str
    kind: str
    clients: bytes
    payload: bytes


def _field(data: bytes) -> bytes:
    return _U32.pack(len(data)) + data


def canonical_encoding(fields: EntryFields) -> bytes:
    return b"".join(
        (
            _I64.pack(fields.seq),
            _I64.pack(fields.time_us),
            _field(fields.room.encode()),
            _field(fields.connection.encode()),
            _field(fields.participant.encode()),
            _field(fields.role.encode()),
            _field(fields.kind.encode()),
            _field(fields.clients),
            _field(fields.payload),
        )
    )


def entry_hash(prev_hash: bytes, fields: EntryFields) -> bytes:
    return hashlib.sha256(CHAIN_TAG + prev_hash + canonical_encoding(fields)).digest()
