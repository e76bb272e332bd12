"""The roll as the record had it, for the exports: which rules applied (the procedure profile) and who was
at the table (delegations by stakeholder group, with their rights and the people accredited to each)."""

from typing import Any

from crdt.record.exports import GROUP_NAMES, DraftView, join_names


def profile(view: DraftView) -> str:
    return str(view.deliberation.get("process", {}).get("profile", "multistakeholder"))


def rules_phrase(view: DraftView) -> str:
    """ "Decision rule: consensus. Procedure profile: intergovernmental." as every export states it."""
    return f"Decision rule: {view.rule}. Procedure profile: {profile(view)}."


def _entries(view: DraftView) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    roll = view.deliberation.get("roll", {})
    delegations = [v for k, v in roll.items() if k.startswith("delegation/")]
    people = [v for k, v in roll.items() if k.startswith("person/")]
    return sorted(delegations, key=lambda d: str(d.get("name", "")).casefold()), people


def roll_lines(view: DraftView) -> list[str]:
    """One line per stakeholder group (its delegations, with rights) and one for the Bureau; [] without a
    roll (identity came from tokens)."""
    delegations, people = _entries(view)
    if not delegations and not people:
        return []
    members: dict[str | None, int] = {}
    for person in people:
        members[person.get("delegation")] = members.get(person.get("delegation"), 0) + 1
    lines = [
        f"{len(delegations)} delegations and {len(people)} people on the roll; "
        f"procedure profile {profile(view)}."
    ]
    by_group: dict[str, list[str]] = {}
    for delegation in delegations:
        name = str(delegation.get("name"))
        rights = "" if delegation.get("negotiates", True) else ", views only"
        count = members.get(name, 0)
        by_group.setdefault(str(delegation.get("group")), []).append(f"{name} ({count}{rights})")
    for group in GROUP_NAMES:
        if group in by_group:
            lines.append(f"{GROUP_NAMES[group].capitalize()}: {join_names(by_group[group])}.")
    bureau = sorted(
        f"{p.get('name')} ({str(p.get('role', '')).replace('_', ' ')})"
        for p in people
        if not p.get("delegation")
    )
    if bureau:
        lines.append(f"Bureau and secretariat: {join_names(bureau)}.")
    return lines
