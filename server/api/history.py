"""``/api/drafts/{draft}/text|diff|blame|events`` and ``…/amendments/{aid}/history``: time travel.

Everything here needs ``read_history`` on the draft (chair, secretariat, archivist), except
``events``, which a delegate (``read_own_history``) may read filtered to their own entries.
``at``, ``from`` and ``to`` take a sequence number or an ISO 8601 time with a timezone (the
last entry at or before it); offsets are UTF-16 code units. See server/record/history.py.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.exc import SQLAlchemyError

from crdt.record.history import HistoryError, Person
from server.api.endpoints import Call, Endpoint
from server.api.problems import Problem, forbidden, not_found
from server.identity import Action
from server.procedure.drafts import get_draft
from server.record.history import MAX_EVENTS_PAGE, MAX_SEQ_DIGITS, BadMoment, History, NotInHistory
from server.record.meetings import informal_record_filter


class ParagraphAt(BaseModel):
    id: str
    number: str
    reference: str = Field(description='how it is cited then, unique in the draft ("4 (c)", "PP2")')
    kind: str
    text: str
    length_utf16: int
    translations: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="language → {text, status (current, stale, untranslated), basis, …}"
    )


class TextOut(BaseModel):
    draft: str
    seq: int = Field(description="the entry the text is shown just after (0: before anything)")
    time: str | None = Field(description="when that entry was written, ISO 8601 UTC")
    head: int = Field(description="the log's last entry now")
    languages: dict[str, Any] = Field(default_factory=dict, description="original and translations then")
    paragraphs: list[ParagraphAt]
    deliberation: dict[str, Any] = Field(description="the deliberation state then, as GET …/deliberation")


class Author(BaseModel):
    participant: str
    name: str | None
    delegation: str | None
    group: str | None
    role: str
    seq: int = Field(description="the log entry that wrote it")
    time: str
    amendment: str | None = Field(description="set when the text came in by adopting this amendment")


class BlameSpan(Author):
    start: int = Field(description="UTF-16 code units")
    end: int
    text: str


class ParagraphBlame(BaseModel):
    id: str
    kind: str | None
    text: str
    spans: list[BlameSpan]


class BlameOut(BaseModel):
    draft: str
    seq: int
    time: str | None
    unit: str
    paragraphs: list[ParagraphBlame]


class Inserted(Author):
    at: int = Field(description="UTF-16 offset in the text after")
    text: str


class Deleted(Author):
    at: int = Field(description="UTF-16 offset in the text before")
    text: str
    written_by: Author


class ParagraphDiff(BaseModel):
    id: str
    status: str = Field(description="added, removed or changed")
    before: str | None
    after: str | None
    inserted: list[Inserted]
    deleted: list[Deleted]


class DiffOut(BaseModel):
    draft: str
    from_: int = Field(alias="from")
    to: int
    from_time: str | None
    to_time: str | None
    unit: str
    paragraphs: list[ParagraphDiff]


class EventOut(BaseModel):
    seq: int
    time: str
    participant: str
    role: str
    kind: str
    connection: str
    summary: str
    amendment: str | None = None


class EventsOut(BaseModel):
    draft: str
    after: int
    head: int
    events: list[EventOut]
    next_after: int | None = Field(description="pass as ?after= for the next page; null at the end")


class AmendmentHistoryOut(BaseModel):
    draft: str
    id: str
    state: str | None
    kind: str | None
    paragraph: str | None
    sponsor: str | None
    cosponsors: list[str]
    decision: dict[str, Any] | None
    events: list[dict[str, Any]] = Field(description="proposed, cosponsored, position, silence_*, adopted, …")
    positions: list[dict[str, Any]] = Field(description="every position stated on it, in order")
    silence: list[dict[str, Any]]
    text_change: dict[str, Any] | None = Field(
        description="the paragraph before and after the adoption's text edit, and the change (UTF-16)"
    )


async def _open(call: Call, *, own: bool = False) -> tuple[str, History, str | None]:
    """The draft, its history, and whose entries only (None: everyone's) the caller may see."""
    draft = call.path("draft")
    participant = call.participant
    only: str | None = None
    if not participant.may(Action.READ_HISTORY, draft):
        if own and participant.may(Action.READ_OWN_HISTORY, draft):
            only = participant.id
        else:
            raise forbidden("the history needs the chair, secretariat or archivist role")
    if await get_draft(call.plenary.database, draft) is None:
        raise not_found(f"no draft {draft!r}")
    return draft, History.of(call.plenary.database), only


def _directory(call: Call) -> dict[str, Person]:
    """Who the server knows: everyone connected now (authenticated) and the caller. The log's own
    record (the actors of commands) takes precedence over this."""
    people: dict[str, Person] = {}
    for session in list(call.plenary.sessions):
        user = session.actor.user or {}
        people[session.participant_id] = Person(user.get("name"), user.get("delegation"), user.get("group"))
    me = call.participant
    people[me.id] = Person(me.name, me.delegation, str(me.group or ""))
    return people


def _int(call: Call, name: str, default: int, low: int, high: int) -> int:
    value = call.request.query_params.get(name)
    if value is None or value == "":
        return default
    # ASCII digits only ("²" is a digit to str.isdigit), and within what a log's seq can be.
    if not (
        value.isascii() and value.isdigit() and len(value) <= MAX_SEQ_DIGITS and low <= int(value) <= high
    ):
        raise Problem(422, "Unprocessable Content", f"{name} must be an integer from {low} to {high}")
    return int(value)


async def answer(work: Any) -> Any:
    try:
        return await work
    except NotInHistory as exc:
        raise not_found(str(exc)) from exc
    except BadMoment as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from exc
    except HistoryError as exc:
        raise Problem(500, "Internal Server Error", f"the log could not be replayed: {exc}") from exc
    except SQLAlchemyError as exc:
        detail = f"the database could not be read: {str(exc)[:200]}"
        raise Problem(503, "Service Unavailable", detail) from exc


async def get_text(call: Call) -> dict[str, Any]:
    draft, history, _ = await _open(call)
    return await answer(history.text_at(draft, call.request.query_params.get("at")))


async def get_blame(call: Call) -> dict[str, Any]:
    draft, history, _ = await _open(call)
    return await answer(history.blame(draft, call.request.query_params.get("at"), _directory(call)))


async def get_diff(call: Call) -> dict[str, Any]:
    draft, history, _ = await _open(call)
    query = call.request.query_params
    return await answer(history.diff(draft, query.get("from"), query.get("to"), _directory(call)))


async def get_events(call: Call) -> dict[str, Any]:
    draft, history, only = await _open(call, own=True)
    after = _int(call, "after", 0, 0, 10**MAX_SEQ_DIGITS - 1)
    limit = _int(call, "limit", 100, 1, MAX_EVENTS_PAGE)
    # An informal meeting's record of who spoke is the Bureau's and the archivists'.
    hide = None
    if not call.participant.may(Action.READ_INFORMAL_RECORD, draft):
        hide = await informal_record_filter(call.plenary.deliberations, draft)
    query = call.request.query_params
    only_decisions = query.get("decisions", "false")
    if only_decisions not in ("true", "false"):
        raise Problem(422, "Unprocessable Content", "decisions must be true or false")
    search = query.get("q") or None
    if search is not None and len(search) > MAX_SEARCH:
        raise Problem(422, "Unprocessable Content", f"q must be at most {MAX_SEARCH} characters")
    delegation = query.get("delegation") or None
    if delegation is not None and len(delegation) > MAX_SEARCH:
        raise Problem(422, "Unprocessable Content", f"delegation must be at most {MAX_SEARCH} characters")
    result = await answer(
        history.events(
            draft,
            after,
            limit,
            participant=only,
            hide=hide,
            decisions=only_decisions == "true",
            search=search,
            delegation=delegation,
        )
    )
    if only is not None:
        result["participant"] = only
    return result


async def get_amendment(call: Call) -> dict[str, Any]:
    draft, history, _ = await _open(call)
    return await answer(history.amendment(draft, call.path("amendment"), _directory(call)))


MAX_SEARCH = 200

AT = "an entry's seq or an ISO 8601 time with a timezone (default: now)"

ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/drafts/{draft}/text",
        get_text,
        "The text and deliberation state just after an entry (?at=SEQ or ISO time)",
        None,
        TextOut,
        tags=["history"],
        query={"at": AT},
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/diff",
        get_diff,
        "What changed in each paragraph between two entries (?from=&to=), and by whom",
        None,
        DiffOut,
        tags=["history"],
        query={"from": AT, "to": AT},
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/blame",
        get_blame,
        "Who wrote each span of the text (?at=)",
        None,
        BlameOut,
        tags=["history"],
        query={"at": AT},
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/events",
        get_events,
        "The log as readable events (?after=SEQ&limit=N); delegates see their own",
        None,
        EventsOut,
        tags=["history"],
        query={
            "after": "events after this seq (default 0)",
            "limit": "at most this many, 1 to 1000 (default 100)",
            "decisions": "true: only the procedure's commands that applied (default false)",
            "delegation": "only entries by participants of this delegation (as the log records them)",
            "q": "only events whose summary contains this text, any case (at most 200 characters)",
        },
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/amendments/{amendment}/history",
        get_amendment,
        "The story of an amendment and the text change it made",
        None,
        AmendmentHistoryOut,
        tags=["history"],
    ),
]
