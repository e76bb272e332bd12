"""Decision rights under the procedure profile: who negotiates, and what the others' words count for.

In an ``intergovernmental`` draft, delegations with negotiating rights (Member States, and whoever the roll
marks so) propose and co-sponsor amendments and state positions that count toward consensus and break
silence. Other accredited stakeholders annotate and state *views*: recorded and shown beside the
indicator by stakeholder group, never counted, never blocking, never breaking silence. In a
``multistakeholder`` draft every group on the roll has the same rights. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crdt.procedure.commands import Actor, CommandRefused, refuse
from crdt.procedure.consensus import StakeholderGroup, Stance
from crdt.procedure.roll import Roll

__all__ = [
    "NEGOTIATING_ONLY",
    "expected_delegations",
    "is_view",
    "refusal",
    "unrepresented_groups",
    "views_by_group",
]

#: Commands only delegations with negotiating rights may send (the others annotate instead).
NEGOTIATING_ONLY = {
    "amendment.propose": "propose amendments",
    "amendment.cosponsor": "co-sponsor amendments",
}


def negotiates(roll: Roll, actor: Actor) -> bool:
    return roll.negotiates(actor.delegation, actor.group)


def refusal(roll: Roll, command: Mapping[str, Any], actor: Actor) -> CommandRefused | None:
    """Why ``actor`` may not send ``command`` under the draft's profile (None: they may)."""
    what = NEGOTIATING_ONLY.get(str(command.get("type")))
    if what is None or actor.role != "delegate" or negotiates(roll, actor):
        return None
    return refuse(
        f"{actor.delegation} has no negotiating rights in this {roll.profile} draft: it may annotate and "
        f"state views, not {what}",
        403,
    )


def is_view(roll: Roll, actor: Actor) -> bool:
    """Whether a position ``actor`` states is a view: shown, never counted."""
    return actor.role == "delegate" and not negotiates(roll, actor)


def expected_delegations(roll: Roll, known: Mapping[str, str]) -> dict[str, str]:
    """The delegations whose silence counts (delegation → group): those on the roll with negotiating
    rights where the draft has a roll, else the negotiating ones among those known from their acts."""
    if roll.delegations:
        return {name: str(d.group) for name, d in roll.delegations.items() if d.negotiates(roll.profile)}
    return {name: group for name, group in known.items() if roll.negotiates(name, group)}


def unrepresented_groups(roll: Roll) -> list[str] | None:
    """Stakeholder groups with nobody on the roll (None: no roll, the indicator's own count stands)."""
    if roll.is_empty():
        return None
    seated = {
        roll.delegations[p.delegation].group for p in roll.people.values() if p.delegation in roll.delegations
    }
    return sorted(str(group) for group in StakeholderGroup if group not in seated)


def views_by_group(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The latest view of each delegation, counted by group and stance, and listed."""
    latest: dict[str, Mapping[str, Any]] = {}
    for record in records:
        latest[record["delegation"]] = record
    counts: dict[str, dict[str, int]] = {}
    for record in latest.values():
        group = counts.setdefault(str(record.get("group") or ""), {str(s): 0 for s in Stance})
        stance = str(record.get("stance"))
        if stance in group:
            group[stance] += 1
    return {"counts": dict(sorted(counts.items())), "delegations": sorted(latest), "total": len(latest)}
