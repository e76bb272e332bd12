"""A published meeting summary as a document: Markdown, HTML and Akoma Ntoso ``debateReport``.

The summary's text is the Markdown subset the chair edits (:mod:`crdt.record.exports.meeting_summary`
drafts it): ``# title``, ``## subtitle``, ``- bullet``, ``  - sub-bullet``, other lines as paragraphs.
Parsing is total: whatever the chair typed renders (an unknown line is a paragraph), escaped.

Every rendering carries the version, when and by whom it was published and the SHA-256 of the text, so
that a copy can be checked against the signed record. The AKN document validates against the official
``akomantoso30.xsd`` (tests/test_meetings_record.py): FRBR identifiers under ``/akn/un/debateReport/…``,
the body as ``blockList`` items (nested for sub-bullets).
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crdt.record.exports.akn import AKN_NS, COUNTRY, LANGUAGE

__all__ = ["Block", "Report", "akn", "html_page", "markdown", "parse"]


@dataclass
class Block:
    """A paragraph (``bullets`` empty) or a bullet with its sub-bullets."""

    text: str
    bullet: bool = False
    subs: list[str] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    blocks: list[Block]


def parse(text: str) -> Report:
    title, subtitle = "", ""
    blocks: list[Block] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(Block(" ".join(paragraph)))
            paragraph.clear()

    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            flush()
        elif stripped.startswith("## ") and not subtitle and not blocks:
            flush()
            subtitle = stripped[3:].strip()
        elif stripped.startswith("# ") and not title and not blocks:
            flush()
            title = stripped[2:].strip()
        elif stripped.startswith(("- ", "· ", "* ")):
            flush()
            item = stripped[2:].strip()
            nested = raw[: len(raw) - len(raw.lstrip())] != ""
            if nested and blocks and blocks[-1].bullet:
                blocks[-1].subs.append(item)
            else:
                blocks.append(Block(item, bullet=True))
        else:
            paragraph.append(stripped)
    flush()
    return Report(title, subtitle, blocks)


def _provenance(meta: Mapping[str, Any]) -> str:
    return (
        f"Version {meta['version']}, published {meta['published']} by {meta['by']}. "
        f"SHA-256 of the text: {meta['sha256']}."
    )


def markdown(text: str, meta: Mapping[str, Any]) -> str:
    """The text as published, followed by its provenance."""
    return text.rstrip() + f"\n\n---\n\n{_provenance(meta)}\n"


def html_page(text: str, meta: Mapping[str, Any]) -> str:
    report = parse(text)
    e = html.escape
    out = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(report.title or meta['meeting_title'])}</title>",
        "<style>body{font:16px/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}"
        ".provenance{color:#555;font-size:.85em;border-top:1px solid #ccc;padding-top:.5rem}</style>",
        "</head>",
        "<body>",
        "<article>",
        f"<h1>{e(report.title or meta['meeting_title'])}</h1>",
    ]
    if report.subtitle:
        out.append(f'<p class="subtitle"><strong>{e(report.subtitle)}</strong></p>')
    in_list = False
    for block in report.blocks:
        if block.bullet and not in_list:
            out.append("<ul>")
            in_list = True
        elif not block.bullet and in_list:
            out.append("</ul>")
            in_list = False
        if block.bullet:
            subs = "".join(f"<li>{e(sub)}</li>" for sub in block.subs)
            out.append(f"<li>{e(block.text)}{f'<ul>{subs}</ul>' if subs else ''}</li>")
        else:
            out.append(f"<p>{e(block.text)}</p>")
    if in_list:
        out.append("</ul>")
    out += [f'<p class="provenance">{e(_provenance(meta))}</p>', "</article>", "</body>", "</html>", ""]
    return "\n".join(out)


def _el(parent: ET.Element | None, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.Element(tag, attrs) if parent is None else ET.SubElement(parent, tag, attrs)
    if text:
        element.text = text
    return element


def akn(text: str, meta: Mapping[str, Any]) -> bytes:
    """An Akoma Ntoso 3.0 ``debateReport`` of the published summary.

    ``meta``: draft, meeting, meeting_title, date (of the meeting, YYYY-MM-DD), version, published (ISO),
    by, sha256, kind (formal or informal)."""
    report = parse(text)
    work_date = meta["date"]
    published = str(meta["published"])[:10]
    work = f"/akn/{COUNTRY}/debateReport/{work_date}/{meta['draft']}-{meta['meeting']}"
    expression = f"{work}/{LANGUAGE}@{published}.v{meta['version']}"
    root = _el(None, "akomaNtoso", xmlns=AKN_NS)
    document = _el(root, "debateReport", name="meetingSummary", contains="singleVersion")
    meta_el = _el(document, "meta")
    identification = _el(meta_el, "identification", source="#chair")
    for level, this, uri, date, name in (
        ("FRBRWork", f"{work}/!main", work, work_date, "meeting"),
        ("FRBRExpression", f"{expression}/!main", expression, published, "publication"),
        ("FRBRManifestation", f"{expression}/!main.xml", f"{expression}.akn", published, "generation"),
    ):
        frbr = _el(identification, level)
        _el(frbr, "FRBRthis", value=this)
        _el(frbr, "FRBRuri", value=uri)
        _el(frbr, "FRBRdate", date=date, name=name)
        _el(frbr, "FRBRauthor", href="#chair" if level != "FRBRManifestation" else "#plenary")
        if level == "FRBRWork":
            _el(frbr, "FRBRcountry", value=COUNTRY)
            _el(frbr, "FRBRnumber", value=str(meta["meeting"]))
            _el(frbr, "FRBRname", value=str(meta["meeting_title"]))
        elif level == "FRBRExpression":
            _el(frbr, "FRBRversionNumber", value=str(meta["version"]))
            _el(frbr, "FRBRlanguage", language=LANGUAGE)
    lifecycle = _el(meta_el, "lifecycle", source="#chair")
    _el(lifecycle, "eventRef", eId="evt_published", date=published, source="#chair", refersTo="#published")
    references = _el(meta_el, "references", source="#plenary")
    _el(
        references,
        "TLCOrganization",
        eId="plenary",
        href="/ontology/organization/plenary/plenary",
        showAs="Plenary",
    )
    _el(
        references,
        "TLCPerson",
        eId="publisher",
        href="/ontology/person/plenary/publisher",
        showAs=str(meta["by"]),
    )
    _el(references, "TLCRole", eId="chair", href="/ontology/role/plenary/chair", showAs="Chair")
    _el(references, "TLCEvent", eId="published", href="/ontology/event/plenary/published", showAs="published")
    kind = "formal meeting" if meta.get("kind") == "formal" else "informal consultation"
    _el(
        references,
        "TLCConcept",
        eId="kind",
        href=f"/ontology/concept/plenary/{kind.replace(' ', '-')}",
        showAs=kind,
    )

    preface = _el(document, "preface")
    _el(_el(preface, "p"), "docTitle", report.title or str(meta["meeting_title"]))
    if report.subtitle:
        _el(_el(preface, "p"), "docType", report.subtitle)
    _el(_el(preface, "p"), "docStatus", _provenance(meta))

    body = _el(document, "mainBody")
    lists = 0
    current: ET.Element | None = None
    for index, block in enumerate(report.blocks, start=1):
        if not block.bullet:
            current = None
            _el(body, "p", block.text, eId=f"para_{index}")
            continue
        if current is None:
            lists += 1
            current = _el(body, "blockList", eId=f"list_{lists}")
        item = _el(current, "item", eId=f"list_{lists}__item_{index}")
        _el(item, "p", block.text)
        if block.subs:
            nested = _el(item, "blockList", eId=f"list_{lists}__item_{index}__list_1")
            for n, sub in enumerate(block.subs, start=1):
                _el(_el(nested, "item", eId=f"list_{lists}__item_{index}__list_1__item_{n}"), "p", sub)
    if not len(body):
        _el(body, "p")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
