"""Compilation and clean texts, in Markdown and HTML.

**Compilation** shows every paragraph with its number and status, and brackets what is contested:

- a paragraph is bracketed *whole* when its status is ``bracketed``, or when it is not agreed and some
  delegation objects to the paragraph itself (a position, which has no span: the objection is to all of
  it); the bracket is followed by the status reason and the positions stated on the paragraph;
- within a paragraph, each span that *open* amendments target is bracketed. The span is found through the
  amendment's anchor (the range mark that followed every edit), or, when every marked character was
  deleted, through the offsets recorded at proposal if they still fit. Spans that share text, identical
  insertion points and points inside a span are merged into one group of options ``[as it stands] /
  [option of am-1] / [option of am-2]``: the first is the text as it stands (absent for a bare insertion
  point), each next one is the group's text with one amendment applied, followed by the amendment's id,
  its sponsor and co-sponsors and the positions stated on it; each open amendment is footnoted in full.

**Clean** shows the agreed text only: the paragraphs whose status is ``agreed`` or ``agreed_ad_ref`` (the
latter marked "ad ref"), with the numbers of the full draft; every other paragraph, headings included, is
left out. The output states this rule.

Markdown escapes the text's own ``\\ ` * _ [ ] < > &`` so that a bracket in the output is always one of
ours; HTML escapes everything and states every meaning in words (no colour-only meaning).
"""

from __future__ import annotations

import html as _html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crdt.procedure.languages import direction
from crdt.record.exports import (
    AGREED,
    STANCE_NAMES,
    STATUS_NAMES,
    DraftView,
    Located,
    ParagraphView,
    change_phrase,
    day,
    decision_notes,
    join_names,
    sponsors_phrase,
)
from crdt.record.exports.footnotes import NOTES_TITLE, Footnote, by_paragraph, footnotes
from crdt.record.exports.roll import roll_lines, rules_phrase

__all__ = ["CLEAN_RULE", "html", "markdown"]

CLEAN_RULE = (
    "Clean text: only the paragraphs whose status is agreed or agreed ad referendum (marked “ad ref”) "
    "are shown; every other paragraph, headings included, is left out. Numbers are those of the full draft."
)
_LEGEND = (
    "Square brackets mark contested text. A paragraph whose status is bracketed, or to which a delegation "
    "objects, is bracketed whole, followed by its status reason and the positions stated on it. Within a "
    "paragraph, each span targeted by open amendments is bracketed as a group of options separated by "
    "“ / ”: the first is the text as it stands, each next one is what an open amendment proposes, "
    "followed by the amendment, its sponsor and co-sponsors, and the positions stated on it. Open "
    "amendments are given in full in the notes."
)


# The model both renderers share.


@dataclass(frozen=True, slots=True)
class Option:
    text: str
    amendment: Mapping[str, Any] | None
    """``None`` for the text as it stands."""


@dataclass(frozen=True, slots=True)
class Group:
    """One group of bracketed options."""

    options: tuple[Option, ...]


Segment = str | Group


@dataclass(frozen=True, slots=True)
class Entry:
    paragraph: ParagraphView
    status: str
    reason: str
    segments: tuple[Segment, ...]
    whole: bool
    """Bracketed whole (status bracketed, or objected to and not agreed)."""
    stances: dict[str, list[str]]
    """The positions stated on the paragraph itself."""
    notes: tuple[Mapping[str, Any], ...]
    """Open amendments on the paragraph, in the order they appear in it (unlocated ones last)."""


def _entries(view: DraftView) -> list[Entry]:
    return [_entry(view, p) for p in view.paragraphs]


def _entry(view: DraftView, paragraph: ParagraphView) -> Entry:
    status = view.status(paragraph.id)
    stances = view.by_stance(paragraph.id)
    objected = "objection" in stances or "formal_objection" in stances
    located: list[tuple[Located, Mapping[str, Any]]] = []
    lost: list[Mapping[str, Any]] = []
    for amendment in view.open_amendments(paragraph.id):
        where = view.locate(paragraph.id, amendment)
        if where is None:
            lost.append(amendment)
        else:
            located.append((where, amendment))
    segments, order = _segments(paragraph.text, located)
    return Entry(
        paragraph=paragraph,
        status=status,
        reason=str(view.status_record(paragraph.id).get("reason") or ""),
        segments=tuple(segments),
        whole=status == "bracketed" or (objected and status not in AGREED),
        stances=stances,
        notes=tuple(order + lost),
    )


def _segments(
    text: str, located: list[tuple[Located, Mapping[str, Any]]]
) -> tuple[list[Segment], list[Mapping[str, Any]]]:
    """Cut ``text`` into plain runs and groups of options, merging spans that compete."""
    located = sorted(located, key=lambda item: (item[0].start, item[0].end))
    regions: list[tuple[int, int, list[tuple[Located, Mapping[str, Any]]]]] = []
    for where, amendment in located:
        if regions:
            start, end, members = regions[-1]
            same = where.start == start and where.end == end
            if where.start < end or same:
                regions[-1] = (start, max(end, where.end), [*members, (where, amendment)])
                continue
        regions.append((where.start, where.end, [(where, amendment)]))
    segments: list[Segment] = []
    order: list[Mapping[str, Any]] = []
    at = 0
    for start, end, members in regions:
        if start > at:
            segments.append(text[at:start])
        here = text[start:end]
        options = [Option(here, None)] if end > start else []
        for where, amendment in members:
            new = "" if amendment.get("kind") == "deletion" else str(amendment.get("text", ""))
            local_start, local_end = where.start - start, where.end - start
            options.append(Option(here[:local_start] + new + here[local_end:], amendment))
            order.append(amendment)
        segments.append(Group(tuple(options)))
        at = end
    if at < len(text) or not segments:
        segments.append(text[at:])
    return segments, order


def _stances_phrase(stances: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{STANCE_NAMES[s]}: {', '.join(names)}" for s, names in stances.items())


def _owners(view: DraftView, amendment: Mapping[str, Any]) -> str:
    parts = [f"{amendment['id']}: {sponsors_phrase(amendment)}"]
    stances = _stances_phrase(view.by_stance(amendment["id"]))
    if stances:
        parts.append(stances)
    return "; ".join(parts)


def _whole_note(entry: Entry) -> str:
    """Who and what is behind a whole-paragraph bracket: the status reason, then the positions."""
    parts = [entry.reason] if entry.reason else []
    stances = _stances_phrase(entry.stances)
    if stances:
        parts.append(stances)
    return "; ".join(parts)


def _status_phrase(entry: Entry) -> str:
    status = STATUS_NAMES.get(entry.status, entry.status)
    phrase = f"{status} — {entry.reason}" if entry.reason and not entry.whole else status
    return f"{phrase}; {entry.paragraph.note}" if entry.paragraph.note else phrase


def _note_text(view: DraftView, amendment: Mapping[str, Any]) -> str:
    """An open amendment in full, as one sentence run (for a footnote)."""
    by = amendment.get("proposed_by") or {}
    who = amendment.get("sponsor", "")
    if by.get("name") and by.get("name") != who:
        who = f"{who} ({by['name']})"
    cosponsors = amendment.get("cosponsors") or []
    kind = amendment.get("kind", "amendment")
    text = f"{amendment['id']}, {kind} proposed on {day(amendment.get('proposed'))}"
    revision = view.deliberation.get("revisions", {}).get(str(amendment.get("revision")))
    if revision:  # the revision it was made against
        text += f" (on {revision['name']})"
    text += f" by {who}"
    if cosponsors:
        text += f", co-sponsored by {join_names(cosponsors)}"
    text += f": in {view.cited(amendment)}, {change_phrase(amendment)}."
    if amendment.get("justification"):
        text += f" Justification: {amendment['justification']}"
        text += "" if text.endswith((".", "!", "?")) else "."
    positions = view.positions(amendment["id"])
    if positions:
        said = []
        for stance in STANCE_NAMES:
            names = [
                p["delegation"] + (f" (“{p['explanation']}”)" if p.get("explanation") else "")
                for p in positions
                if p["stance"] == stance
            ]
            if names:
                said.append(f"{STANCE_NAMES[stance]} — {', '.join(names)}")
        text += f" Positions: {'; '.join(said)}."
    else:
        text += " No position stated yet."
    indicator = view.indicator(amendment["id"])
    if indicator:
        verdict = "satisfied" if indicator.get("rule_satisfied") else "not satisfied"
        text += f" Indicator: {str(indicator.get('status', '')).replace('_', ' ')}"
        text += f" (rule {indicator.get('rule', view.rule)}: {verdict})."
    silence = view.deliberation.get("silences", {}).get(amendment["id"])
    if silence and silence.get("state") == "running":
        text += f" Under silence procedure until {silence.get('deadline') or 'its deadline'}."
    if view.locate(amendment["paragraph"], amendment) is None:
        text += " Its span is no longer in the text (every character of it was deleted)."
    elif view.spans.get(amendment["paragraph"], {}).get(amendment["id"]) is None:
        text += " Its anchor is gone; the span shown is where the offsets recorded at proposal fall now."
    return text


def _decided(view: DraftView) -> list[str]:
    lines = []
    for amendment in view.amendments:
        state = amendment.get("state")
        if state == "proposed":
            continue
        last = (amendment.get("history") or [{}])[-1]
        line = (
            f"{amendment['id']} ({sponsors_phrase(amendment)}) on {view.cited(amendment)}: "
            f"{str(state).replace('_', ' ')}{decision_notes(amendment)} on {day(last.get('at'))}"
        )
        if state in ("adopted", "adopted_modified"):
            line += f" — {change_phrase(amendment, adopted=True)}"
        elif state == "rejected":
            line += f" — {(amendment.get('decision') or {}).get('reason', '')}"
        elif state == "superseded" and last.get("by_amendment"):
            line += f" by {last['by_amendment']}"
        lines.append(line)
    return lines


def _header(view: DraftView, kind: str) -> tuple[str, str]:
    what = "Compilation text" if kind == "compilation" else "Clean text"
    return (
        what,
        f"{what} of draft {view.id}. {view.as_of} {rules_phrase(view)}",
    )


def _check(kind: str) -> None:
    if kind not in ("compilation", "clean"):
        raise ValueError(f"unknown view {kind!r}: compilation or clean")


# Markdown.

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_[]<>&"})


def _md(text: str) -> str:
    return " ".join(text.translate(_MD_SPECIAL).splitlines())


def markdown(view: DraftView, kind: str = "compilation") -> str:
    """The compilation (default) or clean text of ``view`` as CommonMark (footnotes in the GFM syntax)."""
    _check(kind)
    _what, intro = _header(view, kind)
    out = [f"# {_md(view.title)}", ""]
    if view.symbol:
        out += [f"**{_md(view.symbol)}**", ""]
    out += [f"*{_md(intro)}*", ""]
    if kind == "clean":
        out += [f"> {_md(CLEAN_RULE)}", ""]
        shown = [p for p in view.paragraphs if view.status(p.id) in AGREED]
        notes = footnotes(view, {p.id for p in shown})
        attached = by_paragraph(notes)
        for p in shown:
            out += [_md_clean(p, view.status(p.id)) + _md_markers(attached.get(p.id, [])), ""]
        if not shown:
            out += ["*No paragraph is agreed yet.*", ""]
        out += _md_notes(notes)
        return "\n".join(out).rstrip() + "\n"
    out += [f"> {_md(_LEGEND)}", ""]
    notes: list[Mapping[str, Any]] = []
    positions = footnotes(view)
    attached = by_paragraph(positions)
    for entry in _entries(view):
        out += [_md_entry(view, entry) + _md_markers(attached.get(entry.paragraph.id, [])), ""]
        notes.extend(entry.notes)
    for amendment in notes:
        out += [f"[^{amendment['id']}]: {_md(_note_text(view, amendment))}", ""]
    out += _md_notes(positions)
    decided = _decided(view)
    if decided:
        out += ["## Amendments decided", ""] + [f"- {_md(line)}" for line in decided] + [""]
    roll = roll_lines(view)
    if roll:
        out += ["## The roll", ""] + [f"- {_md(line)}" for line in roll] + [""]
    return "\n".join(out).rstrip() + "\n"


def _md_markers(notes: list[Footnote]) -> str:
    return "".join(f"[^{note.number}]" for note in notes)


def _md_notes(notes: list[Footnote]) -> list[str]:
    """The footnotes of reservations and explanations (GFM footnotes, shown as ¹, ², …)."""
    if not notes:
        return []
    out = [f"## {NOTES_TITLE}", ""]
    for note in notes:
        out += [f"[^{note.number}]: {_md(note.text)}", ""]
    return out


def _md_prefix(p: ParagraphView) -> str:
    return f"**{_md(p.number)}{'.' if p.kind == 'operative' else ''}** " if p.number else ""


def _md_clean(p: ParagraphView, status: str) -> str:
    ad_ref = " *(ad ref)*" if status == "agreed_ad_ref" else ""
    ad_ref += f" *({_md(p.note)})*" if p.note else ""
    if p.kind == "heading":
        return f"## {_md(p.text)}{ad_ref}"
    return f"{_md_prefix(p)}{_md(p.text)}{ad_ref}"


def _md_entry(view: DraftView, entry: Entry) -> str:
    body = ""
    for segment in entry.segments:
        if isinstance(segment, str):
            body += _md(segment)
            continue
        options = []
        for option in segment.options:
            shown = _md(option.text) if option.text else "*delete*"
            if option.amendment is None:
                options.append(f"[{shown}]")
            else:
                amendment_id = option.amendment["id"]
                options.append(f"[{shown}] ({_md(_owners(view, option.amendment))})[^{amendment_id}]")
        body += " / ".join(options)
    for amendment in entry.notes:
        if view.locate(entry.paragraph.id, amendment) is None:
            body += f"[^{amendment['id']}]"
    if entry.whole:
        note = _whole_note(entry)
        body = f"[{body}]" + (f" ({_md(note)})" if note else "")
    status = f"({_md(_status_phrase(entry))})"
    if entry.paragraph.kind == "heading":
        return f"## {body} {status}"
    return f"{_md_prefix(entry.paragraph)}{status} {body}"


# HTML.

_STYLE = """
body { font-family: Georgia, serif; max-width: 50em; margin: 2em auto; padding: 0 1em; line-height: 1.5; }
.status { font-style: italic; }
.group { font-weight: bold; }
.owners { font-size: 0.85em; font-weight: normal; }
.option-delete { font-style: italic; }
.legend, .rule { border-left: 3px solid; padding-left: 1em; }
""".strip()


_EN = 'lang="en" dir="ltr"'


def _h(text: str) -> str:
    return _html.escape(text, quote=True)


def html(view: DraftView, kind: str = "compilation") -> str:
    """The compilation (default) or clean text of ``view`` as an HTML5 document (also well-formed XML)."""
    _check(kind)
    what, intro = _header(view, kind)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        f"<title>{_h(view.title)} — {_h(what.lower())}</title>",
        f"<style>\n{_STYLE}\n</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_h(view.title)}</h1>",
    ]
    if view.symbol:
        out.append(f'<p class="symbol">{_h(view.symbol)}</p>')
    # The text is in its language and direction; what Plenary says about it is in English.
    text_lang = f'lang="{_h(view.text_language)}" dir="{direction(view.text_language)}"'
    out += [f"<p>{_h(intro)}</p>", "</header>", f"<main {text_lang}>"]
    if kind == "clean":
        out.append(f'<p class="rule" {_EN}>{_h(CLEAN_RULE)}</p>')
        shown = [p for p in view.paragraphs if view.status(p.id) in AGREED]
        positions = footnotes(view, {p.id for p in shown})
        attached = by_paragraph(positions)
        out += [_html_clean(p, view.status(p.id), attached.get(p.id, [])) for p in shown]
        if not shown:
            out.append("<p><em>No paragraph is agreed yet.</em></p>")
        out += _html_notes(positions)
    else:
        out.append(f'<p class="legend" {_EN}>{_h(_LEGEND)}</p>')
        notes: list[Mapping[str, Any]] = []
        positions = footnotes(view)
        attached = by_paragraph(positions)
        for entry in _entries(view):
            out.append(_html_entry(view, entry, attached.get(entry.paragraph.id, [])))
            notes.extend(entry.notes)
        if notes:
            out += [f'<section class="notes" aria-labelledby="notes-title" {_EN}>']
            out += ['<h2 id="notes-title">Open amendments</h2>', "<ol>"]
            for amendment in notes:
                aid = _h(amendment["id"])
                back = f' <a href="#ref-{aid}" aria-label="Back to {aid} in the text">↩</a>'
                out.append(f'<li id="note-{aid}">{_h(_note_text(view, amendment))}{back}</li>')
            out += ["</ol>", "</section>"]
        out += _html_notes(positions)
        decided = _decided(view)
        if decided:
            out += [f'<section aria-labelledby="decided-title" {_EN}>']
            out += ['<h2 id="decided-title">Amendments decided</h2>', "<ul>"]
            out += [f"<li>{_h(line)}</li>" for line in decided]
            out += ["</ul>", "</section>"]
        roll = roll_lines(view)
        if roll:
            out += ['<section aria-labelledby="roll-title">', '<h2 id="roll-title">The roll</h2>', "<ul>"]
            out += [f"<li>{_h(line)}</li>" for line in roll]
            out += ["</ul>", "</section>"]
    out += ["</main>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


def _html_number(p: ParagraphView) -> str:
    if not p.number:
        return ""
    return f'<span class="num">{_h(p.number)}{"." if p.kind == "operative" else ""}</span> '


def _html_markers(notes: list[Footnote]) -> str:
    return "".join(
        f'<sup><a id="fnref-{n.number}" href="#fn-{n.number}" aria-label="note {n.number}">'
        f"{n.number}</a></sup>"
        for n in notes
    )


def _html_notes(notes: list[Footnote]) -> list[str]:
    if not notes:
        return []
    out = ['<section class="notes" aria-labelledby="positions-title">']
    out += [f'<h2 id="positions-title">{_h(NOTES_TITLE)}</h2>', "<ol>"]
    for note in notes:
        back = f' <a href="#fnref-{note.number}" aria-label="Back to note {note.number} in the text">↩</a>'
        out.append(f'<li id="fn-{note.number}" value="{note.number}">{_h(note.text)}{back}</li>')
    return [*out, "</ol>", "</section>"]


def _html_clean(p: ParagraphView, status: str, notes: list[Footnote]) -> str:
    ad_ref = ' <span class="status">(ad ref)</span>' if status == "agreed_ad_ref" else ""
    ad_ref += f' <span class="status">({_h(p.note)})</span>' if p.note else ""
    pid = _h(p.id)
    marks = _html_markers(notes)
    if p.kind == "heading":
        return f'<h2 id="para-{pid}">{_h(p.text)}{ad_ref}{marks}</h2>'
    return f'<p id="para-{pid}" class="{_h(p.kind)}">{_html_number(p)}{_h(p.text)}{ad_ref}{marks}</p>'


def _html_entry(view: DraftView, entry: Entry, notes: list[Footnote]) -> str:
    body = ""
    for segment in entry.segments:
        if isinstance(segment, str):
            body += _h(segment)
            continue
        options = []
        for option in segment.options:
            shown = _h(option.text) if option.text else '<span class="option-delete">delete</span>'
            if option.amendment is None:
                options.append(f"[{shown}]")
                continue
            aid = _h(option.amendment["id"])
            options.append(
                f'[{shown}] <span class="owners">({_h(_owners(view, option.amendment))})</span>'
                f'<sup><a id="ref-{aid}" href="#note-{aid}" aria-label="note on {aid}">{aid}</a></sup>'
            )
        body += f'<span class="group">{" / ".join(options)}</span>'
    for amendment in entry.notes:
        if view.locate(entry.paragraph.id, amendment) is None:
            aid = _h(amendment["id"])
            body += f'<sup><a id="ref-{aid}" href="#note-{aid}" aria-label="note on {aid}">{aid}</a></sup>'
    if entry.whole:
        note = _whole_note(entry)
        body = f'<span class="whole">[{body}]</span>'
        body += f' <span class="owners">({_h(note)})</span>' if note else ""
    status = f'<span class="status">(status: {_h(_status_phrase(entry))})</span>'
    pid = _h(entry.paragraph.id)
    body += _html_markers(notes)
    if entry.paragraph.kind == "heading":
        return f'<h2 id="para-{pid}">{body} {status}</h2>'
    number = _html_number(entry.paragraph)
    return f'<p id="para-{pid}" class="{_h(entry.paragraph.kind)}">{number}{status} {body}</p>'
