"""Which log entry wrote each Yjs clock: the index that lets blame read authorship off item ids.

Every Yjs item has an id ``(client, clock)``, and the clocks of one client are handed out in
order: an update entry carries, for each client it writes, a contiguous range starting where
that client's previous entry ended (the server refuses gaps before logging). So the entry that
wrote ``(client, clock)`` is the last entry of that client starting at or before ``clock``:
per client, the entries' first clocks (sorted) and their seqs are enough.

Memory: 16 bytes per client range of an update entry (its first clock and seq), 4 bytes per
entry for who wrote it (an index into the distinct (participant, role, amendment) triples) and
8 for its time: about 28 bytes per update entry. Reading an entry costs a header parse (the first
client's first clock sits in the update's first bytes); an update with several clients is decoded.
"""

from __future__ import annotations

import bisect
from array import array

from crdt.errors import DecodeError
from crdt.record.history.entries import UPDATE, Entry, HistoryError, Origin
from crdt.wire.updates import decode_update


def _var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 56:
            raise DecodeError("varint too long")


def first_clocks(payload: bytes) -> list[tuple[int, int]]:
    """(client, first clock) of every client an update writes structs for, without decoding them."""
    try:
        count, pos = _var_uint(payload, 0)
        if count == 0:
            return []
        if count == 1:
            _structs, pos = _var_uint(payload, pos)
            client, pos = _var_uint(payload, pos)
            clock, pos = _var_uint(payload, pos)
            return [(client, clock)]
    except IndexError:
        raise DecodeError("unexpected end of update") from None
    return [(cs.client, cs.clock) for cs in decode_update(payload, values=False).structs]


class Writers:
    """Per client, the first clock and seq of every update entry that wrote for it, in log order.

    :attr:`irregular` is set when an entry starts a client's range at or below an earlier entry's
    (a log the contiguity rule does not describe): :meth:`origin_of` cannot be trusted then, and
    blame must take the replaying path.
    """

    def __init__(self) -> None:
        self._starts: dict[int, array[int]] = {}
        self._seqs: dict[int, array[int]] = {}
        #: seq -> index into ``_who`` (-1: not an update entry); seq -> time_us.
        self._who_of = array("i")
        self._times = array("q")
        self._who: list[tuple[str, str, str | None]] = []
        self._who_index: dict[tuple[str, str, str | None], int] = {}
        self.seq = 0
        self.irregular: str | None = None

    def feed(self, entry: Entry) -> None:
        if entry.seq != self.seq + 1:
            raise HistoryError(f"entry {entry.seq} after {self.seq}: writers need every entry, in order")
        self.seq = entry.seq
        self._times.append(entry.time_us)
        if entry.kind != UPDATE:
            self._who_of.append(-1)
            return
        who = (entry.participant, entry.role, entry.amendment)
        index = self._who_index.get(who)
        if index is None:
            index = self._who_index[who] = len(self._who)
            self._who.append(who)
        self._who_of.append(index)
        try:
            clients = first_clocks(entry.payload)
        except DecodeError as exc:
            self.irregular = self.irregular or f"entry {entry.seq}: {exc}"
            return
        for client, clock in clients:
            starts = self._starts.get(client)
            if starts is None:
                starts = self._starts[client] = array("q")
                self._seqs[client] = array("q")
            elif starts[-1] >= clock:
                why = f"entry {entry.seq} rewrites clock {clock} of client {client}"
                self.irregular = self.irregular or why
                continue
            starts.append(clock)
            self._seqs[client].append(entry.seq)

    @property
    def nbytes(self) -> int:
        ranges = sum(len(s) for s in self._starts.values())
        return 16 * ranges + 12 * len(self._times)

    def who(self, seq: int) -> tuple[str, str, str | None]:
        """(participant, role, amendment) of update entry ``seq``."""
        return self._who[self._who_of[seq - 1]]

    def time_of(self, seq: int) -> int:
        return self._times[seq - 1]

    def origin(self, seq: int) -> Origin:
        """Entry ``seq`` as the origin of the text it wrote."""
        participant, role, amendment = self.who(seq)
        return Origin(seq, self._times[seq - 1], participant, role, amendment)

    def cuts(self, client: int, clock: int, end: int) -> list[tuple[int, int]]:
        """The entries that wrote clocks ``clock`` to ``end`` (excluded) of ``client``: (first clock
        within the range, seq), in clock order. Raises :class:`HistoryError` for an unknown clock."""
        starts = self._starts.get(client)
        index = bisect.bisect_right(starts, clock) - 1 if starts is not None else -1
        if index < 0:
            raise HistoryError(f"no entry wrote clock {clock} of client {client}")
        seqs = self._seqs[client]  # type: ignore[index]
        out = [(clock, seqs[index])]
        index += 1
        while index < len(starts) and starts[index] < end:  # type: ignore[arg-type]
            out.append((starts[index], seqs[index]))  # type: ignore[index]
            index += 1
        return out
