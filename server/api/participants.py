"""``/api/drafts/{draft}/participants``: removing someone from a draft, and letting them back."""

from __future__ import annotations

from typing import Any

from server.api.endpoints import Call, Endpoint
from server.api.problems import forbidden, not_found
from server.identity import Action
from server.procedure.drafts import get_draft


async def _check(call: Call) -> str:
    draft = call.path("draft")
    if not call.participant.may(Action.MANAGE_PARTICIPANTS, draft):
        raise forbidden("only the chair or the secretariat may manage participants")
    if await get_draft(call.plenary.database, draft) is None:
        raise not_found(f"no draft {draft!r}")
    return draft


async def revoke(call: Call) -> dict[str, Any]:
    draft = await _check(call)
    participant = call.path("participant")
    closed = await call.plenary.access.revoke(draft, participant, call.participant)
    return {"draft": draft, "participant": participant, "revoked": True, "connections_closed": closed}


async def reinstate(call: Call) -> dict[str, Any]:
    draft = await _check(call)
    participant = call.path("participant")
    await call.plenary.access.reinstate(draft, participant, call.participant)
    return {"draft": draft, "participant": participant, "revoked": False}


ENDPOINTS = [
    Endpoint(
        "DELETE",
        "/api/drafts/{draft}/participants/{participant}",
        revoke,
        "Remove a participant from a draft (their connections close with 4403)",
        tags=["participants"],
    ),
    Endpoint(
        "POST",
        "/api/drafts/{draft}/participants/{participant}/reinstate",
        reinstate,
        "Let a removed participant back in",
        tags=["participants"],
    ),
]
