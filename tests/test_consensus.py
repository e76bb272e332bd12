"""Tests for crdt.procedure.consensus: statuses, decision rules, silent groups, GIC, latest-wins and to_json."""

from __future__ import annotations

import dataclasses
import json
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Map

from crdt.errors import PlenaryError
from crdt.procedure.consensus import (
    FAVOURABLE,
    OBJECTING,
    DecisionRule,
    Indicator,
    Position,
    PositionError,
    StakeholderGroup,
    Stance,
    Status,
    compute_indicator,
    group_informed_consensus,
    latest_positions,
)

G = StakeholderGroup
S = Stance
GOV, PRIV, CIV, IO, TECH = (
    G.GOVERNMENT,
    G.PRIVATE_SECTOR,
    G.CIVIL_SOCIETY,
    G.INTERNATIONAL_ORGANIZATION,
    G.TECHNICAL_ACADEMIC,
)

# A draft with three of the five groups at the table.
ROSTER: dict[str, StakeholderGroup] = {
    "France": GOV,
    "Brazil": GOV,
    "Kenya": GOV,
    "ICC": PRIV,
    "Oxfam": CIV,
    "APC": CIV,
}


def positions(*stated: tuple[str, Stance]) -> list[Position]:
    return [Position(delegation, ROSTER[delegation], stance) for delegation, stance in stated]


def everyone(stance: Stance) -> list[Position]:
    return positions(*((delegation, stance) for delegation in ROSTER))


# --- statuses and rules --------------------------------------------------------------------------

# name -> (positions, expected status, {rule: rule_satisfied})
SCENARIOS: dict[str, tuple[list[Position], Status, dict[DecisionRule, bool]]] = {
    "nobody_spoke": (
        [],
        Status.NO_POSITIONS,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: False},
    ),
    "consensus_everyone_supports": (
        everyone(S.SUPPORT),
        Status.CONSENSUS,
        {DecisionRule.CONSENSUS: True, DecisionRule.UNANIMITY: True, DecisionRule.MAJORITY: True},
    ),
    "consensus_everyone_can_live_with_it": (
        positions(
            ("France", S.SUPPORT),
            ("Brazil", S.NO_OBJECTION),
            ("Kenya", S.NO_OBJECTION),
            ("ICC", S.SUPPORT),
            ("Oxfam", S.NO_OBJECTION),
            ("APC", S.SUPPORT),
        ),
        Status.CONSENSUS,
        {DecisionRule.CONSENSUS: True, DecisionRule.UNANIMITY: True, DecisionRule.MAJORITY: True},
    ),
    "consensus_with_a_reservation": (
        positions(
            ("France", S.SUPPORT),
            ("Brazil", S.RESERVATION),
            ("Kenya", S.SUPPORT),
            ("ICC", S.SUPPORT),
            ("Oxfam", S.SUPPORT),
            ("APC", S.SUPPORT),
        ),
        Status.CONSENSUS,
        # A reservation joins consensus and counts for the text under majority, but is not unanimity.
        {DecisionRule.CONSENSUS: True, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "consensus_with_silent_delegations": (
        positions(("France", S.SUPPORT), ("Oxfam", S.NO_OBJECTION)),
        Status.CONSENSUS,
        {DecisionRule.CONSENSUS: True, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "consensus_only_reservations": (
        positions(("France", S.RESERVATION), ("Oxfam", S.RESERVATION)),
        Status.CONSENSUS,
        {DecisionRule.CONSENSUS: True, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "broad_support": (
        # Governments 2 support vs 1 objection; civil society and the private sector support.
        positions(
            ("France", S.SUPPORT),
            ("Brazil", S.SUPPORT),
            ("Kenya", S.OBJECTION),
            ("ICC", S.SUPPORT),
            ("Oxfam", S.SUPPORT),
            ("APC", S.NO_OBJECTION),
        ),
        Status.BROAD_SUPPORT,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "broad_support_one_group_spoke": (
        positions(("France", S.SUPPORT), ("Brazil", S.SUPPORT), ("Kenya", S.OBJECTION)),
        Status.BROAD_SUPPORT,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "divided_tie": (
        positions(("France", S.SUPPORT), ("Oxfam", S.OBJECTION)),
        Status.DIVIDED,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: False},
    ),
    "divided_with_majority": (
        # Civil society objects, governments support: a majority, but not across groups.
        positions(
            ("France", S.SUPPORT),
            ("Brazil", S.SUPPORT),
            ("Kenya", S.NO_OBJECTION),
            ("Oxfam", S.OBJECTION),
            ("APC", S.OBJECTION),
        ),
        Status.DIVIDED,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "divided_group_only_acquiesces": (
        # Civil society says only "no objection": it does not *support*, so support is not across groups.
        positions(
            ("France", S.SUPPORT),
            ("Brazil", S.SUPPORT),
            ("Kenya", S.OBJECTION),
            ("Oxfam", S.NO_OBJECTION),
        ),
        Status.DIVIDED,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "divided_group_split_evenly": (
        positions(("France", S.SUPPORT), ("Brazil", S.OBJECTION), ("Oxfam", S.SUPPORT)),
        Status.DIVIDED,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "divided_no_majority": (
        positions(("France", S.OBJECTION), ("Brazil", S.OBJECTION), ("Oxfam", S.SUPPORT)),
        Status.DIVIDED,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: False},
    ),
    "blocked_alone": (
        positions(
            ("France", S.SUPPORT),
            ("Brazil", S.SUPPORT),
            ("Kenya", S.SUPPORT),
            ("ICC", S.SUPPORT),
            ("Oxfam", S.SUPPORT),
            ("APC", S.FORMAL_OBJECTION),
        ),
        Status.BLOCKED,
        # Under majority a formal objection is just one objection.
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
    "blocked_and_outvoted": (
        positions(("France", S.SUPPORT), ("Brazil", S.FORMAL_OBJECTION), ("Oxfam", S.OBJECTION)),
        Status.BLOCKED,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: False},
    ),
    "majority_reservations_count_for": (
        positions(
            ("France", S.SUPPORT),
            ("Brazil", S.RESERVATION),
            ("Kenya", S.RESERVATION),
            ("Oxfam", S.OBJECTION),
            ("APC", S.OBJECTION),
        ),
        Status.DIVIDED,
        {DecisionRule.CONSENSUS: False, DecisionRule.UNANIMITY: False, DecisionRule.MAJORITY: True},
    ),
}

CASES = [pytest.param(name, rule, id=f"{name}-{rule}") for name in SCENARIOS for rule in DecisionRule]


@pytest.mark.parametrize(("name", "rule"), CASES)
def test_status_and_rule_for_every_scenario(name: str, rule: DecisionRule) -> None:
    stated, status, satisfied = SCENARIOS[name]
    indicator = compute_indicator(stated, ROSTER, rule)
    assert indicator.status is status
    assert indicator.rule is rule
    assert indicator.rule_satisfied is satisfied[rule]


def test_every_possible_status_and_rule_outcome_is_covered() -> None:
    consensus, unanimity, majority = DecisionRule.CONSENSUS, DecisionRule.UNANIMITY, DecisionRule.MAJORITY
    # Everything the definitions allow, and nothing else: the consensus rule is the consensus status;
    # unanimity needs consensus (and more); consensus and broad support always hold a majority.
    possible = {
        (Status.NO_POSITIONS, consensus, False),
        (Status.NO_POSITIONS, unanimity, False),
        (Status.NO_POSITIONS, majority, False),
        (Status.CONSENSUS, consensus, True),
        (Status.CONSENSUS, unanimity, True),
        (Status.CONSENSUS, unanimity, False),
        (Status.CONSENSUS, majority, True),
    }
    for status in (Status.BROAD_SUPPORT, Status.DIVIDED, Status.BLOCKED):
        possible |= {(status, consensus, False), (status, unanimity, False), (status, majority, True)}
    possible |= {(Status.DIVIDED, majority, False), (Status.BLOCKED, majority, False)}

    outcomes = {
        (status, rule, ok) for _, status, by_rule in SCENARIOS.values() for rule, ok in by_rule.items()
    }
    assert outcomes == possible


def test_default_rule_is_consensus_and_rule_accepts_its_string() -> None:
    assert compute_indicator([], ROSTER).rule is DecisionRule.CONSENSUS
    assert compute_indicator([], ROSTER, "majority").rule is DecisionRule.MAJORITY
    with pytest.raises(ValueError):
        compute_indicator([], ROSTER, "silence")


def test_unanimity_needs_every_expected_delegation() -> None:
    all_but_one = [p for p in everyone(S.SUPPORT) if p.delegation != "ICC"]
    assert not compute_indicator(all_but_one, ROSTER, DecisionRule.UNANIMITY).rule_satisfied
    assert compute_indicator(everyone(S.SUPPORT), ROSTER, DecisionRule.UNANIMITY).rule_satisfied
    # An objection from anyone defeats it.
    one_objects = [*all_but_one, Position("ICC", PRIV, S.OBJECTION)]
    assert not compute_indicator(one_objects, ROSTER, DecisionRule.UNANIMITY).rule_satisfied


def test_unanimity_with_an_empty_roster_needs_a_position() -> None:
    assert not compute_indicator([], {}, DecisionRule.UNANIMITY).rule_satisfied
    assert compute_indicator([Position("Chile", GOV, S.SUPPORT)], {}, DecisionRule.UNANIMITY).rule_satisfied


def test_no_positions_indicator() -> None:
    indicator = compute_indicator([], ROSTER)
    assert indicator.status is Status.NO_POSITIONS
    assert indicator.gic is None
    assert indicator.positions == 0
    assert indicator.silent_delegations == tuple(sorted(ROSTER))
    assert set(indicator.silent_groups) == {GOV, PRIV, CIV}


# --- silent and unrepresented groups -------------------------------------------------------------


def test_silent_delegations_and_groups() -> None:
    indicator = compute_indicator(positions(("France", S.SUPPORT), ("Brazil", S.OBJECTION)), ROSTER)
    assert indicator.silent_delegations == ("APC", "ICC", "Kenya", "Oxfam")
    assert indicator.silent_groups == (CIV, PRIV)  # sorted by value
    # Nobody from these groups is at the table: not silent, unrepresented.
    assert indicator.unrepresented_groups == (IO, TECH)


def test_group_is_not_silent_once_one_delegation_spoke() -> None:
    indicator = compute_indicator(positions(("Oxfam", S.RESERVATION)), ROSTER)
    assert CIV not in indicator.silent_groups
    assert "APC" in indicator.silent_delegations


def test_position_from_a_delegation_missing_from_the_roster_counts() -> None:
    stranger = Position("IETF", TECH, S.OBJECTION)
    indicator = compute_indicator([*everyone(S.SUPPORT), stranger], ROSTER, DecisionRule.UNANIMITY)
    assert indicator.counts[TECH][S.OBJECTION] == 1
    assert TECH not in indicator.unrepresented_groups
    assert TECH not in indicator.silent_groups
    assert "IETF" not in indicator.silent_delegations
    assert indicator.status is Status.DIVIDED  # the technical community objects without a supporter
    assert not indicator.rule_satisfied


def test_empty_roster_every_group_unrepresented() -> None:
    indicator = compute_indicator([], {})
    assert indicator.silent_groups == ()
    assert indicator.silent_delegations == ()
    assert set(indicator.unrepresented_groups) == set(G)


# --- GIC -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stated", "expected"),
    [
        # One group, one supporter: (1 + 1) / (1 + 2).
        (positions(("France", S.SUPPORT)), Fraction(2, 3)),
        # One group, one objector: (0 + 1) / (1 + 2).
        (positions(("France", S.OBJECTION)), Fraction(1, 3)),
        # Governments 2 support + 1 objection: 3/5; civil society 1 no objection (not agreement): 1/3.
        (
            positions(
                ("France", S.SUPPORT), ("Brazil", S.SUPPORT), ("Kenya", S.OBJECTION), ("APC", S.NO_OBJECTION)
            ),
            Fraction(3, 5) * Fraction(1, 3),
        ),
        # Governments 1/1 split: 2/4; civil society 2 support: 3/4; private sector 1 reservation: 1/3.
        (
            positions(
                ("France", S.SUPPORT),
                ("Brazil", S.OBJECTION),
                ("Oxfam", S.SUPPORT),
                ("APC", S.SUPPORT),
                ("ICC", S.RESERVATION),
            ),
            Fraction(1, 8),
        ),
        # Everyone supports: 4/5 (governments, 3 of 3) · 2/3 (private sector) · 3/4 (civil society).
        (everyone(S.SUPPORT), Fraction(4, 5) * Fraction(2, 3) * Fraction(3, 4)),
        # A formal objection is a position like any other for GIC: 1/3.
        (positions(("Kenya", S.FORMAL_OBJECTION)), Fraction(1, 3)),
    ],
)
def test_gic_by_hand(stated: list[Position], expected: Fraction) -> None:
    assert compute_indicator(stated, ROSTER).gic == float(expected)


def test_gic_ignores_silent_groups() -> None:
    # Silent groups are left out of the product: they would otherwise each multiply it by 1/2.
    assert compute_indicator(positions(("France", S.SUPPORT)), ROSTER).gic == float(Fraction(2, 3))
    assert compute_indicator(positions(("France", S.SUPPORT)), {"France": GOV}).gic == float(Fraction(2, 3))


def test_group_informed_consensus_direct() -> None:
    assert group_informed_consensus({}) is None
    assert group_informed_consensus({GOV: {}, CIV: {S.SUPPORT: 0}}) is None
    assert group_informed_consensus({GOV: {S.SUPPORT: 1, S.OBJECTION: 1}, CIV: {}}) == 0.5


# --- latest wins ---------------------------------------------------------------------------------


def test_latest_positions_keeps_the_last_stance_of_each_delegation() -> None:
    history = [
        Position("France", GOV, S.SUPPORT),
        Position("Oxfam", CIV, S.OBJECTION),
        Position("France", GOV, S.OBJECTION),
        Position("Brazil", GOV, S.SUPPORT),
        Position("France", GOV, S.NO_OBJECTION),
    ]
    latest = latest_positions(history)
    assert list(latest) == ["France", "Oxfam", "Brazil"]
    assert latest["France"].stance is S.NO_OBJECTION
    assert latest["Oxfam"].stance is S.OBJECTION

    indicator = compute_indicator(latest.values(), ROSTER)
    assert indicator.positions == 3
    assert indicator.counts[GOV][S.SUPPORT] == 1
    assert indicator.counts[GOV][S.NO_OBJECTION] == 1
    assert indicator.counts[GOV][S.OBJECTION] == 0


def test_latest_positions_of_nothing() -> None:
    assert latest_positions([]) == {}


# --- refused input -------------------------------------------------------------------------------


def test_position_coerces_strings() -> None:
    position = Position("France", "government", "formal_objection")  # type: ignore[arg-type]
    assert position.group is GOV
    assert position.stance is S.FORMAL_OBJECTION


@pytest.mark.parametrize(
    ("delegation", "group", "stance"),
    [
        ("France", "government", "abstention"),
        ("France", "observers", "support"),
        ("", "government", "support"),
    ],
)
def test_position_refuses_bad_values(delegation: str, group: str, stance: str) -> None:
    with pytest.raises(PositionError) as info:
        Position(delegation, group, stance)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, PlenaryError)


def test_duplicate_delegation_is_refused() -> None:
    with pytest.raises(PositionError, match="more than one position"):
        compute_indicator([Position("France", GOV, S.SUPPORT), Position("France", GOV, S.OBJECTION)], ROSTER)


def test_group_contradicting_the_roster_is_refused() -> None:
    with pytest.raises(PositionError, match="registered as government"):
        compute_indicator([Position("France", CIV, S.SUPPORT)], ROSTER)


def test_unknown_group_in_the_roster_is_refused() -> None:
    with pytest.raises(PositionError, match="unknown stakeholder group"):
        compute_indicator([], {"France": "governments"})


def test_roster_accepts_group_strings() -> None:
    indicator = compute_indicator([Position("France", GOV, S.SUPPORT)], {"France": "government"})
    assert indicator.status is Status.CONSENSUS


# --- immutability and to_json --------------------------------------------------------------------


def test_indicator_is_immutable_and_hashable() -> None:
    indicator = compute_indicator(everyone(S.SUPPORT), ROSTER)
    with pytest.raises(dataclasses.FrozenInstanceError):
        indicator.status = Status.BLOCKED  # type: ignore[misc]
    with pytest.raises(TypeError):
        indicator.counts[GOV] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        indicator.counts[GOV][S.SUPPORT] = 0  # type: ignore[index]
    assert hash(indicator) == hash(compute_indicator(everyone(S.SUPPORT), ROSTER))
    assert isinstance(indicator, Indicator)


def _assert_plain_json(value: Any) -> None:
    if isinstance(value, dict):
        assert list(value) == sorted(value)
        for key, item in value.items():
            assert type(key) is str
            _assert_plain_json(item)
    elif isinstance(value, list):
        assert value == sorted(value)
        for item in value:
            _assert_plain_json(item)
    else:
        # Exact types: a StrEnum member is a str but not plain JSON for every consumer.
        assert value is None or type(value) in (str, int, float, bool)


def test_to_json_content() -> None:
    indicator = compute_indicator(SCENARIOS["broad_support"][0], ROSTER, DecisionRule.MAJORITY)
    data = indicator.to_json()
    _assert_plain_json(data)
    assert data["status"] == "broad_support"
    assert data["rule"] == "majority"
    assert data["rule_satisfied"] is True
    assert data["gic"] == float(Fraction(3, 5) * Fraction(2, 3) * Fraction(2, 4))
    assert data["positions"] == 6
    assert data["counts"]["government"] == {
        "formal_objection": 0,
        "no_objection": 0,
        "objection": 1,
        "reservation": 0,
        "support": 2,
    }
    assert set(data["counts"]) == {str(group) for group in G}
    assert data["totals"]["support"] == 4
    assert data["silent_delegations"] == []
    assert data["silent_groups"] == []
    assert data["unrepresented_groups"] == ["international_organization", "technical_academic"]
    assert json.loads(json.dumps(data)) == data


def test_to_json_of_no_positions_has_null_gic() -> None:
    data = compute_indicator([], ROSTER).to_json()
    _assert_plain_json(data)
    assert data["gic"] is None
    assert data["silent_groups"] == ["civil_society", "government", "private_sector"]


def test_to_json_fits_in_a_yjs_map() -> None:
    data = compute_indicator(SCENARIOS["divided_with_majority"][0], ROSTER).to_json()
    doc = Doc()
    indicators = doc.get("indicators", type=Map)
    indicators["para-12-bis"] = data
    # pycrdt stores JSON numbers as floats; 1.0 == 1, so the published value compares equal.
    assert indicators.to_py()["para-12-bis"] == data


# --- properties ----------------------------------------------------------------------------------

delegation_names = st.text(alphabet="abcdefghij", min_size=1, max_size=2)
groups = st.sampled_from(list(G))
stances = st.sampled_from(list(S))


@st.composite
def situations(draw: st.DrawFn) -> tuple[list[Position], dict[str, StakeholderGroup]]:
    """Latest positions and a roster that lists most speakers plus some silent delegations."""
    spoken = draw(st.dictionaries(delegation_names, st.tuples(groups, stances), max_size=12))
    stated = [Position(d, group, stance) for d, (group, stance) in spoken.items()]
    roster = {p.delegation: p.group for p in stated if draw(st.booleans()) or draw(st.booleans())}
    silent = draw(st.dictionaries(delegation_names.map(str.upper), groups, max_size=6))
    roster.update(silent)
    return stated, roster


rules = st.sampled_from(list(DecisionRule))


@given(situations(), rules, delegation_names)
def test_adding_a_formal_objection_always_blocks(
    situation: tuple[list[Position], dict[str, StakeholderGroup]], rule: DecisionRule, name: str
) -> None:
    stated, roster = situation
    objector = Position(f"new-{name}", G.CIVIL_SOCIETY, S.FORMAL_OBJECTION)
    indicator = compute_indicator([*stated, objector], roster, rule)
    assert indicator.status is Status.BLOCKED
    if rule is not DecisionRule.MAJORITY:
        assert not indicator.rule_satisfied


@given(situations(), rules, st.data())
def test_turning_a_position_into_a_formal_objection_always_blocks(
    situation: tuple[list[Position], dict[str, StakeholderGroup]], rule: DecisionRule, data: st.DataObject
) -> None:
    stated, roster = situation
    if not stated:
        return
    i = data.draw(st.integers(0, len(stated) - 1))
    stated[i] = dataclasses.replace(stated[i], stance=S.FORMAL_OBJECTION)
    assert compute_indicator(stated, roster, rule).status is Status.BLOCKED


@given(situations(), rules)
def test_removing_all_objections_gives_consensus(
    situation: tuple[list[Position], dict[str, StakeholderGroup]], rule: DecisionRule
) -> None:
    stated, roster = situation
    remaining = [p for p in stated if p.stance not in OBJECTING]
    indicator = compute_indicator(remaining, roster, rule)
    if remaining:
        assert indicator.status is Status.CONSENSUS
        if rule is not DecisionRule.UNANIMITY:
            assert indicator.rule_satisfied
    else:
        assert indicator.status is Status.NO_POSITIONS
        assert not indicator.rule_satisfied


@given(situations())
def test_gic_in_open_unit_interval(situation: tuple[list[Position], dict[str, StakeholderGroup]]) -> None:
    stated, roster = situation
    gic = compute_indicator(stated, roster).gic
    if stated:
        assert gic is not None
        assert 0 < gic <= 1
        assert gic < 1  # (A+1)/(S+2) < 1 for every group that has spoken
    else:
        assert gic is None


@given(situations(), st.data())
def test_turning_a_position_into_support_raises_gic(
    situation: tuple[list[Position], dict[str, StakeholderGroup]], data: st.DataObject
) -> None:
    stated, roster = situation
    others = [i for i, p in enumerate(stated) if p.stance is not S.SUPPORT]
    if not others:
        return
    i = data.draw(st.sampled_from(others))
    before = compute_indicator(stated, roster).gic
    stated[i] = dataclasses.replace(stated[i], stance=S.SUPPORT)
    after = compute_indicator(stated, roster).gic
    assert before is not None and after is not None
    assert after > before


@given(situations())
def test_status_matches_its_definition(situation: tuple[list[Position], dict[str, StakeholderGroup]]) -> None:
    stated, roster = situation
    status = compute_indicator(stated, roster).status
    found = {p.stance for p in stated}
    if not stated:
        assert status is Status.NO_POSITIONS
    elif S.FORMAL_OBJECTION in found:
        assert status is Status.BLOCKED
    elif S.OBJECTION not in found:
        assert status is Status.CONSENSUS
    else:
        assert status in (Status.BROAD_SUPPORT, Status.DIVIDED)


@given(situations())
def test_rules_are_nested(situation: tuple[list[Position], dict[str, StakeholderGroup]]) -> None:
    # Unanimity implies consensus, which implies a majority.
    stated, roster = situation
    verdict = {rule: compute_indicator(stated, roster, rule).rule_satisfied for rule in DecisionRule}
    if verdict[DecisionRule.UNANIMITY]:
        assert verdict[DecisionRule.CONSENSUS]
    if verdict[DecisionRule.CONSENSUS]:
        assert verdict[DecisionRule.MAJORITY]
    favourable = sum(p.stance in FAVOURABLE for p in stated)
    assert verdict[DecisionRule.MAJORITY] is (favourable > len(stated) - favourable)
    if compute_indicator(stated, roster).status is Status.BROAD_SUPPORT:
        assert verdict[DecisionRule.MAJORITY]


@given(situations())
def test_groups_partition(situation: tuple[list[Position], dict[str, StakeholderGroup]]) -> None:
    stated, roster = situation
    indicator = compute_indicator(stated, roster)
    speaking = {p.group for p in stated}
    silent, unrepresented = set(indicator.silent_groups), set(indicator.unrepresented_groups)
    assert speaking | silent | unrepresented == set(G)
    assert not speaking & silent
    assert not speaking & unrepresented
    assert not silent & unrepresented
    assert set(indicator.silent_delegations) == set(roster) - {p.delegation for p in stated}
    assert indicator.positions == len(stated)


@given(situations(), rules, st.randoms(use_true_random=False))
def test_order_does_not_matter(
    situation: tuple[list[Position], dict[str, StakeholderGroup]], rule: DecisionRule, rng: Any
) -> None:
    stated, roster = situation
    indicator = compute_indicator(stated, roster, rule)
    shuffled = stated[:]
    rng.shuffle(shuffled)
    roster_items = list(roster.items())
    rng.shuffle(roster_items)
    again = compute_indicator(shuffled, dict(roster_items), rule)
    assert again == indicator
    # Same dict, same key order, same serialisation: publishing is deterministic.
    assert json.dumps(again.to_json()) == json.dumps(indicator.to_json())
    _assert_plain_json(indicator.to_json())


@given(st.lists(st.tuples(delegation_names, groups, stances), max_size=30))
def test_latest_positions_is_the_last_word_of_each_delegation(
    history_values: list[tuple[str, StakeholderGroup, Stance]],
) -> None:
    history = [Position(d, g, s) for d, g, s in history_values]
    latest = latest_positions(history)
    assert set(latest) == {p.delegation for p in history}
    for delegation, position in latest.items():
        assert position == [p for p in history if p.delegation == delegation][-1]
    # Repeating the history, or appending the reduced positions, changes nothing.
    assert latest_positions(history + history) == latest
    assert latest_positions([*history, *latest.values()]) == latest
