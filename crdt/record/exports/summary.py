"""A meeting summary in plain prose, in the style of a secretariat's summary of informal consultations:
what there was agreement on, what had broad support, where there was less consensus and on what, which
amendments were adopted, and what is pending (deadlines, silence procedures).

Generated from the record alone: paragraph statuses, the consensus indicators
(:mod:`crdt.procedure.consensus`) of every paragraph and open amendment, the positions behind them, and the
amendments' fates. It reports; it does not judge (the chair does).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from crdt.record.exports import (
    AGREED,
    GROUP_NAMES,
    DraftView,
    change_phrase,
    day,
    decision_notes,
    excerpt,
    join_names,
    sponsors_phrase,
)
from crdt.record.exports.footnotes import NOTES_TITLE, by_paragraph, footnotes, marker
from crdt.record.exports.roll import roll_lines, rules_phrase

__all__ = ["summary"]

BULLET = "·"
_SUB = "    ·"


def _quoted(view: DraftView, paragraph_id: str) -> str:
    p = view.by_id.get(paragraph_id)
    label = view.label(paragraph_id)
    if p is None or p.kind == "heading":
        return label
    return f"{label} (“{excerpt(p.text, 70)}”)"


def _amendment_phrase(view: DraftView, amendment: Mapping[str, Any]) -> str:
    comma = "," if amendment.get("cosponsors") else ""
    return (
        f"amendment {amendment['id']} by {sponsors_phrase(amendment)}{comma} to "
        f"{view.cited(amendment)} ({change_phrase(amendment)})"
    )


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _target_phrase(view: DraftView, target: str) -> str:
    amendment = view.deliberation.get("amendments", {}).get(target)
    return _amendment_phrase(view, amendment) if amendment else _quoted(view, target)


def _by_group(positions: list[Mapping[str, Any]]) -> str:
    """ "civil society (Civil Society Caucus) and governments (Switzerland, Brazil)"."""
    groups: dict[str, list[str]] = {}
    for p in positions:
        groups.setdefault(str(p.get("group", "")), []).append(str(p["delegation"]))
    return join_names(
        [
            f"{GROUP_NAMES.get(group, group or 'unknown groups')} ({', '.join(names)})"
            for group, names in groups.items()
        ]
    )


def _reasons(positions: list[Mapping[str, Any]]) -> str:
    said = [f"{p['delegation']}: “{p['explanation']}”" for p in positions if p.get("explanation")]
    return f" ({'; '.join(said)})" if said else ""


def _divided(view: DraftView, target: str, indicator: Mapping[str, Any]) -> str:
    positions = view.positions(target)
    support = [p for p in positions if p["stance"] in ("support", "no_objection", "reservation")]
    formal = [p for p in positions if p["stance"] == "formal_objection"]
    objecting = [p for p in positions if p["stance"] in ("objection", "formal_objection")]
    text = f"On {_target_phrase(view, target)}, "
    if support:
        text += f"some — {_by_group(support)} — could go along with it; "
        text += f"others — {_by_group(objecting)} — objected"
    else:
        text += f"{_by_group(objecting)} objected"
    text += _reasons(objecting) + "."
    if formal:
        text += f" The formal objection of {join_names([p['delegation'] for p in formal])} blocks consensus."
    silent = [GROUP_NAMES.get(g, g) for g in indicator.get("silent_groups", [])]
    if silent:
        text += f" No position yet from {join_names(silent)}."
    return text


def summary(view: DraftView) -> str:
    """The summary as plain text (UTF-8), one statement per "·" line."""
    title = view.title + (f" ({view.symbol})" if view.symbol else "")
    out = [
        title,
        "",
        "Meeting summary",
        "",
        f"{view.as_of} {rules_phrase(view)}",
        "",
    ]
    roll = roll_lines(view)
    if roll:
        out += [f"{BULLET} The roll at the time: {' '.join(roll)}", ""]
    delegations = {
        p["delegation"]: p.get("group", "")
        for t in view.deliberation.get("positions", {})
        for p in view.positions(t)
    }
    if delegations:
        groups = sorted({GROUP_NAMES.get(g, g) for g in delegations.values()})
        out += [
            f"{BULLET} {len(delegations)} delegation{'s' if len(delegations) != 1 else ''} from "
            f"{join_names(groups)} have stated positions on the text and the amendments.",
            "",
        ]

    indicators = view.deliberation.get("indicators", {})
    paragraphs = [p.id for p in view.paragraphs]
    open_amendments = [a["id"] for a in view.amendments if a["state"] == "proposed"]
    targets = paragraphs + open_amendments

    notes = footnotes(view)
    attached = by_paragraph(notes)

    def marks(pid: str) -> str:
        return "".join(marker(note.number) for note in attached.get(pid, []))

    agreed = []
    for pid in paragraphs:
        status = view.status(pid)
        if status == "agreed":
            agreed.append(f"{_cap(_quoted(view, pid))}: agreed.{marks(pid)}")
        elif status == "agreed_ad_ref":
            agreed.append(
                f"{_cap(_quoted(view, pid))}: agreed ad referendum, pending confirmation by capitals."
                + marks(pid)
            )
    for target in targets:
        indicator = indicators.get(target) or {}
        if indicator.get("status") == "consensus" and (
            target not in view.by_id or view.status(target) not in AGREED
        ):
            supporters = [p["delegation"] for p in view.positions(target) if p["stance"] == "support"]
            tail = f", with the support of {join_names(supporters)}" if supporters else ""
            agreed.append(f"There was consensus, with no objection, on {_target_phrase(view, target)}{tail}.")
    if agreed:
        out += [f"{BULLET} On these, there was agreement:", ""] + [f"{_SUB} {line}" for line in agreed] + [""]

    broad = []
    for target in targets:
        indicator = indicators.get(target) or {}
        if indicator.get("status") != "broad_support" or view.status(target) in AGREED:
            continue
        objecting = [p for p in view.positions(target) if p["stance"] == "objection"]
        broad.append(
            f"{_cap(_target_phrase(view, target))} received broad "
            f"support: every stakeholder group that spoke supports it, though {_by_group(objecting)} objected"
            f"{_reasons(objecting)}."
        )
    if broad:
        out += (
            [f"{BULLET} The following received broad support:", ""]
            + [f"{_SUB} {line}" for line in broad]
            + [""]
        )

    less = []
    for target in targets:
        indicator = indicators.get(target) or {}
        if indicator.get("status") in ("divided", "blocked") and view.status(target) not in AGREED:
            less.append(_divided(view, target, indicator))
    for pid in paragraphs:
        record = view.status_record(pid)
        if view.status(pid) == "bracketed" and (indicators.get(pid) or {}).get("status") not in (
            "divided",
            "blocked",
        ):
            reason = f": {record['reason']}" if record.get("reason") else ""
            less.append(f"{_cap(_quoted(view, pid))} remains bracketed{reason}.")
    if less:
        out += [f"{BULLET} On other questions, however, there was less consensus:", ""]
        out += [f"{_SUB} {line}" for line in less] + [""]

    by_target: dict[str, str] = {}
    for note in notes:
        by_target[note.target] = by_target.get(note.target, "") + marker(note.number)
    decided = _decided(view, by_target)
    if decided:
        out += decided

    pending = _pending(view)
    if pending:
        out += pending
    if notes:
        # Notes on paragraphs not agreed are marked here, where the notes are listed.
        out += [f"{BULLET} {NOTES_TITLE}:", ""]
        out += [f"{marker(note.number)} {note.text}" for note in notes] + [""]
    if len(out) <= 8 and not delegations:
        out += [f"{BULLET} No position has been stated and no paragraph agreed yet.", ""]
    return "\n".join(out).rstrip() + "\n"


def _decided(view: DraftView, marks: dict[str, str]) -> list[str]:
    adopted, other = [], []
    for amendment in view.amendments:
        state = amendment["state"]
        last = (amendment.get("history") or [{}])[-1]
        # "by Switzerland, co-sponsored by CCBI, was adopted": the co-sponsors are an aside.
        who = sponsors_phrase(amendment) + ("," if amendment.get("cosponsors") else "")
        where = view.cited(amendment)
        if state in ("adopted", "adopted_modified"):
            how = (" as modified" if state == "adopted_modified" else "") + decision_notes(amendment)
            when = day(last.get("at"))
            adopted.append(
                f"Amendment {amendment['id']} by {who} was adopted{how} on {when}: in {where}, "
                f"{change_phrase(amendment, adopted=True)}.{marks.get(amendment['id'], '')}"
            )
        elif state == "rejected":
            reason = (amendment.get("decision") or {}).get("reason")
            other.append(
                f"Amendment {amendment['id']} by {who} to {where} was rejected"
                + (f": {reason}." if reason else ".")
            )
        elif state == "withdrawn":
            other.append(f"Amendment {amendment['id']} to {where} was withdrawn by {amendment['sponsor']}.")
        elif state == "superseded":
            by = f" by the adoption of {last['by_amendment']}" if last.get("by_amendment") else ""
            other.append(f"Amendment {amendment['id']} by {who} to {where} was superseded{by}.")
    out = []
    if adopted:
        out += [f"{BULLET} The following amendments were adopted:", ""] + [
            f"{_SUB} {line}" for line in adopted
        ]
        out += [""]
    if other:
        out += [f"{BULLET} Other amendments were decided:", ""] + [f"{_SUB} {line}" for line in other] + [""]
    return out


def _pending(view: DraftView) -> list[str]:
    out = []
    for period in view.deliberation.get("periods", {}).values():
        if period.get("closed"):
            continue
        covered = period.get("paragraphs")
        what = "the whole draft" if covered is None else join_names([view.label(p) for p in covered])
        deadline = period.get("deadline") or "its deadline"
        if isinstance(period.get("deadline_us"), (int, float)) and period["deadline_us"] <= _micros(
            view.moment
        ):
            out.append(f"{BULLET} Comments on {what} closed at {deadline}.")
        else:
            out.append(f"{BULLET} The deadline for comments on {what} is {deadline}.")
    for target, silence in view.deliberation.get("silences", {}).items():
        if silence.get("state") == "running":
            deadline = silence.get("deadline") or "its deadline"
            out.append(
                f"{BULLET} {_cap(_target_phrase(view, target))} is under silence procedure until {deadline}: "
                "it will be adopted unless someone objects before then."
            )
        elif silence.get("state") == "broken":
            who = (silence.get("broken_by") or {}).get("delegation", "an objection")
            out.append(f"{BULLET} Silence on {_target_phrase(view, target)} was broken by {who}.")
    return out + ([""] if out else [])


def _micros(iso_time: str) -> int:
    try:
        return int(datetime.fromisoformat(iso_time.replace("Z", "+00:00")).timestamp() * 1_000_000)
    except ValueError:
        return 0
