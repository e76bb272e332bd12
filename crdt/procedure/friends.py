"""Groups of Friends of the Chair: a smaller drafting group with a mandate (some paragraphs), members
(delegations) and a deadline, working on a draft of its own whose text goes back to the plenary as a
chair's proposal.

The path, as the two logs record it:

- On the parent draft, ``friends.establish`` records the group (``foc-N``) and the id of its working
  draft (``{parent}-foc-N``); on the working draft, ``friends.mandate`` records the parent, the group,
  the paragraphs (copied with their ids), the members and the deadline. Only the members' delegations
  act there (:func:`admit`); the chair and the secretariat keep their roles.
- ``friends.report`` on the parent turns the working text into **one amendment set**: a substitution of
  each mandated paragraph whose text differs from the plenary's, all with ``set: foc-N`` and the sponsor
  :data:`GROUP_SPONSOR`, which the plenary then adopts (as modified or not) or rejects like any
  amendment. ``friends.reported`` on the working draft records where the text went and locks it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crdt.procedure.commands import MAX_BODY, Actor, need, refuse
from crdt.procedure.proceedings import Procedure, id_list, roll_of, text_field

GROUP_SPONSOR = "Group of Friends of the Chair"
MAX_MEMBERS = 60
#: Commands a delegation outside the group may not send on its working draft.
_MEMBERS_ONLY = ("annotation.", "amendment.", "position.", "floor.", "statement.", "document.")


def check_establish(state: Procedure, c: Mapping[str, Any], now_us: int) -> dict[str, Any]:
    """The mandate of a group ``c`` would establish, or the refusal: the server asks before it creates the
    group's working draft, so that a refused group leaves nothing behind."""
    if state.proceedings.mandate is not None:
        raise refuse("this is a group's working draft: groups are established by the plenary", 409)
    mandate = _mandate(state, c, now_us)
    meeting = c.get("meeting")
    if meeting is not None and meeting not in state.proceedings.meetings:
        raise refuse(f"no meeting {meeting!r}", 404)
    return mandate


def _establish(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    group_id, draft = need(c, "id"), need(c, "draft")
    if group_id in state.proceedings.friends:
        raise refuse(f"group {group_id!r} exists", 409)
    mandate = check_establish(state, c, now_us)
    meeting = c.get("meeting")
    group = {
        "id": group_id,
        "draft": draft,
        "meeting": meeting,
        **mandate,
        "established": now,
        "established_us": now_us,
        "established_by": actor.name,
        "state": "working",
        "set": None,
        "amendments": [],
    }
    state.proceedings.friends[group_id] = group
    return group


def _mandate(state: Procedure, c: Mapping[str, Any], now_us: int) -> dict[str, Any]:
    paragraphs = id_list(c, "paragraphs", 500)
    if not paragraphs:
        raise refuse("the mandate names the paragraphs the group works on")
    members = id_list(c, "members", MAX_MEMBERS)
    if not members:
        raise refuse("a group has members (delegations)")
    on_roll = getattr(roll_of(state), "delegations", None)
    if isinstance(on_roll, Mapping) and on_roll:
        strangers = [m for m in members if m not in on_roll]
        if strangers:
            raise refuse(f"not on the roll: {', '.join(strangers)}", 422)
    deadline_us = need(c, "deadline_us", int)
    if deadline_us <= now_us:
        raise refuse("the deadline must be in the future")
    return {
        "title": text_field(c, "title", 500) or GROUP_SPONSOR,
        "paragraphs": paragraphs,
        "members": members,
        "deadline": need(c, "deadline"),
        "deadline_us": deadline_us,
    }


def _mandated(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    """On the working draft: its mandate (the server sends it right after creating the draft)."""
    if state.proceedings.mandate is not None:
        raise refuse("this working draft has its mandate", 409)
    mandate = {
        "parent": need(c, "parent"),
        "group": need(c, "group"),
        **_mandate(state, c, now_us),
        "given": now,
        "given_by": actor.name,
        "reported": None,
    }
    state.proceedings.mandate = mandate
    return mandate


def _report(state: Procedure, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    group = state.proceedings.friends.get(need(c, "id"))
    if group is None:
        raise refuse("no such group", 404)
    if group["state"] != "working":
        raise refuse(f"the group has {group['state']}", 409)
    changes = c.get("amendments")
    if not isinstance(changes, list):
        raise refuse("missing amendments")
    if not changes:
        raise refuse("the group's text is the plenary's: there is nothing to propose", 409)
    justification = (
        f"Text of the {group['title']} ({group['id']}, established {group['established'][:10]}; "
        f"members: {', '.join(group['members'])})."
    )
    # Every change is checked before any amendment is recorded: a refusal leaves no amendment behind.
    made: dict[str, dict[str, Any]] = {}
    for change in changes:
        if not isinstance(change, Mapping) or change.get("paragraph") not in group["paragraphs"]:
            raise refuse("the group proposes text for its mandated paragraphs only")
        amendment_id = need(change, "id")
        if amendment_id in state.amendments or amendment_id in made:
            raise refuse(f"amendment {amendment_id!r} exists", 409)
        text = change.get("text", "")
        if not isinstance(text, str) or len(text) > MAX_BODY:
            raise refuse("invalid proposed text")
        made[amendment_id] = {
            "id": amendment_id,
            "kind": "substitution" if text else "deletion",
            "paragraph": change["paragraph"],
            "start": change.get("start"),
            "end": change.get("end"),
            "original": change.get("original", ""),
            "anchor": change.get("anchor"),
            "text": text,
            "justification": justification,
            "sponsor": GROUP_SPONSOR,
            "proposed_by": actor.to_json(),
            "cosponsors": [],
            "state": "proposed",
            "proposed": now,
            "history": [{"event": "proposed", "at": now, "by": GROUP_SPONSOR, "set": group["id"]}],
            "set": group["id"],
            "chair_proposal": True,
        }
    state.amendments.update(made)
    group["state"] = "reported"
    group["set"] = group["id"]
    group["amendments"] = list(made)
    group["reported"] = now
    group["reported_from"] = c.get("source_seq")
    return group


def _reported(state: Procedure, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    """On the working draft: its text went to the plenary as an amendment set; no more changes here."""
    mandate = state.proceedings.mandate
    if mandate is None:
        raise refuse("not a group's working draft", 409)
    mandate["reported"] = {
        "at": now,
        "by": actor.name,
        "set": need(c, "set"),
        "amendments": id_list(c, "amendments", 500),
    }
    state.locked = True
    return mandate


def admit(state: Procedure, command: Mapping[str, Any], actor: Actor) -> None:
    """Refuse a delegation's command on a group's working draft unless it is a member (and the group has
    not reported yet)."""
    mandate = state.proceedings.mandate
    kind = command.get("type")
    if mandate is None or actor.role in ("chair", "secretariat", "system"):
        return
    if not isinstance(kind, str) or not kind.startswith(_MEMBERS_ONLY):
        return
    if actor.delegation not in mandate["members"]:
        raise refuse(f"only the members of the {mandate['title']} take part in its work", 403)
    if mandate["reported"] is not None and not _breaks_silence(state, command):
        raise refuse("the group has reported its text to the plenary", 409)


def _breaks_silence(state: Procedure, command: Mapping[str, Any]) -> bool:
    """A member's position on a target under a running silence: breaking a silence stays possible after
    the report, so no silence started on the working draft runs on with nobody able to stop it."""
    if command.get("type") != "position.state":
        return False
    target = command.get("target")
    silence = state.silences.get(target) if isinstance(target, str) else None
    return silence is not None and silence.get("state") == "running"


HANDLERS = {
    "friends.establish": _establish,
    "friends.mandate": _mandated,
    "friends.report": _report,
    "friends.reported": _reported,
}
