"""``GET /api/drafts/{draft}/changes?since=``: what changed in the text since a moment, word by word.

For "what changed since I was last here" on opening a draft. Anyone who may read the draft may ask:
it says how each paragraph read then and reads now, and the word-level operations between the two
(crdt/record/wordiff.py), not who made the changes (that is the history, for the chair's roles;
``…/diff`` gives it to them). ``since`` is an ISO 8601 time with a timezone, a sequence number or a
revision (``rev2``); a time before the draft's first entry compares with the empty draft.

Why any reader, when ``…/text?at=`` and ``…/diff`` need the history roles: what those add is the
archive's (who wrote which words, every entry, the audit); the words a paragraph had are what every
reader of the draft was shown live at that moment, and "what changed since yesterday" is what a
delegation needs every morning of a negotiation. Authors stay out of this answer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from crdt.record import wordiff
from server.api.endpoints import Call, Endpoint
from server.api.history import answer
from server.api.problems import Problem, forbidden, not_found
from server.identity import Action
from server.procedure.drafts import get_draft
from server.record.history import BadMoment, History, NotInHistory, parse_moment


class ParagraphChange(BaseModel):
    id: str
    status: Literal["added", "removed", "changed"]
    before: str | None
    after: str | None
    words: list[tuple[Literal["equal", "delete", "insert"], str]] = Field(
        description="word-level operations: equal and delete spell the text before, equal and insert after"
    )


class ChangesOut(BaseModel):
    draft: str
    since: str | None = Field(description="the time of the entry compared from (ISO 8601 UTC)")
    now: str | None = Field(description="the time of the log's last entry")
    paragraphs: list[ParagraphChange]


async def get_changes(call: Call) -> dict[str, Any]:
    draft = call.path("draft")
    if not call.participant.may(Action.READ, draft):
        raise forbidden("reading this draft needs a role in it")
    since = call.request.query_params.get("since", "").strip()
    if not since:
        raise Problem(
            422,
            "Unprocessable Content",
            "since is required: an ISO 8601 time with a timezone, or a sequence number",
        )
    if await get_draft(call.plenary.database, draft) is None:
        raise not_found(f"no draft {draft!r}")
    history = History.of(call.plenary.database)

    async def compared() -> dict[str, Any]:
        try:
            return await history.diff(draft, since)
        except NotInHistory:
            if not _is_time(since):
                raise  # a seq past the head or a revision never issued: not "everything is new"
            return await history.diff(draft, 0)  # a time before the draft existed: everything is new

    diff = await answer(compared())
    paragraphs = [
        {
            "id": p["id"],
            "status": p["status"],
            "before": p.get("before"),
            "after": p.get("after"),
            "words": wordiff.diff(p.get("before") or "", p.get("after") or ""),
        }
        for p in diff["paragraphs"]
    ]
    return {
        "draft": draft,
        "since": diff["from_time"],
        "now": diff["to_time"],
        "paragraphs": paragraphs,
    }


def _is_time(since: str) -> bool:
    try:
        return parse_moment(since)[0] == "time"
    except (BadMoment, ValueError):
        return False


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/drafts/{draft}/changes",
        get_changes,
        "What changed in the text since a moment (?since=ISO time or SEQ), word by word, for any reader",
        None,
        ChangesOut,
        tags=["history"],
    ),
]
