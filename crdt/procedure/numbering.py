"""Paragraph numbers: the one function every view of a draft numbers its paragraphs with.

Numbers are derived from the order of the paragraphs, never stored in the text. Three series are numbered:
operative paragraphs ``1, 2, …``; items ``(a), (b), …`` under the operative paragraph they follow;
preambular paragraphs, which the text shows unnumbered (UN practice) but which delegations cite as
"preambular paragraph 2". Headings are not numbered.

Each paragraph has a **number** (what the text shows: ``"4"``, ``"(c)"``, ``"4 bis"``, ``"(b bis)"``,
``""``) and a **reference** (how it is cited, unique in the draft: ``"4"``, ``"4 (c)"``, ``"PP2"``).

**Frozen numbering.** Once the chair freezes the numbers (the map of references at that moment, kept in
the deliberation state), a paragraph that was numbered keeps its number wherever it moves, and a new
one takes the number of the frozen paragraph before it in its series with the next free Latin suffix,
as UN practice does: after ``4`` come ``4 bis``, ``4 ter``, …; after item ``(b)``, ``(b bis)``. A new
paragraph before the first frozen one of its series counts from ``0`` (``0 bis``); a series with no
frozen paragraph at all (the items of a new paragraph) is numbered afresh. Freezing again keeps the
frozen numbers and adds the new ones; unfreezing renumbers everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

# Paragraph kinds, as crdt.procedure.draft.ParagraphKind spells them (a StrEnum: equal to these strings).
# Not imported from there: the draft module names number_paragraphs too.
OPERATIVE, PREAMBULAR, ITEM = "operative", "preambular", "item"


class Paragraph(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def kind(self) -> str: ...


__all__ = ["SUFFIXES", "Numbering", "number_paragraphs", "numbering", "reference_phrase"]

#: Latin ordinal adverbs for inserted paragraphs ("12 bis" is the second paragraph 12).
SUFFIXES = (
    "bis",
    "ter",
    "quater",
    "quinquies",
    "sexies",
    "septies",
    "octies",
    "novies",
    "decies",
    "undecies",
    "duodecies",
    "terdecies",
    "quaterdecies",
    "quindecies",
    "sexdecies",
    "septdecies",
    "octodecies",
    "novodecies",
    "vicies",
)
_ORDINAL = {suffix: n for n, suffix in enumerate(SUFFIXES, start=1)}
PREAMBULAR_PREFIX = "PP"
#: A key no paragraph id can be (ids start with a letter or digit): in a frozen map, it says the map holds
#: whole references. Maps frozen before it held bare item letters ("(c)"), read under the item's paragraph.
REFERENCES_MARK = "@references"


@dataclass(frozen=True)
class Numbering:
    """The numbers of one sequence of paragraphs."""

    numbers: dict[str, str] = field(default_factory=dict)
    """Paragraph id → the number the text shows ("" for headings and preambular paragraphs)."""
    references: dict[str, str] = field(default_factory=dict)
    """Paragraph id → how it is cited, unique in the draft ("4", "4 (c)", "PP2"; "" for headings)."""
    parents: dict[str, str | None] = field(default_factory=dict)
    """Item id → the operative paragraph it belongs to (``None``: no paragraph before it)."""
    kinds: dict[str, str] = field(default_factory=dict)

    def number(self, paragraph_id: str) -> str:
        return self.numbers.get(paragraph_id, "")

    def reference(self, paragraph_id: str) -> str:
        return self.references.get(paragraph_id, "")

    def frozen(self) -> dict[str, str]:
        """What freezing keeps: every numbered paragraph's reference (and :data:`REFERENCES_MARK`)."""
        return {REFERENCES_MARK: "1", **{pid: ref for pid, ref in self.references.items() if ref}}


def _suffixed(base: str, ordinal: int) -> str:
    if ordinal == 0:
        return base
    word = SUFFIXES[ordinal - 1] if ordinal <= len(SUFFIXES) else str(ordinal + 1)
    return f"{base} {word}"


def _split(value: str) -> tuple[str, int]:
    """``"12 ter"`` → ``("12", 2)``; ``"12"`` → ``("12", 0)``."""
    base, _, last = value.rpartition(" ")
    if base and last in _ORDINAL:
        return base, _ORDINAL[last]
    return value, 0


def _letters(n: int) -> str:
    """0 → a, 25 → z, 26 → aa, 27 → bb (as UN documents continue a list past z)."""
    return chr(ord("a") + n % 26) * (n // 26 + 1)


class _Series:
    """One numbered sequence: its members in order, numbered afresh or after the frozen ones."""

    def __init__(self, fresh: str) -> None:
        self.fresh = fresh  # "digits" or "letters"
        self.members: list[tuple[str, str | None]] = []  # (paragraph id, frozen value in this series)

    def number(self, taken: set[str], cite: str) -> dict[str, str]:
        """Values by id; ``cite`` formats a value as a draft-wide reference, which ``taken`` holds."""
        out: dict[str, str] = {}
        if all(value is None for _, value in self.members):
            n = 0
            for pid, _ in self.members:
                while True:
                    value = str(n + 1) if self.fresh == "digits" else _letters(n)
                    n += 1
                    if cite.format(value) not in taken:
                        break
                out[pid] = value
                taken.add(cite.format(value))
            return out
        base, ordinal = "0", 0
        for pid, frozen in self.members:
            if frozen is not None:
                out[pid] = frozen
                base, ordinal = _split(frozen)
                continue
            while True:
                ordinal += 1
                value = _suffixed(base, ordinal)
                if cite.format(value) not in taken:
                    break
            out[pid] = value
            taken.add(cite.format(value))
        return out


def numbering(paragraphs: Iterable[Paragraph], frozen: Mapping[str, str] | None = None) -> Numbering:
    """Number ``paragraphs`` (in document order); ``frozen`` is the map of references kept when the
    numbering was frozen (``None``: not frozen)."""
    paragraphs = list(paragraphs)
    kinds: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    operative = _Series("digits")
    preambular = _Series("digits")
    items: dict[str | None, _Series] = {}
    parent: str | None = None
    frozen_refs = dict(frozen or {})
    whole = frozen_refs.pop(REFERENCES_MARK, None) is not None
    for p in paragraphs:
        if p.id in kinds:  # a duplicated id (a hostile client): the first one is the paragraph
            continue
        kinds[p.id] = str(p.kind)
        value = frozen_refs.get(p.id) if frozen is not None else None
        if p.kind == OPERATIVE:
            if value is not None and (value.startswith(PREAMBULAR_PREFIX) or "(" in value):
                value = None  # frozen as another kind: its kind changed since
            operative.members.append((p.id, value))
            parent = p.id
        elif p.kind == PREAMBULAR:
            if value is not None and value.startswith(PREAMBULAR_PREFIX):
                value = value[len(PREAMBULAR_PREFIX) :]
            elif value is not None:
                value = None
            preambular.members.append((p.id, value))
            parent = None
        elif p.kind == ITEM:
            if value is not None and not value.endswith(")"):
                value = None
            parents[p.id] = parent
            items.setdefault(parent, _Series("letters")).members.append((p.id, value))
        else:
            parent = None
    # Frozen references are taken everywhere, so that no new number repeats one.
    taken = set(frozen_refs.values()) if frozen is not None else set()
    numbers: dict[str, str] = {pid: "" for pid in kinds}
    references: dict[str, str] = {pid: "" for pid in kinds}
    for pid, value in operative.number(taken, "{}").items():
        numbers[pid] = references[pid] = value
    for pid, value in preambular.number(taken, PREAMBULAR_PREFIX + "{}").items():
        references[pid] = PREAMBULAR_PREFIX + value
    for owner, series in items.items():
        head = references[owner] if owner is not None else ""
        cite = f"{head} ({{}})" if head else "({})"
        # A frozen item keeps its whole reference ("4 (c)"), even under another paragraph now; its value
        # in this series is its letter. A number frozen before references existed ("(c)") is a letter.
        series.members = [
            (pid, None if value is None else _item_letter(value)) for pid, value in series.members
        ]
        for pid, letter in series.number(taken, cite).items():
            numbers[pid] = f"({letter})"
            kept = frozen_refs.get(pid) if frozen is not None else None
            references[pid] = kept if kept is not None and whole else cite.format(letter)
    return Numbering(numbers, references, parents, kinds)


def _item_letter(value: str) -> str:
    """``"4 (c bis)"`` or ``"(c bis)"`` → ``"c bis"``."""
    inner = value[value.rfind("(") + 1 :] if "(" in value else value
    return inner.rstrip(")").strip()


def reference_phrase(kind: str, reference: str) -> str:
    """How prose cites a paragraph by its reference: "paragraph 4 (c)", "preambular paragraph 2"."""
    if not reference:
        return ""
    if kind == PREAMBULAR and reference.startswith(PREAMBULAR_PREFIX):
        return f"preambular paragraph {reference[len(PREAMBULAR_PREFIX) :]}"
    if kind == ITEM and reference.startswith("("):
        return f"item {reference}"
    return f"paragraph {reference}"


def number_paragraphs(
    paragraphs: Iterable[Paragraph], frozen: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The number each paragraph shows, by id (see :func:`numbering`)."""
    return numbering(paragraphs, frozen).numbers


#: Commands that name a paragraph, and the field that names it.
_PARAGRAPH_FIELDS = {
    "annotation.create": "paragraph",
    "amendment.propose": "paragraph",
    "paragraph.status": "paragraph",
    "position.state": "target",
    "silence.start": "target",
}


def stamp_reference(
    command: dict[str, object], paragraphs: Iterable[Paragraph], frozen: Mapping[str, str] | None
) -> dict[str, object]:
    """Record in ``command`` the reference its paragraph has now (``"reference": "4 (c)"``), so the record
    can show the number it had then beside the number it has later. The paragraph stays named by id."""
    name = _PARAGRAPH_FIELDS.get(str(command.get("type")))
    target = command.get(name) if name else None
    if isinstance(target, str):
        paragraphs = list(paragraphs)
        if any(p.id == target for p in paragraphs):
            command["reference"] = numbering(paragraphs, frozen).reference(target)
    return command
