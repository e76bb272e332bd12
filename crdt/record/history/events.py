"""The log as readable events, amendments' stories and text changes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from crdt.offsets import utf16_length
from crdt.procedure.commands import Actor
from crdt.procedure.deliberation import objectors
from crdt.procedure.numbering import reference_phrase
from crdt.record.history import proceedings
from crdt.record.history.blame import EntryChange
from crdt.record.history.entries import ANCHOR_CONNECTION, UPDATE, Entry, Origin, Person
from crdt.record.history.timeline import CommandEntry
from crdt.times import iso_us


def _who(actor: Actor) -> str:
    if actor.role == "system":
        return "Plenary"
    if actor.role == "delegate" and actor.delegation:
        return actor.delegation
    return actor.name or actor.participant


def _objections(value: Any) -> bool:
    """Whether a logged ``over_objection_of`` is a list of objections, as the server writes it."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(o, dict) and isinstance(o.get("delegation"), str) for o in value)
    )


def _where(c: Mapping[str, Any], paragraph: Any) -> str:
    """A paragraph as the command recorded it: "paragraph 4 (c)" (its reference then), else its id."""
    reference = c.get("reference")
    if not isinstance(reference, str) or not reference:
        return str(paragraph)
    kind = (
        "preambular" if reference.startswith("PP") else "item" if reference.startswith("(") else "operative"
    )
    return reference_phrase(kind, reference)


def _describe_command(entry: CommandEntry) -> str:
    c, who = entry.command, _who(entry.actor)
    kind = entry.type
    target = c.get("target") or c.get("paragraph") or c.get("id")
    meeting_line = proceedings.describe(kind, c, who)
    if meeting_line is not None:
        return meeting_line
    if kind == "annotation.create":
        if c.get("reply_to"):
            return f"{who} replied to {c['reply_to']} ({c.get('id')})"
        where = (
            f" on a span of {_where(c, c.get('paragraph'))}"
            if c.get("quote") is not None
            else f" on {_where(c, c.get('paragraph'))}"
        )
        return f"{who} annotated{where} ({c.get('id')})"
    if kind in ("annotation.resolve", "annotation.reopen"):
        return f"{who} {'resolved' if kind.endswith('resolve') else 'reopened'} {c.get('id')}"
    if kind == "amendment.propose":
        return f"{who} proposed {c.get('id')} ({c.get('kind')}) on {_where(c, c.get('paragraph'))}"
    if kind == "amendment.cosponsor":
        return f"{who} co-sponsored {c.get('id')}"
    if kind == "amendment.withdraw":
        return f"{who} withdrew {c.get('id')}"
    if kind == "amendment.adopt":
        modified = " as modified" if c.get("modified_text") is not None else ""
        superseded = f", superseding {', '.join(c['superseded'])}" if c.get("superseded") else ""
        objections = c.get("over_objection_of")
        over = f", over the objection of {objectors(objections)}" if _objections(objections) else ""
        return f"{who} adopted {c.get('id')}{modified}{superseded}{over}"
    if kind == "amendment.reject":
        return f"{who} rejected {c.get('id')}: {_short(c.get('reason', ''))}"
    if kind == "position.state":
        return f"{who}: {str(c.get('stance', '')).replace('_', ' ')} on {_where(c, target)}"
    if kind == "explanation.give":
        return f"{who} explained its position on {_where(c, target)}: {_short(str(c.get('text', '')))}"
    if kind == "paragraph.status":
        return f"{who} marked {_where(c, target)} {str(c.get('status', '')).replace('_', ' ')}"
    if kind == "paragraph.reopen":
        if c.get("reason"):
            return f"{who} reopened {target}: {_short(c['reason'])}"
        return f"{target} reopened: its text changed"
    if kind in ("text.lock", "text.unlock"):
        return f"{who} {'locked' if kind == 'text.lock' else 'unlocked'} the text"
    if kind == "rule.set":
        return f"{who} set the decision rule to {c.get('rule')}"
    if kind == "period.open":
        scope = ", ".join(c["paragraphs"]) if c.get("paragraphs") else "the whole draft"
        return f"{who} opened comment period {c.get('id')} on {scope} until {c.get('deadline')}"
    if kind == "period.extend":
        return f"{who} extended {c.get('id')} until {c.get('deadline')}"
    if kind == "period.close":
        return f"{who} closed {c.get('id')}"
    if kind == "silence.start":
        return f"{who} put {_where(c, target)} under silence procedure until {c.get('deadline')}"
    if kind == "silence.restart":
        return f"silence procedure on {target} restarted: its text changed"
    if kind == "silence.conclude" and isinstance(c.get("not_adopted"), str):
        return (
            f"silence procedure on {target} concluded without objection, adopting nothing: {c['not_adopted']}"
        )
    if kind == "silence.conclude":
        return f"silence procedure on {target} concluded without objection"
    if kind.startswith(("roll.", "profile.", "editing.")):
        return _describe_procedure(who, kind, c)
    return f"{who}: {kind}"


def _describe_procedure(who: str, kind: str, c: Mapping[str, Any]) -> str:
    """The roll, the procedure profile and the editing modes: who accredited whom, which rules apply."""
    if kind == "roll.import":
        counts = f"{len(c.get('delegations') or [])} delegations, {len(c.get('people') or [])} people"
        return f"{who} {'replaced the roll with' if c.get('replace') else 'added to the roll'} {counts}"
    if kind == "roll.delegation.add":
        delegation = c.get("delegation") or {}
        return f"{who} put {delegation.get('name')} ({delegation.get('group')}) on the roll"
    if kind == "roll.delegation.update":
        return f"{who} changed {c.get('name')} on the roll ({', '.join(sorted(c.get('changes') or {}))})"
    if kind == "roll.delegation.remove":
        return f"{who} took {c.get('name')} off the roll"
    if kind == "roll.person.accredit":
        person = c.get("person") or {}
        seat = person.get("delegation") or "the Bureau"
        role = str(person.get("role", "")).replace("_", " ")
        return f"{who} accredited {person.get('name')} ({person.get('id')}) to {seat} as {role}"
    if kind == "roll.person.withdraw":
        return f"{who} withdrew the accreditation of {c.get('id')}"
    if kind == "profile.set":
        return f"{who} set the procedure profile to {c.get('profile')}"
    if kind == "editing.mode":
        where = f"paragraph {c['paragraph']}" if c.get("paragraph") else "the draft"
        mode = str(c.get("mode") or "the draft's mode").replace("_", " ")
        holders = f" (pen-holders: {', '.join(c['pen_holders'])})" if c.get("pen_holders") else ""
        return f"{who} set the editing mode of {where} to {mode}{holders}"
    return f"{who}: {kind}"


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe_change(entry: Entry, change: EntryChange | None) -> str:
    prefix = ""
    if entry.amendment:
        prefix = f"adoption of {entry.amendment}: "
    elif entry.connection.startswith(ANCHOR_CONNECTION):
        anchor = entry.connection[len(ANCHOR_CONNECTION) :]
        where = ", ".join(change.paragraphs) if change and change.paragraphs else "the text"
        return f"anchored {anchor} on {where}"
    if change is None or not change.paragraphs:
        return prefix + "no visible change"
    parts = []
    added = [pid for pid, c in change.paragraphs.items() if c.added and not c.removed]
    removed = [pid for pid, c in change.paragraphs.items() if c.removed and not c.added]
    edited = {pid: c for pid, c in change.paragraphs.items() if not c.added and not c.removed}
    if added:
        parts.append(f"added {_plural('paragraph', added)}")
    if removed:
        parts.append(f"removed {_plural('paragraph', removed)}")
    words = {pid: c for pid, c in edited.items() if c.inserted or c.deleted}
    if words:
        inserted = sum(c.inserted for c in words.values())
        deleted = sum(c.deleted for c in words.values())
        parts.append(f"text edit on {', '.join(words)} (+{inserted} −{deleted} chars)")
    formatted = [pid for pid, c in edited.items() if c.formatted and pid not in words]
    if formatted:
        parts.append(f"formatting on {', '.join(formatted)}")
    return prefix + ("; ".join(parts) if parts else "no visible change")


def _plural(noun: str, ids: list[str]) -> str:
    return f"{noun} {ids[0]}" if len(ids) == 1 else f"{noun}s {', '.join(ids)}"


def describe(entry: Entry, *, command: CommandEntry | None = None, change: EntryChange | None = None) -> str:
    """A one-line summary of a log entry, for people reading the history."""
    if entry.kind == UPDATE:
        return _describe_change(entry, change)
    if command is not None:
        return _describe_command(command)
    payload: dict[str, Any] = {}
    try:
        loaded = json.loads(entry.payload)
        payload = loaded if isinstance(loaded, dict) else {}
    except ValueError:
        pass
    if entry.kind == "draft.created":
        count = len(payload.get("paragraphs") or [])
        return (
            f"{entry.participant} created the draft {_short(payload.get('title', ''))!r} ({count} paragraphs)"
        )
    if entry.kind == "access.revoked":
        return f"{entry.participant} removed {payload.get('participant')} from the draft"
    if entry.kind == "access.reinstated":
        return f"{entry.participant} let {payload.get('participant')} back in"
    return f"{entry.kind} by {entry.participant or 'the server'}"


# --- amendments' stories and text changes -----------------------------------------------------------


def text_change(before: str, after: str) -> dict[str, Any]:
    """The one contiguous change turning ``before`` into ``after``: where (UTF-16), what went, what came."""
    prefix = 0
    limit = min(len(before), len(after))
    while prefix < limit and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while suffix < limit - prefix and before[-1 - suffix] == after[-1 - suffix]:
        suffix += 1
    return {
        "at": utf16_length(before[:prefix]),
        "deleted": before[prefix : len(before) - suffix],
        "inserted": after[prefix : len(after) - suffix],
    }


def _actor_json(actor: Actor) -> dict[str, Any]:
    return {
        "participant": actor.participant,
        "name": actor.name,
        "delegation": actor.delegation or None,
        "role": actor.role,
    }


def amendment_story(
    amendment_id: str,
    commands: Iterable[CommandEntry],
    *,
    final: Mapping[str, Any] | None,
    anchored: Entry | None = None,
    adoption: Entry | None = None,
    paragraph_before: str | None = None,
    paragraph_after: str | None = None,
    people: Mapping[str, Person] | None = None,
) -> dict[str, Any]:
    """The story of one amendment, from the log: proposed, co-sponsored, every position over time,
    silence procedures, the decision, and the exact text change its adoption made."""
    events: list[dict[str, Any]] = []
    positions: list[dict[str, Any]] = []
    silence: list[dict[str, Any]] = []

    def event(entry: CommandEntry | Entry, name: str, **detail: Any) -> dict[str, Any]:
        if isinstance(entry, CommandEntry):
            by = _actor_json(entry.actor)
        else:
            by = Origin.of(entry).to_json(people)
            by = {key: by[key] for key in ("participant", "name", "delegation", "role")}
        record = {"seq": entry.seq, "time": iso_us(entry.time_us), "event": name, "by": by, **detail}
        events.append(record)
        return record

    for entry in commands:
        c, kind = entry.command, entry.type
        if kind == "amendment.propose" and c.get("id") == amendment_id:
            event(
                entry,
                "proposed",
                kind=c.get("kind"),
                paragraph=c.get("paragraph"),
                start=c.get("start"),
                end=c.get("end"),
                original=c.get("original"),
                text=c.get("text"),
                justification=c.get("justification", ""),
            )
        elif kind == "friends.report" and any(a.get("id") == amendment_id for a in c.get("amendments") or []):
            change = next(a for a in c["amendments"] if a.get("id") == amendment_id)
            paragraph, text = change.get("paragraph"), change.get("text")
            event(entry, "proposed", set=c.get("id"), paragraph=paragraph, text=text)
        elif kind in ("amendment.cosponsor", "amendment.withdraw") and c.get("id") == amendment_id:
            event(entry, "cosponsored" if kind.endswith("cosponsor") else "withdrawn")
        elif kind == "amendment.adopt" and c.get("id") == amendment_id:
            modified = c.get("modified_text")
            event(entry, "adopted_modified" if modified is not None else "adopted", modified_text=modified)
        elif kind == "amendment.reject" and c.get("id") == amendment_id:
            event(entry, "rejected", reason=c.get("reason"))
        elif kind in ("amendment.adopt", "silence.conclude") and amendment_id in (c.get("superseded") or []):
            event(entry, "superseded", by_amendment=c.get("id") or c.get("target"))
        elif kind == "position.state" and c.get("target") == amendment_id:
            position = {
                "seq": entry.seq,
                "time": iso_us(entry.time_us),
                "delegation": entry.actor.delegation,
                "group": entry.actor.group,
                "stance": c.get("stance"),
                "explanation": c.get("explanation") or "",
                "by": entry.actor.participant,
            }
            positions.append(position)
            event(entry, "position", stance=c.get("stance"), explanation=c.get("explanation") or "")
        elif kind.startswith("silence.") and c.get("target") == amendment_id:
            record = event(entry, kind.replace(".", "_"), deadline=c.get("deadline"))
            silence.append(record)
    if anchored is not None:
        event(anchored, "anchored")
    change = None
    if adoption is not None:
        event(adoption, "text_changed")
        before, after = paragraph_before or "", paragraph_after or ""
        change = {
            "seq": adoption.seq,
            "time": iso_us(adoption.time_us),
            "paragraph": (final or {}).get("paragraph"),
            "before": paragraph_before,
            "after": paragraph_after,
            **text_change(before, after),
        }
    events.sort(key=lambda record: record["seq"])
    return {
        "id": amendment_id,
        "state": (final or {}).get("state"),
        "kind": (final or {}).get("kind"),
        "paragraph": (final or {}).get("paragraph"),
        "sponsor": (final or {}).get("sponsor"),
        "cosponsors": (final or {}).get("cosponsors", []),
        "decision": (final or {}).get("decision"),
        "events": events,
        "positions": positions,
        "silence": silence,
        "text_change": change,
    }
