"""lib0 binary encoding: the variable-length integers and byte strings that
Yjs and y-protocols are built from.

Reference: lib0's ``encoding.js``/``decoding.js``. Unsigned varints carry 7
bits per byte, low group first, high bit set on every byte but the last.
Decoding is bounded: a varint longer than :data:`MAX_VARINT_BYTES` is refused
instead of growing a Python int without limit.
"""

from __future__ import annotations

import struct

from crdt.errors import DecodeError

#: lib0 numbers fit in 53 bits (JS safe integers); 8 bytes hold 56 bits.
MAX_VARINT_BYTES = 8

_F32 = struct.Struct(">f")
_F64 = struct.Struct(">d")
_I64 = struct.Struct(">q")


class Decoder:
    """Reads lib0 values from a bytes-like buffer, front to back."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes | bytearray | memoryview, pos: int = 0) -> None:
        self.buf = bytes(buf) if not isinstance(buf, bytes) else buf
        self.pos = pos
        self.end = len(self.buf)

    def remaining(self) -> int:
        return self.end - self.pos

    def at_end(self) -> bool:
        return self.pos >= self.end

    def read_u8(self) -> int:
        pos = self.pos
        if pos >= self.end:
            raise DecodeError("unexpected end of message")
        self.pos = pos + 1
        return self.buf[pos]

    def read_var_uint(self) -> int:
        buf, pos, end = self.buf, self.pos, self.end
        if pos >= end:
            raise DecodeError("unexpected end of message (varint)")
        byte = buf[pos]
        if byte < 0x80:  # fast path: most numbers on the wire are small
            self.pos = pos + 1
            return byte
        value = byte & 0x7F
        shift = 7
        limit = pos + MAX_VARINT_BYTES
        pos += 1
        while True:
            if pos >= end:
                raise DecodeError("truncated varint")
            if pos >= limit:
                raise DecodeError("varint too long")
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.pos = pos
                return value
            shift += 7

    def read_var_int(self) -> int:
        """lib0 signed varint: first byte holds 6 bits, a sign bit and a continuation bit."""
        byte = self.read_u8()
        value = byte & 0x3F
        negative = bool(byte & 0x40)
        shift = 6
        count = 1
        while byte & 0x80:
            if count >= MAX_VARINT_BYTES:
                raise DecodeError("varint too long")
            byte = self.read_u8()
            value |= (byte & 0x7F) << shift
            shift += 7
            count += 1
        return -value if negative else value

    def read_bytes(self, n: int) -> bytes:
        pos = self.pos
        end = pos + n
        if end > self.end:
            raise DecodeError("unexpected end of message (bytes)")
        self.pos = end
        return self.buf[pos:end]

    def read_var_bytes(self) -> bytes:
        return self.read_bytes(self.read_var_uint())

    def read_var_string(self) -> str:
        raw = self.read_var_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("string is not valid UTF-8") from exc

    def read_f32(self) -> float:
        return _F32.unpack(self.read_bytes(4))[0]

    def read_f64(self) -> float:
        return _F64.unpack(self.read_bytes(8))[0]

    def read_i64(self) -> int:
        return _I64.unpack(self.read_bytes(8))[0]


def encode_var_uint(value: int) -> bytes:
    if value < 0:
        raise ValueError("varuint must be >= 0")
    if value < 0x80:
        return _SMALL[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SMALL = [bytes((i,)) for i in range(0x80)]


def encode_var_bytes(data: bytes) -> bytes:
    return encode_var_uint(len(data)) + data


def encode_var_string(text: str) -> bytes:
    return encode_var_bytes(text.encode("utf-8"))
