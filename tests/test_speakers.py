"""The speaking list's order rule on its own (crdt/procedure/speakers.py), and the list as the chair and
the delegations drive it through the deliberation's commands, with hypothesis.

Example budget: the order property runs 200 examples; the stateful machine 60 runs of up to 40
steps. Together about 3 s here.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from crdt.procedure.commands import Actor, CommandRefused
from crdt.procedure.deliberation import Deliberation, snapshot
from crdt.procedure.speakers import FloorMode, Purpose, Request, rank, speaking_order

GROUPS = ("government", "civil_society", "private_sector", "international_organization")
KINDS = (
    None,
    "member_state",
    "observer_state",
    "intergovernmental_organisation",
    "un_system",
    "accredited_organisation",
)


@st.composite
def waiting_lists(draw: Any) -> list[Request]:
    count = draw(st.integers(0, 14))
    numbers = draw(st.lists(st.integers(1, 1000), min_size=count, max_size=count, unique=True))
    return [
        Request(
            id=f"fl-{n}",
            delegation=f"d{draw(st.integers(0, 9))}",
            group=draw(st.sampled_from(GROUPS)),
            kind=draw(st.sampled_from(KINDS)),
            purpose=draw(st.sampled_from(list(Purpose))),
            number=n,
        )
        for n in numbers
    ]


def _pinned(draw: Any, waiting: list[Request]) -> list[str]:
    ids = [r.id for r in waiting] + ["fl-gone"]
    return draw(st.lists(st.sampled_from(ids), unique=True, max_size=5)) if waiting else []


@settings(max_examples=200, deadline=None)
@given(data=st.data(), waiting=waiting_lists())
def test_the_order_rule(data: Any, waiting: list[Request]) -> None:
    profile = data.draw(st.sampled_from(["intergovernmental", "multistakeholder"]))
    mode = data.draw(st.sampled_from(list(FloorMode)))
    pinned = _pinned(data.draw, waiting)
    spoken = data.draw(st.lists(st.sampled_from(GROUPS), max_size=4))
    order = speaking_order(waiting, profile=profile, mode=mode, pinned=pinned, spoken_groups=spoken)
    by_id = {r.id: r for r in waiting}
    # Everyone waiting, once.
    assert sorted(order) == sorted(by_id)
    # Points of order first, in the order raised.
    points = sorted((r for r in waiting if r.purpose == Purpose.POINT_OF_ORDER), key=lambda r: r.number)
    assert order[: len(points)] == [r.id for r in points]
    # Then the chair's order wins over every rule (a point of order cannot be placed).
    placed = [i for i in pinned if i in by_id and by_id[i].purpose != Purpose.POINT_OF_ORDER]
    assert order[len(points) : len(points) + len(placed)] == placed
    rest = [by_id[i] for i in order[len(points) + len(placed) :]]
    # Then rights of reply, in the order asked, before requests to speak.
    replies = [r for r in rest if r.purpose == Purpose.RIGHT_OF_REPLY]
    assert rest[: len(replies)] == sorted(replies, key=lambda r: r.number)
    speakers = rest[len(replies) :]
    assert all(r.purpose == Purpose.SPEAK for r in speakers)
    if mode == FloorMode.PRECEDENCE and profile == "intergovernmental":
        keys = [(rank(r.kind, group=r.group), r.number) for r in speakers]
        assert keys == sorted(keys)
    elif mode == FloorMode.ALTERNATE:
        for before, after in itertools.pairwise(speakers):
            if before.group == after.group:  # only when nobody else is left
                assert {r.group for r in speakers[speakers.index(after) :]} == {before.group}
        history = [*spoken, *(by_id[i].group for i in placed), *(r.group for r in replies)]
        unheard = {r.group for r in speakers} - set(history)
        if speakers and unheard:
            assert speakers[0].group in unheard
    else:
        assert [r.number for r in speakers] == sorted(r.number for r in speakers)


def test_member_states_before_observers_and_unknown_kinds() -> None:
    def ask(n: int, kind: str | None, group: str = "government") -> Request:
        return Request(f"fl-{n}", f"d{n}", group, kind, Purpose.SPEAK, n)

    waiting = [
        ask(1, "accredited_organisation"),
        ask(2, "observer_state"),
        ask(3, None),
        ask(4, "member_state"),
        ask(5, None, "civil_society"),
    ]
    intergovernmental = {"profile": "intergovernmental", "mode": "precedence"}
    # Without a kind (no roll, or a roll that gives none) a government is a State; anyone else speaks last.
    assert speaking_order(waiting, **intergovernmental) == ["fl-3", "fl-4", "fl-2", "fl-1", "fl-5"]
    # No kinds at all: States first, by the declared group.
    unknown = [ask(1, None, "civil_society"), ask(2, None, "private_sector"), ask(3, None), ask(4, None)]
    assert speaking_order(unknown, **intergovernmental) == ["fl-3", "fl-4", "fl-1", "fl-2"]
    waiting = waiting[:4]
    # The chair decides otherwise: first come, first served; or places one delegation first.
    assert speaking_order(waiting, profile="intergovernmental", mode="request_order") == [
        "fl-1",
        "fl-2",
        "fl-3",
        "fl-4",
    ]
    assert speaking_order(waiting, **intergovernmental, pinned=["fl-1"])[0] == "fl-1"
    # Multistakeholder meetings ignore the kinds: equal footing.
    assert speaking_order(waiting, profile="multistakeholder", mode="precedence") == [
        "fl-1",
        "fl-2",
        "fl-3",
        "fl-4",
    ]


def test_alternating_groups() -> None:
    groups = ["civil_society", "civil_society", "government", "private_sector", "government"]
    waiting = [Request(f"fl-{n}", f"d{n}", g, None, Purpose.SPEAK, n) for n, g in enumerate(groups, start=1)]
    order = speaking_order(waiting, profile="multistakeholder", mode="alternate")
    assert order == ["fl-1", "fl-3", "fl-4", "fl-2", "fl-5"]
    # Civil society spoke last on this item: the others go first.
    after = speaking_order(
        waiting, profile="multistakeholder", mode="alternate", spoken_groups=["civil_society"]
    )
    assert after[:2] == ["fl-3", "fl-4"]


# The list driven through commands.

CHAIR = Actor("chair", "Chair", "Bureau", "international_organization", "chair")
DELEGATIONS = [
    Actor(f"p{i}", f"Delegate {i}", name, group, "delegate")
    for i, (name, group) in enumerate(
        [
            ("Switzerland", "government"),
            ("Brazil", "government"),
            ("CCBI", "private_sector"),
            ("Civil Society Caucus", "civil_society"),
            ("ITU", "international_organization"),
        ]
    )
] + [Actor("obs", "Observer", "Academic Network", "technical_academic", "observer")]


class Table:
    def __init__(self, kind: str = "informal", profile: str = "intergovernmental") -> None:
        self.state = Deliberation()
        self.clock = 1_000_000_000
        self.statements = 0
        self.entries = 0
        # The UN's practice unless a test says otherwise (a draft's default is multistakeholder).
        self(CHAIR, "profile.set", profile=profile)
        self(
            CHAIR,
            "meeting.create",
            id="mt-1",
            title="Informal consultation",
            kind=kind,
            starts="2005-05-02T10:00:00+02:00",
            starts_us=1,
            agenda=[{"title": "Adoption of the agenda"}, {"title": "Implementation"}],
        )
        self(CHAIR, "meeting.open", meeting="mt-1")
        self(CHAIR, "agenda.adopt", meeting="mt-1")
        self(CHAIR, "agenda.take_up", meeting="mt-1", item="2")

    def __call__(self, actor: Actor, what: str, /, **command: Any) -> dict[str, Any]:
        self.clock += 1_000_000
        if what == "floor.request":
            self.entries += 1
            command["id"] = f"fl-{self.entries}"
        if what == "floor.give":
            self.statements += 1
            command["statement"] = f"st-{self.statements}"
        return self.state.apply({"type": what, **command}, actor, self.clock, f"t{self.clock}")

    @property
    def floor(self) -> dict[str, Any]:
        meeting = self.state.proceedings.meetings["mt-1"]
        return self.state.proceedings.floors[f"mt-1/{meeting['current_item']}"]

    def published(self) -> dict[str, Any]:
        return snapshot(self.state, [])


def test_one_request_per_delegation_per_item_and_rights_of_reply() -> None:
    table = Table()
    swiss = DELEGATIONS[0]
    table(swiss, "floor.request", meeting="mt-1")
    with pytest.raises(CommandRefused, match="already on the list"):
        table(swiss, "floor.request", meeting="mt-1")
    table(CHAIR, "floor.give", meeting="mt-1")
    table(CHAIR, "floor.end", meeting="mt-1")
    with pytest.raises(CommandRefused, match="already on the list"):  # spoke: not twice on one item
        table(swiss, "floor.request", meeting="mt-1")
    for _ in range(2):
        table(swiss, "floor.request", meeting="mt-1", purpose="right_of_reply")
        table(CHAIR, "floor.give", meeting="mt-1")
    with pytest.raises(CommandRefused, match="at most 2 rights of reply"):
        table(swiss, "floor.request", meeting="mt-1", purpose="right_of_reply")
    # Observers are not States: no point of order in an intergovernmental process.
    with pytest.raises(CommandRefused, match="only States") as refused:
        table(DELEGATIONS[-1], "floor.request", meeting="mt-1", purpose="point_of_order")
    assert refused.value.status == 403
    # A closed list takes no new request to speak, but a point of order still.
    table(CHAIR, "floor.close", meeting="mt-1")
    with pytest.raises(CommandRefused, match="closed"):
        table(DELEGATIONS[1], "floor.request", meeting="mt-1")
    table(DELEGATIONS[1], "floor.request", meeting="mt-1", purpose="point_of_order")
    # A new item has a fresh list; the ended turn's statement has its end.
    table(CHAIR, "agenda.take_up", meeting="mt-1", item="1")
    table(swiss, "floor.request", meeting="mt-1")
    assert table.published()["statements"]["st-1"]["ended"] is not None


def test_a_refused_request_leaves_no_speaking_list() -> None:
    """Found by the state machine: a refused first request used to create the item's (empty) list."""
    table = Table()
    with pytest.raises(CommandRefused):
        table(DELEGATIONS[-1], "floor.request", meeting="mt-1", purpose="point_of_order")
    assert table.state.proceedings.floors == {} and table.published()["speakers"] == {}


def test_time_limit_gives_the_turn_a_deadline_in_server_time() -> None:
    table = Table()
    table(CHAIR, "floor.limit", meeting="mt-1", seconds=180)
    table(DELEGATIONS[3], "floor.request", meeting="mt-1")
    current = table(CHAIR, "floor.give", meeting="mt-1")
    assert current["deadline_us"] == current["started_us"] + 180_000_000
    with pytest.raises(CommandRefused):
        table(CHAIR, "floor.limit", meeting="mt-1", seconds=True)


def test_informal_meetings_publish_views_without_attribution() -> None:
    for kind in ("informal", "formal"):
        table = Table(kind)
        table(DELEGATIONS[3], "floor.request", meeting="mt-1")
        table(CHAIR, "floor.give", meeting="mt-1")
        table(CHAIR, "statement.summarise", statement="st-1", summary="urged that a dialogue be established")
        table(DELEGATIONS[3], "statement.hand_in", statement="st-1", text="Our statement")
        table(CHAIR, "floor.end", meeting="mt-1")
        published = table.published()
        statement = published["statements"]["st-1"]
        text = repr(published["statements"]) + repr(published["speakers"])
        if kind == "informal":
            assert "Civil Society Caucus" not in text and "Our statement" not in text and "p3" not in text
            assert statement["group"] == "civil_society" and statement["handed_in"] is True
        else:
            assert statement["delegation"] == "Civil Society Caucus" and statement["text"] == "Our statement"
        # The fold (the log) still knows who spoke.
        assert table.state.proceedings.statements["st-1"]["delegation"] == "Civil Society Caucus"


class SpeakingListMachine(RuleBasedStateMachine):
    """A chair and six delegations drive one meeting's speaking list at random."""

    @initialize(profile=st.sampled_from(["intergovernmental", "multistakeholder"]))
    def start(self, profile: str) -> None:
        self.table = Table(profile=profile)
        self.profile = profile
        self.given_next: str | None = None

    def attempt(self, actor: Actor, what: str, /, **command: Any) -> dict[str, Any] | None:
        before = copy.deepcopy(self.table.state)
        try:
            return self.table(actor, what, **command)
        except CommandRefused:
            # A refused command leaves no trace.
            assert snapshot(self.table.state, []) == snapshot(before, [])
            self.table.state = before
            return None

    @rule(who=st.sampled_from(DELEGATIONS), purpose=st.sampled_from(list(Purpose)))
    def request(self, who: Actor, purpose: Purpose) -> None:
        self.attempt(who, "floor.request", meeting="mt-1", purpose=purpose.value)

    @rule(data=st.data())
    def withdraw(self, data: Any) -> None:
        entries = sorted(self.table.floor["entries"]) if self.has_floor() else []
        if entries:
            entry = self.table.floor["entries"][data.draw(st.sampled_from(entries))]
            who = next(a for a in DELEGATIONS if a.delegation == entry["delegation"])
            self.attempt(who, "floor.withdraw", meeting="mt-1", entry=entry["id"])

    @rule()
    def give_next(self) -> None:
        expected = self.table.floor["order"][0] if self.has_floor() and self.table.floor["order"] else None
        current = self.attempt(CHAIR, "floor.give", meeting="mt-1")
        if current is not None:
            assert current["entry"] == expected

    @rule(data=st.data())
    def give_to(self, data: Any) -> None:
        if self.has_floor() and self.table.floor["order"]:
            entry = data.draw(st.sampled_from(self.table.floor["order"]))
            self.attempt(CHAIR, "floor.give", meeting="mt-1", entry=entry)

    @rule()
    def end(self) -> None:
        self.attempt(CHAIR, "floor.end", meeting="mt-1")

    @rule(data=st.data())
    def reorder(self, data: Any) -> None:
        if not self.has_floor():
            return
        order = data.draw(st.permutations(self.table.floor["order"]))
        chosen = order[: data.draw(st.integers(0, len(order)))]
        if self.attempt(CHAIR, "floor.reorder", meeting="mt-1", order=chosen) is not None:
            assert self.table.floor["order"][: len(self.points())] == self.points()

    @rule(kind=st.sampled_from(["floor.close", "floor.reopen"]))
    def open_close(self, kind: str) -> None:
        self.attempt(CHAIR, kind, meeting="mt-1")

    @rule(mode=st.sampled_from(list(FloorMode)))
    def mode(self, mode: FloorMode) -> None:
        self.attempt(CHAIR, "floor.mode", meeting="mt-1", mode=mode.value)

    @precondition(lambda self: hasattr(self, "table"))
    @rule(item=st.sampled_from(["1", "2"]))
    def take_up(self, item: str) -> None:
        self.attempt(CHAIR, "agenda.take_up", meeting="mt-1", item=item)

    def has_floor(self) -> bool:
        meeting = self.table.state.proceedings.meetings["mt-1"]
        return f"mt-1/{meeting['current_item']}" in self.table.state.proceedings.floors

    def points(self) -> list[str]:
        entries = self.table.floor["entries"]
        waiting = [
            e for e in entries.values() if e["state"] == "waiting" and e["purpose"] == "point_of_order"
        ]
        return [e["id"] for e in sorted(waiting, key=lambda e: e["number"])]

    @invariant()
    def rules_hold(self) -> None:
        if not hasattr(self, "table"):
            return
        for floor in self.table.state.proceedings.floors.values():
            entries = floor["entries"]
            # No delegation twice on one item.
            speakers = [
                e["delegation"]
                for e in entries.values()
                if e["purpose"] == "speak" and e["state"] != "withdrawn"
            ]
            assert len(speakers) == len(set(speakers))
            # The published order is everyone waiting, points of order first.
            waiting = {i for i, e in entries.items() if e["state"] == "waiting"}
            assert set(floor["order"]) == waiting and len(floor["order"]) == len(waiting)
            points = [i for i in floor["order"] if entries[i]["purpose"] == "point_of_order"]
            assert floor["order"][: len(points)] == points
            # The chair's order wins: the placed entries still waiting, in the chair's order, next.
            pinned = [i for i in floor["pinned"] if i in waiting]
            assert floor["order"][len(points) : len(points) + len(pinned)] == pinned
            # One speaker at a time.
            speaking = [e for e in entries.values() if e["state"] == "speaking"]
            assert len(speaking) == (1 if floor["current"] else 0)


SpeakingListMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_speaking_list_machine = SpeakingListMachine.TestCase


def test_without_kinds_the_stakeholder_group_tells_a_state() -> None:
    """No roll gives a kind: a government is a State (speaks first, may raise a point of order); an
    organisation is not, whatever its seat."""
    table = Table()
    itu, swiss = DELEGATIONS[4], DELEGATIONS[0]
    table(itu, "floor.request", meeting="mt-1")
    table(swiss, "floor.request", meeting="mt-1")
    assert table.floor["order"] == ["fl-2", "fl-1"]
    with pytest.raises(CommandRefused, match="only States"):
        table(itu, "floor.request", meeting="mt-1", purpose="point_of_order")
    table(swiss, "floor.request", meeting="mt-1", purpose="point_of_order")
    with pytest.raises(CommandRefused, match="in an intergovernmental process"):
        table(CHAIR, "floor.mode", meeting="mt-1", mode="alternate")
