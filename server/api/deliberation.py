"""Deliberation commands over REST: annotations, amendments, positions, process."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from crdt.procedure.commands import CommandRefused
from crdt.procedure.consensus import DecisionRule, Stance
from crdt.procedure.deliberation import AmendmentKind, Motivation, ParagraphStatus, snapshot
from crdt.procedure.draft import read_paragraphs
from server.api.endpoints import Call, Endpoint
from server.api.problems import forbidden, not_found, refused
from server.procedure.drafts import get_draft

MAX_TEXT = 20_000


class Span(BaseModel):
    paragraph: str = Field(max_length=64)
    start: int | None = Field(default=None, ge=0, description="UTF-16 code units, as JS clients count")
    end: int | None = Field(default=None, ge=0, description="UTF-16 code units, exclusive")


class AnnotationIn(Span):
    body: str = Field(min_length=1, max_length=MAX_TEXT)
    motivation: Motivation = Motivation.COMMENTING
    reply_to: str | None = Field(default=None, max_length=64)


class AmendmentIn(Span):
    kind: AmendmentKind
    start: int = Field(ge=0, description="UTF-16 code units")
    end: int = Field(ge=0, description="UTF-16 code units, exclusive; equal to start for an insertion")
    text: str = Field(default="", max_length=MAX_TEXT, description="the proposed text")
    justification: str = Field(default="", max_length=MAX_TEXT)


class AdoptIn(BaseModel):
    modified_text: str | None = Field(default=None, max_length=MAX_TEXT, description="adopt as modified")
    confirm: bool = Field(default=False, description="apply even though the span's text changed")


class RejectIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


class PositionIn(BaseModel):
    stance: Stance
    explanation: str = Field(default="", max_length=MAX_TEXT)


class StatusIn(BaseModel):
    status: ParagraphStatus
    reason: str = Field(default="", max_length=MAX_TEXT)


class Deadline(BaseModel):
    deadline: str = Field(
        description="ISO 8601 time with a timezone, e.g. 2005-05-31T23:59:00Z",
        json_schema_extra={"format": "date-time"},  # so that generated requests are times, at any edge
    )

    @field_validator("deadline")
    @classmethod
    def _iso(cls, value: str) -> str:
        parse_time(value)
        return value


class PeriodIn(Deadline):
    paragraphs: list[str] | None = Field(
        default=None, max_length=5_000, description="absent: the whole draft"
    )


class SilenceIn(Deadline):
    target: str = Field(max_length=64, description="a paragraph id or an amendment id")


class RuleIn(BaseModel):
    rule: DecisionRule


class Result(BaseModel):
    result: dict[str, Any]


def parse_time(value: str) -> int:
    """An ISO 8601 time with a timezone, in µs since the epoch."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"not an ISO 8601 time: {value!r}") from exc
    if moment.tzinfo is None:
        raise ValueError("the time needs a timezone (e.g. Z for UTC)")
    try:
        return int(moment.astimezone(UTC).timestamp() * 1_000_000)
    except OverflowError as exc:  # 0001-01-01T00:00+14:00 falls before the calendar's first day in UTC
        raise ValueError(f"{value!r} is outside the calendar (years 1 to 9999 in UTC)") from exc


async def _draft(call: Call) -> str:
    draft = call.path("draft")
    if call.participant.role_for(draft) is None:
        raise forbidden("no access to this draft")
    if await get_draft(call.plenary.database, draft) is None:
        raise not_found(f"no draft {draft!r}")
    return draft


def command(build: Callable[[Call], dict[str, Any]]) -> Callable[[Call], Any]:
    async def run(call: Call) -> Result:
        draft = await _draft(call)
        try:
            result = await call.plenary.deliberations.execute(draft, build(call), call.participant)
        except CommandRefused as exc:
            raise refused(exc) from exc
        return Result(result=result)

    return run


def _body(call: Call) -> dict[str, Any]:
    assert call.body is not None
    return call.body.model_dump(mode="json")


def _with_deadline(call: Call, **extra: Any) -> dict[str, Any]:
    body = _body(call)
    return {**body, **extra, "deadline_us": parse_time(body["deadline"])}


async def get_state(call: Call) -> dict[str, Any]:
    draft = await _draft(call)
    deliberation = await call.plenary.deliberations.current(draft)
    room = await call.plenary.rooms.current(draft)
    return snapshot(deliberation.state, [p.id for p in read_paragraphs(room.replica.doc)])


async def get_consensus(call: Call) -> dict[str, Any]:
    state = await get_state(call)
    return {"rule": state["process"]["rule"], "indicators": state["indicators"]}


E = Endpoint
ENDPOINTS = [
    E("GET", "/api/drafts/{draft}/deliberation", get_state, "The deliberation state", tags=["deliberation"]),
    E("GET", "/api/drafts/{draft}/consensus", get_consensus, "Consensus indicators", tags=["deliberation"]),
    E(
        "POST",
        "/api/drafts/{draft}/annotations",
        command(lambda c: {"type": "annotation.create", **_body(c)}),
        "Annotate a paragraph or a span",
        AnnotationIn,
        Result,
        status=201,
        tags=["annotations"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/annotations/{id}/resolve",
        command(lambda c: {"type": "annotation.resolve", "id": c.path("id")}),
        "Resolve an annotation (author or chair)",
        tags=["annotations"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/annotations/{id}/reopen",
        command(lambda c: {"type": "annotation.reopen", "id": c.path("id")}),
        "Reopen an annotation (author or chair)",
        tags=["annotations"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/amendments",
        command(lambda c: {"type": "amendment.propose", **_body(c)}),
        "Propose an amendment",
        AmendmentIn,
        Result,
        status=201,
        tags=["amendments"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/amendments/{id}/cosponsor",
        command(lambda c: {"type": "amendment.cosponsor", "id": c.path("id")}),
        "Co-sponsor an amendment (your delegation)",
        tags=["amendments"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/amendments/{id}/withdraw",
        command(lambda c: {"type": "amendment.withdraw", "id": c.path("id")}),
        "Withdraw an amendment (sponsor only)",
        tags=["amendments"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/amendments/{id}/adopt",
        command(lambda c: {"type": "amendment.adopt", "id": c.path("id"), **_body(c)}),
        "Adopt an amendment, optionally as modified (chair)",
        AdoptIn,
        Result,
        tags=["amendments"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/amendments/{id}/reject",
        command(lambda c: {"type": "amendment.reject", "id": c.path("id"), **_body(c)}),
        "Reject an amendment with a reason (chair)",
        RejectIn,
        Result,
        tags=["amendments"],
    ),
    E(
        "PUT",
        "/api/drafts/{draft}/positions/{target}",
        command(lambda c: {"type": "position.state", "target": c.path("target"), **_body(c)}),
        "State your delegation's position on a paragraph or an amendment",
        PositionIn,
        Result,
        tags=["positions"],
    ),
    E(
        "PUT",
        "/api/drafts/{draft}/paragraphs/{paragraph}/status",
        command(lambda c: {"type": "paragraph.status", "paragraph": c.path("paragraph"), **_body(c)}),
        "Set a paragraph's status (chair, secretariat)",
        StatusIn,
        Result,
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/lock",
        command(lambda c: {"type": "text.lock"}),
        "Lock the text",
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/unlock",
        command(lambda c: {"type": "text.unlock"}),
        "Unlock the text",
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/numbering/freeze",
        command(lambda c: {"type": "numbering.freeze"}),
        "Freeze paragraph numbers: later insertions show as '12 bis'",
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/numbering/unfreeze",
        command(lambda c: {"type": "numbering.unfreeze"}),
        "Number paragraphs by order again",
        tags=["process"],
    ),
    E(
        "PUT",
        "/api/drafts/{draft}/rule",
        command(lambda c: {"type": "rule.set", **_body(c)}),
        "Set the decision rule",
        RuleIn,
        Result,
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/periods",
        command(lambda c: {"type": "period.open", **_with_deadline(c)}),
        "Open a comment period",
        PeriodIn,
        Result,
        status=201,
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/periods/{id}/extend",
        command(lambda c: {"type": "period.extend", "id": c.path("id"), **_with_deadline(c)}),
        "Extend or reopen a comment period",
        Deadline,
        Result,
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/periods/{id}/close",
        command(lambda c: {"type": "period.close", "id": c.path("id")}),
        "Close a comment period now",
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/silence",
        command(lambda c: {"type": "silence.start", **_with_deadline(c)}),
        "Put a paragraph or an amendment under silence procedure",
        SilenceIn,
        Result,
        status=201,
        tags=["process"],
    ),
]

__all__ = ["ENDPOINTS"]
