"""The deliberation state of one draft, and the rules every command must pass.

Pure: a command comes in with who sent it and the server's time; :meth:`Deliberation.apply`
either refuses it (:class:`CommandRefused`, with an HTTP status) or changes the
state. The server logs accepted commands and replays them through the same
method on load, so the state is a fold of the log. Text-dependent checks (does
the amendment's span still read as recorded?) are the server's, before logging.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crdt.procedure import conference, languages, revisions, rights
from crdt.procedure.commands import MAX_BODY, Actor, need, refuse
from crdt.procedure.consensus import (
    DecisionRule,
    Indicator,
    Position,
    Stance,
    compute_indicator,
    latest_positions,
)
from crdt.procedure.editing import EDITING_COMMANDS, Editing
from crdt.procedure.proceedings import Proceedings
from crdt.procedure.roll import ROLL_COMMANDS, Roll, roll_snapshot


class ParagraphStatus(StrEnum):
    PENDING = "pending"
    BRACKETED = "bracketed"
    AGREED_AD_REF = "agreed_ad_ref"
    AGREED = "agreed"


#: Statuses whose words nobody changes until the chair reopens the paragraph.
PROTECTED = frozenset({ParagraphStatus.AGREED, ParagraphStatus.AGREED_AD_REF})


class AmendmentKind(StrEnum):
    INSERTION = "insertion"
    DELETION = "deletion"
    SUBSTITUTION = "substitution"


class AmendmentState(StrEnum):
    PROPOSED = "proposed"
    ADOPTED = "adopted"
    ADOPTED_MODIFIED = "adopted_modified"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"


class Motivation(StrEnum):
    COMMENTING = "commenting"
    QUESTIONING = "questioning"
    EDITING = "editing"
    ASSESSING = "assessing"


@dataclass
class Deliberation:
    """Everything decided and said about one draft, folded from its log."""

    rule: DecisionRule = DecisionRule.CONSENSUS
    locked: bool = False
    statuses: dict[str, dict[str, Any]] = field(default_factory=dict)
    annotations: dict[str, dict[str, Any]] = field(default_factory=dict)
    amendments: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: target → every position ever stated on it, in order.
    positions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    periods: dict[str, dict[str, Any]] = field(default_factory=dict)
    silences: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Delegations known in this draft (delegation → stakeholder group).
    delegations: dict[str, str] = field(default_factory=dict)
    #: Paragraph numbers frozen by the chair (paragraph id → number), or None.
    numbering: dict[str, str] | None = None
    counter: int = 0
    #: Who is at the table, and the procedure profile (crdt/procedure/roll.py).
    roll: Roll = field(default_factory=Roll)
    #: Who may type where (crdt/procedure/editing.py).
    editing: Editing = field(default_factory=Editing)
    #: target → every view stated on it: positions of delegations without negotiating rights in an
    #: intergovernmental draft (crdt/procedure/rights.py), shown, never counted.
    views: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: Rev.1, Rev.2, … by id (``rev1``): see crdt/procedure/revisions.py.
    revisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The original language and the translation languages: see crdt/procedure/languages.py.
    languages: dict[str, Any] = field(default_factory=languages.default_languages)
    #: Meetings, the floor, statements, documents, Friends of the Chair (crdt/procedure/conference.py).
    proceedings: Proceedings = field(default_factory=Proceedings)

    # Queries.

    def status_of(self, paragraph: str) -> str:
        return self.statuses.get(paragraph, {}).get("status", ParagraphStatus.PENDING)

    def paragraph_of(self, target: str) -> str:
        amendment = self.amendments.get(target)
        return amendment["paragraph"] if amendment else target

    def period_open_for(self, paragraph: str, now_us: int) -> tuple[bool, str]:
        """Whether comments on ``paragraph`` are accepted now, and why not.

        Paragraphs never put out for comment are open (drafting); once a period
        has covered a paragraph, it takes an open period to comment on it.
        """
        covering = [
            p for p in self.periods.values() if p["paragraphs"] is None or paragraph in p["paragraphs"]
        ]
        if not covering:
            return True, ""
        for period in covering:
            if period["opens_us"] <= now_us < period["deadline_us"] and not period.get("closed"):
                return True, ""
        last = max(covering, key=lambda p: p["deadline_us"])
        return (
            False,
            f"the comment period for this paragraph closed ({last['id']}, deadline {last['deadline']})",
        )

    def indicator(self, target: str) -> Indicator:
        history = [Position(p["delegation"], p["group"], p["stance"]) for p in self.positions.get(target, [])]
        expected = rights.expected_delegations(self.roll, self.delegations)
        return compute_indicator(latest_positions(history).values(), expected, self.rule)

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    # Commands. Each validates fully, then changes the state.

    def apply(self, command: Mapping[str, Any], actor: Actor, now_us: int, now_iso: str) -> dict[str, Any]:
        kind = command.get("type")
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise refuse(f"unknown command {kind!r}", 400)
        problem = rights.refusal(self.roll, command, actor)  # the procedure profile's decision rights
        if problem is not None:
            raise problem
        conference.admit(self, command, actor)
        view = kind == "position.state" and rights.is_view(self.roll, actor)
        result = (_view if view else handler)(self, command, actor, now_us, now_iso)
        revisions.mark_made_against(self, kind, result)
        # Only an accepted command makes a delegation known (a refused one leaves no trace).
        if actor.delegation and actor.role == "delegate" and not view:
            self.delegations.setdefault(actor.delegation, actor.group)
        return result


def _check_open(state: Deliberation, paragraph: str, now_us: int) -> None:
    ok, why = state.period_open_for(paragraph, now_us)
    if not ok:
        raise refuse(why, 409)


# Annotations.


def _annotate(
    state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str
) -> dict[str, Any]:
    paragraph = need(c, "paragraph")
    body = need(c, "body")
    if len(body) > MAX_BODY:
        raise refuse(f"body longer than {MAX_BODY} characters")
    motivation = c.get("motivation", "commenting")
    if motivation not in Motivation.__members__.values():
        raise refuse(f"unknown motivation {motivation!r}")
    reply_to = c.get("reply_to")
    if reply_to is not None and reply_to not in state.annotations:
        raise refuse(f"no annotation {reply_to!r} to reply to", 404)
    _check_open(state, paragraph, now_us)
    annotation_id = need(c, "id")
    annotation = {
        "id": annotation_id,
        "paragraph": paragraph,
        "reference": c.get("reference"),  # how the paragraph was cited then ("4 (c)")
        "start": c.get("start"),
        "end": c.get("end"),
        "quote": c.get("quote"),
        "anchor": c.get("anchor"),
        "body": body,
        "motivation": motivation,
        "reply_to": reply_to,
        "creator": actor.to_json(),
        "created": now,
        "resolved": False,
    }
    state.annotations[annotation_id] = annotation
    return annotation


def _resolve(state: Deliberation, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    annotation = state.annotations.get(need(c, "id"))
    if annotation is None:
        raise refuse("no such annotation", 404)
    if annotation["creator"]["participant"] != actor.participant and actor.role != "chair":
        raise refuse("only the author or the chair may resolve or reopen an annotation", 403)
    annotation["resolved"] = c["type"] == "annotation.resolve"
    annotation["resolved_at"] = now if annotation["resolved"] else None
    return annotation


# Amendments.


def _propose(
    state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str
) -> dict[str, Any]:
    kind = c.get("kind")
    if kind not in AmendmentKind.__members__.values():
        raise refuse(f"kind must be one of {', '.join(AmendmentKind)}")
    paragraph = need(c, "paragraph")
    text = c.get("text", "")
    if not isinstance(text, str) or len(text) > MAX_BODY:
        raise refuse("invalid proposed text")
    if kind != AmendmentKind.DELETION and not text:
        raise refuse(f"an {kind} needs the proposed text")
    _check_open(state, paragraph, now_us)
    amendment_id = need(c, "id")
    amendment = {
        "id": amendment_id,
        "kind": kind,
        "paragraph": paragraph,
        "reference": c.get("reference"),  # how the paragraph was cited then ("4 (c)")
        "start": c.get("start"),
        "end": c.get("end"),
        "original": c.get("original", ""),
        "anchor": c.get("anchor"),
        "text": text,
        "justification": c.get("justification", ""),
        "sponsor": actor.delegation,
        "proposed_by": actor.to_json(),
        "cosponsors": [],
        "state": AmendmentState.PROPOSED.value,
        "proposed": now,
        "history": [{"event": "proposed", "at": now, "by": actor.delegation}],
    }
    state.amendments[amendment_id] = amendment
    return amendment


def _amendment(state: Deliberation, c: Mapping[str, Any]) -> dict[str, Any]:
    amendment = state.amendments.get(need(c, "id"))
    if amendment is None:
        raise refuse("no such amendment", 404)
    return amendment


def _cosponsor(
    state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str
) -> dict[str, Any]:
    amendment = _amendment(state, c)
    if amendment["state"] != AmendmentState.PROPOSED:
        raise refuse(f"the amendment is {amendment['state']}", 409)
    if actor.delegation == amendment["sponsor"] or actor.delegation in amendment["cosponsors"]:
        raise refuse("your delegation already sponsors this amendment", 409)
    _check_open(state, amendment["paragraph"], now_us)
    amendment["cosponsors"].append(actor.delegation)
    amendment["history"].append({"event": "cosponsored", "at": now, "by": actor.delegation})
    return amendment


def _withdraw(state: Deliberation, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    amendment = _amendment(state, c)
    if actor.delegation != amendment["sponsor"]:
        raise refuse("only the sponsor may withdraw an amendment", 403)
    if amendment["state"] != AmendmentState.PROPOSED:
        raise refuse(f"the amendment is {amendment['state']}", 409)
    amendment["state"] = AmendmentState.WITHDRAWN.value
    amendment["history"].append({"event": "withdrawn", "at": now, "by": actor.delegation})
    state.silences.pop(amendment["id"], None)
    return amendment


def _decide(state: Deliberation, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    amendment = _amendment(state, c)
    if amendment["state"] != AmendmentState.PROPOSED:
        raise refuse(f"cannot decide an amendment that is {amendment['state']}", 409)
    if c["type"] == "amendment.reject":
        reason = need(c, "reason")
        amendment["state"] = AmendmentState.REJECTED.value
        amendment["decision"] = {"reason": reason, "by": actor.to_json(), "at": now}
        amendment["history"].append({"event": "rejected", "at": now, "by": actor.name, "reason": reason})
    else:
        _adopt(
            state, amendment, actor, now, c.get("modified_text"), c.get("superseded", []), c.get("text_seq")
        )
    state.silences.pop(amendment["id"], None)
    return amendment


def _adopt(
    state: Deliberation,
    amendment: dict[str, Any],
    actor: Actor,
    now: str,
    modified: str | None,
    superseded: list[str],
    text_seq: int | None,
) -> None:
    amendment["state"] = (
        AmendmentState.ADOPTED_MODIFIED if modified is not None else AmendmentState.ADOPTED
    ).value
    amendment["adopted_text"] = modified if modified is not None else amendment["text"]
    amendment["decision"] = {"by": actor.to_json(), "at": now, "text_seq": text_seq}
    amendment["history"].append({"event": amendment["state"], "at": now, "by": actor.name})
    for other_id in superseded:
        other = state.amendments.get(other_id)
        if other is not None and other["state"] == AmendmentState.PROPOSED:
            other["state"] = AmendmentState.SUPERSEDED.value
            other["history"].append({"event": "superseded", "at": now, "by_amendment": amendment["id"]})
            state.silences.pop(other_id, None)


# Positions.


def _position(
    state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str
) -> dict[str, Any]:
    target = need(c, "target")
    stance = c.get("stance")
    if stance not in Stance.__members__.values():
        raise refuse(f"stance must be one of {', '.join(Stance)}")
    amendment = state.amendments.get(target)
    if amendment is not None and amendment["state"] != AmendmentState.PROPOSED:
        raise refuse(f"the amendment is {amendment['state']}", 409)
    _check_open(state, state.paragraph_of(target), now_us)
    explanation = c.get("explanation") or ""
    if len(explanation) > MAX_BODY:
        raise refuse("explanation too long")
    record = {
        "delegation": actor.delegation,
        "group": actor.group,
        "stance": stance,
        "explanation": explanation,
        "by": actor.participant,
        "at": now,
    }
    state.positions.setdefault(target, []).append(record)
    silence = state.silences.get(target)
    if (
        silence is not None
        and silence["state"] == "running"
        and stance in (Stance.OBJECTION, Stance.FORMAL_OBJECTION)
    ):
        silence["state"] = "broken"
        silence["broken_by"] = {"delegation": actor.delegation, "stance": stance, "at": now}
    return record


def _view(state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    """A position from a delegation without negotiating rights: recorded as a view, beside the
    indicator; it neither counts toward consensus nor breaks silence."""
    target = need(c, "target")
    stance = c.get("stance")
    if stance not in Stance.__members__.values():
        raise refuse(f"stance must be one of {', '.join(Stance)}")
    amendment = state.amendments.get(target)
    if amendment is not None and amendment["state"] != AmendmentState.PROPOSED:
        raise refuse(f"the amendment is {amendment['state']}", 409)
    _check_open(state, state.paragraph_of(target), now_us)
    explanation = c.get("explanation") or ""
    if not isinstance(explanation, str) or len(explanation) > MAX_BODY:
        raise refuse("explanation too long")
    record = {
        "delegation": actor.delegation,
        "group": actor.group,
        "stance": stance,
        "explanation": explanation,
        "by": actor.participant,
        "at": now,
        "view": True,
    }
    state.views.setdefault(target, []).append(record)
    return record


# Process.


def _status(state: Deliberation, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    paragraph = need(c, "paragraph")
    status = c.get("status")
    if status not in ParagraphStatus.__members__.values():
        raise refuse(f"status must be one of {', '.join(ParagraphStatus)}")
    if state.status_of(paragraph) in PROTECTED and status not in PROTECTED:
        before = state.status_of(paragraph)
        raise refuse(f"{paragraph} is {before}: only the chair reopens it, with a reason", 409)
    record = {"status": status, "reason": c.get("reason") or "", "by": actor.name, "at": now}
    state.statuses[paragraph] = record
    return record


def _reopen(state: Deliberation, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    """The chair reopens an agreed or ad-ref paragraph, with a reason (agreed text is protected: nobody
    types into it until then). Logs written before text was protected hold system reopenings: no reason."""
    paragraph = need(c, "paragraph")
    before = state.status_of(paragraph)
    if actor.role != "system":
        if before not in PROTECTED:
            raise refuse(f"{paragraph} is {before}, not agreed: there is nothing to reopen", 409)
        need(c, "reason")
    record = {
        "status": ParagraphStatus.PENDING.value,
        "reason": c.get("reason") or f"reopened: the text changed after it was {before}",
        "by": actor.name,
        "at": now,
        "reopened_from": before,
    }
    state.statuses[paragraph] = record
    return record


def _lock(state: Deliberation, c: Mapping[str, Any], _a: Actor, _n: int, _now: str) -> dict[str, Any]:
    state.locked = c["type"] == "text.lock"
    return {"locked": state.locked}


def _rule(state: Deliberation, c: Mapping[str, Any], _a: Actor, _n: int, _now: str) -> dict[str, Any]:
    rule = c.get("rule")
    if rule not in DecisionRule.__members__.values():
        raise refuse(f"rule must be one of {', '.join(DecisionRule)}")
    state.rule = DecisionRule(rule)
    return {"rule": rule}


def _numbering(state: Deliberation, c: Mapping[str, Any], _a: Actor, _n: int, _now: str) -> dict[str, Any]:
    if c["type"] == "numbering.freeze":
        numbers = c.get("numbers")
        if not isinstance(numbers, dict):
            raise refuse("missing numbers")
        state.numbering = {str(k): str(v) for k, v in numbers.items()}
    else:
        state.numbering = None
    return {"numbering_frozen": state.numbering is not None}


def _period(state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    kind = c["type"]
    if kind == "period.open":
        deadline_us = need(c, "deadline_us", int)
        if deadline_us <= now_us:
            raise refuse("the deadline must be in the future")
        paragraphs = c.get("paragraphs")
        if paragraphs is not None and (not isinstance(paragraphs, list) or not paragraphs):
            raise refuse("paragraphs must be a non-empty list, or absent for the whole draft")
        period_id = need(c, "id")
        period = {
            "id": period_id,
            "paragraphs": paragraphs,
            "opens_us": now_us,
            "opened": now,
            "deadline_us": deadline_us,
            "deadline": c.get("deadline", ""),
            "closed": False,
            "history": [{"event": "opened", "at": now, "by": actor.name, "deadline": c.get("deadline", "")}],
        }
        state.periods[period_id] = period
        return period
    period = state.periods.get(need(c, "id"))
    if period is None:
        raise refuse("no such comment period", 404)
    if kind == "period.extend":
        deadline_us = need(c, "deadline_us", int)
        if deadline_us <= now_us:
            raise refuse("the new deadline must be in the future")
        period["deadline_us"] = deadline_us
        period["deadline"] = c.get("deadline", "")
        period["closed"] = False
        period["history"].append(
            {"event": "extended", "at": now, "by": actor.name, "deadline": period["deadline"]}
        )
    else:
        period["closed"] = True
        period["history"].append({"event": "closed", "at": now, "by": actor.name})
    return period


def _silence(
    state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str
) -> dict[str, Any]:
    kind = c["type"]
    target = need(c, "target")
    if kind == "silence.start":
        deadline_us = need(c, "deadline_us", int)
        if deadline_us <= now_us:
            raise refuse("the deadline must be in the future")
        amendment = state.amendments.get(target)
        if amendment is not None and amendment["state"] != AmendmentState.PROPOSED:
            raise refuse(f"the amendment is {amendment['state']}", 409)
        silence = {
            "target": target,
            "state": "running",
            "started": now,
            "started_us": now_us,
            "deadline_us": deadline_us,
            "duration_us": deadline_us - now_us,
            "deadline": c.get("deadline", ""),
            "by": actor.name,
            "restarts": 0,
        }
        state.silences[target] = silence
        return silence
    silence = state.silences.get(target)
    if silence is None or silence["state"] != "running":
        raise refuse("no silence procedure running on this target", 409)
    if kind == "silence.restart":
        silence["deadline_us"] = now_us + silence["duration_us"]
        silence["deadline"] = c.get("deadline", "")
        silence["restarts"] += 1
    elif kind == "silence.conclude":
        # Silence unbroken at the deadline: the text is agreed (a paragraph) or adopted (an amendment).
        silence["state"] = "concluded"
        silence["concluded"] = now
        amendment = state.amendments.get(target)
        if amendment is not None:
            if amendment["state"] == AmendmentState.PROPOSED:
                _adopt(state, amendment, actor, now, None, c.get("superseded", []), None)
        else:
            state.statuses[target] = {
                "status": ParagraphStatus.AGREED.value,
                "reason": "silence procedure concluded without objection",
                "by": actor.name,
                "at": now,
            }
    return silence


_HANDLERS: dict[str, Any] = {
    "annotation.create": _annotate,
    "annotation.resolve": _resolve,
    "annotation.reopen": _resolve,
    "amendment.propose": _propose,
    "amendment.cosponsor": _cosponsor,
    "amendment.withdraw": _withdraw,
    "amendment.adopt": _decide,
    "amendment.reject": _decide,
    "position.state": _position,
    "paragraph.status": _status,
    "paragraph.reopen": _reopen,
    "text.lock": _lock,
    "text.unlock": _lock,
    "rule.set": _rule,
    "numbering.freeze": _numbering,
    "numbering.unfreeze": _numbering,
    "period.open": _period,
    "period.extend": _period,
    "period.close": _period,
    "silence.start": _silence,
    "silence.restart": _silence,
    "silence.conclude": _silence,
    **revisions.HANDLERS,
    **languages.HANDLERS,
    **conference.HANDLERS,
}


def _on_roll(handler: Any) -> Any:
    return lambda state, c, actor, now_us, now: handler(state.roll, c, actor, now_us, now)


def _on_editing(handler: Any) -> Any:
    return lambda state, c, actor, now_us, now: handler(state.editing, c, actor, now_us, now)


_HANDLERS.update({kind: _on_roll(handler) for kind, handler in ROLL_COMMANDS.items()})
_HANDLERS.update({kind: _on_editing(handler) for kind, handler in EDITING_COMMANDS.items()})

COMMANDS = frozenset(_HANDLERS)


def replay_command(state: Deliberation, payload: bytes, time_us: int, now_iso: str) -> None:
    """Fold one logged command (``{"command", "actor"}`` JSON) into ``state``, as on load.

    Raises :class:`CommandRefused` if the rules refuse it now, ``ValueError`` if it is unreadable;
    callers replaying a log report either and go on (the log is the truth).
    """
    try:
        record = json.loads(payload)
        command, actor = record["command"], Actor(**record["actor"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a readable command: {exc}") from exc
    state.apply(command, actor, time_us, now_iso)


def overlapping_amendments(
    state: Deliberation, amendment_id: str, spans: Mapping[str, tuple[int, int]]
) -> list[str]:
    """Open amendments on the same paragraph whose current span overlaps the given one's."""
    target = state.amendments[amendment_id]
    mine = spans.get(amendment_id)
    out = []
    for other in state.amendments.values():
        if other["id"] == amendment_id or other["state"] != AmendmentState.PROPOSED:
            continue
        if other["paragraph"] != target["paragraph"]:
            continue
        theirs = spans.get(other["id"])
        if mine is None or theirs is None or (theirs[0] < mine[1] and mine[0] < theirs[1]) or mine == theirs:
            out.append(other["id"])
    return out


def snapshot(state: Deliberation, paragraphs: Iterable[str]) -> dict[str, Any]:
    """The JSON published in the deliberation document (and returned by the API)."""
    targets = [
        *paragraphs,
        *(a for a, am in state.amendments.items() if am["state"] == AmendmentState.PROPOSED),
    ]
    return {
        "process": {
            "rule": str(state.rule),
            "locked": state.locked,
            "numbering_frozen": state.numbering is not None,
            "profile": str(state.roll.profile),
            **state.editing.to_json(),
        },
        "statuses": state.statuses,
        "annotations": state.annotations,
        "amendments": state.amendments,
        "positions": {t: _latest_json(h) for t, h in state.positions.items()},
        "periods": state.periods,
        "silences": state.silences,
        "indicators": {t: _indicator_json(state, t) for t in targets},
        "roll": roll_snapshot(state.roll),
        "views": {t: _latest_json(h) for t, h in state.views.items()},
        "revisions": state.revisions,
        "languages": state.languages,
        **conference.publish(state),
    }


def _indicator_json(state: Deliberation, target: str) -> dict[str, Any]:
    """An indicator as published: which rules applied (profile), silence and representation counted
    against the roll, and the views of delegations without negotiating rights beside it."""
    data = state.indicator(target).to_json()
    data["profile"] = str(state.roll.profile)
    unrepresented = rights.unrepresented_groups(state.roll)
    if unrepresented is not None:
        data["unrepresented_groups"] = unrepresented
    data["views"] = rights.views_by_group(state.views.get(target, []))
    return data


def _latest_json(history: list[dict[str, Any]]) -> dict[str, Any]:
    latest: dict[str, Any] = {}
    for record in history:
        latest[record["delegation"]] = record
    return latest
