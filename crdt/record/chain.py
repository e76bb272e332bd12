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


def link(rows: list[dict[str, object]], seq: int, prev_hash: bytes, time_us: int) -> tuple[int, bytes, int]:
    """Chain ``rows`` (one room's new entries, in order) onto the head ``(seq, prev_hash, time_us)``.

    Fills in each row's ``seq``, ``prev_hash`` and ``hash``, and raises its ``time_us``
    to the head's when it is behind (entries appended by several processes keep
    their times in log order). Returns the new head.
    """
    for row in rows:
        seq += 1
        stamp = max(int(row["time_us"]), time_us)  # type: ignore[call-overload]
        fields = EntryFields(
            room=str(row["room"]),
            seq=seq,
            time_us=stamp,
            connection=str(row["connection"]),
            participant=str(row["participant"]),
            role=str(row["role"]),
            kind=str(row["kind"]),
            clients=row["clients"],  # type: ignore[arg-type]
            payload=row["payload"],  # type: ignore[arg-type]
        )
        digest = entry_hash(prev_hash, fields)
        row["seq"], row["time_us"], row["prev_hash"], row["hash"] = seq, stamp, prev_hash, digest
        prev_hash, time_us = digest, stamp
    return seq, prev_hash, time_us
