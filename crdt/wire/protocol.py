"""The y-protocols wire format: one message per binary websocket frame.

``varUint(type) · body`` with type 0 sync, 1 awareness, 2 auth, 3 query-awareness
(y-protocols ``sync.js``, ``awareness.js``, ``auth.js`` and y-websocket). Parsing
turns a frame into one of the message classes below or raises
:class:`~crdt.errors.ProtocolError`; encoding returns the bytes of a frame.
Nothing here touches a socket, so the server and the client share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from crdt.errors import DecodeError, ProtocolError
from crdt.wire.encoding import Decoder, encode_var_bytes, encode_var_string, encode_var_uint


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncType(IntEnum):
    STEP1 = 0
    STEP2 = 1
    UPDATE = 2


@dataclass(frozen=True, slots=True)
class SyncStep1:
    """ "Here is my state vector: send me what I am missing"."""

    state_vector: bytes


@dataclass(frozen=True, slots=True)
class SyncStep2:
    """The answer to a step 1: a v1 update with what the asker lacked (often empty)."""

    update: bytes


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    """A v1 update produced by a local change."""

    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    """An encoded awareness update (see :mod:`crdt.wire.awareness`)."""

    payload: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    """ "Send me every awareness state you know"."""


@dataclass(frozen=True, slots=True)
class PermissionDenied:
    """Auth message, server to client: the client's last action was refused."""

    reason: str


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessMessage | QueryAwareness | PermissionDenied

# Yjs encodes an update with no structs and an empty delete set as two zero
# varints; that is what an up-to-date peer answers to a step 1.
EMPTY_UPDATE = b"\x00\x00"
EMPTY_STATE_VECTOR = b"\x00"


def parse_message(frame: bytes) -> Message:
    """Decode one frame. Raises :class:`ProtocolError` on anything malformed.

    The payloads (updates, state vectors, awareness updates) are returned as
    bytes, unparsed: inspecting them is a separate step with its own rules.
    """
    decoder = Decoder(frame)
    try:
        kind = decoder.read_var_uint()
        if kind == MessageType.SYNC:
            sub = decoder.read_var_uint()
            payload = decoder.read_var_bytes()
            if sub == SyncType.UPDATE:
                message: Message = SyncUpdate(payload)
            elif sub == SyncType.STEP2:
                message = SyncStep2(payload)
            elif sub == SyncType.STEP1:
                message = SyncStep1(payload)
            else:
                raise ProtocolError(f"unknown sync message type {sub}")
        elif kind == MessageType.AWARENESS:
            message = AwarenessMessage(decoder.read_var_bytes())
        elif kind == MessageType.QUERY_AWARENESS:
            message = QueryAwareness()
        elif kind == MessageType.AUTH:
            sub = decoder.read_var_uint()
            if sub != 0:
                raise ProtocolError(f"unknown auth message type {sub}")
            message = PermissionDenied(decoder.read_var_string())
        else:
            raise ProtocolError(f"unknown message type {kind}")
    except DecodeError as exc:
        raise ProtocolError(f"malformed message: {exc}") from exc
    if not decoder.at_end():
        raise ProtocolError(f"{decoder.remaining()} unexpected bytes after the message")
    return message


_SYNC_STEP1 = encode_var_uint(MessageType.SYNC) + encode_var_uint(SyncType.STEP1)
_SYNC_STEP2 = encode_var_uint(MessageType.SYNC) + encode_var_uint(SyncType.STEP2)
_SYNC_UPDATE = encode_var_uint(MessageType.SYNC) + encode_var_uint(SyncType.UPDATE)
_AWARENESS = encode_var_uint(MessageType.AWARENESS)


def encode_sync_step1(state_vector: bytes) -> bytes:
    return _SYNC_STEP1 + encode_var_bytes(state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    return _SYNC_STEP2 + encode_var_bytes(update)


def encode_sync_update(update: bytes) -> bytes:
    return _SYNC_UPDATE + encode_var_bytes(update)


def encode_awareness(payload: bytes) -> bytes:
    return _AWARENESS + encode_var_bytes(payload)


def encode_permission_denied(reason: str) -> bytes:
    return encode_var_uint(MessageType.AUTH) + b"\x00" + encode_var_string(reason)


QUERY_AWARENESS_FRAME = encode_var_uint(MessageType.QUERY_AWARENESS)

#: An awareness message with no states. Clients reset their 30 s reconnect
#: timer on any message, and applying it changes nothing, so it is the
#: cheapest keepalive that every y-websocket version understands.
KEEPALIVE_FRAME = encode_awareness(b"\x00")
