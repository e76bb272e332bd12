"""The draft's annotations as W3C Web Annotations (JSON-LD, https://www.w3.org/TR/annotation-model/).

The export is one ``AnnotationCollection`` whose first (and only) ``AnnotationPage`` holds every annotation
in the order they were made. Each one has:

- ``id`` ``{base}/api/drafts/{draft}/annotations/{id}``; ``motivation``: Plenary's (``commenting``,
  ``questioning``, ``editing``, ``assessing``), or ``replying`` for a reply, whose ``target`` is then the
  IRI of the annotation it answers (its own motivation is kept as the body's ``purpose``);
- ``creator``: the person (``Person``, with the participant id as ``nickname``) and the delegation they
  spoke for (``Organization``); ``created``: when the server accepted it;
- ``body``: a ``TextualBody`` (``text/plain``);
- ``target``: the paragraph, ``source`` ``{base}/api/drafts/{draft}#{paragraph id}``, and for an annotation
  on a span, a ``TextQuoteSelector`` (``exact``, with up to 32 characters of ``prefix`` and ``suffix``, not
  cutting a character sequence that combines) and a ``TextPositionSelector``. The span is where the
  annotation's anchor is *now* (it followed every edit), or, if every marked character was deleted, only the
  quote recorded when it was made (no position: it is no longer in the text).

Units: the W3C model requires selections "in terms of unicode code points (the "character number"), not
in terms of code units" (§4.2.4 Text Quote Selector, §4.2.5 Text Position Selector). So
``TextPositionSelector`` ``start``/``end`` count **code points** of the paragraph's text (a 🌍 counts 1),
unlike Plenary's REST API and Yjs, which count UTF-16 code units (where it counts 2).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from crdt.record.exports import DraftView

__all__ = ["CONTEXT", "CONTEXT_LENGTH", "annotation", "collection", "export"]

CONTEXT = "http://www.w3.org/ns/anno.jsonld"
#: Characters of context in ``prefix`` and ``suffix`` (a convention: the model sets no length).
CONTEXT_LENGTH = 32
_JOINERS = {"\u200d", "\u200c"}


def _joins(char: str) -> bool:
    """Whether ``char`` attaches to the one before it: a combining mark or variation selector (Mn, Mc, Me),
    a zero-width joiner, an emoji skin-tone modifier."""
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or char in _JOINERS
        or 0x1F3FB <= ord(char) <= 0x1F3FF
    )


def _prefix(text: str, start: int) -> str:
    cut = max(0, start - CONTEXT_LENGTH)
    while 0 < cut < start and (_joins(text[cut]) or text[cut - 1] in _JOINERS):
        cut -= 1
    return text[cut:start]


def _suffix(text: str, end: int) -> str:
    cut = min(len(text), end + CONTEXT_LENGTH)
    while end < cut < len(text) and (_joins(text[cut]) or text[cut - 1] in _JOINERS):
        cut += 1
    return text[end:cut]


def _iri(base: str, view: DraftView) -> str:
    return f"{base.rstrip('/')}/api/drafts/{view.id}"


def annotation(view: DraftView, record: Mapping[str, Any], base: str) -> dict[str, Any]:
    """One Plenary annotation as a Web Annotation (without ``@context``: see :func:`collection`)."""
    draft = _iri(base, view)
    creator = record.get("creator") or {}
    creators: list[dict[str, Any]] = [
        {
            "type": "Person",
            "name": creator.get("name") or creator.get("participant", ""),
            "nickname": creator.get("participant", ""),
        }
    ]
    if creator.get("delegation"):
        creators.append({"type": "Organization", "name": creator["delegation"]})
    body: dict[str, Any] = {"type": "TextualBody", "value": record.get("body", ""), "format": "text/plain"}
    out: dict[str, Any] = {
        "id": f"{draft}/annotations/{record['id']}",
        "type": "Annotation",
        "motivation": record.get("motivation", "commenting"),
        "creator": creators if len(creators) > 1 else creators[0],
        "created": record.get("created"),
        "body": body,
    }
    if record.get("reply_to"):
        body["purpose"] = out["motivation"]
        out["motivation"] = "replying"
        out["target"] = f"{draft}/annotations/{record['reply_to']}"
        return out
    source = f"{draft}#{record['paragraph']}"
    paragraph = view.by_id.get(str(record.get("paragraph")))
    has_span = record.get("quote") is not None or record.get("anchor")
    if paragraph is None or not has_span:
        out["target"] = source
        return out
    where = view.locate(paragraph.id, record)
    if where is None or (where.how == "offsets" and where.text != record.get("quote")):
        # Every character of the span was deleted: what was quoted, no longer in the text.
        selectors: list[dict[str, Any]] = [{"type": "TextQuoteSelector", "exact": record.get("quote") or ""}]
    else:
        text = paragraph.text
        selectors = [
            {
                "type": "TextQuoteSelector",
                "exact": where.text,
                "prefix": _prefix(text, where.start),
                "suffix": _suffix(text, where.end),
            },
            # Code points, as the W3C model requires (not the UTF-16 units of Plenary's API).
            {"type": "TextPositionSelector", "start": where.start, "end": where.end},
        ]
    out["target"] = {"source": source, "selector": selectors if len(selectors) > 1 else selectors[0]}
    return out


def collection(view: DraftView, base: str) -> dict[str, Any]:
    """Every annotation of the draft, as one ``AnnotationCollection`` with one embedded page."""
    draft = _iri(base, view)
    items = [annotation(view, record, base) for record in view.annotations]
    return {
        "@context": CONTEXT,
        "id": f"{draft}/annotations",
        "type": "AnnotationCollection",
        "label": f"Annotations on {view.title}. {view.as_of}",
        "generated": view.generated,
        "total": len(items),
        "first": {
            "id": f"{draft}/annotations?page=0",
            "type": "AnnotationPage",
            "startIndex": 0,
            "items": items,
        },
    }


def export(view: DraftView, base: str = "http://127.0.0.1:8000") -> str:
    """:func:`collection` as JSON text (UTF-8 friendly: characters are written as themselves)."""
    return json.dumps(collection(view, base), ensure_ascii=False, indent=2) + "\n"
