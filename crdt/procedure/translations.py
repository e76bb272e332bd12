"""Translations: which version of the original each one translates, and which are stale.

The schema (``crdt/procedure/draft.py``): each paragraph's map may hold ``translations``, a ``Y.Map`` of
language code → ``Y.Text``, beside its original ``text``. Translators edit those texts live like any other.

A *version* of an original paragraph is the entry of the log that last changed its words (its seq). A
translation records the version it translates: the one current when a translator last edited its words,
or confirmed it unchanged (``translation.confirm``). When the original changes afterwards the translation is
**stale** until a translator edits or confirms it again. Formatting (anchors) is not a change of words.

:class:`TranslationTimeline` folds this from the draft's log, entry by entry, in order (updates through a
:class:`~crdt.procedure.writes.PartIndex`, and the ``cmd.translation.confirm`` entries); it keeps, per
paragraph, the seqs at which its original changed and, per translation, when it was edited or confirmed,
so the status at any entry is a few bisections (:meth:`TranslationTimeline.status`). Pure.
"""

from __future__ import annotations

import bisect
import json
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Doc, Map, Text

from crdt.procedure.draft import paragraphs_array
from crdt.procedure.writes import TRANSLATIONS, PartIndex

UPDATE = "update"
CONFIRM = "cmd.translation.confirm"
LANGUAGES = "cmd.languages.set"
#: Statuses of one translation of one paragraph.
CURRENT, STALE, UNTRANSLATED = "current", "stale", "untranslated"


@dataclass(frozen=True, slots=True)
class Touch:
    """A translation edited (``edit``) or confirmed (``confirm``) by someone."""

    how: str
    by: str


#: Edits are not attributed here (the log and blame say who typed what).
_EDIT = Touch("edit", "")


@dataclass
class Fed:
    """What one entry changed: paragraphs whose original or translations it touched, and whether it
    added, removed or rewrote paragraphs (the server then gives new ones their translation texts)."""

    paragraphs: set[str] = field(default_factory=set)
    structure: bool = False


class _Touches:
    """One translation's edits and confirmations: their seqs, and who (as an index into the timeline's
    list of touches), in two flat arrays: a translator's every keystroke is one."""

    __slots__ = ("kinds", "seqs")

    def __init__(self) -> None:
        self.seqs = array("q")
        self.kinds = array("l")


class TranslationTimeline:
    """The versions of every original paragraph and what each translation translates, over the log."""

    def __init__(self) -> None:
        self.index = PartIndex()
        self.seq = 0
        #: paragraph id → the seqs at which its original's words changed, in order.
        self.changed: dict[str, array[int]] = {}
        #: (paragraph id, language) → its edits and confirmations, in order.
        self.touches: dict[tuple[str, str], _Touches] = {}
        self._kinds: list[Touch] = []
        self._kind_index: dict[Touch, int] = {}
        #: The original language and the translation languages (``languages.set``), as last set.
        self.languages: dict[str, Any] = {"original": "en", "translations": []}
        #: Entries that could not be read (the log is the truth: they are skipped and reported).
        self.unreadable: list[int] = []

    def feed(self, seq: int, kind: str, payload: bytes) -> Fed:
        """One log entry, in order: what it changed."""
        fed = Fed()
        if seq <= self.seq:
            return fed
        self.seq = seq
        if kind == UPDATE:
            try:
                writes = self.index.feed_bytes(payload)
            except Exception:  # the log is the truth: an entry this fold cannot read is skipped, and said
                self.unreadable.append(seq)
                return fed
            fed.structure = writes.structure or bool(writes.fields)
            for paragraph in writes.originals:
                pid = self.index.paragraph_id(paragraph)
                if pid is not None:
                    seqs = self.changed.setdefault(pid, array("q"))
                    if not seqs or seqs[-1] != seq:
                        seqs.append(seq)
                    fed.paragraphs.add(pid)
            for paragraph, language in writes.translations | writes.translation_fields:
                pid = self.index.paragraph_id(paragraph)
                if pid is not None:
                    fed.paragraphs.add(pid)
                    if (paragraph, language) in writes.translations:
                        self._touch((pid, language), seq, _EDIT)
        elif kind == LANGUAGES:
            try:
                command = json.loads(payload)["command"]
                self.languages = {
                    "original": str(command["original"]),
                    "translations": [str(code) for code in command["translations"]],
                }
            except (ValueError, KeyError, TypeError):
                self.unreadable.append(seq)
        elif kind == CONFIRM:
            try:
                record = json.loads(payload)
                command, actor = record["command"], record["actor"]
                key = (str(command["paragraph"]), str(command["language"]))
                by = str(actor.get("name") or actor.get("participant") or "")
            except (ValueError, KeyError, TypeError, AttributeError):
                self.unreadable.append(seq)
                return fed
            self._touch(key, seq, Touch("confirm", by))
            fed.paragraphs.add(key[0])
        return fed

    def _touch(self, key: tuple[str, str], seq: int, touch: Touch) -> None:
        kind = self._kind_index.get(touch)
        if kind is None:
            kind = self._kind_index[touch] = len(self._kinds)
            self._kinds.append(touch)
        touches = self.touches.get(key)
        if touches is None:
            touches = self.touches[key] = _Touches()
        touches.seqs.append(seq)
        touches.kinds.append(kind)

    def version(self, paragraph: str, at: int | None = None) -> int | None:
        """The version of ``paragraph``'s original at entry ``at`` (default: the last fed): the seq of the
        last change of its words, or None if it never had any."""
        seqs = self.changed.get(paragraph)
        if not seqs:
            return None
        i = bisect.bisect_right(seqs, self.seq if at is None else at)
        return seqs[i - 1] if i else None

    def status(self, paragraph: str, language: str, at: int | None = None) -> dict[str, Any]:
        """Where the ``language`` translation of ``paragraph`` stands at entry ``at`` (default: the last):

        ``status`` (current, stale, untranslated), ``basis`` (the version of the original it translates),
        ``original`` (the original's version now), ``stale_since`` (the first change it does not translate),
        and its last ``edit`` or ``confirm``: ``via``, ``by``, ``seq``.
        """
        at = self.seq if at is None else at
        original = self.version(paragraph, at)
        touches = self.touches.get((paragraph, language))
        i = bisect.bisect_right(touches.seqs, at) if touches is not None else 0
        if not i:
            return {"status": UNTRANSLATED, "basis": None, "original": original, "stale_since": None}
        assert touches is not None
        seq, last = touches.seqs[i - 1], self._kinds[touches.kinds[i - 1]]
        basis = self.version(paragraph, seq)
        current = basis == original
        since = None
        if not current:
            seqs = self.changed.get(paragraph, array("q"))
            since = seqs[bisect.bisect_right(seqs, basis or 0)] if basis is not None else seqs[0]
        return {
            "status": CURRENT if current else STALE,
            "basis": basis,
            "original": original,
            "stale_since": since,
            "via": last.how,
            "by": last.by,
            "seq": seq,
        }

    def statuses(
        self, paragraphs: Iterable[str], languages: Iterable[str], at: int | None = None
    ) -> dict[str, dict[str, dict[str, Any]]]:
        """paragraph → language → :meth:`status`."""
        languages = list(languages)
        return {p: {lang: self.status(p, lang, at) for lang in languages} for p in paragraphs}


# Reading and writing the texts.


def read_translations(doc: Doc) -> dict[str, dict[str, str]]:
    """paragraph id → language → the translation's text (only texts that exist)."""
    out: dict[str, dict[str, str]] = {}
    for element in paragraphs_array(doc):
        if not isinstance(element, Map):
            continue
        pid, translations = element.get("id"), element.get(TRANSLATIONS)
        if isinstance(pid, str) and isinstance(translations, Map):
            texts = {lang: str(t) for lang, t in translations.items() if isinstance(t, Text)}
            if texts:
                out[pid] = texts
    return out


def find_translation(doc: Doc, paragraph: str, language: str) -> Text | None:
    for element in paragraphs_array(doc):
        if isinstance(element, Map) and element.get("id") == paragraph:
            translations = element.get(TRANSLATIONS)
            found = translations.get(language) if isinstance(translations, Map) else None
            return found if isinstance(found, Text) else None
    return None


def missing_translations(doc: Doc, languages: Iterable[str]) -> list[tuple[int, str]]:
    """(paragraph index, language) of every translation text the document lacks."""
    languages = list(languages)
    out = []
    for index, element in enumerate(paragraphs_array(doc)):
        if not isinstance(element, Map) or not isinstance(element.get("id"), str):
            continue
        translations = element.get(TRANSLATIONS)
        for language in languages:
            if not isinstance(translations, Map) or not isinstance(translations.get(language), Text):
                out.append((index, language))
    return out


def add_translation_texts(doc: Doc, languages: Iterable[str]) -> None:
    """Give every paragraph an (empty) text for each of ``languages`` it lacks (the server does this, so
    that two translators never create the same text concurrently)."""
    array_ = paragraphs_array(doc)
    missing = missing_translations(doc, languages)
    with doc.transaction():
        for index, language in missing:
            element = array_[index]
            translations = element.get(TRANSLATIONS)
            if not isinstance(translations, Map):
                translations = Map()
                element[TRANSLATIONS] = translations
            translations[language] = Text()


def view_of(
    texts: Mapping[str, Mapping[str, str]], statuses: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """paragraph → language → {text, status, …} for the API and the exports. A translation whose text is
    empty counts as untranslated, whatever its history."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for paragraph, by_language in statuses.items():
        for language, status in by_language.items():
            text = texts.get(paragraph, {}).get(language, "")
            entry = {"text": text, **status}
            if not text.strip():
                entry["status"] = UNTRANSLATED
            out.setdefault(paragraph, {})[language] = entry
    return out
