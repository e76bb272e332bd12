"""The schema of a draft's text document, and reading it back.

Room ``{draft}`` holds one root array ``paragraphs``; each element is a map
``{"id": str, "kind": str, "text": Y.Text, "translations"?: Y.Map}``. A JS client
renders it with ``doc.getArray('paragraphs')`` and edits ``p.get('text')`` like any
Y.Text. The id is stable: it survives reordering and renumbering. Numbers are
derived from order (:mod:`crdt.procedure.numbering`), never stored in the text document.
``translations`` maps a language code (``fr``) to that language's ``Y.Text`` of the
paragraph, created by the server for each translation language of the draft
(``crdt/procedure/translations.py``); ``text`` is the original.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pycrdt import Array, Doc, Map, Text

from crdt.procedure.numbering import number_paragraphs as number_paragraphs  # the one numbering

PARAGRAPHS = "paragraphs"
MAX_PARAGRAPH_ID = 64
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ParagraphKind(StrEnum):
    HEADING = "heading"
    PREAMBULAR = "preambular"
    OPERATIVE = "operative"
    ITEM = "item"


_KINDS = frozenset(kind.value for kind in ParagraphKind)


@dataclass(frozen=True, slots=True)
class Paragraph:
    id: str
    kind: ParagraphKind
    text: str
    #: Language code → the paragraph's text in that language (written on creation; see translations.py).
    translations: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise ValueError(f"bad paragraph id {self.id!r}: letters, digits, '.', '_', '-', at most 64")
        object.__setattr__(self, "kind", ParagraphKind(self.kind))


def paragraphs_array(doc: Doc) -> Array:
    return doc.get(PARAGRAPHS, type=Array)


def write_paragraphs(doc: Doc, paragraphs: Iterable[Paragraph]) -> None:
    """Append paragraphs to the document, in one transaction."""
    array = paragraphs_array(doc)
    with doc.transaction():
        for paragraph in paragraphs:
            fields = {"id": paragraph.id, "kind": str(paragraph.kind), "text": Text(paragraph.text)}
            if paragraph.translations:
                fields["translations"] = Map({lang: Text(t) for lang, t in paragraph.translations.items()})
            array.append(Map(fields))


def read_paragraphs(doc: Doc) -> list[Paragraph]:
    """The paragraphs in order. Elements that do not follow the schema are skipped."""
    out = []
    for element in paragraphs_array(doc):
        if not isinstance(element, Map):
            continue
        pid, kind, text = element.get("id"), element.get("kind"), element.get("text")
        if not isinstance(pid, str) or not isinstance(text, Text):
            continue
        try:
            out.append(
                Paragraph(pid, ParagraphKind(kind) if kind in _KINDS else ParagraphKind.OPERATIVE, str(text))
            )
        except ValueError:
            continue
    return out


def find_text(doc: Doc, paragraph_id: str) -> Text | None:
    for element in paragraphs_array(doc):
        if isinstance(element, Map) and element.get("id") == paragraph_id:
            text = element.get("text")
            return text if isinstance(text, Text) else None
    return None


_BULLET = re.compile(r"^\s*[-·•*]\s+")


def parse_plain_text(source: str, id_prefix: str = "p") -> list[Paragraph]:
    """Paragraphs from plain text or Markdown.

    Blank lines separate paragraphs; ``#`` lines are headings; ``-``/``·``/``•``
    bullets are items (one per line); everything else is operative. Ids are
    ``{prefix}1``, ``{prefix}2``, … in order.
    """
    blocks: list[tuple[ParagraphKind, str]] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            blocks.append((ParagraphKind.OPERATIVE, " ".join(line.strip() for line in current)))
            current.clear()

    for line in source.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            flush()
        elif line.lstrip().startswith("#"):
            flush()
            blocks.append((ParagraphKind.HEADING, line.lstrip().lstrip("#").strip()))
        elif _BULLET.match(line):
            flush()
            blocks.append((ParagraphKind.ITEM, _BULLET.sub("", line).strip()))
        else:
            current.append(line)
    flush()
    return [
        Paragraph(f"{id_prefix}{i}", kind, text) for i, (kind, text) in enumerate(blocks, start=1) if text
    ]
