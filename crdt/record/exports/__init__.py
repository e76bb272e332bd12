"""Exports of a draft: compilation and clean texts (Markdown, HTML), Akoma Ntoso, W3C Web Annotations and a
meeting summary.

Every exporter is a pure function of one :class:`DraftView`, a plain value holding what the record says at
one moment: the paragraphs (id, number, kind, text), the deliberation snapshot JSON
(:func:`crdt.procedure.deliberation.snapshot`, indicators included) and where each anchor is now in its
paragraph (:func:`crdt.procedure.anchors.resolve_all`). :func:`draft_view` builds one from the text document
and the deliberation state; nothing here reads a database or a clock.

Offsets in a :class:`SpanView` are UTF-16 code units, as everywhere in Plenary's public data; the exporters
convert to code points (Python ``str`` indices) with :func:`DraftView.locate`.
"""

# No ``from __future__ import annotations`` here: it would bind the name ``annotations`` in this package and
# shadow the ``crdt.record.exports.annotations`` module in ``from crdt.record.exports import annotations``.
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from pycrdt import Doc, Map, Text

from crdt.offsets import OffsetError, utf16_span_to_codepoint, utf16_to_codepoint
from crdt.procedure.anchors import resolve_all
from crdt.procedure.deliberation import Deliberation, objectors, snapshot
from crdt.procedure.draft import ParagraphKind, paragraphs_array, read_paragraphs
from crdt.procedure.numbering import numbering, reference_phrase

__all__ = [
    "AGREED",
    "FORMATS",
    "GROUP_NAMES",
    "STANCE_NAMES",
    "STATUS_NAMES",
    "VIEWS",
    "DraftView",
    "Located",
    "ParagraphView",
    "SpanView",
    "change_phrase",
    "day",
    "decision_notes",
    "draft_view",
    "excerpt",
    "join_names",
    "sponsors_phrase",
    "translation_note",
]

#: Export formats, and the views the text formats have (side by side: two language versions).
FORMATS = ("markdown", "html", "akn", "annotations", "summary")
VIEWS = ("compilation", "clean", "side_by_side")

#: Paragraph statuses as people say them.
STATUS_NAMES = {
    "pending": "pending",
    "bracketed": "bracketed",
    "agreed_ad_ref": "agreed ad ref",
    "agreed": "agreed",
}
#: Stances, in the order they are listed (favourable first).
STANCE_NAMES = {
    "support": "support",
    "no_objection": "no objection",
    "reservation": "reservation",
    "objection": "objection",
    "formal_objection": "formal objection",
}
#: Stakeholder groups, in prose.
GROUP_NAMES = {
    "government": "governments",
    "private_sector": "the private sector",
    "civil_society": "civil society",
    "international_organization": "international organisations",
    "technical_academic": "the technical and academic community",
}
#: Statuses that count as agreed in the clean text.
AGREED = ("agreed", "agreed_ad_ref")


@dataclass(frozen=True, slots=True)
class ParagraphView:
    id: str
    number: str
    """The display number ("3", "12 bis", "(a)"); "" for headings and preambular paragraphs."""
    kind: str
    text: str
    reference: str = ""
    """How it is cited, unique in the draft ("3", "3 (a)", "PP2"; "" for headings): see
    :mod:`crdt.procedure.numbering`, the one numbering every view uses."""
    parent: str | None = None
    """For an item, the operative paragraph it belongs to."""
    note: str = ""
    """What a reader must know beside the text: in a translation, that it does not translate the original
    as it stands ("translation not yet updated: …")."""


@dataclass(frozen=True, slots=True)
class SpanView:
    """Where an anchor is now: UTF-16 offsets into its paragraph's text
    (see :class:`crdt.procedure.anchors.Span`)."""

    start: int
    end: int
    text: str
    point: str | None = None
    """``"after"`` or ``"before"`` for a zero-width anchor (an insertion point), else ``None``."""

    @property
    def position(self) -> int | None:
        if self.point is None:
            return None
        return self.end if self.point == "after" else self.start


@dataclass(frozen=True, slots=True)
class Located:
    """An annotation's or amendment's span in code points (Python indices) of its paragraph's text."""

    start: int
    end: int
    text: str
    point: bool
    """A zero-width insertion point (``start == end``)."""
    how: str
    """``"anchor"`` (the mark found it) or ``"offsets"`` (the anchor is gone; the offsets recorded when it
    was made still fit the text)."""


@dataclass(frozen=True)
class DraftView:
    """What the record says about one draft at one moment; every exporter takes one of these."""

    id: str
    title: str
    symbol: str
    created: str
    """When the draft was created, ISO 8601 UTC."""
    generated: str
    """When the export was made, ISO 8601 UTC."""
    paragraphs: tuple[ParagraphView, ...]
    deliberation: Mapping[str, Any]
    """The deliberation snapshot as JSON (:func:`crdt.procedure.deliberation.snapshot`)."""
    spans: Mapping[str, Mapping[str, SpanView]] = field(default_factory=dict)
    """Paragraph id → anchor id → where that anchor is now."""
    seq: int | None = None
    """The log entry the view shows the draft just after (the head when the export was made, or ``at``)."""
    seq_time: str | None = None
    """When that entry was written, ISO 8601 UTC: the moment the view shows."""
    seq_hash: str | None = None
    """That entry's hash (hex), which ``plenary audit verify`` and a signed head can confirm."""

    @property
    def moment(self) -> str:
        """The moment the view shows, as ISO 8601 UTC: the entry's time, else the export time."""
        return self.seq_time or self.generated

    @property
    def record_phrase(self) -> str:
        """ "entry 30 of the log (2005-05-02T10:00:30Z, hash 3fa2…)", or the time alone for a view that
        names no entry."""
        if self.seq is None:
            return self.generated
        digest = f", hash {self.seq_hash}" if self.seq_hash else ""
        return f"entry {self.seq} of its log ({self.moment}{digest})"

    @property
    def as_of(self) -> str:
        """The sentence every export opens with: which moment of the record it shows, and when it was
        made."""
        if self.seq is None:
            return f"As the record stood at {self.generated}."
        return f"As the record stood at {self.record_phrase}; generated {self.generated}."

    translations: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    """Paragraph id → language → {text, status (current, stale, untranslated), basis, …}
    (:func:`crdt.procedure.translations.view_of`)."""
    language: str = ""
    """The language of the paragraphs' texts: "" for the original (see :meth:`in_language`)."""

    # Languages.

    @property
    def original_language(self) -> str:
        return str(self.deliberation.get("languages", {}).get("original") or "en")

    @property
    def translation_languages(self) -> list[str]:
        return list(self.deliberation.get("languages", {}).get("translations") or [])

    @property
    def text_language(self) -> str:
        """The language the paragraphs are in."""
        return self.language or self.original_language

    @property
    def is_translation(self) -> bool:
        return self.text_language != self.original_language

    def in_language(self, code: str) -> "DraftView":
        """The same view with every paragraph in language ``code`` (the original, or a translation language
        of the draft; ValueError otherwise). A translation that does not translate the original as it
        stands says so in the paragraph's note; one not yet made is empty, and says that."""
        if code == self.original_language:
            return replace(self, language="")
        if code not in self.translation_languages:
            raise ValueError(f"the draft is not translated into {code!r}")
        paragraphs = []
        for p in self.paragraphs:
            found = self.translations.get(p.id, {}).get(code) or {}
            paragraphs.append(replace(p, text=str(found.get("text") or ""), note=translation_note(found)))
        # Anchors mark spans of the original: no span of a translation is bracketed.
        return replace(self, paragraphs=tuple(paragraphs), spans={}, language=code)

    # Lookups.

    @cached_property
    def by_id(self) -> dict[str, ParagraphView]:
        return {p.id: p for p in self.paragraphs}

    @cached_property
    def labels(self) -> dict[str, str]:
        """How prose refers to each paragraph: "paragraph 3", "paragraph 3 (a)", "preambular paragraph 2",
        "the heading “Chapter one”"."""
        out: dict[str, str] = {}
        operative = ""
        preambular = 0
        for p in self.paragraphs:
            if p.reference:
                out[p.id] = reference_phrase(p.kind, p.reference)
                continue
            if p.kind == ParagraphKind.OPERATIVE:
                operative = p.number
                out[p.id] = f"paragraph {p.number}"
            elif p.kind == ParagraphKind.ITEM:
                out[p.id] = f"paragraph {operative} {p.number}" if operative else f"item {p.number}"
            elif p.kind == ParagraphKind.PREAMBULAR:
                preambular += 1
                out[p.id] = f"preambular paragraph {preambular}"
            else:
                out[p.id] = f"the heading “{excerpt(p.text, 60)}”"
        return out

    def label(self, paragraph_id: str) -> str:
        return self.labels.get(paragraph_id, f"paragraph {paragraph_id} (no longer in the text)")

    def cited(self, record: Mapping[str, Any]) -> str:
        """The paragraph an amendment or annotation is on, as prose: with the reference it had when it was
        made where that differs from the one it has now ("paragraph then 4 (c), now 5 (c)")."""
        paragraph_id = str(record.get("paragraph"))
        then = record.get("reference")
        paragraph = self.by_id.get(paragraph_id)
        now = paragraph.reference if paragraph is not None else None
        if not isinstance(then, str) or not then or now is None or then == now or not now:
            if paragraph is None and isinstance(then, str) and then:
                return f"{reference_phrase(self.kind_of(paragraph_id, record), then)} (no longer in the text)"
            return self.label(paragraph_id)
        word = reference_phrase(paragraph.kind, now).removesuffix(now).strip()
        return f"{word} then {then}, now {now}"

    def kind_of(self, paragraph_id: str, record: Mapping[str, Any]) -> str:
        paragraph = self.by_id.get(paragraph_id)
        if paragraph is not None:
            return paragraph.kind
        then = str(record.get("reference") or "")
        if then.startswith("PP"):
            return str(ParagraphKind.PREAMBULAR)
        return str(ParagraphKind.ITEM if "(" in then else ParagraphKind.OPERATIVE)

    @property
    def rule(self) -> str:
        return str(self.deliberation.get("process", {}).get("rule", "consensus"))

    def status(self, paragraph_id: str) -> str:
        return str(self.deliberation.get("statuses", {}).get(paragraph_id, {}).get("status", "pending"))

    def status_record(self, paragraph_id: str) -> Mapping[str, Any]:
        return self.deliberation.get("statuses", {}).get(paragraph_id, {})

    def indicator(self, target: str) -> Mapping[str, Any] | None:
        return self.deliberation.get("indicators", {}).get(target)

    @property
    def amendments(self) -> list[Mapping[str, Any]]:
        """Every amendment, in the order proposed (am-1, am-2, …)."""
        return sorted(self.deliberation.get("amendments", {}).values(), key=lambda a: _seq(a["id"]))

    @property
    def annotations(self) -> list[Mapping[str, Any]]:
        return sorted(self.deliberation.get("annotations", {}).values(), key=lambda a: _seq(a["id"]))

    def open_amendments(self, paragraph_id: str) -> list[Mapping[str, Any]]:
        return [a for a in self.amendments if a["paragraph"] == paragraph_id and a["state"] == "proposed"]

    def positions(self, target: str) -> list[Mapping[str, Any]]:
        """The latest position of each delegation on ``target``, in the order they first spoke."""
        return list(self.deliberation.get("positions", {}).get(target, {}).values())

    def by_stance(self, target: str) -> dict[str, list[str]]:
        """Stance → delegations, stances in :data:`STANCE_NAMES` order, empty ones left out."""
        out: dict[str, list[str]] = {}
        for stance in STANCE_NAMES:
            names = [p["delegation"] for p in self.positions(target) if p["stance"] == stance]
            if names:
                out[stance] = names
        return out

    def locate(self, paragraph_id: str, record: Mapping[str, Any]) -> Located | None:
        """Where an annotation's or amendment's span is now, in code points of the paragraph's text.

        Through its anchor if any character still carries it; else through the UTF-16 offsets recorded
        when it was made, if they still fit the text; else ``None``.
        """
        paragraph = self.by_id.get(paragraph_id)
        if paragraph is None or self.is_translation:  # spans are the original's
            return None
        text = paragraph.text
        span = self.spans.get(paragraph_id, {}).get(str(record.get("id")))
        try:
            if span is not None:
                if span.point is not None:
                    at = utf16_to_codepoint(text, span.position or 0)
                    return Located(at, at, "", True, "anchor")
                a, b = utf16_span_to_codepoint(text, span.start, span.end)
                return Located(a, b, text[a:b], False, "anchor")
            start, end = record.get("start"), record.get("end")
            if not isinstance(start, int) or not isinstance(end, int) or start > end:
                return None
            a, b = utf16_span_to_codepoint(text, start, end)
            return Located(a, b, text[a:b], a == b, "offsets")
        except OffsetError:
            return None


def translation_note(status: Mapping[str, Any]) -> str:
    """What a translated paragraph's reader must know: "" when it translates the original as it stands."""
    state = status.get("status")
    if state == "stale":
        return (
            f"translation not yet updated: it translates the original as of entry {status.get('basis')}; "
            f"the original changed at entry {status.get('stale_since')}"
        )
    if state != "current":
        return "not yet translated"
    return ""


def draft_view(
    doc: Doc,
    state: Deliberation,
    *,
    draft_id: str,
    title: str,
    symbol: str,
    created: str,
    generated: str,
    seq: int | None = None,
    seq_time: str | None = None,
    seq_hash: str | None = None,
    translations: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
) -> DraftView:
    """A :class:`DraftView` of a draft's text document and deliberation state, copied out of both."""
    paragraphs = read_paragraphs(doc)
    numbers = numbering(paragraphs, getattr(state, "numbering", None))
    spans: dict[str, dict[str, SpanView]] = {}
    for element in paragraphs_array(doc):
        if not isinstance(element, Map):
            continue
        pid, text = element.get("id"), element.get("text")
        if isinstance(pid, str) and isinstance(text, Text):
            spans[pid] = {
                anchor: SpanView(s.start, s.end, s.text, s.point.value if s.point is not None else None)
                for anchor, s in resolve_all(text).items()
            }
    # A deep copy through JSON: the view must not change when the live state does.
    deliberation = json.loads(json.dumps(snapshot(state, [p.id for p in paragraphs])))
    return DraftView(
        id=draft_id,
        title=title,
        symbol=symbol,
        created=created,
        generated=generated,
        paragraphs=tuple(
            ParagraphView(
                p.id,
                numbers.number(p.id),
                str(p.kind),
                p.text,
                numbers.reference(p.id),
                numbers.parents.get(p.id),
            )
            for p in paragraphs
        ),
        deliberation=deliberation,
        spans=spans,
        seq=seq,
        seq_time=seq_time,
        seq_hash=seq_hash,
        translations=json.loads(json.dumps(translations or {})),
    )


def join_names(names: list[str] | tuple[str, ...], conjunction: str = "and") -> str:
    """ "A", "A and B", "A, B and C"."""
    names = list(names)
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def excerpt(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary before ``limit`` characters (with "…")."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "…"


def _seq(identifier: str) -> tuple[int, str]:
    _, _, n = identifier.rpartition("-")
    return (int(n), identifier) if n.isdigit() else (1 << 62, identifier)


def change_phrase(amendment: Mapping[str, Any], *, adopted: bool = False) -> str:
    """What an amendment does, in words: "replace “X” by “Y”", "delete “X”", "insert “Y”".

    With ``adopted``, the text the chair adopted (which differs when adopted as modified).
    """
    new = amendment.get("adopted_text") if adopted and amendment.get("adopted_text") is not None else None
    new = amendment.get("text", "") if new is None else new
    old = amendment.get("original") or ""
    kind = amendment.get("kind")
    if (kind == "deletion" and not (adopted and new)) or (adopted and old and not new):
        return f"delete “{old}”"
    if kind == "insertion" and not old:
        return f"insert “{new}”"
    return f"replace “{old}” by “{new}”"


def decision_notes(amendment: Mapping[str, Any]) -> str:
    """What an adoption's record says beside the change: " (recorded as a substitution)" when adopting as
    modified changed its kind, " over the objection of Kenya (formal objection)" when objections stood."""
    decision = amendment.get("decision")
    if not isinstance(decision, Mapping):
        return ""
    out = ""
    recorded = decision.get("recorded_as")
    if isinstance(recorded, str) and recorded:
        out += f" (recorded as a {recorded})"
    objections = decision.get("over_objection_of")
    if (
        isinstance(objections, list)
        and objections
        and all(isinstance(o, Mapping) and isinstance(o.get("delegation"), str) for o in objections)
    ):
        out += f" over the objection of {objectors(objections)}"
    return out


def sponsors_phrase(amendment: Mapping[str, Any]) -> str:
    """ "Switzerland", or "Switzerland, co-sponsored by CCBI and ITU"."""
    cosponsors = list(amendment.get("cosponsors") or [])
    sponsor = amendment.get("sponsor") or "an unnamed delegation"
    return f"{sponsor}, co-sponsored by {join_names(cosponsors)}" if cosponsors else sponsor


def day(iso_time: str | None) -> str:
    """The date part of an ISO 8601 time ("2005-05-02")."""
    return (iso_time or "")[:10]
