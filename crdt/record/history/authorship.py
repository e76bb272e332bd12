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
from crdt.record.history.entries import EMBED, HistoryError, Origin, Person
from crdt.record.history.items import ItemStore, Piece, SharedType, utf16_cut
from crdt.record.history.writers import Writers
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


def _pieces(piece: Piece, writers: Writers) -> list[tuple[str, Origin]]:
    """The piece's visible text (EMBED for each non-text element), cut by the entries that wrote it."""
    cuts = writers.cuts(piece.client, piece.clock, piece.clock + piece.length)
    if piece.kind == "string":
        text = piece.content
        if len(cuts) == 1:
            return [(text, writers.origin(cuts[0][1]))]
        parts = utf16_cut(text, [clock - piece.clock for clock, _ in cuts[1:]])
        return [(part, writers.origin(seq)) for part, (_, seq) in zip(parts, cuts, strict=True)]
    # Non-text content: one embed per clock, each clock possibly from its own entry.
    out: list[tuple[str, Origin]] = []
    for index, (clock, seq) in enumerate(cuts):
        stop = cuts[index + 1][0] if index + 1 < len(cuts) else piece.clock + piece.length
        out.append((EMBED * (stop - clock), writers.origin(seq)))
    return out


def blame_state(
    state: bytes, writers: Writers, people: Mapping[str, Person] | None = None
) -> list[dict[str, Any]]:
    """Per paragraph of the document ``state``: its text and the spans that make it, in UTF-16
    code units, merged by entry (as :meth:`BlameFold.blame`). Raises ``HistoryError`` when the state
    or the log cannot be read this way (the caller replays instead)."""
    store = ItemStore(state)
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
        runs: list[tuple[Origin, list[str]]] = []
        holder = fields.value("text")
        is_text = holder is not None and getattr(holder.content, "type_name", None) == "text"
        if holder is not None and holder.kind == "type" and is_text:
            for piece in (holder.type or SharedType()).sequence():
                if not piece.live or piece.kind not in _VISIBLE:
                    continue
                for text, origin in _pieces(piece, writers):
                    if runs and runs[-1][0] is origin:
                        runs[-1][1].append(text)
                    else:
                        runs.append((origin, [text]))
        spans = []
        position = 0
        texts = []
        for origin, parts in runs:
            text = "".join(parts)
            texts.append(text)
            length = utf16_length(text)
            span = {"start": position, "end": position + length, "text": text}
            spans.append({**span, **origin.to_json(people)})
            position += length
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
    blamed = blame_state(doc.get_update(), writers, people)
    if [(p["id"], p["kind"], p["text"]) for p in blamed] != _texts(doc):
        raise HistoryError("the state's items do not give the document's text")
    return blamed
