"""What one connection may write into a draft's text document, checked before an update is applied.

Delegates, the chair and the secretariat edit the original text and the list of paragraphs; translators
edit the translations of their languages only (``translations[language]`` of each paragraph,
``crdt/procedure/translations.py``); the secretariat keeps every language version. Nobody but the server
creates or removes translation texts. While the text is locked for negotiation, only translations may
still be edited. Where an update writes is read from the update itself (``crdt.procedure.writes``).
"""

from __future__ import annotations

from dataclasses import dataclass

from crdt.procedure.writes import TRANSLATIONS, Writes


@dataclass(frozen=True, slots=True)
class WriteScope:
    #: The original text, the paragraphs and their fields.
    original: bool = True
    #: Translation languages it may edit; ``None`` for every language.
    languages: frozenset[str] | None = frozenset()

    @property
    def translates(self) -> bool:
        return self.languages is None or bool(self.languages)

    def may_translate(self, language: str) -> bool:
        return self.languages is None or language in self.languages


def scope_problem(writes: Writes, scope: WriteScope, locked: bool) -> str | None:
    """Why ``writes`` are out of ``scope`` (a reason for the client), or None."""
    if writes.translation_fields or any(key == TRANSLATIONS for _, key in writes.fields):
        return "translation texts are created by the server: write into the existing ones"
    if writes.touches_original:
        if not scope.original:
            return "a translator may only edit the translations of their languages"
        if locked:
            return "the text is locked for negotiation: changes only by adopted amendments"
    outside = sorted(lang for lang in writes.languages if not scope.may_translate(lang))
    if outside:
        if not scope.translates:
            return "translations are kept by translators and the secretariat"
        return f"you may not edit the {', '.join(outside)} translation"
    return None
