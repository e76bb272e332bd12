"""The rules of issue 14, pure (crdt/procedure/): each defect's regression, no server.

Silence can always be broken; amendment kinds mean what they say; a delegation speaks for one stakeholder
group; a fold of the log is total; explanations of position after a decision; sponsors support their
amendment and positions older than their paragraph's last change are stale; adopting over an objection is
asked for and recorded.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crdt.procedure.commands import Actor, CommandRefused
from crdt.procedure.deliberation import Deliberation, fold_entry, snapshot

SECOND = 1_000_000
CHAIR = Actor("chair", "Chair", "Bureau", "international_organization", "chair")
SYSTEM = Actor("plenary", "Plenary (server)", "", "", "system")


def delegate(delegation: str, group: str = "government") -> Actor:
    return Actor(delegation.lower(), f"Delegate of {delegation}", delegation, group, "delegate")


KENYA, BRAZIL, ITU = delegate("Kenya"), delegate("Brazil"), delegate("ITU", "international_organization")


class Session:
    """A deliberation driven by commands, with a clock."""

    def __init__(self) -> None:
        self.state = Deliberation()
        self.now = 1_000 * SECOND

    def __call__(self, actor: Actor, command: dict[str, Any], *, after: float = 1) -> dict[str, Any]:
        self.now += int(after * SECOND)
        return self.state.apply(command, actor, self.now, f"t{self.now}")

    def refused(self, actor: Actor, command: dict[str, Any]) -> CommandRefused:
        before = snapshot(self.state, ["p1", "p2"])
        with pytest.raises(CommandRefused) as caught:
            self(actor, command)
        assert snapshot(self.state, ["p1", "p2"]) == before  # a refused command leaves no trace
        return caught.value

    def propose(self, actor: Actor, kind: str = "substitution", **extra: Any) -> dict[str, Any]:
        command = {
            "type": "amendment.propose",
            "id": f"am-{len(self.state.amendments) + 1}",
            "paragraph": "p1",
            "kind": kind,
            "start": 21,
            "end": 32,
            "original": "press ahead",
            "text": "proceed swiftly",
            **extra,
        }
        return self(actor, command)


# 3. A running silence can always be broken.


def test_an_objection_breaks_a_silence_on_a_paragraph_whose_comment_period_closed():
    s = Session()
    s(CHAIR, {"type": "period.open", "id": "cp-1", "paragraphs": ["p1"], "deadline_us": s.now + 10 * SECOND})
    s(CHAIR, {"type": "period.close", "id": "cp-1"})
    s(CHAIR, {"type": "silence.start", "target": "p1", "deadline_us": s.now + 60 * SECOND})
    s(KENYA, {"type": "position.state", "target": "p1", "stance": "objection"})
    assert s.state.silences["p1"]["state"] == "broken"
    assert s.state.silences["p1"]["broken_by"]["delegation"] == "Kenya"


PROCESS = st.sampled_from(
    [
        {"type": "period.open", "paragraphs": ["p1"]},
        {"type": "period.open"},
        {"type": "period.close"},
        {"type": "period.extend"},
        {"type": "text.lock"},
        {"type": "text.unlock"},
        {"type": "paragraph.status", "paragraph": "p1", "status": "agreed"},
        {"type": "paragraph.status", "paragraph": "p1", "status": "bracketed"},
        {"type": "paragraph.reopen", "paragraph": "p1", "reason": "capitals"},
        {"type": "rule.set", "rule": "unanimity"},
        {"type": "wait"},
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(PROCESS, max_size=8),
    during=st.lists(PROCESS, max_size=8),
    on_amendment=st.booleans(),
    stance=st.sampled_from(["objection", "formal_objection"]),
)
def test_no_combination_of_periods_locks_and_statuses_blocks_an_objection_during_a_silence(
    before: list[dict[str, Any]], during: list[dict[str, Any]], on_amendment: bool, stance: str
):
    s = Session()
    target = s.propose(BRAZIL)["id"] if on_amendment else "p1"

    def run(commands: list[dict[str, Any]]) -> None:
        for command in commands:
            command = dict(command)
            if command["type"] == "wait":
                s.now += 30 * SECOND
                continue
            if command["type"] == "period.open":
                command.update(id=f"cp-{len(s.state.periods) + 1}", deadline_us=s.now + 20 * SECOND)
            elif command["type"] in ("period.close", "period.extend"):
                if not s.state.periods:
                    continue
                command.update(id=max(s.state.periods), deadline_us=s.now + 20 * SECOND)
            with contextlib.suppress(CommandRefused):  # e.g. reopening a paragraph that is not agreed
                s(CHAIR, command)

    run(before)
    s(CHAIR, {"type": "silence.start", "target": target, "deadline_us": s.now + 3600 * SECOND})
    run(during)
    s(KENYA, {"type": "position.state", "target": target, "stance": stance})
    assert s.state.silences[target]["state"] == "broken"


# 4. Amendment kinds mean what they say.


def test_a_deletion_with_text_and_an_insertion_over_a_span_are_refused():
    s = Session()
    smuggled = s.refused(KENYA, {**_proposal("deletion"), "text": "SMUGGLED TEXT"})
    assert smuggled.status == 422 and "deletion proposes no text" in smuggled.detail
    spanning = s.refused(KENYA, {**_proposal("insertion"), "start": 21, "end": 32})
    assert spanning.status == 422 and "insertion has start equal to end" in spanning.detail
    empty = s.refused(KENYA, {**_proposal("substitution"), "start": 21, "end": 21})
    assert empty.status == 422 and "needs a span" in empty.detail


def _proposal(kind: str) -> dict[str, Any]:
    return {
        "type": "amendment.propose",
        "id": "am-1",
        "paragraph": "p1",
        "kind": kind,
        "start": 21,
        "end": 32 if kind != "insertion" else 21,
        "original": "press ahead" if kind != "insertion" else "",
        "text": "" if kind == "deletion" else "proceed swiftly",
    }


def test_a_deletion_adopted_as_modified_is_recorded_as_a_substitution():
    s = Session()
    plain = s(KENYA, {**_proposal("deletion")})
    s(CHAIR, {"type": "amendment.adopt", "id": plain["id"]})
    assert plain["adopted_text"] == "" and plain["adopted_kind"] == "deletion"
    modified = s(KENYA, {**_proposal("deletion"), "id": "am-2"})
    s(CHAIR, {"type": "amendment.adopt", "id": "am-2", "modified_text": "move on"})
    assert modified["state"] == "adopted_modified" and modified["adopted_kind"] == "substitution"
    assert modified["decision"]["recorded_as"] == "substitution"
    assert modified["history"][-1]["recorded_as"] == "substitution"


# 5. A delegation speaks for one group; a fold of the log is total.


def test_a_conflicting_group_claim_is_refused_and_the_first_group_stands():
    s = Session()
    s(BRAZIL, {"type": "position.state", "target": "p1", "stance": "support"})
    claim = s.refused(
        delegate("Brazil", "civil_society"), {"type": "position.state", "target": "p1", "stance": "objection"}
    )
    assert claim.status == 409 and "speaks in this draft as government" in claim.detail
    assert s.state.indicator("p1").status == "consensus"


def test_with_a_roll_the_roll_decides_the_group():
    s = Session()
    s(CHAIR, {"type": "roll.delegation.add", "delegation": {"name": "Brazil", "group": "civil_society"}})
    record = s(BRAZIL, {"type": "position.state", "target": "p1", "stance": "support"})
    assert record["group"] == "civil_society"
    assert s.state.indicator("p1").counts["civil_society"]["support"] == 1


def _entry(actor: Actor, command: dict[str, Any]) -> bytes:
    return json.dumps({"command": command, "actor": actor.to_json()}).encode()


def test_a_log_with_conflicting_claims_folds_and_reports_the_entry_it_skips():
    # Logged before the rule existed: Brazil as government, then as civil society.
    state = Deliberation()
    log = [
        _entry(BRAZIL, {"type": "position.state", "target": "p1", "stance": "support"}),
        _entry(
            delegate("Brazil", "civil_society"),
            {"type": "position.state", "target": "p1", "stance": "objection"},
        ),
        b"{not json",
        _entry(KENYA, {"type": "position.state", "target": "p1", "stance": "support"}),
    ]
    for seq, payload in enumerate(log, start=1):
        fold_entry(state, seq, payload, (1_000 + seq) * SECOND)
    assert sorted(state.skipped) == ["2", "3"]
    assert state.skipped["2"]["type"] == "position.state"
    assert "speaks in this draft as government" in state.skipped["2"]["reason"]
    published = snapshot(state, ["p1"])
    assert published["skipped"]["3"]["type"] == "unreadable"
    assert published["indicators"]["p1"]["counts"]["government"]["support"] == 2


def test_the_indicator_is_total_whatever_the_positions_say():
    state = Deliberation()
    state.positions["p1"] = [
        {"delegation": "Brazil", "group": "government", "stance": "support"},
        {"delegation": "Brazil", "group": "civil_society", "stance": "objection"},
        {"delegation": "Nowhere", "group": "", "stance": "support"},
    ]
    state.delegations = {"Brazil": "government"}
    indicator = snapshot(state, ["p1"])["indicators"]["p1"]
    assert indicator["counts"]["government"]["objection"] == 1 and indicator["positions"] == 1


# 9. Explanations of position after a decision.


def test_explanations_are_given_after_a_decision_and_never_counted():
    s = Session()
    amendment = s.propose(BRAZIL)
    early = s.refused(ITU, {"type": "explanation.give", "target": amendment["id"], "text": "We join."})
    assert early.status == 409 and "after a decision" in early.detail
    s(CHAIR, {"type": "amendment.adopt", "id": amendment["id"]})
    before = snapshot(s.state, ["p1"])["indicators"]
    s(ITU, {"type": "explanation.give", "target": amendment["id"], "text": "We joined, with a word."})
    s(CHAIR, {"type": "paragraph.status", "paragraph": "p1", "status": "agreed"})
    s(KENYA, {"type": "explanation.give", "target": "p1", "text": "On mandates."})
    published = snapshot(s.state, ["p1"])
    assert published["indicators"] == {**before, "p1": published["indicators"]["p1"]}
    assert published["indicators"]["p1"]["positions"] == 0
    given_on = published["explanations"]
    assert given_on[amendment["id"]][0]["delegation"] == "ITU"
    assert given_on[amendment["id"]][0]["decision"] == "adopted"
    assert given_on["p1"][0]["decision"] == "agreed"
    chair = s.refused(CHAIR, {"type": "explanation.give", "target": "p1", "text": "x"})
    assert chair.status == 403


# 10. Sponsors support their amendment; stale positions are counted apart.


def test_sponsors_and_cosponsors_count_as_supporting_their_amendment():
    s = Session()
    amendment = s.propose(BRAZIL)
    s(ITU, {"type": "amendment.cosponsor", "id": amendment["id"]})
    indicator = snapshot(s.state, ["p1"])["indicators"][amendment["id"]]
    assert "Brazil" not in indicator["silent_delegations"]
    assert indicator["counts"]["government"]["support"] == 1
    assert indicator["counts"]["international_organization"]["support"] == 1


def test_positions_older_than_their_paragraphs_last_change_are_stale():
    s = Session()
    s(KENYA, {"type": "position.state", "target": "p1", "stance": "objection"})
    amendment = s.propose(BRAZIL)
    s(CHAIR, {"type": "amendment.adopt", "id": amendment["id"]})  # the words of p1 change
    s(ITU, {"type": "position.state", "target": "p1", "stance": "support"})
    indicator = snapshot(s.state, ["p1"])["indicators"]["p1"]
    assert indicator["stale"] == {"count": 1, "delegations": ["Kenya"]}
    assert indicator["totals"]["objection"] == 0 and indicator["totals"]["support"] == 1
    assert "Kenya" in indicator["silent_delegations"]
    s(KENYA, {"type": "position.state", "target": "p1", "stance": "objection"})  # about the new text
    assert snapshot(s.state, ["p1"])["indicators"]["p1"]["stale"]["count"] == 0


# 11. Adopting over an objection.


def test_adopting_over_an_objection_is_asked_for_and_recorded():
    s = Session()
    amendment = s.propose(BRAZIL)
    s(KENYA, {"type": "position.state", "target": amendment["id"], "stance": "formal_objection"})
    s(ITU, {"type": "position.state", "target": amendment["id"], "stance": "objection"})
    refused = s.refused(CHAIR, {"type": "amendment.adopt", "id": amendment["id"]})
    assert refused.status == 409
    assert "Kenya (formal objection) and ITU object" in refused.detail and "over_objection" in refused.detail
    s(CHAIR, {"type": "amendment.adopt", "id": amendment["id"], "over_objection": True})
    assert amendment["decision"]["over_objection_of"] == [
        {"delegation": "Kenya", "stance": "formal_objection"},
        {"delegation": "ITU", "stance": "objection"},
    ]
    assert amendment["history"][-1]["over_objection_of"] == amendment["decision"]["over_objection_of"]


def test_a_withdrawn_objection_needs_no_confirmation():
    s = Session()
    amendment = s.propose(BRAZIL)
    s(KENYA, {"type": "position.state", "target": amendment["id"], "stance": "objection"})
    s(KENYA, {"type": "position.state", "target": amendment["id"], "stance": "reservation"})
    s(CHAIR, {"type": "amendment.adopt", "id": amendment["id"]})
    assert "over_objection_of" not in amendment["decision"]


def test_a_silence_on_an_amendment_whose_span_is_gone_concludes_without_adopting_it():
    # The server finds nothing left of the span and says so (``not_adopted``): no text at stale offsets.
    s = Session()
    amendment = s.propose(BRAZIL)
    s(CHAIR, {"type": "silence.start", "target": amendment["id"], "deadline_us": s.now + 5 * SECOND})
    gone = "nothing is left of the span 'press ahead'"
    s(SYSTEM, {"type": "silence.conclude", "target": amendment["id"], "not_adopted": gone}, after=10)
    assert s.state.silences[amendment["id"]]["state"] == "concluded"
    assert s.state.silences[amendment["id"]]["not_adopted"] == gone
    assert amendment["state"] == "proposed"


def test_a_delegate_without_a_stakeholder_group_states_no_position():
    s = Session()
    refused = s.refused(
        delegate("Nowhere", ""), {"type": "position.state", "target": "p1", "stance": "support"}
    )
    assert refused.status == 422 and "stakeholder group" in refused.detail
