"""Blame in one pass over item ids: the text's items, in order, mapped to the entries that wrote them.

:class:`~crdt.record.history.blame.BlameFold` replays the log update by update and follows every
text event (O(length of the paragraph) per entry in yrs). Here the document state at the moment
asked for is decoded once (:class:`ItemStore`), each paragraph's live items are read in order,
and each item's clocks are mapped to log entries through :class:`Writers`. The result has the
shape of :meth:`BlameFold.blame`, and equals it (tests/test_blame_items.py checks both on random
concurrent logs and on a prefix of a real trace).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pycrdt import Array, Doc, Map, Text

from crdt.offsets import utf16_length
from crdt.procedure.draft import PARAGRAPHS
from crdt.record.history.entries import EMBED, HistoryError, Person
from crdt.record.history.items import ItemStore, Piece, SharedType, utf16_cut
from crdt.record.history.writers import Writers
from crdt.times import iso_us
from crdt.wire.updates import TypeContent

_VISIBLE = frozenset({"string", "embed", "type", "binary", "doc", "any", "json"})


def _value(holder: SharedType, key: str) -> Any:
    piece = holder.value(key)
    if piece is None:
        return None
    content = piece.content
    if piece.kind in ("any", "json") and isinstance(content, tuple):
        return content[-1] if content else None
    return content


def _pieces(piece: Piece, writers: Writers) -> list[tuple[str, int]]:
    """The piece's visible text (EMBED for each non-text element), cut by the entries that wrote it."""
    cuts = writers.cuts(piece.client, piece.clock, piece.clock + piece.length)
    if piece.kind == "string":
        text = piece.content
        if len(cuts) == 1:
            return [(text, cuts[0][1])]
        parts = utf16_cut(text, [clock - piece.clock for clock, _ in cuts[1:]])
        return [(part, seq) for part, (_, seq) in zip(parts, cuts, strict=True)]
    # Non-text content: one embed per clock, each clock possibly from its own entry.
    out: list[tuple[str, int]] = []
    for index, (clock, seq) in enumerate(cuts):
        stop = cuts[index + 1][0] if index + 1 < len(cuts) else piece.clock + piece.length
        out.append((EMBED * (stop - clock), seq))
    return out


class _Persons:
    def __init__(self, people: Mapping[str, Person] | None) -> None:
        self.people = people or {}
        self.known: dict[str, tuple[str | None, str | None, str | None]] = {}

    def of(self, participant: str) -> tuple[str | None, str | None, str | None]:
        found = self.known.get(participant)
        if found is None:
            person = self.people.get(participant) or Person()
            found = self.known[participant] = (person.name, person.delegation, person.group)
        return found


class _Stamps:
    """``iso_us``, formatting each second once: ``2026-11-29T22:19:45`` + ``.123456Z``."""

    def __init__(self) -> None:
        self.seconds: dict[int, str] = {}

    def of(self, time_us: int) -> str:
        second, micro = divmod(time_us, 1_000_000)
        prefix = self.seconds.get(second)
        if prefix is None:
            prefix = self.seconds[second] = iso_us(second * 1_000_000)[:-8]
        return f"{prefix}.{micro:06d}Z"


def blame_state(
    state: bytes, writers: Writers, people: Mapping[str, Person] | None = None
) -> list[dict[str, Any]]:
    """Per paragraph of the document ``state``: its text and the spans that make it, in UTF-16
    code units, merged by entry (as :meth:`BlameFold.blame`). Raises ``HistoryError`` when the state
    or the log cannot be read this way (the caller replays instead)."""
    store = ItemStore(state)
    persons, stamps = _Persons(people), _Stamps()
    root = store.roots.get(PARAGRAPHS)
    out: list[dict[str, Any]] = []
    if root is None:
        return out
    for element in root.sequence():
        if not element.live or element.kind != "type":
            continue
        content = element.content
        if not isinstance(content, TypeContent) or content.type_name != "map":
            continue
        fields = element.type or SharedType()
        pid = _value(fields, "id")
        if not isinstance(pid, str):
            continue
        kind = _value(fields, "kind")
        runs: list[tuple[int, list[str]]] = []  # (seq of the entry, its text pieces)
        holder = fields.value("text")
        is_text = holder is not None and getattr(holder.content, "type_name", None) == "text"
        if holder is not None and holder.kind == "type" and is_text:
            for piece in (holder.type or SharedType()).sequence():
                if not piece.live or piece.kind not in _VISIBLE:
                    continue
                for text, seq in _pieces(piece, writers):
                    if runs and runs[-1][0] == seq:
                        runs[-1][1].append(text)
                    else:
                        runs.append((seq, [text]))
        spans = []
        position = 0
        texts = []
        for seq, parts in runs:
            text = parts[0] if len(parts) == 1 else "".join(parts)
            texts.append(text)
            end = position + (len(text) if text.isascii() else utf16_length(text))
            # Origin.to_json, with who and the time's seconds formatted once each (a long text has
            # one span per keystroke entry: formatting dominated the whole blame).
            participant, role, amendment = writers.who(seq)
            name, delegation, group = persons.of(participant)
            spans.append(
                {
                    "start": position,
                    "end": end,
                    "text": text,
                    "participant": participant,
                    "name": name,
                    "delegation": delegation,
                    "group": group,
                    "role": role,
                    "seq": seq,
                    "time": stamps.of(writers.time_of(seq)),
                    "amendment": amendment,
                }
            )
            position = end
        shown_kind = kind if isinstance(kind, str) else None
        out.append({"id": pid, "kind": shown_kind, "text": "".join(texts), "spans": spans})
    return out


def _texts(doc: Doc) -> list[tuple[str, str | None, str]]:
    """(id, kind, text) of each paragraph as pycrdt reads it, embeds shown as in blame."""
    out = []
    for element in doc.get(PARAGRAPHS, type=Array):
        if not isinstance(element, Map):
            continue
        pid, kind, text = element.get("id"), element.get("kind"), element.get("text")
        if not isinstance(pid, str):
            continue
        shown = ""
        if isinstance(text, Text):
            shown = "".join(c if isinstance(c, str) else EMBED for c, _ in text.diff())
        out.append((pid, kind if isinstance(kind, str) else None, shown))
    return out


def blame_doc(doc: Doc, writers: Writers, people: Mapping[str, Person] | None = None) -> list[dict[str, Any]]:
    """:func:`blame_state` of ``doc``, checked against the document as pycrdt reads it.

    A state whose items cannot be ordered from their ids alone (a deleted item collected into a
    GC struct that a live item still names as its neighbour: a doc with GC on, or a client that
    sent collected structs) gives other paragraphs or texts: that raises ``HistoryError``, and the
    caller replays instead. Keep the doc with ``skip_gc=True`` to stay on this path.
    """
    try:
        blamed = blame_state(doc.get_update(), writers, people)
    except HistoryError:
        raise
    except Exception as exc:  # a fold is total: anything unforeseen in a state means "replay instead"
        raise HistoryError(f"the state's items could not be read: {type(exc).__name__}: {exc}") from exc
    if [(p["id"], p["kind"], p["text"]) for p in blamed] != _texts(doc):
        raise HistoryError("the state's items do not give the document's text")
    return blamed
