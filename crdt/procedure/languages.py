"""The languages of a draft: its original language and the languages it is translated into.

A draft is negotiated in one language (its *original*, English unless said otherwise) and translated into
others: the six official languages of the United Nations (Arabic, Chinese, English, French, Russian,
Spanish), and others where the server is configured for them. Codes are ISO 639-1 (``fr``); Akoma Ntoso
wants ISO 639-2/B (``fra``), which :data:`OFFICIAL` gives too.

Two procedure commands, folded into the deliberation state like the others:

- ``languages.set`` (chair, secretariat): the original and the translation languages. The original may
  only change while the draft has no translation language (changing it later would orphan every
  translation's record of which original it translates);
- ``translation.confirm`` (a translator for that language, or the secretariat): the translation of one
  paragraph is current again without being edited (the change to the original did not affect it). What
  it confirms — the version of the original — is folded from the log by
  :mod:`crdt.procedure.translations`;
- ``amendment.translate`` (the sponsor, a translator, the secretariat): an open amendment's proposed text
  in a translation language, kept on the amendment (``translations``). Amendments, positions and indicators
  stay language-independent: they target paragraph ids and spans of the original.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from crdt.procedure.commands import MAX_BODY, Actor, need, refuse


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    """ISO 639-1, as the API and the Yjs schema use it."""
    name: str
    """Its English name."""
    akn: str
    """ISO 639-2/B, as Akoma Ntoso's ``FRBRlanguage`` wants it."""
    rtl: bool = False


#: The six official languages of the United Nations, in their usual (English alphabetical) order.
OFFICIAL: dict[str, Language] = {
    language.code: language
    for language in (
        Language("ar", "Arabic", "ara", rtl=True),
        Language("zh", "Chinese", "zho"),
        Language("en", "English", "eng"),
        Language("fr", "French", "fra"),
        Language("ru", "Russian", "rus"),
        Language("es", "Spanish", "spa"),
    )
}
#: Scripts written right to left, for languages configured beyond the official six.
RTL_CODES = frozenset({"ar", "fa", "he", "ps", "ur", "yi", "dv", "ku", "sd", "ug"})
#: Translation languages per draft at most.
MAX_TRANSLATIONS = 16
DEFAULT_ORIGINAL = "en"
CODE = re.compile(r"^[a-z]{2,3}$")


def language(code: str) -> Language:
    """What is known of ``code``: the official six in full, any other with its code as its name."""
    found = OFFICIAL.get(code)
    if found is not None:
        return found
    return Language(code, code, code, rtl=code in RTL_CODES)


def direction(code: str) -> str:
    """``"rtl"`` or ``"ltr"``, as HTML's ``dir`` wants it."""
    return "rtl" if language(code).rtl else "ltr"


class HasLanguages(Protocol):
    languages: dict[str, Any]
    amendments: dict[str, dict[str, Any]]


def default_languages() -> dict[str, Any]:
    return {"original": DEFAULT_ORIGINAL, "translations": []}


def problem(original: Any, translations: Any) -> str | None:
    """Why ``original`` and ``translations`` are not a draft's languages, or None: checked by
    ``languages.set`` and, before anything is created, by draft creation."""
    if not isinstance(original, str) or not CODE.fullmatch(original):
        return f"language codes are ISO 639-1, like 'fr' (got {original!r})"
    if not isinstance(translations, list) or not all(isinstance(t, str) for t in translations):
        return "translations must be a list of language codes"
    bad = [t for t in translations if not CODE.fullmatch(t)]
    if bad:
        return f"language codes are ISO 639-1, like 'fr' (got {bad[0]!r})"
    if original in translations:
        return f"{original!r} is the original language, not a translation"
    if len(set(translations)) != len(translations):
        return "a language is listed twice"
    if len(translations) > MAX_TRANSLATIONS:
        return f"at most {MAX_TRANSLATIONS} translation languages"
    return None


def _set(state: HasLanguages, c: Mapping[str, Any], _a: Actor, _n: int, _now: str) -> dict[str, Any]:
    original = need(c, "original")
    translations = c.get("translations")
    wrong = problem(original, translations)
    if wrong is not None:
        raise refuse(wrong)
    current = state.languages
    if original != current["original"] and current["translations"]:
        raise refuse(
            f"the original language is {current['original']!r} and the draft has translations: "
            "it can no longer change",
            409,
        )
    state.languages = {"original": original, "translations": list(translations)}
    return dict(state.languages)


def _confirm(state: HasLanguages, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    paragraph = need(c, "paragraph")
    code = need(c, "language")
    if code not in state.languages["translations"]:
        raise refuse(f"the draft is not translated into {code!r}", 409)
    return {"paragraph": paragraph, "language": code, "by": actor.name, "at": now}


def _translate_amendment(
    state: HasLanguages, c: Mapping[str, Any], actor: Actor, _n: int, now: str
) -> dict[str, Any]:
    """The proposed text of an amendment in a translation language (its sponsor, a translator or the
    secretariat gives it). The amendment itself still targets the original."""
    amendment = state.amendments.get(need(c, "id"))
    if amendment is None:
        raise refuse("no such amendment", 404)
    code = need(c, "language")
    if code not in state.languages["translations"]:
        raise refuse(f"the draft is not translated into {code!r}", 409)
    text = c.get("text")
    if not isinstance(text, str) or len(text) > MAX_BODY:
        raise refuse(f"text must be at most {MAX_BODY} characters")
    if amendment["state"] != "proposed":
        raise refuse(f"the amendment is {amendment['state']}", 409)
    sponsor = actor.role == "delegate" and actor.delegation == amendment.get("sponsor")
    if not sponsor and actor.role not in ("translator", "secretariat"):
        raise refuse("an amendment's text is translated by its sponsor, a translator or the secretariat", 403)
    translation = {"text": text, "by": actor.name, "at": now}
    amendment.setdefault("translations", {})[code] = translation
    return amendment


HANDLERS: dict[str, Any] = {
    "languages.set": _set,
    "translation.confirm": _confirm,
    "amendment.translate": _translate_amendment,
}
