"""The comparison of two versions of a draft (Rev.2 with Rev.1, or a revision with the text now).

Paragraphs are matched by id, never by position or text, so a paragraph keeps its identity when it is
renumbered or moved: "former paragraph 12 bis, now 13". Within each paragraph the words deleted and inserted
are marked (:mod:`crdt.record.wordiff`). A paragraph is *moved* when its place among the paragraphs both
versions share changed (those outside their longest common order); *renumbered* when its number changed.
Deleted paragraphs are shown where they stood, after the paragraph that preceded them.

Rendered as Markdown (deletions ``~~struck through~~``, insertions in **bold**) and HTML (``<del>`` and
``<ins>``, which also say in words what they are); both state the convention at the top. Pure: the versions
come in as plain values.
"""

from __future__ import annotations

import difflib
import html as _html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from crdt.procedure.languages import direction
from crdt.record.wordiff import Operation, diff, words_changed

__all__ = ["Comparison", "ParagraphChange", "Version", "VersionParagraph", "compare", "html", "markdown"]


@dataclass(frozen=True, slots=True)
class VersionParagraph:
    id: str
    number: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Version:
    """One side of a comparison: a revision (``rev1``) or the text at some entry (``now``)."""

    id: str
    """``rev1``, ``now``, or a sequence number as text."""
    name: str
    """How people call it: ``Rev.1``, ``the text now``, ``entry 120``."""
    symbol: str
    seq: int
    time: str | None
    paragraphs: tuple[VersionParagraph, ...]


@dataclass(frozen=True, slots=True)
class ParagraphChange:
    id: str
    kind: str
    change: str
    """``unchanged``, ``modified``, ``inserted`` (not in the old version) or ``deleted`` (not in the new)."""
    before: str | None
    """Its label in the old version ("paragraph 12 bis"), if it was there."""
    after: str | None
    """Its label in the new version, if it is there."""
    number_before: str | None
    number_after: str | None
    moved: bool
    ops: tuple[Operation, ...]
    words_deleted: int
    words_inserted: int

    @property
    def renumbered(self) -> bool:
        return (
            self.number_before is not None
            and self.number_after is not None
            and self.number_before != self.number_after
        )

    @property
    def notes(self) -> list[str]:
        """What happened to the paragraph, in words."""
        out = []
        if self.change == "inserted":
            out.append("new paragraph")
        elif self.change == "deleted":
            out.append("deleted")
        if self.renumbered or (self.before and self.after and self.before != self.after):
            out.append(f"former {self.before}, now {self.after}")
        if self.moved:
            out.append("moved")
        if self.change == "modified":
            out.append(_words(self.words_deleted, "deleted") + ", " + _words(self.words_inserted, "inserted"))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "change": self.change,
            "before": self.before,
            "after": self.after,
            "number_before": self.number_before,
            "number_after": self.number_after,
            "renumbered": self.renumbered,
            "moved": self.moved,
            "words_deleted": self.words_deleted,
            "words_inserted": self.words_inserted,
            "notes": self.notes,
            "ops": [{"op": op, "text": text} for op, text in self.ops],
        }


def _words(n: int, what: str) -> str:
    return f"{n} word{'' if n == 1 else 's'} {what}"


@dataclass(frozen=True, slots=True)
class Comparison:
    draft: str
    title: str
    old: Version
    new: Version
    language: str
    paragraphs: tuple[ParagraphChange, ...]
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        def side(v: Version) -> dict[str, Any]:
            return {"id": v.id, "name": v.name, "symbol": v.symbol, "seq": v.seq, "time": v.time}

        return {
            "draft": self.draft,
            "title": self.title,
            "from": side(self.old),
            "to": side(self.new),
            "language": self.language,
            "unit": "words",
            "counts": dict(self.counts),
            "paragraphs": [p.to_json() for p in self.paragraphs],
        }


def labels(paragraphs: Sequence[VersionParagraph]) -> dict[str, str]:
    """How a comparison names each paragraph: "paragraph 3", "paragraph 3 (a)", "preambular paragraph 2",
    "the heading “Chapter one”"."""
    out: dict[str, str] = {}
    operative = ""
    preambular = 0
    for p in paragraphs:
        if p.kind == "operative":
            operative = p.number
            out[p.id] = f"paragraph {p.number}" if p.number else f"paragraph {p.id}"
        elif p.kind == "item":
            out[p.id] = f"paragraph {operative} {p.number}" if operative else f"item {p.number}"
        elif p.kind == "preambular":
            preambular += 1
            out[p.id] = f"preambular paragraph {preambular}"
        else:
            heading = " ".join(p.text.split())
            out[p.id] = f"the heading “{heading[:57] + '…' if len(heading) > 60 else heading}”"
    return out


def compare(draft: str, title: str, old: Version, new: Version, language: str = "en") -> Comparison:
    """Compare two versions paragraph by paragraph (matched by id) and word by word."""
    old_by_id = {p.id: p for p in old.paragraphs}
    new_by_id = {p.id: p for p in new.paragraphs}
    old_labels, new_labels = labels(old.paragraphs), labels(new.paragraphs)
    common_old = [p.id for p in old.paragraphs if p.id in new_by_id]
    common_new = [p.id for p in new.paragraphs if p.id in old_by_id]
    matcher = difflib.SequenceMatcher(None, common_old, common_new, autojunk=False)
    in_place = {
        pid for block in matcher.get_matching_blocks() for pid in common_old[block.a : block.a + block.size]
    }

    # Deleted paragraphs go after the paragraph that preceded them in the old version (the nearest one
    # still there and not moved), or first.
    deleted_after: dict[str | None, list[str]] = {}
    anchor: str | None = None
    for p in old.paragraphs:
        if p.id in in_place:
            anchor = p.id
        elif p.id in new_by_id:
            continue
        else:
            deleted_after.setdefault(anchor, []).append(p.id)

    order: list[tuple[str, str]] = [("deleted", pid) for pid in deleted_after.get(None, [])]
    for p in new.paragraphs:
        order.append(("new", p.id))
        order += [("deleted", pid) for pid in deleted_after.get(p.id, [])]

    changes: list[ParagraphChange] = []
    counts = {"unchanged": 0, "modified": 0, "inserted": 0, "deleted": 0, "moved": 0, "renumbered": 0}
    for side, pid in order:
        before, after = old_by_id.get(pid), new_by_id.get(pid) if side == "new" else None
        if after is None:
            assert before is not None
            ops: list[Operation] = [("delete", before.text)] if before.text else []
            change = "deleted"
        elif before is None:
            ops = [("insert", after.text)] if after.text else []
            change = "inserted"
        else:
            ops = diff(before.text, after.text)
            change = "unchanged" if before.text == after.text else "modified"
        deleted_words, inserted_words = words_changed(ops)
        item = ParagraphChange(
            id=pid,
            kind=(after or before).kind,  # type: ignore[union-attr]
            change=change,
            before=old_labels.get(pid) if before is not None else None,
            after=new_labels.get(pid) if after is not None else None,
            number_before=before.number if before is not None else None,
            number_after=after.number if after is not None else None,
            moved=before is not None and after is not None and pid not in in_place,
            ops=tuple(ops),
            words_deleted=deleted_words,
            words_inserted=inserted_words,
        )
        counts[change] += 1
        counts["moved"] += item.moved
        counts["renumbered"] += item.renumbered
        changes.append(item)
    return Comparison(draft, title, old, new, language, tuple(changes), counts)


# Rendering.


def _side(v: Version) -> str:
    return f"{v.name} ({v.symbol})" if v.symbol and v.symbol != v.name else v.name


def _summary(c: Comparison) -> str:
    n = c.counts
    parts = [
        f"{n.get('modified', 0)} modified",
        f"{n.get('inserted', 0)} new",
        f"{n.get('deleted', 0)} deleted",
    ]
    if n.get("moved"):
        parts.append(f"{n['moved']} moved")
    if n.get("renumbered"):
        parts.append(f"{n['renumbered']} renumbered")
    return "Paragraphs: " + ", ".join(parts) + f", {n.get('unchanged', 0)} unchanged."


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_~\[\]<>&#|])")
MARKDOWN_LEGEND = (
    "Words deleted since the earlier version are ~~struck through~~; words inserted are in **bold**. "
    "Paragraphs are matched by their identity, so a renumbered or moved paragraph is compared with itself."
)
HTML_LEGEND = (
    "Words deleted since the earlier version are struck through and marked “deleted”; words inserted are "
    "underlined and marked “inserted”. Paragraphs are matched by their identity, so a renumbered or moved "
    "paragraph is compared with itself."
)


def _md(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def _md_mark(text: str, mark: str) -> str:
    # Emphasis markers must touch non-space characters: keep the spaces outside them.
    stripped = text.strip()
    if not stripped:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{mark}{_md(stripped)}{mark}{trail}"


def markdown(c: Comparison) -> str:
    lines = [
        f"# {_md(c.title)}: comparison of {_md(_side(c.new))} with {_md(_side(c.old))}",
        "",
        f"*Earlier version: {_md(_side(c.old))}, entry {c.old.seq}"
        + (f" ({c.old.time})" if c.old.time else "")
        + f". Later version: {_md(_side(c.new))}, entry {c.new.seq}"
        + (f" ({c.new.time})" if c.new.time else "")
        + f". Language: {c.language}.*",
        "",
        f"*{MARKDOWN_LEGEND}*",
        "",
        _summary(c),
        "",
    ]
    for p in c.paragraphs:
        label = p.after or p.before or p.id
        notes = "; ".join(p.notes)
        lines.append(f"**{_md(label[0].upper() + label[1:])}**" + (f" — *{_md(notes)}*" if notes else ""))
        lines.append("")
        body = "".join(
            _md(text) if op == "equal" else _md_mark(text, "~~" if op == "delete" else "**")
            for op, text in p.ops
        )
        lines.append(body or "*(empty)*")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


_STYLE = """
body { font-family: "Noto Sans", "Noto Sans Arabic", "Noto Sans CJK SC", "Noto Naskh Arabic", sans-serif;
  max-width: 50rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.6; color: #1b1b1b; }
del { text-decoration: line-through; background: #fde8e8; color: #7a1010; }
ins { text-decoration: underline; background: #e3f5e6; color: #0d4d1b; }
.note { color: #555; font-style: italic; }
.paragraph { margin: 1.2rem 0; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
"""


def html(c: Comparison) -> str:
    esc = _html.escape
    dir_ = direction(c.language)
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{esc(c.language)}">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(c.title)}: {esc(_side(c.new))} compared with {esc(_side(c.old))}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(c.title)}: comparison of {esc(_side(c.new))} with {esc(_side(c.old))}</h1>",
        f'<p class="note">Earlier version: {esc(_side(c.old))}, entry {c.old.seq}'
        + (f" ({esc(c.old.time)})" if c.old.time else "")
        + f". Later version: {esc(_side(c.new))}, entry {c.new.seq}"
        + (f" ({esc(c.new.time)})" if c.new.time else "")
        + "</p>",
        f'<p class="note">{esc(HTML_LEGEND)}</p>',
        f"<p>{esc(_summary(c))}</p>",
    ]
    for p in c.paragraphs:
        label = p.after or p.before or p.id
        notes = "; ".join(p.notes)
        out.append(
            f'<section class="paragraph change-{p.change}" id="p-{esc(p.id)}" data-paragraph="{esc(p.id)}">'
        )
        out.append(
            f"<h2>{esc(label[0].upper() + label[1:])}</h2>"
            + (f'<p class="note">{esc(notes)}</p>' if notes else "")
        )
        parts = []
        for op, text in p.ops:
            if op == "equal":
                parts.append(esc(text))
            elif op == "delete":
                parts.append(
                    f'<del><span class="visually-hidden">[deleted: </span>{esc(text)}'
                    '<span class="visually-hidden">]</span></del>'
                )
            else:
                parts.append(
                    f'<ins><span class="visually-hidden">[inserted: </span>{esc(text)}'
                    '<span class="visually-hidden">]</span></ins>'
                )
        out.append(f'<p dir="{dir_}">' + ("".join(parts) or '<span class="note">(empty)</span>') + "</p>")
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
