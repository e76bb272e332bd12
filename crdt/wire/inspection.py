"""The rules every client update must pass before it reaches pycrdt.

A crafted update can crash the interpreter (deep nesting), break every JS client
(deep nesting again), or make replicas diverge silently (clock gaps, clocks past
2^31 that pycrdt truncates). :func:`inspect_update` decodes the update with our
own decoder (``crdt.wire.updates``) and refuses it with a reason and a close code
before any of that can happen. Pure: the caller passes the document's state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crdt.errors import DecodeError, ProtocolError, UpdateRejected, UpdateTooLarge
from crdt.wire.encoding import Decoder, encode_var_uint
from crdt.wire.updates import ContentTooLarge, NestingTooDeep, TooManyStructs, Update, decode_update

#: Clocks are u32 in some Yjs paths and pycrdt truncates above 2^32 when it
#: re-encodes; staying below 2^31 keeps every implementation exact.
MAX_CLOCK = 2**31


@dataclass(frozen=True, slots=True)
class Limits:
    """What one update may contain. The server builds this from its settings."""

    #: Deepest nesting of JSON-like content (Any, JSON, embeds, format values).
    max_nesting_depth: int = 64
    #: Largest string or binary in one update (bytes); the message limit is the natural cap.
    max_string_bytes: int = 8 * 1024 * 1024
    #: Structs in one update.
    max_structs: int = 50_000


class ClockGap(UpdateRejected):
    """An update that starts past the document's clock for a client.

    From the client that owns the id, this is usually a keystroke sent while
    reconnecting, before its sync step 2: the server asks for a step 2 instead
    of refusing it. From anyone else it is refused.
    """

    def __init__(self, client: int, clock: int, known: int) -> None:
        super().__init__(f"clock gap for client {client}: starts at {clock}, document has {known}")
        self.client = client


@dataclass(frozen=True, slots=True)
class Inspection:
    """What an accepted update carries."""

    update: Update
    #: Clients whose structs reach past the document's state: the ones that write.
    writers: tuple[int, ...]
    #: client → end clock after this update, for the writers.
    new_state: Mapping[int, int]


def inspect_update(data: bytes, state: Mapping[int, int], limits: Limits) -> Inspection:
    """Decode ``data`` and check it against the document's ``state`` (client → next clock).

    Raises :class:`ProtocolError` (4400) when it does not decode,
    :class:`UpdateTooLarge` (4413) over a size limit, :class:`UpdateRejected`
    (4422) when it would corrupt or fork the document.
    """
    try:
        update = decode_update(
            data,
            max_depth=limits.max_nesting_depth,
            max_string=limits.max_string_bytes,
            max_structs=limits.max_structs,
            values=False,
        )
    except NestingTooDeep as exc:
        raise UpdateRejected(f"content nested deeper than {limits.max_nesting_depth} levels") from exc
    except TooManyStructs as exc:
        raise UpdateTooLarge(f"update carries {exc.count} structs (limit {exc.limit})") from exc
    except ContentTooLarge as exc:
        raise UpdateTooLarge(f"string or binary larger than {limits.max_string_bytes} bytes") from exc
    except DecodeError as exc:
        raise ProtocolError(f"update does not decode: {exc}") from exc

    if update.struct_count > limits.max_structs:
        raise UpdateTooLarge(f"update carries {update.struct_count} structs (limit {limits.max_structs})")

    writers = []
    new_state = {}
    for group in update.structs:
        known = state.get(group.client, 0)
        if group.clock > known:
            # Yjs would keep this pending forever while pycrdt integrates it.
            raise ClockGap(group.client, group.clock, known)
        if group.end >= MAX_CLOCK:
            raise UpdateRejected(f"clock {group.end} for client {group.client} is out of range")
        for struct in group.structs:
            if struct.kind == "skip":
                raise UpdateRejected(f"update has a gap (skip) for client {group.client}")
        if group.end > known:
            writers.append(group.client)
            new_state[group.client] = group.end

    # Every item must hang on items that exist (here or earlier in this update):
    # otherwise pycrdt keeps it pending, unlogged, and replicas drift apart.
    for group in update.structs:
        for struct in group.structs:
            if struct.kind != "item":
                continue
            for ref in (struct.origin, struct.right_origin, struct.parent_id):
                if ref is not None and ref[1] >= max(state.get(ref[0], 0), new_state.get(ref[0], 0)):
                    raise UpdateRejected(
                        f"item {struct.client}:{struct.clock} refers to missing item {ref[0]}:{ref[1]}"
                    )

    for client, ranges in update.delete_set.items():
        horizon = max(state.get(client, 0), new_state.get(client, 0))
        for clock, length in ranges:
            if clock + length > horizon:
                raise UpdateRejected(
                    f"deletes clock {clock + length - 1} of client {client}, which does not exist"
                )
    return Inspection(update, tuple(writers), new_state)


def encode_clients(update: Update) -> bytes:
    """The clock ranges an update writes: ``varUint(n) · n × (client · first clock · end clock)``."""
    return encode_ranges(update.clock_ranges())


def encode_ranges(ranges: Mapping[int, tuple[int, int]]) -> bytes:
    parts = [encode_var_uint(len(ranges))]
    for client, (first, end) in ranges.items():
        parts += [encode_var_uint(client), encode_var_uint(first), encode_var_uint(end)]
    return b"".join(parts)


def decode_clients(data: bytes) -> dict[int, tuple[int, int]]:
    decoder = Decoder(data)
    out = {}
    for _ in range(decoder.read_var_uint()):
        client = decoder.read_var_uint()
        out[client] = (decoder.read_var_uint(), decoder.read_var_uint())
    return out


def changes_anything(inspection: Inspection, deleted: Mapping[int, list[tuple[int, int]]]) -> bool:
    """Whether an inspected update would change a document whose delete set is ``deleted``.

    A read-only client's answer to our step 1 carries its whole delete set; that
    is fine as long as everything in it is already deleted here.
    """
    if inspection.writers:
        return True
    for client, ranges in inspection.update.delete_set.items():
        have = deleted.get(client, [])
        for clock, length in ranges:
            if not _covered(have, clock, clock + length):
                return True
    return False


def _covered(ranges: list[tuple[int, int]], start: int, end: int) -> bool:
    # ``ranges`` is a Yjs delete set list: sorted and merged per client.
    for clock, length in ranges:
        if clock <= start < clock + length:
            start = clock + length
            if start >= end:
                return True
        elif clock > start:
            return False
    return start >= end
