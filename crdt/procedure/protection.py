"""Protected text: which paragraphs a client update would change, and whether its sender may change them.

The procedure is server-authoritative: an update that would change the words of an agreed paragraph,
type into a paragraph held by pen-holders, or edit after a comment period closed is refused *before* it
is applied (the client is told why and re-syncs), never repaired after. :func:`locate` names the
paragraphs from where the update writes, read without applying it by the document's
:class:`~crdt.procedure.writes.PartIndex` (the paragraph each struct writes into, through its parent or
its origins; the paragraph each deletion hits);
:func:`edit_refusal` judges the result against the deliberation state. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crdt.procedure.deliberation import PROTECTED, Deliberation
from crdt.procedure.editing import EditingMode
from crdt.procedure.roll import ProcedureProfile
from crdt.procedure.writes import ID, TRANSLATIONS, PartIndex, Writes
from crdt.wire.updates import Update, decode_update

__all__ = [
    "Editor",
    "TextChanges",
    "edit_refusal",
    "locate",
    "may_edit",
    "protections_apply",
]

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


def locate(
    index: PartIndex,
    writes: Writes,
    update: Update,
    raw: bytes | None = None,
    existing: Callable[[], set[str]] = set,
) -> TextChanges:
    """The paragraphs an update changes, from where it writes (``index.classify``; ``update`` is the
    decoded update, ``raw`` its bytes, read again with values for the ids of the paragraphs it adds;
    ``existing`` gives the ids the draft has, asked only when the update adds paragraphs)."""
    pid = index.paragraph_id
    created = {item: _new_id(update, raw, item) for item in writes.added}
    deleted = {name for item in writes.removed - writes.added if (name := pid(item))}
    words: set[str] = set()
    for item in writes.originals | writes.original_marks:
        if item not in created and (name := pid(item)):
            words.add(name)
    renamed: set[str] = set()
    for item, key in writes.fields:
        if item in created or key == TRANSLATIONS or not (name := pid(item)):
            continue  # a new paragraph's own fields; translations are the translators' (scopes.py)
        (renamed if key == "id" else words).add(name)
    new_ids = tuple(name for name in created.values() if name)
    present = existing() if new_ids else set()
    return TextChanges(
        frozenset(words - deleted),  # removing a paragraph deletes its text too
        new_ids,
        frozenset(deleted),
        frozenset(renamed),
        tuple(name for name in new_ids if name in present and name not in deleted),
    )


def _new_id(update: Update, raw: bytes | None, paragraph: ID) -> str:
    """The ``id`` an update gives a paragraph map it creates ("" when it gives none)."""
    for source in (update, decode_update(raw) if raw is not None else None):
        if source is None:
            continue
        for group in source.structs:
            for struct in group.structs:
                content = struct.content
                if struct.parent_id != paragraph or struct.parent_sub != "id":
                    continue
                if isinstance(content, tuple) and content and isinstance(content[-1], str):
                    return content[-1]
    return ""


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
    (open drafting, nothing agreed, no comment period, no paragraph set apart), and for those who may
    not edit the original text at all (a translator: the connection's write scope says so)."""
    if editor.capacity not in ("chair", "secretariat", "delegate"):
        return False
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
