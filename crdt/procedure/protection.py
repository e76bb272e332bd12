"""Protected text: which paragraphs a client update would change, and whether its sender may change them.

The procedure is server-authoritative: an update that would change the words of an agreed paragraph,
type into a paragraph held by pen-holders, or edit after a comment period closed is refused *before* it
is applied (the client is told why and re-syncs), never repaired after. :func:`locate` reads an update
against the document's :class:`~crdt.wire.structure.ItemIndex` (the paragraph each struct writes into,
through its parent or its origins; the paragraph each deletion hits) without applying it;
:func:`edit_refusal` judges the result against the deliberation state. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from crdt.procedure.deliberation import PROTECTED, Deliberation
from crdt.procedure.draft import PARAGRAPHS
from crdt.procedure.editing import EditingMode
from crdt.procedure.roll import ProcedureProfile
from crdt.wire.structure import ID, ItemIndex, Placement, Staged

__all__ = [
    "PARAGRAPH_KEYS",
    "Editor",
    "TextChanges",
    "edit_refusal",
    "locate",
    "may_edit",
    "protections_apply",
]

#: The paragraph map keys whose values the item index keeps: the paragraph's id.
PARAGRAPH_KEYS = ("id",)

_STATUS_WORDS = {"agreed": "agreed", "agreed_ad_ref": "agreed ad referendum"}


@dataclass(frozen=True, slots=True)
class Editor:
    """Who sends the update, in the capacity the server knows them (from the roll where there is one)."""

    participant: str
    #: chair, secretariat, delegate, observer or archivist.
    capacity: str
    delegation: str = ""
    group: str = ""


@dataclass(frozen=True, slots=True)
class TextChanges:
    """What an update does to the paragraphs of a draft."""

    #: Paragraphs whose text (or kind) changes.
    words: frozenset[str] = frozenset()
    #: New paragraphs (ids).
    created: tuple[str, ...] = ()
    #: Paragraphs removed.
    deleted: frozenset[str] = frozenset()
    #: Paragraphs whose id an update tries to change (ids are stable: always refused).
    renamed: frozenset[str] = frozenset()
    #: New paragraphs that reuse an id the draft has.
    duplicates: tuple[str, ...] = ()

    @property
    def touched(self) -> frozenset[str]:
        return self.words | self.deleted

    @property
    def structural(self) -> bool:
        return bool(self.created or self.deleted)


def locate(index: ItemIndex, staged: Staged) -> TextChanges:
    """The paragraphs ``staged`` (an update located against ``index``) changes."""
    words: set[str] = set()
    deleted: set[str] = set()
    renamed: set[str] = set()
    created: dict[ID, str] = {}

    def place(item: ID) -> Placement:
        return index.staged_placement(staged, item)

    def paragraph_id(paragraph: ID) -> str | None:
        return staged.values.get((paragraph, "id")) or index.values.get((paragraph, "id"))

    def classify(where: Placement) -> tuple[str, ID] | None:
        """("entry", map) for an entry of a paragraph map, ("text", map) for an item of its text."""
        parent = where.parent
        if not isinstance(parent, tuple):
            return None
        holder = place(parent)
        if holder.parent == PARAGRAPHS:
            return "entry", parent
        grand = holder.parent
        if holder.key == "text" and isinstance(grand, tuple) and place(grand).parent == PARAGRAPHS:
            return "text", grand
        return None

    new_maps = [
        (client, clock)
        for client, start, end, where in staged.runs
        if where.parent == PARAGRAPHS
        for clock in range(start, end)
    ]
    for paragraph in new_maps:
        created[paragraph] = paragraph_id(paragraph) or ""
    for _client, _start, _end, where in staged.runs:
        found = classify(where)
        if found is None or found[1] in created or index.is_deleted(found[1]):
            continue  # not a paragraph's, part of a paragraph this update creates, or of a removed one
        kind, paragraph = found
        pid = paragraph_id(paragraph)
        if pid is None:
            continue
        if kind == "entry" and where.key == "id":
            renamed.add(pid)
        else:
            words.add(pid)

    for client, start, end in index.newly_deleted(staged.delete_set):
        pieces = list(index.runs_in(client, start, end)) + [
            (max(start, s), min(end, e), where)
            for c, s, e, where in staged.runs
            if c == client and s < end and start < e
        ]
        for lo, hi, where in pieces:
            if where.parent == PARAGRAPHS:
                for clock in range(lo, hi):
                    pid = paragraph_id((client, clock))
                    if pid is not None and (client, clock) not in created:
                        deleted.add(pid)
                continue
            found = classify(where)
            if found is None or found[1] in created or index.is_deleted(found[1]):
                continue
            pid = paragraph_id(found[1])
            if pid is not None:
                words.add(pid)

    existing = _live_ids(index) - deleted
    duplicates = tuple(pid for pid in created.values() if pid and pid in existing)
    return TextChanges(
        frozenset(words - deleted),  # removing a paragraph deletes its text too
        tuple(pid for pid in created.values() if pid),
        frozenset(deleted),
        frozenset(renamed),
        duplicates,
    )


def _live_ids(index: ItemIndex) -> set[str]:
    """Ids of the paragraphs the document holds (paragraph maps not deleted)."""
    live = set()
    for (paragraph, key), value in index.values.items():
        in_draft = index.placement(paragraph).parent == PARAGRAPHS
        if key == "id" and in_draft and not index.is_deleted(paragraph):
            live.add(value)
    return live


def _where(paragraph: str | None) -> str:
    return f"paragraph {paragraph}" if paragraph is not None else "this draft"


def may_edit(state: Deliberation, editor: Editor, paragraph: str | None, now_us: int) -> str | None:
    """Why ``editor`` may not type into ``paragraph`` now (None: they may). ``paragraph`` None asks about
    the draft as a whole: adding, removing or reordering paragraphs."""
    if state.locked:
        return "the text is locked for negotiation: changes only by adopted amendments"
    if paragraph is not None:
        status = state.status_of(paragraph)
        if status in PROTECTED:
            return (
                f"paragraph {paragraph} is {_STATUS_WORDS.get(status, status)}: its text changes only "
                "if the chair reopens it"
            )
        open_, why = state.period_open_for(paragraph, now_us)
        if not open_:
            return f"{why}: paragraph {paragraph} is closed to edits"
    pen = state.editing.pen_for(paragraph)
    if pen.mode is EditingMode.AMENDMENTS_ONLY:
        return f"{_where(paragraph)} takes amendments only: propose one"
    if pen.mode is EditingMode.PEN_HOLDER:
        if editor.capacity == "secretariat" or editor.participant in pen.holders:
            return None
        return f"{_where(paragraph)} is held by the pen-holders: propose an amendment"
    if editor.capacity in ("chair", "secretariat"):
        return None
    if editor.capacity == "delegate":
        if state.roll.negotiates(editor.delegation, editor.group):
            return None
        profile = state.roll.profile
        return (
            f"{editor.delegation} has no negotiating rights in this {profile} draft: "
            "annotate or suggest a change instead"
            if profile is ProcedureProfile.INTERGOVERNMENTAL
            else f"{editor.delegation} has no negotiating rights in this draft"
        )
    return "read-only: this connection may not change the document"


def protections_apply(state: Deliberation, editor: Editor, now_us: int) -> bool:
    """Whether an update from ``editor`` must be located at all: False when they may type anywhere
    (open drafting, nothing agreed, no comment period, no paragraph set apart)."""
    return bool(
        state.periods
        or state.editing.paragraphs
        or any(record.get("status") in PROTECTED for record in state.statuses.values())
        or may_edit(state, editor, None, now_us) is not None
    )


def edit_refusal(state: Deliberation, editor: Editor, changes: TextChanges, now_us: int) -> str | None:
    """Why the update that makes ``changes`` is refused (None: accepted)."""
    if changes.renamed:
        return f"paragraph ids are stable: {sorted(changes.renamed)[0]} cannot be renamed"
    if changes.duplicates:
        return f"there is already a paragraph {changes.duplicates[0]}"
    for paragraph in sorted(changes.touched):
        why = may_edit(state, editor, paragraph, now_us)
        if why is not None:
            return why
    if changes.structural:
        return may_edit(state, editor, None, now_us)
    return None
