"""``/api/drafts/{draft}/revisions`` and ``/compare``: Rev.1, Rev.2, … and comparisons of two versions.

- ``POST …/revisions`` (chair, secretariat): issue the next revision, of the text now or of a past entry.
- ``GET  …/revisions``, ``…/revisions/{rev}``, ``…/revisions/{rev}/receipt`` (everyone with access: a
  revision is a document issued to the table): the list; one revision's text and deliberation state; a
  signed revision receipt.
- ``POST …/audit/revisions/verify``: check a revision receipt against the log.
- ``GET  …/compare?from=rev1&to=rev2[&format=json|html|markdown][&language=fr]``: word by word. ``to``
  defaults to ``now``; versions other than revisions and ``now`` (a seq, a time) need ``read_history``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import Response

from crdt.procedure.commands import CommandRefused
from crdt.procedure.revisions import latest, revision_number
from crdt.record import comparison
from server.api.endpoints import Call, Endpoint
from server.api.problems import Problem, forbidden, not_found, refused
from server.identity import Action
from server.procedure.drafts import get_draft
from server.record.audit import server_key
from server.record.exports import resolve_at
from server.record.history import BadMoment, History, NotInHistory
from server.record.revisions import (
    NOW,
    REVISION_RECEIPT_FORMAT,
    anything_since,
    check_revision,
    compare,
    list_revisions,
    revision_view,
    sign_revision,
)

COMPARE_FORMATS = ("json", "html", "markdown")


class RevisionIn(BaseModel):
    at: str | None = Field(
        default=None,
        max_length=64,
        description="the entry it shows: a sequence number or an ISO 8601 time; absent: the text now",
    )
    note: str = Field(default="", max_length=20_000, description="what the revision is, for the record")


class RevisionOut(BaseModel):
    id: str = Field(description="rev1, rev2, …: how the API, exports and rooms address it")
    number: int
    name: str = Field(description="Rev.1")
    symbol: str = Field(description="the draft's symbol with /Rev.N")
    seq: int = Field(description="the entry of the draft's log whose text and state it shows")
    note: str
    issued: str
    issued_by: dict[str, Any]
    time: str | None = Field(default=None, description="when entry seq was written")
    issued_seq: int | None = Field(default=None, description="the entry that issued it")


class RevisionsOut(BaseModel):
    draft: str
    revisions: list[RevisionOut]


class RevisionReceiptBody(BaseModel):
    """A revision receipt, exactly as ``…/revisions/{rev}/receipt`` returned it."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(max_length=64, description=f"{REVISION_RECEIPT_FORMAT!r}")
    draft: str = Field(max_length=200)
    room: str = Field(max_length=200)
    revision: str = Field(max_length=32)
    name: str = Field(max_length=32)
    symbol: str = Field(max_length=200)
    seq: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    time: str = Field(max_length=64)
    issued_seq: int = Field(ge=1)
    issued_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    text_digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    signed_at: str = Field(max_length=64)
    public_key: str = Field(max_length=64)
    signature: str = Field(max_length=128)


class RevisionReportOut(BaseModel):
    ok: bool
    revision: str | None
    seq: int | None
    signature: str = Field(description="valid, invalid or not checked")
    key: str = Field(description="current (this server's key), trusted or other")
    problem: dict[str, Any] | None = Field(
        description="malformed, bad_signature, altered, not_issued, text_differs, unknown_key, or the chain's"
    )


async def _readable(call: Call, action: Action = Action.READ) -> tuple[str, Any]:
    draft = call.path("draft")
    if not call.participant.may(action, draft):
        raise forbidden("no access to this draft")
    info = await get_draft(call.plenary.database, draft)
    if info is None:
        raise not_found(f"no draft {draft!r}")
    return draft, info


def _history_problem(exc: Exception) -> Problem:
    if isinstance(exc, NotInHistory):
        return not_found(str(exc))
    if isinstance(exc, BadMoment):
        return Problem(422, "Unprocessable Content", str(exc))
    return Problem(503, "Service Unavailable", f"the database could not be read: {str(exc)[:200]}")


async def issue(call: Call) -> dict[str, Any]:
    draft, info = await _readable(call)
    body = call.body
    assert isinstance(body, RevisionIn)
    database = call.plenary.database
    if body.at is None or not body.at.strip():
        seq = (await database.head(draft)).seq
    else:
        try:
            seq = await resolve_at(database, draft, body.at)
        except ValueError as exc:
            raise Problem(422, "Unprocessable Content", str(exc)) from exc
    last = latest((await call.plenary.deliberations.current(draft)).state)
    if last is not None and last["seq"] < seq and not await anything_since(database, draft, last["seq"], seq):
        raise Problem(409, "Conflict", f"nothing changed since {last['name']} (entry {last['seq']})")
    command = {"type": "revision.issue", "seq": seq, "note": body.note, "draft_symbol": info.symbol}
    try:
        result = await call.plenary.deliberations.execute(draft, command, call.participant)
    except CommandRefused as exc:
        raise refused(exc) from exc
    return {"result": result}


async def listing(call: Call) -> RevisionsOut:
    draft, _ = await _readable(call)
    try:
        found = await list_revisions(History.of(call.plenary.database), draft)
    except (NotInHistory, BadMoment, SQLAlchemyError) as exc:
        raise _history_problem(exc) from exc
    return RevisionsOut(draft=draft, revisions=[RevisionOut(**r) for r in found])


async def one(call: Call) -> dict[str, Any]:
    draft, _ = await _readable(call)
    try:
        return await revision_view(History.of(call.plenary.database), draft, call.path("rev"))
    except (NotInHistory, BadMoment, SQLAlchemyError) as exc:
        raise _history_problem(exc) from exc


async def receipt(call: Call) -> dict[str, Any]:
    draft, _ = await _readable(call)
    plenary = call.plenary
    try:
        return await sign_revision(
            server_key(plenary.settings.secret),
            plenary.database,
            History.of(plenary.database),
            draft,
            call.path("rev"),
        )
    except (NotInHistory, BadMoment, SQLAlchemyError) as exc:
        raise _history_problem(exc) from exc


async def verify(call: Call) -> RevisionReportOut:
    draft, _ = await _readable(call)
    body = call.body
    assert isinstance(body, RevisionReceiptBody)
    if body.draft != draft:
        raise Problem(422, "Unprocessable Content", f"the receipt is for draft {body.draft!r}, not {draft!r}")
    plenary = call.plenary
    try:
        report = await check_revision(
            plenary.database,
            body.model_dump(),
            server_key(plenary.settings.secret),
            history=History.of(plenary.database),
        )
    except SQLAlchemyError as exc:
        raise _history_problem(exc) from exc
    return RevisionReportOut.model_validate(report.to_dict())


async def compare_versions(call: Call) -> Any:
    params = call.request.query_params
    old, new = params.get("from", ""), params.get("to", NOW)
    if not old:
        raise Problem(422, "Unprocessable Content", "from is required: a revision (rev1), now, or an entry")
    issued = all(revision_number(v) is not None or v.strip().lower() == NOW for v in (old, new))
    draft, info = await _readable(call, Action.READ if issued else Action.READ_HISTORY)
    fmt = params.get("format", "json")
    if fmt not in COMPARE_FORMATS:
        raise Problem(422, "Unprocessable Content", f"format must be one of {', '.join(COMPARE_FORMATS)}")
    language = params.get("language") or None
    if language is not None:
        state = (await call.plenary.deliberations.current(draft)).state
        known = [state.languages["original"], *state.languages["translations"]]
        if language not in known:
            raise Problem(422, "Unprocessable Content", f"language must be one of {', '.join(known)}")
    try:
        result = await compare(History.of(call.plenary.database), draft, info.title, old, new, language)
    except (NotInHistory, BadMoment, SQLAlchemyError) as exc:
        raise _history_problem(exc) from exc
    if fmt == "html":
        return Response(comparison.html(result), media_type="text/html; charset=utf-8")
    if fmt == "markdown":
        return Response(comparison.markdown(result), media_type="text/markdown; charset=utf-8")
    return result.to_json()


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST",
        "/api/drafts/{draft}/revisions",
        issue,
        "Issue the next revision (Rev.N) of the text now or at a past entry (chair, secretariat)",
        RevisionIn,
        status=201,
        tags=["revisions"],
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/revisions",
        listing,
        "The draft's revisions",
        None,
        RevisionsOut,
        tags=["revisions"],
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/revisions/{rev}",
        one,
        "One revision: its text (every language) and deliberation state at the entry it shows",
        tags=["revisions"],
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/revisions/{rev}/receipt",
        receipt,
        "A signed revision receipt (plenary-revision-v1)",
        tags=["revisions"],
    ),
    Endpoint(
        "POST",
        "/api/drafts/{draft}/audit/revisions/verify",
        verify,
        "Check a revision receipt against the log",
        RevisionReceiptBody,
        RevisionReportOut,
        tags=["revisions", "audit"],
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/compare",
        compare_versions,
        "Compare two versions word by word: from=rev1&to=rev2 (or now), format=json|html|markdown",
        tags=["revisions"],
    ),
]
