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
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from crdt.procedure import conference, explanations, languages, revisions, rights
from crdt.procedure.commands import MAX_BODY, Actor, CommandRefused, need, refuse
from crdt.procedure.consensus import (
    OBJECTING,
    DecisionRule,
    Indicator,
    Position,
    PositionError,
    StakeholderGroup,
    Stance,
    compute_indicator,
)
from crdt.procedure.editing import EDITING_COMMANDS, Editing
from crdt.procedure.proceedings import Proceedings
from crdt.procedure.roll import ROLL_COMMANDS, Roll, roll_snapshot
from crdt.times import iso_seconds


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
    #: target → explanations of position given after its decision (crdt/procedure/explanations.py).
    explanations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: paragraph → when its words last changed by a decision or an edit the log records (µs): positions
    #: stated before are stale.
    changed_us: dict[str, int] = field(default_factory=dict)
    #: Logged entries that could not apply when folded (seq → what and why): see :func:`fold_entry`.
    skipped: dict[str, dict[str, Any]] = field(default_factory=dict)

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

    def sponsors_of(self, target: str) -> list[tuple[str, str]]:
        """The sponsor and co-sponsors of an amendment (delegation, group); none for a paragraph."""
        amendment = self.amendments.get(target)
        if amendment is None or not amendment.get("sponsor"):
            return []
        sponsor = amendment["sponsor"]
        out = [(sponsor, self.delegations.get(sponsor) or amendment["proposed_by"].get("group", ""))]
        return out + [(d, self.delegations.get(d, "")) for d in amendment["cosponsors"]]

    def counted(self, target: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The latest position of each delegation on ``target`` that counts, and the stale ones.

        Sponsors and co-sponsors support their amendment unless they said otherwise; a position stated
        before the paragraph's words last changed is stale: about a text that is no longer there.
        """
        latest: dict[str, dict[str, Any]] = {}
        for delegation, group in self.sponsors_of(target):
            latest[delegation] = {
                "delegation": delegation,
                "group": group,
                "stance": "support",
                "sponsor": True,
            }
        for record in self.positions.get(target, []):
            latest[record["delegation"]] = record
        changed = None if target in self.amendments else self.changed_us.get(target)
        counted, stale = [], []
        for record in latest.values():
            if changed is not None and not record.get("sponsor") and record.get("at_us", changed) < changed:
                stale.append(record)
            else:
                counted.append(record)
        return counted, stale

    def indicator(self, target: str) -> Indicator:
        """Total: whatever the log holds, an indicator comes out (groups as the roll, or the first act of
        each delegation, registered them; positions that cannot be counted are left out)."""
        expected = rights.expected_delegations(self.roll, self.delegations)
        positions = []
        for record in self.counted(target)[0]:
            delegation = record["delegation"]
            group = expected.get(delegation) or self.delegations.get(delegation) or record.get("group")
            try:
                positions.append(Position(delegation, group, record["stance"]))  # type: ignore[arg-type]
            except PositionError:
                continue
        try:
            return compute_indicator(positions, expected, self.rule)
        except PositionError:
            return compute_indicator(positions, {}, self.rule)

    def objections(self, target: str) -> list[dict[str, str]]:
        """Objections and formal objections standing on ``target`` (latest, counted positions)."""
        return [
            {"delegation": r["delegation"], "stance": r["stance"]}
            for r in self.counted(target)[0]
            if r["stance"] in OBJECTING
        ]

    def seated(self, actor: Actor) -> Actor:
        """The actor with the stakeholder group its delegation holds in this draft.

        The roll decides where the draft has one that lists the delegation; otherwise the first group seen
        for the delegation stands, and a conflicting claim is refused (nothing is logged).
        """
        if actor.role != "delegate" or not actor.delegation:
            return actor
        on_roll = self.roll.delegations.get(actor.delegation)
        if on_roll is not None:
            group = str(on_roll.group)
            return actor if group == actor.group else replace(actor, group=group)
        known = self.delegations.get(actor.delegation)
        if known is not None and known != actor.group:
            raise refuse(
                f"the delegation of {actor.delegation} speaks in this draft as {known}, not as "
                f"{actor.group or 'no stakeholder group'}",
                409,
            )
        return actor

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
        actor = self.seated(actor)
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
    _check_kind(kind, text, c.get("start"), c.get("end"))
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


def _check_kind(kind: str, text: str, start: Any, end: Any) -> None:
    """A kind means what it says: a deletion proposes no words, an insertion replaces none, and a
    substitution replaces some."""
    if kind == AmendmentKind.DELETION and text:
        raise refuse("a deletion proposes no text: to replace the words, propose a substitution")
    if not isinstance(start, int) or not isinstance(end, int):
        return  # entries logged before offsets were required
    if kind == AmendmentKind.INSERTION and start != end:
        raise refuse(
            "an insertion has start equal to end (the insertion point); "
            "to replace words, propose a substitution"
        )
    if kind != AmendmentKind.INSERTION and start >= end:
        raise refuse(f"a {kind} needs a span (start < end); to add words at a point, propose an insertion")


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


def _decide(state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    amendment = _amendment(state, c)
    if amendment["state"] != AmendmentState.PROPOSED:
        raise refuse(f"cannot decide an amendment that is {amendment['state']}", 409)
    if c["type"] == "amendment.reject":
        reason = need(c, "reason")
        amendment["state"] = AmendmentState.REJECTED.value
        amendment["decision"] = {"reason": reason, "by": actor.to_json(), "at": now}
        amendment["history"].append({"event": "rejected", "at": now, "by": actor.name, "reason": reason})
    else:
        modified = c.get("modified_text")
        if modified is not None and (not isinstance(modified, str) or len(modified) > MAX_BODY):
            raise refuse("invalid modified_text")
        if modified == "" and amendment["kind"] == AmendmentKind.INSERTION:
            raise refuse("an insertion adopted as modified needs the words to insert")
        objections = state.objections(amendment["id"])
        if objections and actor.role != "system" and c.get("over_objection") is not True:
            raise refuse(
                f"{objectors(objections)} {'objects' if len(objections) == 1 else 'object'} to "
                f"{amendment['id']}: adopt with over_objection=true to adopt it over the objection",
                409,
            )
        _adopt(state, amendment, actor, now, now_us, c)
    state.silences.pop(amendment["id"], None)
    return amendment


def objectors(objections: list[dict[str, str]]) -> str:
    """``Kenya (formal objection) and ITU``: who objects, for a sentence."""
    names = [
        o["delegation"] + (" (formal objection)" if o["stance"] == Stance.FORMAL_OBJECTION else "")
        for o in objections
    ]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def adopted_kind(kind: str, modified: str | None) -> str:
    """What an adoption does to the text, on the record: a deletion adopted as modified with words
    replaces the span (a substitution); a substitution adopted as modified with none deletes it."""
    if modified is None or kind == AmendmentKind.INSERTION:
        return kind
    return AmendmentKind.SUBSTITUTION.value if modified else AmendmentKind.DELETION.value


def _adopt(
    state: Deliberation,
    amendment: dict[str, Any],
    actor: Actor,
    now: str,
    now_us: int,
    c: Mapping[str, Any],
) -> None:
    modified = c.get("modified_text")
    kind = amendment["kind"]
    amendment["state"] = (
        AmendmentState.ADOPTED_MODIFIED if modified is not None else AmendmentState.ADOPTED
    ).value
    if modified is not None:
        amendment["adopted_text"] = modified
    else:
        amendment["adopted_text"] = "" if kind == AmendmentKind.DELETION else amendment["text"]
    amendment["adopted_kind"] = adopted_kind(kind, modified)
    decision: dict[str, Any] = {"by": actor.to_json(), "at": now, "text_seq": c.get("text_seq")}
    if isinstance(c.get("replaced"), str):
        decision["replaced"] = c["replaced"]  # the span's words as they stood when adopted
    event: dict[str, Any] = {"event": amendment["state"], "at": now, "by": actor.name}
    if amendment["adopted_kind"] != kind:
        decision["recorded_as"] = event["recorded_as"] = amendment["adopted_kind"]
    objections = state.objections(amendment["id"])
    if objections:
        decision["over_objection_of"] = event["over_objection_of"] = objections
    amendment["decision"] = decision
    amendment["history"].append(event)
    state.changed_us[amendment["paragraph"]] = now_us
    superseded = c.get("superseded") or []
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
    silence = state.silences.get(target)
    breaking = silence is not None and silence["state"] == "running" and stance in OBJECTING
    # Breaking a running silence is always possible: no period, lock or status stands in its way.
    if not breaking:
        amendment = state.amendments.get(target)
        if amendment is not None and amendment["state"] != AmendmentState.PROPOSED:
            raise refuse(f"the amendment is {amendment['state']}", 409)
        _check_open(state, state.paragraph_of(target), now_us)
    explanation = c.get("explanation") or ""
    if not isinstance(explanation, str) or len(explanation) > MAX_BODY:
        raise refuse("explanation too long")
    if actor.group not in StakeholderGroup.__members__.values():
        raise refuse(f"{actor.delegation or actor.name} has no stakeholder group to count a position in")
    record = {
        "delegation": actor.delegation,
        "group": actor.group,
        "stance": stance,
        "explanation": explanation,
        "by": actor.participant,
        "at": now,
        "at_us": now_us,
    }
    state.positions.setdefault(target, []).append(record)
    if breaking:
        assert silence is not None
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


def _reopen(state: Deliberation, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    """The chair reopens an agreed or ad-ref paragraph, with a reason (agreed text is protected: nobody
    types into it until then). Logs written before text was protected hold system reopenings: no reason."""
    paragraph = need(c, "paragraph")
    before = state.status_of(paragraph)
    if actor.role != "system":
        if before not in PROTECTED:
            raise refuse(f"{paragraph} is {before}, not agreed: there is nothing to reopen", 409)
        need(c, "reason")
    else:
        state.changed_us[paragraph] = now_us  # reopened because its words changed
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
        state.changed_us[state.paragraph_of(target)] = now_us  # restarted because the words changed
    elif kind == "silence.conclude":
        # Silence unbroken at the deadline: the text is agreed (a paragraph) or adopted (an amendment).
        silence["state"] = "concluded"
        silence["concluded"] = now
        amendment = state.amendments.get(target)
        if amendment is not None:
            if isinstance(c.get("not_adopted"), str):
                silence["not_adopted"] = c["not_adopted"]  # the server found nothing of the span left
            elif amendment["state"] == AmendmentState.PROPOSED:
                _adopt(state, amendment, actor, now, now_us, {**c, "modified_text": None, "text_seq": None})
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
    **explanations.HANDLERS,
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


def fold_entry(state: Deliberation, seq: int, payload: bytes, time_us: int) -> dict[str, Any] | None:
    """Fold one logged command into ``state``; never raises.

    A fold is total: an entry that cannot apply (refused by today's rules, unreadable, or failing in a
    way nobody foresaw) is skipped, recorded in ``state.skipped`` and returned, so that reading a draft
    shows it and ``plenary audit verify`` lists it, and the rest of the log still folds.
    """
    try:
        replay_command(state, payload, time_us, iso_seconds(time_us))
        return None
    except CommandRefused as exc:
        reason = exc.detail
    except ValueError as exc:
        reason = str(exc)
    except Exception as exc:  # the log is the truth: one entry must not make the draft unreadable
        reason = f"{type(exc).__name__}: {exc}"
    try:
        kind = str(json.loads(payload)["command"]["type"])
    except (ValueError, KeyError, TypeError):
        kind = "unreadable"
    skipped = {"seq": seq, "type": kind, "reason": reason, "at": iso_seconds(time_us)}
    state.skipped[str(seq)] = skipped
    return skipped


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
        "explanations": state.explanations,
        "skipped": state.skipped,
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
    stale = state.counted(target)[1]
    # Positions stated before the words last changed: not counted, shown to the chair apart.
    data["stale"] = {"count": len(stale), "delegations": sorted(r["delegation"] for r in stale)}
    return data


def _latest_json(history: list[dict[str, Any]]) -> dict[str, Any]:
    latest: dict[str, Any] = {}
    for record in history:
        # The µs a position was folded at is for staleness only: live and replayed folds differ in it.
        latest[record["delegation"]] = {k: v for k, v in record.items() if k != "at_us"}
    return latest
