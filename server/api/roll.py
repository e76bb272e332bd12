"""``/api/drafts/{draft}/roll``, the procedure profile, editing modes, reopening agreed text, and who
the caller is on a draft (``/me``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from crdt.procedure.consensus import StakeholderGroup
from crdt.procedure.draft import read_paragraphs
from crdt.procedure.editing import EditingMode
from crdt.procedure.protection import Editor, may_edit
from crdt.procedure.roll import DelegationKind, PersonRole, ProcedureProfile
from server.api.deliberation import MAX_TEXT, Result, _body, _draft, command
from server.api.endpoints import Call, Endpoint
from server.storage.database import now_us

_NAME = Field(min_length=1, max_length=200)


class DelegationIn(BaseModel):
    name: str = _NAME
    group: StakeholderGroup
    kind: DelegationKind | None = Field(
        default=None,
        description="absent: member_state for governments, intergovernmental_organisation for "
        "international organisations, accredited_organisation otherwise",
    )
    negotiating: bool | None = Field(
        default=None, description="absent: derived from the kind and the procedure profile"
    )


class DelegationChanges(BaseModel):
    group: StakeholderGroup | None = None
    kind: DelegationKind | None = None
    negotiating: bool | None = None


class PersonIn(BaseModel):
    name: str = _NAME
    delegation: str | None = Field(default=None, max_length=200, description="absent for the Bureau")
    role: PersonRole
    email: str | None = Field(default=None, max_length=320, description="matched at sign-in (OIDC)")
    subject: str | None = Field(default=None, max_length=200, description="the identity provider's subject")


class PersonWithId(PersonIn):
    id: str = Field(min_length=1, max_length=200)


class RollIn(BaseModel):
    delegations: list[DelegationIn] = Field(default_factory=list, max_length=2_000)
    people: list[PersonWithId] = Field(default_factory=list, max_length=5_000)
    replace: bool = Field(default=False, description="the roll becomes exactly this (else: added or updated)")


class ProfileIn(BaseModel):
    profile: ProcedureProfile


class ModeIn(BaseModel):
    mode: EditingMode
    pen_holders: list[str] = Field(default_factory=list, max_length=50, description="participant ids")


class ParagraphModeIn(BaseModel):
    mode: EditingMode | None = Field(description="null: the paragraph follows the draft's mode again")
    pen_holders: list[str] = Field(default_factory=list, max_length=50)


class ReopenIn(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_TEXT)


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


async def get_roll(call: Call) -> dict[str, Any]:
    draft = await _draft(call)
    deliberation = await call.plenary.deliberations.current(draft)
    return deliberation.state.roll.to_json()


async def get_me(call: Call) -> dict[str, Any]:
    """Who the caller is on this draft and where they may type (the web app's read-only reasons)."""
    draft = await _draft(call)
    me = call.participant
    deliberation = await call.plenary.deliberations.current(draft)
    state = deliberation.state
    room = await call.plenary.rooms.current(draft)
    role = str(me.role_for(draft) or "")
    editor = Editor(me.id, role, me.delegation, str(me.group or ""))
    now = now_us()
    person = state.roll.person(me.id)
    return {
        "id": me.id,
        "name": me.name,
        "delegation": me.delegation,
        "group": str(me.group) if me.group else None,
        "role": role,
        "roll_role": str(person.role) if person else None,
        "on_roll": person is not None,
        "profile": str(state.roll.profile),
        "negotiates": role == "delegate" and state.roll.negotiates(me.delegation, str(me.group or "")),
        "draft": may_edit(state, editor, None, now),
        "paragraphs": {p.id: may_edit(state, editor, p.id, now) for p in read_paragraphs(room.replica.doc)},
    }


E = Endpoint
ENDPOINTS = [
    E("GET", "/api/drafts/{draft}/roll", get_roll, "The roll: delegations and people", tags=["roll"]),
    E("GET", "/api/drafts/{draft}/me", get_me, "Who you are here, where you may type", tags=["roll"]),
    E(
        "POST",
        "/api/drafts/{draft}/roll/import",
        command(lambda c: {"type": "roll.import", **_body(c)}),
        "Import delegations and people at once (chair, secretariat)",
        RollIn,
        Result,
        tags=["roll"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/roll/delegations",
        command(lambda c: {"type": "roll.delegation.add", "delegation": _without_nulls(_body(c))}),
        "Add a delegation to the roll (chair, secretariat)",
        DelegationIn,
        Result,
        status=201,
        tags=["roll"],
    ),
    E(
        "PATCH",
        "/api/drafts/{draft}/roll/delegations/{name}",
        command(
            lambda c: {
                "type": "roll.delegation.update",
                "name": c.path("name"),
                "changes": c.body.model_dump(mode="json", exclude_unset=True) if c.body else {},
            }
        ),
        "Change a delegation's group, kind or negotiating rights (chair, secretariat)",
        DelegationChanges,
        Result,
        tags=["roll"],
    ),
    E(
        "DELETE",
        "/api/drafts/{draft}/roll/delegations/{name}",
        command(lambda c: {"type": "roll.delegation.remove", "name": c.path("name")}),
        "Remove a delegation nobody is accredited to any more (chair, secretariat)",
        tags=["roll"],
    ),
    E(
        "PUT",
        "/api/drafts/{draft}/roll/people/{participant}",
        command(
            lambda c: {"type": "roll.person.accredit", "person": {**_body(c), "id": c.path("participant")}}
        ),
        "Accredit a person, or change their accreditation (chair, secretariat)",
        PersonIn,
        Result,
        tags=["roll"],
    ),
    E(
        "DELETE",
        "/api/drafts/{draft}/roll/people/{participant}",
        command(lambda c: {"type": "roll.person.withdraw", "id": c.path("participant")}),
        "Withdraw a person's accreditation (their connections close with 4403)",
        tags=["roll"],
    ),
    E(
        "PUT",
        "/api/drafts/{draft}/profile",
        command(lambda c: {"type": "profile.set", **_body(c)}),
        "Set the procedure profile: intergovernmental or multistakeholder (chair)",
        ProfileIn,
        Result,
        tags=["process"],
    ),
    E(
        "PUT",
        "/api/drafts/{draft}/editing",
        command(lambda c: {"type": "editing.mode", **_body(c)}),
        "Set the draft's editing mode: open, pen_holder (with pen-holders) or amendments_only (chair)",
        ModeIn,
        Result,
        tags=["process"],
    ),
    E(
        "PUT",
        "/api/drafts/{draft}/paragraphs/{paragraph}/editing",
        command(lambda c: {"type": "editing.mode", "paragraph": c.path("paragraph"), **_body(c)}),
        "Set one paragraph's editing mode, or (mode null) return it to the draft's (chair)",
        ParagraphModeIn,
        Result,
        tags=["process"],
    ),
    E(
        "POST",
        "/api/drafts/{draft}/paragraphs/{paragraph}/reopen",
        command(lambda c: {"type": "paragraph.reopen", "paragraph": c.path("paragraph"), **_body(c)}),
        "Reopen an agreed or ad-ref paragraph, with a reason (chair)",
        ReopenIn,
        Result,
        tags=["process"],
    ),
]

__all__ = ["ENDPOINTS"]
