"""Explanations of position: what a delegation says about a decision once it is taken.

In UN practice delegations explain their position (or their vote) after the chair has adopted an amendment
or the meeting has agreed a paragraph: "We joined the consensus, but …". An explanation is a distinct kind
(``explanation.give``), not a position: it is never counted in an indicator and never breaks silence, and it
is only accepted on a decided target (an amendment adopted, adopted as modified or rejected; a paragraph
agreed or agreed ad referendum). The footnotes of the compilation, the clean text and the summary read them
from the deliberation snapshot's ``explanations`` map (crdt/record/exports/footnotes.py). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from crdt.procedure.commands import MAX_BODY, Actor, need, refuse

__all__ = ["DECIDED_AMENDMENT", "DECIDED_PARAGRAPH", "HANDLERS", "decision_on"]

#: Amendment states after which explanations are given.
DECIDED_AMENDMENT = frozenset({"adopted", "adopted_modified", "rejected"})
#: Paragraph statuses after which explanations are given.
DECIDED_PARAGRAPH = frozenset({"agreed", "agreed_ad_ref"})


class HasExplanations(Protocol):
    amendments: dict[str, dict[str, Any]]
    statuses: dict[str, dict[str, Any]]
    explanations: dict[str, list[dict[str, Any]]]


def decision_on(state: HasExplanations, target: str) -> str | None:
    """The decision taken on ``target`` (an amendment's state, a paragraph's status), None if undecided."""
    amendment = state.amendments.get(target)
    if amendment is not None:
        return amendment["state"] if amendment["state"] in DECIDED_AMENDMENT else None
    status = state.statuses.get(target, {}).get("status")
    return status if status in DECIDED_PARAGRAPH else None


def _give(
    state: HasExplanations, c: Mapping[str, Any], actor: Actor, _now_us: int, now: str
) -> dict[str, Any]:
    target = need(c, "target")
    text = need(c, "text")
    if len(text) > MAX_BODY:
        raise refuse(f"an explanation is at most {MAX_BODY} characters")
    if actor.role != "delegate" or not actor.delegation:
        raise refuse("explanations of position are given by delegations", 403)
    decision = decision_on(state, target)
    if decision is None:
        amendment = state.amendments.get(target)
        now_is = amendment["state"] if amendment else state.statuses.get(target, {}).get("status", "pending")
        raise refuse(
            f"{target} is {now_is}: explanations of position are given after a decision (state a position "
            "until then)",
            409,
        )
    record = {
        "delegation": actor.delegation,
        "group": actor.group,
        "text": text,
        "by": actor.participant,
        "at": now,
        "decision": decision,
    }
    state.explanations.setdefault(target, []).append(record)
    return record


HANDLERS: dict[str, Any] = {"explanation.give": _give}
