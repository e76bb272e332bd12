"""``/api/drafts/{draft}/languages`` and ``…/translations``: the language versions of a draft.

- ``PUT  …/languages`` (chair, secretariat): the original language and the translation languages (the six
  official languages of the United Nations, and those in ``PLENARY_EXTRA_LANGUAGES``). The server gives every
  paragraph an empty text per translation language; translators edit them live over the websocket.
- ``GET  …/translations[?language=fr]`` (everyone with access): each paragraph's original and translations,
  with each translation's status (current, stale, untranslated) and the version of the original it
  translates (the entry that last changed the original's words).
- ``POST …/translations/{paragraph}/{language}/confirm`` (a translator for that language, the secretariat):
  the translation still translates the changed original: current again, without an edit.
- ``PUT  …/amendments/{id}/translations/{language}`` (the sponsor, a translator, the secretariat): an open
  amendment's proposed text in a translation language.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from crdt.procedure.commands import CommandRefused
from crdt.procedure.draft import number_paragraphs, read_paragraphs
from crdt.procedure.languages import OFFICIAL, direction, language
from server.api.endpoints import Call, Endpoint
from server.api.problems import Problem, forbidden, not_found, refused
from server.identity import Action
from server.procedure.drafts import get_draft
from server.procedure.translations import status_view

MAX_TEXT = 20_000


class LanguagesIn(BaseModel):
    original: str = Field(default="en", pattern=r"^[a-z]{2,3}$", description="ISO 639-1, e.g. en")
    translations: list[str] = Field(default_factory=list, max_length=16, description="e.g. [fr, ar, zh]")


class AmendmentTranslationIn(BaseModel):
    text: str = Field(max_length=MAX_TEXT, description="the proposed text in that language")


def allowed_languages(extra: tuple[str, ...]) -> list[str]:
    return [*OFFICIAL, *(code for code in extra if code not in OFFICIAL)]


async def _draft(call: Call) -> str:
    draft = call.path("draft")
    if not call.participant.may(Action.READ, draft):
        raise forbidden("no access to this draft")
    if await get_draft(call.plenary.database, draft) is None:
        raise not_found(f"no draft {draft!r}")
    return draft


async def set_languages(call: Call) -> dict[str, Any]:
    draft = await _draft(call)
    body = call.body
    assert isinstance(body, LanguagesIn)
    allowed = allowed_languages(call.plenary.settings.extra_languages)
    unknown = [code for code in [body.original, *body.translations] if code not in allowed]
    if unknown:
        raise Problem(
            422,
            "Unprocessable Content",
            f"{unknown[0]!r} is not a language of this server: {', '.join(allowed)} "
            "(others with PLENARY_EXTRA_LANGUAGES)",
        )
    command = {"type": "languages.set", "original": body.original, "translations": body.translations}
    try:
        result = await call.plenary.deliberations.execute(draft, command, call.participant)
    except CommandRefused as exc:
        raise refused(exc) from exc
    return {"result": result}


async def translations(call: Call) -> dict[str, Any]:
    """Each paragraph with its original and its translations, and their statuses, now."""
    draft = await _draft(call)
    plenary = call.plenary
    state = (await plenary.deliberations.current(draft)).state
    languages = dict(state.languages)
    wanted = languages["translations"]
    only = call.request.query_params.get("language")
    if only:
        if only not in wanted:
            raise Problem(422, "Unprocessable Content", f"the draft is not translated into {only!r}")
        wanted = [only]
    room = await plenary.rooms.current(draft)
    paragraphs = read_paragraphs(room.replica.doc)
    numbers = number_paragraphs(paragraphs, state.numbering)
    statuses: dict[str, Any] = {}
    versions: dict[str, int | None] = {}
    seq = None
    if wanted:  # a draft without translation languages has no timeline to fold
        found = await plenary.translations.current(draft)
        async with found.lock:
            statuses = status_view(room.replica.doc, found.timeline, wanted, [p.id for p in paragraphs])
            versions = {p.id: found.timeline.version(p.id) for p in paragraphs}
            seq = found.timeline.seq
    codes = [languages["original"], *languages["translations"]]
    return {
        "draft": draft,
        "seq": seq,
        "languages": {
            **languages,
            "names": {code: language(code).name for code in codes},
            "directions": {code: direction(code) for code in codes},
        },
        "paragraphs": [
            {
                "id": p.id,
                "number": numbers[p.id],
                "kind": str(p.kind),
                "text": p.text,
                "version": versions.get(p.id),
                "translations": statuses.get(p.id, {}),
            }
            for p in paragraphs
        ],
    }


async def confirm(call: Call) -> dict[str, Any]:
    draft = await _draft(call)
    paragraph, code = call.path("paragraph"), call.path("language")
    if not call.participant.may_translate(code, draft):
        raise forbidden(f"only a translator for {code!r} or the secretariat may confirm this translation")
    room = await call.plenary.rooms.current(draft)
    if paragraph not in {p.id for p in read_paragraphs(room.replica.doc)}:
        raise not_found(f"no paragraph {paragraph!r} in this draft")
    command = {"type": "translation.confirm", "paragraph": paragraph, "language": code}
    try:
        result = await call.plenary.deliberations.execute(draft, command, call.participant)
    except CommandRefused as exc:
        raise refused(exc) from exc
    return {"result": result}


async def translate_amendment(call: Call) -> dict[str, Any]:
    draft = await _draft(call)
    code = call.path("language")
    role = call.participant.role_for(draft)
    if str(role) == "translator" and code not in call.participant.languages:
        raise forbidden(f"you do not translate into {code!r}")
    body = call.body
    assert isinstance(body, AmendmentTranslationIn)
    command = {"type": "amendment.translate", "id": call.path("id"), "language": code, "text": body.text}
    try:
        result = await call.plenary.deliberations.execute(draft, command, call.participant)
    except CommandRefused as exc:
        raise refused(exc) from exc
    return {"result": result}


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "PUT",
        "/api/drafts/{draft}/languages",
        set_languages,
        "The original language and the translation languages (chair, secretariat)",
        LanguagesIn,
        tags=["languages"],
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/translations",
        translations,
        "Every paragraph's original and translations, with each translation's status",
        tags=["languages"],
    ),
    Endpoint(
        "POST",
        "/api/drafts/{draft}/translations/{paragraph}/{language}/confirm",
        confirm,
        "Confirm that a translation still translates the changed original (translator, secretariat)",
        tags=["languages"],
    ),
    Endpoint(
        "PUT",
        "/api/drafts/{draft}/amendments/{id}/translations/{language}",
        translate_amendment,
        "An open amendment's proposed text in a translation language (sponsor, translator, secretariat)",
        AmendmentTranslationIn,
        tags=["languages"],
    ),
]
