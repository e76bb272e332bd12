"""``/api/drafts``: create, list and read drafts."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, Field, field_validator

from crdt.offsets import utf16_length
from crdt.procedure import languages
from crdt.procedure.commands import CommandRefused
from crdt.procedure.draft import Paragraph, ParagraphKind, read_paragraphs
from crdt.procedure.numbering import numbering
from server.api.endpoints import Call, Endpoint
from server.api.languages import allowed_languages
from server.api.problems import Problem, conflict, forbidden, not_found
from server.identity import Action
from server.procedure.drafts import DraftExists, create_draft, get_draft, list_drafts
from server.sync.roomnames import DRAFT_ID, draft_id_problem


class ParagraphIn(BaseModel):
    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", description="stable id, unique in the draft"
    )
    kind: ParagraphKind = ParagraphKind.OPERATIVE
    text: str = Field(max_length=100_000)
    translations: dict[str, str] = Field(
        default_factory=dict, max_length=16, description="language code → the paragraph in that language"
    )


class DraftIn(BaseModel):
    id: str = Field(pattern=DRAFT_ID.pattern, description="a slug, e.g. 'tunis-2005'")
    title: str = Field(min_length=1, max_length=500)
    symbol: str = Field(default="", max_length=100, description="document symbol, e.g. WSIS-II/PC-3/DOC/1")
    paragraphs: list[ParagraphIn] = Field(default_factory=list, max_length=5_000)
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}$", description="the original language")
    translations: list[str] = Field(
        default_factory=list, max_length=16, description="languages it is translated into, e.g. [fr, ar]"
    )

    @field_validator("id", mode="before")
    @classmethod
    def _draft_id(cls, value: object) -> object:
        # Before the pattern, to name the character that is not allowed (a look-alike, a space).
        if isinstance(value, str) and (problem := draft_id_problem(value)) is not None:
            raise ValueError(problem)
        return value


class DraftOut(BaseModel):
    id: str
    title: str
    symbol: str
    created_us: int
    created_by: str
    room: str = Field(description="Yjs room of the text")


class ParagraphOut(BaseModel):
    id: str
    number: str = Field(description="the number the text shows ('4', '(c)', '4 bis'; '' if none)")
    reference: str = Field(description="how it is cited, unique in the draft ('4 (c)', 'PP2')")
    kind: ParagraphKind
    text: str
    length_utf16: int = Field(description="length in UTF-16 code units, as JS clients count")


class DraftTextOut(DraftOut):
    paragraphs: list[ParagraphOut]
    revisions: list[dict[str, Any]] = Field(
        default_factory=list, description="Rev.1, Rev.2, … issued so far (see /revisions)"
    )
    languages: dict[str, Any] = Field(default_factory=dict, description="original and translation languages")


async def post_draft(call: Call) -> DraftOut:
    body = call.body
    assert isinstance(body, DraftIn)
    if not call.participant.may(Action.CREATE_DRAFT, None) and not call.participant.may(
        Action.CREATE_DRAFT, body.id
    ):
        raise forbidden("only a chair or the secretariat may create drafts")
    plenary = call.plenary
    allowed = allowed_languages(plenary.settings.extra_languages)
    given = {code for p in body.paragraphs for code in p.translations} | {body.language, *body.translations}
    if given - set(allowed):
        raise Problem(422, "Unprocessable Content", f"languages must be among {', '.join(allowed)}")
    if set(code for p in body.paragraphs for code in p.translations) - set(body.translations):
        raise Problem(
            422, "Unprocessable Content", "paragraph translations must be in the draft's translations"
        )
    # Checked before anything is created: a refused draft leaves nothing behind.
    wrong = languages.problem(body.language, body.translations)
    if wrong is not None:
        raise Problem(422, "Unprocessable Content", wrong)
    try:
        info = await create_draft(
            plenary.database,
            plenary.rooms,
            draft_id=body.id,
            title=body.title,
            symbol=body.symbol,
            paragraphs=[Paragraph(p.id, p.kind, p.text, p.translations) for p in body.paragraphs],
            creator=call.participant,
        )
    except DraftExists as exc:
        raise conflict(f"draft {body.id!r} already exists") from exc
    except ValueError as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from exc
    if body.language != "en" or body.translations:
        command = {"type": "languages.set", "original": body.language, "translations": body.translations}
        try:
            await plenary.deliberations.execute(info.id, command, call.participant)
        except CommandRefused as exc:
            raise Problem(422, "Unprocessable Content", exc.detail) from exc
    return DraftOut(**asdict(info), room=info.id)


async def get_drafts(call: Call) -> list[dict[str, object]]:
    drafts = await list_drafts(call.plenary.database)
    return [
        DraftOut(**asdict(d), room=d.id).model_dump()
        for d in drafts
        if call.participant.may(Action.READ, d.id)
    ]


async def get_one(call: Call) -> DraftTextOut:
    draft_id = call.path("draft")
    if not call.participant.may(Action.READ, draft_id):
        raise forbidden("no access to this draft")
    info = await get_draft(call.plenary.database, draft_id)
    if info is None:
        raise not_found(f"no draft {draft_id!r}")
    room = await call.plenary.rooms.current(draft_id)  # nothing that is not yet in the log
    paragraphs = read_paragraphs(room.replica.doc)
    deliberation = await call.plenary.deliberations.current(draft_id)
    numbers = numbering(paragraphs, deliberation.state.numbering)
    state = deliberation.state
    return DraftTextOut(
        **asdict(info),
        room=info.id,
        revisions=sorted(state.revisions.values(), key=lambda r: r["number"]),
        languages=dict(state.languages),
        paragraphs=[
            ParagraphOut(
                id=p.id,
                number=numbers.number(p.id),
                reference=numbers.reference(p.id),
                kind=p.kind,
                text=p.text,
                length_utf16=utf16_length(p.text),
            )
            for p in paragraphs
        ],
    )


ENDPOINTS = [
    Endpoint(
        "POST", "/api/drafts", post_draft, "Create a draft", DraftIn, DraftOut, status=201, tags=["drafts"]
    ),
    Endpoint("GET", "/api/drafts", get_drafts, "Drafts you may read", tags=["drafts"]),
    Endpoint(
        "GET",
        "/api/drafts/{draft}",
        get_one,
        "A draft and its paragraphs",
        None,
        DraftTextOut,
        tags=["drafts"],
    ),
]
