"""What processes tell each other through the broker, and its byte encoding.

Each message is one byte of kind, the sending node's id, then its fields in lib0
encoding (the y-protocols codec ``crdt.wire.encoding``), so that a relayed Yjs update
is carried as the bytes that were logged, never re-encoded.

- ``Entry``: a log entry another process made durable (its seq lets receivers
  notice a gap and catch up from the database);
- ``Presence``: an awareness update from a process's own connections;
- ``Access``: a participant revoked from (or reinstated to) a draft;
- ``Heartbeat``: a node is alive; its counter lets every node, the sender
  included, notice messages lost on the way;
- ``Leaving``: a node stops (its connections' presence goes now, not after a timeout).
"""

from __future__ import annotations

from dataclasses import dataclass

from crdt.errors import DecodeError
from crdt.wire.encoding import Decoder, encode_var_bytes, encode_var_string, encode_var_uint


@dataclass(frozen=True, slots=True)
class Entry:
    room: str
    seq: int
    time_us: int
    #: Who the Yjs client ids it writes with belong to: its participant, or the server
    #: (a server edit, whose client id nobody may write with).
    owner: str
    kind: str
    clients: bytes
    payload: bytes


@dataclass(frozen=True, slots=True)
class Presence:
    room: str
    update: bytes


@dataclass(frozen=True, slots=True)
class Access:
    draft: str
    participant: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class Heartbeat:
    count: int


@dataclass(frozen=True, slots=True)
class Leaving:
    pass


Message = Entry | Presence | Access | Heartbeat | Leaving

_ENTRY, _PRESENCE, _ACCESS, _HEARTBEAT, _LEAVING = 1, 2, 3, 4, 5


def encode(node: str, message: Message) -> bytes:
    head = encode_var_string(node)
    if isinstance(message, Entry):
        return b"".join(
            (
                bytes((_ENTRY,)),
                head,
                encode_var_string(message.room),
                encode_var_uint(message.seq),
                encode_var_uint(message.time_us),
                encode_var_string(message.owner),
                encode_var_string(message.kind),
                encode_var_bytes(message.clients),
                encode_var_bytes(message.payload),
            )
        )
    if isinstance(message, Presence):
        return bytes((_PRESENCE,)) + head + encode_var_string(message.room) + encode_var_bytes(message.update)
    if isinstance(message, Access):
        return (
            bytes((_ACCESS,))
            + head
            + encode_var_string(message.draft)
            + encode_var_string(message.participant)
            + bytes((int(message.revoked),))
        )
    if isinstance(message, Heartbeat):
        return bytes((_HEARTBEAT,)) + head + encode_var_uint(message.count)
    return bytes((_LEAVING,)) + head


def decode(data: bytes) -> tuple[str, Message]:
    """The sending node and its message. Raises :class:`DecodeError` on anything else."""
    decoder = Decoder(data)
    kind = decoder.read_u8()
    node = decoder.read_var_string()
    message: Message
    if kind == _ENTRY:
        message = Entry(
            room=decoder.read_var_string(),
            seq=decoder.read_var_uint(),
            time_us=decoder.read_var_uint(),
            owner=decoder.read_var_string(),
            kind=decoder.read_var_string(),
            clients=decoder.read_var_bytes(),
            payload=decoder.read_var_bytes(),
        )
    elif kind == _PRESENCE:
        message = Presence(decoder.read_var_string(), decoder.read_var_bytes())
    elif kind == _ACCESS:
        message = Access(decoder.read_var_string(), decoder.read_var_string(), bool(decoder.read_u8()))
    elif kind == _HEARTBEAT:
        message = Heartbeat(decoder.read_var_uint())
    elif kind == _LEAVING:
        message = Leaving()
    else:
        raise DecodeError(f"unknown broker message kind {kind}")
    if not decoder.at_end():
        raise DecodeError("trailing bytes after a broker message")
    return node, message
