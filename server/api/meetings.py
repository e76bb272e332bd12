"""``/api/drafts/{draft}/meetings/…``: meetings and their agendas, the speaking list, statements, Friends
of the Chair and the meeting summary (see crdt/procedure/conference.py for the rules).

Everything a meeting publishes is also live in the ``{draft}/deliberation`` document. Reading a
meeting's statements with their speakers in an informal meeting needs ``read_informal_record`` (chair,
secretariat, archivist); everyone else reads them as published: by stakeholder group only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator
from starlette.responses import Response, StreamingResponse

from crdt.procedure.commands import CommandRefused
from crdt.procedure.conference import publish
from crdt.procedure.consensus import Stance
from crdt.procedure.proceedings import MeetingKind
from crdt.procedure.speakers import FloorMode, Purpose
from crdt.procedure.statements import published
from server.api.deliberation import Result, command, parse_time
from server.api.endpoints import Call, Endpoint
from server.api.problems import forbidden, not_found, refused
from server.identity import Action
from server.procedure import friends, summaries
from server.procedure.drafts import get_draft
from server.procedure.meetings import summary_room
from server.record import meetings as record

ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class AgendaItemIn(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    paragraphs: list[str] = Field(default_factory=list, max_length=5_000, description="paragraph ids")
    documents: list[str] = Field(default_factory=list, max_length=200, description="document ids (doc-N)")
    amendments: list[str] = Field(default_factory=list, max_length=200, description="amendment ids")


class MeetingIn(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    kind: MeetingKind
    starts: str = Field(description="ISO 8601 with a timezone, e.g. 2005-05-02T10:00:00+02:00")
    timezone: str = Field(
        default="", max_length=64, description="IANA time zone of the venue, e.g. Europe/Zurich"
    )
    venue: str = Field(default="", max_length=500)
    convened_by: str = Field(
        default="", max_length=500, description="e.g. the Chair of the Preparatory Committee"
    )
    purpose: str = Field(default="", max_length=5_000, description="why, e.g. 'to discuss implementation'")
    open_to: str = Field(default="", max_length=500, description="e.g. all stakeholders")
    report_to: str = Field(default="", max_length=500, description="where the results go next")
    agenda: list[AgendaItemIn] = Field(
        default_factory=list, max_length=100, description="the provisional agenda"
    )

    @field_validator("starts")
    @classmethod
    def _iso(cls, value: str) -> str:
        parse_time(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class AgendaIn(BaseModel):
    items: list[AgendaItemIn] = Field(max_length=100)


class AdoptAgendaIn(BaseModel):
    items: list[AgendaItemIn] | None = Field(default=None, max_length=100, description="adopt as amended")


class TakeUpIn(BaseModel):
    item: str = Field(max_length=16, description="the agenda item's number")


class DecisionIn(BaseModel):
    text: str = Field(min_length=1, max_length=5_000)


class FloorRequestIn(BaseModel):
    purpose: Purpose = Purpose.SPEAK


class GiveIn(BaseModel):
    entry: str = Field(pattern=ID)


class OrderIn(BaseModel):
    order: list[str] = Field(max_length=500, description="entry ids, in the order the chair wants")


class LimitIn(BaseModel):
    seconds: int | None = Field(ge=10, le=3600, description="speaking time per turn; null for none")


class ModeIn(BaseModel):
    mode: FloorMode


class SummaryOfStatementIn(BaseModel):
    summary: str = Field(
        min_length=1,
        max_length=5_000,
        description="what the speaker did, without the subject: 'urged that a dialogue be established'",
    )
    paragraphs: list[str] = Field(default_factory=list, max_length=500)
    documents: list[str] = Field(default_factory=list, max_length=50)
    stance: Stance | None = None


class StatementTextIn(BaseModel):
    text: str = Field(min_length=1, max_length=100_000)


class FriendsIn(BaseModel):
    title: str = Field(default="Group of Friends of the Chair", min_length=1, max_length=500)
    paragraphs: list[str] = Field(min_length=1, max_length=500, description="the mandate")
    members: list[str] = Field(min_length=1, max_length=60, description="delegations")
    deadline: str = Field(description="ISO 8601 with a timezone")
    meeting: str | None = Field(default=None, pattern=ID)

    @field_validator("deadline")
    @classmethod
    def _iso(cls, value: str) -> str:
        parse_time(value)
        return value


class SummaryTextIn(BaseModel):
    text: str | None = Field(default=None, max_length=200_000, description="absent: a draft from the record")


async def _draft(call: Call) -> str:
    draft = call.path("draft")
    if not call.participant.may(Action.READ, draft):
        raise forbidden("no access to this draft")
    if await get_draft(call.plenary.database, draft) is None:
        raise not_found(f"no draft {draft!r}")
    return draft


def _body(call: Call) -> dict[str, Any]:
    assert call.body is not None
    return call.body.model_dump(mode="json")


def _on(kind: str, **path: str) -> Any:
    """A command on the meeting in the path, with the body's fields."""

    def build(call: Call) -> dict[str, Any]:
        fields = {name: call.path(param) for name, param in path.items()}
        body = _body(call) if call.body is not None else {}
        return {"type": kind, "meeting": call.path("meeting"), **fields, **body}

    return command(build)


async def list_meetings(call: Call) -> list[dict[str, Any]]:
    draft = await _draft(call)
    state = (await call.plenary.deliberations.current(draft)).state
    return sorted(state.proceedings.meetings.values(), key=lambda m: (m["starts_us"], m["id"]))


async def get_meeting(call: Call) -> dict[str, Any]:
    draft = await _draft(call)
    state = (await call.plenary.deliberations.current(draft)).state
    meeting_id = call.path("meeting")
    meeting = state.proceedings.meetings.get(meeting_id)
    if meeting is None:
        raise not_found(f"no meeting {meeting_id!r}")
    return {
        "meeting": meeting,
        "speakers": publish(state)["speakers"].get(meeting_id),
        "statements": _statements(call, draft, state, meeting_id),
        "summaries": state.proceedings.summaries.get(meeting_id, []),
        "summary_room": summary_room(draft, meeting_id),
    }


def _statements(call: Call, draft: str, state: Any, meeting_id: str) -> list[dict[str, Any]]:
    full = call.participant.may(Action.READ_INFORMAL_RECORD, draft)
    return [
        dict(s) if full else published(s)
        for s in state.proceedings.statements.values()
        if s["meeting"] == meeting_id
    ]


async def get_statements(call: Call) -> list[dict[str, Any]]:
    draft = await _draft(call)
    state = (await call.plenary.deliberations.current(draft)).state
    if call.path("meeting") not in state.proceedings.meetings:
        raise not_found(f"no meeting {call.path('meeting')!r}")
    return _statements(call, draft, state, call.path("meeting"))


async def withdraw_request(call: Call) -> Result:
    kind = "floor.remove" if call.participant.may(Action.PRESIDE, call.path("draft")) else "floor.withdraw"
    return await _on(kind, entry="entry")(call)


def _statement_command(kind: str) -> Any:
    return command(lambda call: {"type": kind, "statement": call.path("statement"), **_body(call)})


async def establish_friends(call: Call) -> Result:
    draft = await _draft(call)
    body = _body(call)
    body["deadline_us"] = parse_time(body["deadline"])
    try:
        group = await friends.establish(
            call.plenary.deliberations,
            call.plenary.database,
            call.plenary.rooms,
            draft,
            call.participant,
            body,
        )
    except CommandRefused as exc:
        raise refused(exc) from exc
    return Result(result=group)


async def report_friends(call: Call) -> Result:
    draft = await _draft(call)
    try:
        result = await friends.report(
            call.plenary.deliberations, call.plenary.rooms, draft, call.path("group"), call.participant
        )
    except CommandRefused as exc:
        raise refused(exc) from exc
    return Result(result=result)


async def list_friends(call: Call) -> dict[str, Any]:
    draft = await _draft(call)
    state = (await call.plenary.deliberations.current(draft)).state
    return {"groups": state.proceedings.friends, "mandate": state.proceedings.mandate}


# The summary.


async def _meeting(call: Call) -> tuple[str, dict[str, Any]]:
    draft = await _draft(call)
    state = (await call.plenary.deliberations.current(draft)).state
    meeting = state.proceedings.meetings.get(call.path("meeting"))
    if meeting is None:
        raise not_found(f"no meeting {call.path('meeting')!r}")
    return draft, meeting


async def get_summary(call: Call) -> dict[str, Any]:
    """The draft summary generated from the record now, the text being edited, the published versions."""
    draft, meeting = await _meeting(call)
    plenary = call.plenary
    try:
        generated = await record.generate(
            plenary.deliberations, plenary.rooms, plenary.database, draft, meeting["id"]
        )
    except CommandRefused as exc:
        raise refused(exc) from exc
    text, seq = await summaries.read(plenary.rooms, draft, meeting["id"])
    state = (await plenary.deliberations.current(draft)).state
    versions = state.proceedings.summaries.get(meeting["id"], [])
    return {
        "meeting": meeting["id"],
        "generated": generated,
        "room": summary_room(draft, meeting["id"]),
        "text": text,
        "seq": seq,
        "published": [{k: v for k, v in version.items() if k != "text"} for version in versions],
    }


async def draft_summary(call: Call) -> dict[str, Any]:
    """Write a draft into the summary room (the generated one unless a text is given): the chair edits on."""
    draft, meeting = await _meeting(call)
    if not call.participant.may(Action.MANAGE_MEETINGS, draft):
        raise forbidden("the chair or the secretariat drafts the summary")
    plenary = call.plenary
    body = call.body
    assert isinstance(body, SummaryTextIn)
    text = body.text
    if text is None:
        text = await record.generate(
            plenary.deliberations, plenary.rooms, plenary.database, draft, meeting["id"]
        )
    seq = await summaries.write(plenary.rooms, draft, meeting["id"], text, call.participant)
    return {"room": summary_room(draft, meeting["id"]), "seq": seq, "text": text}


async def publish_summary(call: Call) -> dict[str, Any]:
    draft, meeting = await _meeting(call)
    if not call.participant.may(Action.PRESIDE, draft):
        raise forbidden("the chair publishes the summary")
    plenary = call.plenary
    try:
        return await record.publish(
            plenary.deliberations,
            plenary.rooms,
            plenary.database,
            plenary.settings.secret or "",
            draft,
            meeting["id"],
            call.participant,
        )
    except CommandRefused as exc:
        raise refused(exc) from exc


async def get_published(call: Call) -> Response:
    """A published version: format=json (with a fresh receipt), markdown, html or akn. Published summaries
    are for everyone with access to the draft."""
    draft, meeting = await _meeting(call)
    state = (await call.plenary.deliberations.current(draft)).state
    versions = state.proceedings.summaries.get(meeting["id"], [])
    wanted = call.path("version")
    if not wanted.isdigit() or not 1 <= int(wanted) <= len(versions):
        raise not_found(f"no published version {wanted!r} of this summary")
    version = versions[int(wanted) - 1]
    fmt = call.request.query_params.get("format", "json")
    try:
        data, media, name = record.render(version, meeting, draft, fmt)
        if fmt == "json":
            signed = await record.receipt(
                call.plenary.database, call.plenary.settings.secret or "", draft, version
            )
            data = json.dumps({**json.loads(data), "receipt": signed}, ensure_ascii=False, indent=2).encode()
    except CommandRefused as exc:
        raise refused(exc) from exc
    disposition = "attachment" if fmt == "akn" else "inline"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'{disposition}; filename="{name}"'}
    )


async def get_record(call: Call) -> Response:
    """The meeting's whole record as a ZIP: the archive's (chair, secretariat, archivist)."""
    draft = call.path("draft")
    if not call.participant.may(Action.READ_HISTORY, draft) or not call.participant.may(
        Action.READ_INFORMAL_RECORD, draft
    ):
        raise forbidden("the record of a meeting is for the Bureau, the secretariat and the archivists")
    draft, meeting = await _meeting(call)
    plenary = call.plenary
    archive = await record.record_archive(
        plenary.deliberations, plenary.rooms, plenary.database, draft, meeting["id"]
    )

    async def chunks() -> AsyncIterator[bytes]:
        try:
            while chunk := await asyncio.to_thread(archive.read, 1 << 16):
                yield chunk
        finally:
            archive.close()

    name = f"{draft}-{meeting['id']}-record.zip"
    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


M = "/api/drafts/{draft}/meetings/{meeting}"
E = Endpoint
ENDPOINTS = [
    E("GET", "/api/drafts/{draft}/meetings", list_meetings, "The draft's meetings", tags=["meetings"]),
    E(
        "POST",
        "/api/drafts/{draft}/meetings",
        command(
            lambda c: {"type": "meeting.create", **_body(c), "starts_us": parse_time(_body(c)["starts"])}
        ),
        "Convene a meeting with its provisional agenda (chair, secretariat)",
        MeetingIn,
        Result,
        status=201,
        tags=["meetings"],
    ),
    E("GET", M, get_meeting, "A meeting: agenda, speaking list, statements, summaries", tags=["meetings"]),
    *(
        E(
            "POST",
            f"{M}/{verb}",
            _on(f"meeting.{verb}"),
            f"{verb.capitalize()} the meeting (chair)",
            tags=["meetings"],
        )
        for verb in ("open", "suspend", "resume", "close")
    ),
    E(
        "PUT",
        f"{M}/agenda",
        _on("agenda.set"),
        "Propose the agenda (before adoption)",
        AgendaIn,
        Result,
        tags=["meetings"],
    ),
    E(
        "POST",
        f"{M}/agenda/adopt",
        _on("agenda.adopt"),
        "Adopt the agenda, as proposed or as amended (chair)",
        AdoptAgendaIn,
        Result,
        tags=["meetings"],
    ),
    E(
        "POST",
        f"{M}/agenda/take-up",
        _on("agenda.take_up"),
        "Take up an agenda item (chair)",
        TakeUpIn,
        Result,
        tags=["meetings"],
    ),
    E(
        "POST",
        f"{M}/decisions",
        _on("meeting.decision"),
        "Record a decision or conclusion (chair)",
        DecisionIn,
        Result,
        status=201,
        tags=["meetings"],
    ),
    E(
        "POST",
        f"{M}/floor/requests",
        _on("floor.request"),
        "Request the floor on the current item: to speak, a point of order or a right of reply",
        FloorRequestIn,
        Result,
        status=201,
        tags=["speaking list"],
    ),
    E(
        "DELETE",
        f"{M}/floor/requests/{{entry}}",
        withdraw_request,
        "Withdraw your delegation's request (the chair: remove any)",
        tags=["speaking list"],
    ),
    E(
        "POST",
        f"{M}/floor/next",
        _on("floor.give"),
        "Give the floor to the next speaker (chair)",
        tags=["speaking list"],
    ),
    E(
        "POST",
        f"{M}/floor/give",
        _on("floor.give"),
        "Give the floor to one entry (chair)",
        GiveIn,
        Result,
        tags=["speaking list"],
    ),
    E("POST", f"{M}/floor/end", _on("floor.end"), "End the current turn (chair)", tags=["speaking list"]),
    E(
        "PUT",
        f"{M}/floor/order",
        _on("floor.reorder"),
        "Reorder the speaking list (chair)",
        OrderIn,
        Result,
        tags=["speaking list"],
    ),
    E(
        "POST",
        f"{M}/floor/close",
        _on("floor.close"),
        "Close the list of speakers (chair)",
        tags=["speaking list"],
    ),
    E(
        "POST",
        f"{M}/floor/reopen",
        _on("floor.reopen"),
        "Reopen the list of speakers (chair)",
        tags=["speaking list"],
    ),
    E(
        "PUT",
        f"{M}/floor/limit",
        _on("floor.limit"),
        "Set the speaking time limit (chair)",
        LimitIn,
        Result,
        tags=["speaking list"],
    ),
    E(
        "PUT",
        f"{M}/floor/mode",
        _on("floor.mode"),
        "Set the speaking order rule (chair)",
        ModeIn,
        Result,
        tags=["speaking list"],
    ),
    E("GET", f"{M}/statements", get_statements, "The meeting's statements", tags=["statements"]),
    E(
        "PUT",
        "/api/drafts/{draft}/statements/{statement}/summary",
        _statement_command("statement.summarise"),
        "Summarise a statement (secretariat, chair)",
        SummaryOfStatementIn,
        Result,
        tags=["statements"],
    ),
    E(
        "PUT",
        "/api/drafts/{draft}/statements/{statement}/text",
        _statement_command("statement.hand_in"),
        "Hand in your delegation's statement",
        StatementTextIn,
        Result,
        tags=["statements"],
    ),
    E("GET", "/api/drafts/{draft}/friends", list_friends, "Groups of Friends of the Chair", tags=["friends"]),
    E(
        "POST",
        "/api/drafts/{draft}/friends",
        establish_friends,
        "Establish a Group of Friends of the Chair: a working draft of the mandated paragraphs (chair)",
        FriendsIn,
        Result,
        status=201,
        tags=["friends"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/friends/{group}/report",
        report_friends,
        "Bring the group's text to the plenary as one amendment set (chair)",
        tags=["friends"],
    ),
    E(
        "GET",
        f"{M}/summary",
        get_summary,
        "The summary: drafted from the record, being edited, published",
        tags=["summary"],
    ),
    E(
        "POST",
        f"{M}/summary/draft",
        draft_summary,
        "Write a draft into the summary room (chair, secretariat)",
        SummaryTextIn,
        tags=["summary"],
    ),
    E(
        "POST",
        f"{M}/summary/publish",
        publish_summary,
        "Publish the summary, signed (chair)",
        tags=["summary"],
    ),
    E(
        "GET",
        f"{M}/summary/published/{{version}}",
        get_published,
        "A published version: format=json (with a receipt), markdown, html or akn",
        tags=["summary"],
    ),
    E(
        "GET",
        f"{M}/record",
        get_record,
        "The meeting's record as a ZIP (chair, secretariat, archivist)",
        tags=["meetings"],
    ),
]
