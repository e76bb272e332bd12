"""``/api/drafts/{draft}/audit/…`` and ``/api/audit/public-key``: the tamper-evident record.

- ``GET  /api/drafts/{draft}/audit/verify``: verify the chain of every room of
  the draft (``draft`` and ``draft/…``); needs ``read_history`` (chair,
  secretariat, archivist). Tampering is a finding, not an error: 200 with
  ``ok: false`` and the first problem of each room.
- ``GET  /api/drafts/{draft}/audit/head[?room=draft/…]``: a signed receipt of
  the room's current last entry (default: the draft's text room); needs ``read``.
- ``POST /api/drafts/{draft}/audit/receipts/verify``: check a receipt (the body);
  needs ``read``. 200 with ``ok`` true or false.
- ``GET  /api/audit/public-key``: the receipt-signing public key; no token needed.

See server/record/audit.py for the receipt encoding and the signing key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt.times import iso_seconds
from server.api.endpoints import Call, Endpoint, server_of
from server.api.problems import Problem, forbidden, not_found
from server.identity import Action
from server.procedure.drafts import get_draft
from server.record.audit import RECEIPT_FORMAT, check_receipt, list_rooms, read_head, server_key, sign_head
from server.record.audit import verify_room as verify_room_chain
from server.storage.database import now_us
from server.sync.roomnames import draft_of


class ProblemOut(BaseModel):
    kind: str = Field(description="altered, removed, reordered, inserted, truncated or rewritten")
    seq: int | None = Field(description="the first sequence number concerned")
    detail: str


class RoomReportOut(BaseModel):
    room: str
    ok: bool
    count: int = Field(description="entries verified intact (before the problem, if any)")
    head_seq: int = Field(description="the last intact entry")
    head_hash: str = Field(description="its hash, hex")
    problem: ProblemOut | None


class VerifyOut(BaseModel):
    draft: str
    ok: bool
    checked_at: str
    rooms: list[RoomReportOut]


class ReceiptBody(BaseModel):
    """A receipt, exactly as ``…/audit/head`` returned it."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field(max_length=64, description=f"{RECEIPT_FORMAT!r}")
    draft: str = Field(max_length=200)
    room: str = Field(max_length=200)
    seq: int = Field(ge=1)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    time: str = Field(max_length=64, description="the entry's time, ISO 8601 UTC")
    signed_at: str = Field(max_length=64, description="ISO 8601 UTC")
    public_key: str = Field(max_length=64, description="Ed25519 public key, base64url")
    signature: str = Field(max_length=128, description="Ed25519 signature, base64url")


class ReceiptReportOut(BaseModel):
    ok: bool
    room: str | None
    seq: int | None
    signature: str = Field(description="valid, invalid or not checked")
    key: str = Field(description="current (this server's key) or other")
    chain: RoomReportOut | None
    problem: ProblemOut | None = Field(
        description="malformed, bad_signature, unknown_key, or a problem of the chain"
    )


class PublicKeyOut(BaseModel):
    algorithm: str
    public_key: str = Field(description="raw Ed25519 public key, base64url without padding")
    pem: str


def _now() -> str:
    return iso_seconds(now_us())


def _key(request: Request) -> Any:
    return server_key(server_of(request).settings.secret)


def _unavailable(exc: Exception) -> Problem:
    return Problem(503, "Service Unavailable", f"the database could not be read: {str(exc)[:200]}")


async def _draft_rooms(call: Call, draft: str) -> list[str]:
    database = call.plenary.database
    rooms = await list_rooms(database, draft)
    if not rooms and await get_draft(database, draft) is None:
        raise not_found(f"no draft {draft!r}")
    return rooms


async def verify_draft(call: Call) -> VerifyOut:
    draft = call.path("draft")
    if not call.participant.may(Action.READ_HISTORY, draft):
        raise forbidden("verifying the record needs the chair, secretariat or archivist role")
    try:
        rooms = await _draft_rooms(call, draft)
        reports = [await verify_room_chain(call.plenary.database, room) for room in rooms]
    except SQLAlchemyError as exc:
        raise _unavailable(exc) from exc
    return VerifyOut(
        draft=draft,
        ok=all(report.ok for report in reports),
        checked_at=_now(),
        rooms=[RoomReportOut.model_validate(report.to_dict()) for report in reports],
    )


async def head_receipt(call: Call) -> dict[str, Any]:
    draft = call.path("draft")
    if not call.participant.may(Action.READ, draft):
        raise forbidden("no access to this draft")
    room = call.request.query_params.get("room") or draft
    if draft_of(room) != draft or not (room == draft or room.startswith(draft + "/")):
        raise Problem(422, "Unprocessable Content", f"room {room!r} is not a room of draft {draft!r}")
    try:
        head = await read_head(call.plenary.database, room)
    except SQLAlchemyError as exc:
        raise _unavailable(exc) from exc
    if head is None:
        raise not_found(f"room {room!r} has no log entries yet: there is no head to sign")
    return sign_head(_key(call.request), head).to_dict()


async def verify_receipt(call: Call) -> ReceiptReportOut:
    draft = call.path("draft")
    if not call.participant.may(Action.READ, draft):
        raise forbidden("no access to this draft")
    body = call.body
    assert isinstance(body, ReceiptBody)
    if draft_of(body.room) != draft:
        raise Problem(
            422, "Unprocessable Content", f"the receipt is for room {body.room!r}, not draft {draft!r}"
        )
    try:
        report = await check_receipt(call.plenary.database, body.model_dump(), _key(call.request))
    except SQLAlchemyError as exc:
        raise _unavailable(exc) from exc
    return ReceiptReportOut.model_validate(report.to_dict())


async def public_key(request: Request) -> Response:
    return JSONResponse(_key(request).describe())


class PublicEndpoint(Endpoint):
    """An endpoint anyone may call: no token is read (the Endpoint helper always requires one)."""

    def route(self) -> Route:
        return Route(self.path, self.handler, methods=[self.method])  # type: ignore[arg-type]


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/api/drafts/{draft}/audit/verify",
        verify_draft,
        "Verify the hash chains of the draft's rooms",
        None,
        VerifyOut,
        tags=["audit"],
    ),
    Endpoint(
        "GET",
        "/api/drafts/{draft}/audit/head",
        head_receipt,
        "A signed receipt of the current head of the draft's log",
        tags=["audit"],
        query={"room": "a room of the draft (default: its text)"},
    ),
    Endpoint(
        "POST",
        "/api/drafts/{draft}/audit/receipts/verify",
        verify_receipt,
        "Check a receipt against the log",
        ReceiptBody,
        ReceiptReportOut,
        tags=["audit"],
    ),
    PublicEndpoint(
        "GET",
        "/api/audit/public-key",
        public_key,  # type: ignore[arg-type]
        "The public key receipts are signed with (no token needed)",
        None,
        PublicKeyOut,
        tags=["audit"],
    ),
]
