"""Consensus indicators as pure functions: from the positions delegations stated on one paragraph or
amendment to a status, Pol.is's group-informed consensus and the verdict of the draft's decision rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from crdt.errors import PlenaryError

__all__ = [
    "FAVOURABLE",
    "OBJECTING",
    "DecisionRule",
    "Indicator",
    "Position",
    "PositionError",
    "StakeholderGroup",
    "Stance",
    "Status",
    "compute_indicator",
    "group_informed_consensus",
    "latest_positions",
]


class Stance(StrEnum):
    """What one delegation says about one paragraph or amendment."""

    SUPPORT = "support"
    NO_OBJECTION = "no_objection"
    """Can live with it."""
    RESERVATION = "reservation"
    """Joins, but records a reservation."""
    OBJECTION = "objection"
    FORMAL_OBJECTION = "formal_objection"
    """Blocks consensus."""


class StakeholderGroup(StrEnum):
    """The declared constituency a delegation belongs to."""

    GOVERNMENT = "government"
    PRIVATE_SECTOR = "private_sector"
    CIVIL_SOCIETY = "civil_society"
    INTERNATIONAL_ORGANIZATION = "international_organization"
    TECHNICAL_ACADEMIC = "technical_academic"


class DecisionRule(StrEnum):
    """How a draft decides that a paragraph or amendment is carried (chosen per draft)."""

    CONSENSUS = "consensus"
    UNANIMITY = "unanimity"
    MAJORITY = "majority"


class Status(StrEnum):
    """The state of opinion on one target, independent of the decision rule."""

    NO_POSITIONS = "no_positions"
    CONSENSUS = "consensus"
    BROAD_SUPPORT = "broad_support"
    DIVIDED = "divided"
    BLOCKED = "blocked"


#: Stances that go along with the text.
FAVOURABLE: frozenset[Stance] = frozenset({Stance.SUPPORT, Stance.NO_OBJECTION, Stance.RESERVATION})
#: Stances that oppose it; only a formal objection blocks consensus, but both break it.
OBJECTING: frozenset[Stance] = frozenset({Stance.OBJECTION, Stance.FORMAL_OBJECTION})

# Unanimity asks for more than joining: a reservation is a recorded disagreement.
_UNANIMOUS: frozenset[Stance] = frozenset({Stance.SUPPORT, Stance.NO_OBJECTION})


class PositionError(PlenaryError, ValueError):
    """Positions that cannot be counted: unknown stance or group, duplicates, contradicting groups."""


@dataclass(frozen=True, slots=True)
class Position:
    """One delegation's stance on one target, with the stakeholder group it declared.

    ``group`` and ``stance`` accept their string values (as stored or sent as JSON) and are coerced.
    """

    delegation: str
    group: StakeholderGroup
    stance: Stance

    def __post_init__(self) -> None:
        if not isinstance(self.delegation, str) or not self.delegation:
            raise PositionError(f"delegation must be a non-empty string, not {self.delegation!r}")
        try:
            group = StakeholderGroup(self.group)
        except ValueError as exc:
            raise PositionError(f"unknown stakeholder group {self.group!r}") from exc
        try:
            stance = Stance(self.stance)
        except ValueError as exc:
            raise PositionError(f"unknown stance {self.stance!r}") from exc
        # Frozen dataclass: coercion has to bypass the generated __setattr__.
        object.__setattr__(self, "group", group)
        object.__setattr__(self, "stance", stance)


def latest_positions(history: Iterable[Position]) -> dict[str, Position]:
    """Reduce an ordered history (oldest first) to the latest position of each delegation.

    A delegation that changed its mind counts once, with its last stance (and last declared group). The
    result is keyed by delegation, in order of each delegation's first statement.
    """
    latest: dict[str, Position] = {}
    for position in history:
        latest[position.delegation] = position
    return latest


def group_informed_consensus(counts: Mapping[StakeholderGroup, Mapping[Stance, int]]) -> float | None:
    """Pol.is's ``GIC = Π_g (A_g + 1) / (S_g + 2)`` over the groups with at least one position.

    ``A_g`` is the number of ``support`` positions in g and ``S_g`` the number of positions in g. The
    result lies in (0, 1). ``no_objection`` is not agreement: it means "can live with it", and counting it
    would let acquiescence pass for the cross-group endorsement GIC is meant to detect (Pol.is, likewise,
    counts only explicit agrees). ``None`` when no group has spoken, rather than the empty product 1.0,
    which would read as perfect agreement.
    """
    product = Fraction(1)
    spoken = False
    for by_stance in counts.values():
        stated = sum(by_stance.values())
        if stated == 0:
            continue
        spoken = True
        # Exact arithmetic, converted once, so the float does not depend on the order of the groups.
        product *= Fraction(by_stance.get(Stance.SUPPORT, 0) + 1, stated + 2)
    return float(product) if spoken else None


def _freeze_counts(
    counts: Mapping[StakeholderGroup, Counter[Stance]],
) -> Mapping[StakeholderGroup, Mapping[Stance, int]]:
    # Every group and every stance, zeros included: a fixed shape is easier for clients to render.
    return MappingProxyType(
        {
            group: MappingProxyType({stance: counts[group][stance] for stance in Stance})
            for group in StakeholderGroup
        }
    )


@dataclass(frozen=True, slots=True)
class Indicator:
    """The live consensus indicator for one paragraph or amendment.

    ``status`` describes opinion regardless of the rule:

    * ``no_positions``: nobody has spoken.
    * ``blocked``: at least one formal objection.
    * ``consensus``: at least one position and no objection of any kind (reservations do not break it).
    * ``broad_support``: no formal objection and some objection, but every stakeholder group that has spoken
      supports the text, meaning its ``support`` positions outnumber its ``objection`` positions
      (``no_objection`` and ``reservation`` are neutral here). The majority test within each group stops a
      single supporter from carrying a group that otherwise objects.
    * ``divided``: anything else (objections, no formal objection, some group not supporting).

    ``rule_satisfied`` says whether ``rule`` would consider the target carried:

    * ``consensus``: the status is ``consensus`` (the absence of objection, not a vote).
    * ``unanimity``: at least one position, every expected delegation has spoken, and every position is
      ``support`` or ``no_objection`` (a reservation or any objection defeats it).
    * ``majority``: favourable positions (support, no objection, reservation) strictly outnumber objecting
      ones (objection, formal objection) among the positions stated, i.e. a simple majority of positions
      stated; a tie is not carried, and silence counts for nothing.
    """

    rule: DecisionRule
    status: Status
    rule_satisfied: bool
    gic: float | None
    # Read-only mappings are unhashable: leave them out of the hash (equality still compares them), and out
    # of the repr, where 25 counts drown the verdict (to_json shows them).
    counts: Mapping[StakeholderGroup, Mapping[Stance, int]] = field(hash=False, repr=False)
    silent_delegations: tuple[str, ...]
    silent_groups: tuple[StakeholderGroup, ...]
    unrepresented_groups: tuple[StakeholderGroup, ...]

    @property
    def totals(self) -> Mapping[Stance, int]:
        """Positions per stance, all groups together."""
        return MappingProxyType(
            {stance: sum(by_stance[stance] for by_stance in self.counts.values()) for stance in Stance}
        )

    @property
    def positions(self) -> int:
        """Number of positions counted (one per delegation that has spoken)."""
        return sum(self.totals.values())

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-compatible data (str keys, ints, floats, bools, null, sorted lists and keys).

        Deterministic: equal indicators give equal dicts with the same key order, so publishing an unchanged
        indicator into a Yjs Map can be detected and skipped.
        """
        data: dict[str, Any] = {
            "counts": {
                str(group): {str(stance): self.counts[group][stance] for stance in sorted(Stance)}
                for group in sorted(StakeholderGroup)
            },
            "gic": self.gic,
            "positions": self.positions,
            "rule": str(self.rule),
            "rule_satisfied": self.rule_satisfied,
            "silent_delegations": sorted(self.silent_delegations),
            "silent_groups": sorted(str(group) for group in self.silent_groups),
            "status": str(self.status),
            "totals": {str(stance): count for stance, count in sorted(self.totals.items())},
            "unrepresented_groups": sorted(str(group) for group in self.unrepresented_groups),
        }
        return dict(sorted(data.items()))


def _status(
    counts: Mapping[StakeholderGroup, Counter[Stance]], totals: Counter[Stance], positions: int
) -> Status:
    if positions == 0:
        return Status.NO_POSITIONS
    if totals[Stance.FORMAL_OBJECTION]:
        return Status.BLOCKED
    if not totals[Stance.OBJECTION]:
        return Status.CONSENSUS
    every_group_supports = all(
        by_stance[Stance.SUPPORT] > by_stance[Stance.OBJECTION]
        for by_stance in counts.values()
        if by_stance.total()
    )
    return Status.BROAD_SUPPORT if every_group_supports else Status.DIVIDED


def _rule_satisfied(
    rule: DecisionRule,
    status: Status,
    totals: Counter[Stance],
    positions: int,
    silent_delegations: tuple[str, ...],
) -> bool:
    if rule is DecisionRule.CONSENSUS:
        return status is Status.CONSENSUS
    if rule is DecisionRule.UNANIMITY:
        unanimous = sum(totals[stance] for stance in _UNANIMOUS)
        return positions > 0 and not silent_delegations and unanimous == positions
    favourable = sum(totals[stance] for stance in FAVOURABLE)
    objecting = sum(totals[stance] for stance in OBJECTING)
    return favourable > objecting


def compute_indicator(
    positions: Iterable[Position],
    expected: Mapping[str, StakeholderGroup | str],
    rule: DecisionRule | str = DecisionRule.CONSENSUS,
) -> Indicator:
    """The indicator for one target, which informs the chair's judgement and does not replace it.

    ``positions`` holds the latest position of each delegation that has spoken (see
    :func:`latest_positions`); ``expected`` maps every delegation known for the draft to its stakeholder
    group, so that silent delegations and groups can be listed. See :class:`Indicator` for the status and
    the rules.

    Conventions:

    * A group is *silent* when at least one of its delegations is known for the draft and none has stated
      a position. A group with no delegation in the draft is not silent (nobody could speak for it); it is
      reported in ``unrepresented_groups``, so that "support from every group" is never read as including
      constituencies that are not at the table.
    * A position from a delegation missing from ``expected`` is counted (it has spoken) and its group is
      represented. A position whose group contradicts ``expected`` raises :class:`PositionError`, as does a
      delegation appearing twice in ``positions``; an unknown rule raises ``ValueError``.
    * GIC counts only ``support`` as agreement: see :func:`group_informed_consensus`.
    """
    rule = DecisionRule(rule)
    roster: dict[str, StakeholderGroup] = {}
    for delegation, group in expected.items():
        try:
            roster[delegation] = StakeholderGroup(group)
        except ValueError as exc:
            raise PositionError(f"unknown stakeholder group {group!r} for {delegation!r}") from exc

    counts: dict[StakeholderGroup, Counter[Stance]] = {group: Counter() for group in StakeholderGroup}
    spoken: set[str] = set()
    for position in positions:
        if position.delegation in spoken:
            # Picking one silently would make the indicator depend on iteration order.
            raise PositionError(f"{position.delegation!r} has more than one position; reduce them first")
        known = roster.get(position.delegation)
        if known is not None and known is not position.group:
            raise PositionError(
                f"{position.delegation!r} states a position as {position.group} but is registered as {known}"
            )
        spoken.add(position.delegation)
        counts[position.group][position.stance] += 1

    totals: Counter[Stance] = Counter()
    for by_stance in counts.values():
        totals.update(by_stance)
    stated = totals.total()

    represented = set(roster.values()) | {group for group, by_stance in counts.items() if by_stance.total()}
    silent_delegations = tuple(sorted(delegation for delegation in roster if delegation not in spoken))
    silent_groups = tuple(sorted(group for group in represented if not counts[group].total()))
    unrepresented_groups = tuple(sorted(group for group in StakeholderGroup if group not in represented))

    status = _status(counts, totals, stated)
    return Indicator(
        rule=rule,
        status=status,
        rule_satisfied=_rule_satisfied(rule, status, totals, stated, silent_delegations),
        gic=group_informed_consensus(counts),
        counts=_freeze_counts(counts),
        silent_delegations=silent_delegations,
        silent_groups=silent_groups,
        unrepresented_groups=unrepresented_groups,
    )
