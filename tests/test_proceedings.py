"""The rules of meetings and Friends of the Chair as pure functions (crdt/procedure/meetings.py,
friends.py): a meeting's life, one meeting in session at a time, the group's members from the roll,
and who may act on a group's working draft."""

from __future__ import annotations

from typing import Any

import pytest

from crdt.procedure.commands import Actor, CommandRefused
from crdt.procedure.deliberation import Deliberation

CHAIR = Actor("chair", "Chair", "Bureau", "international_organization", "chair")
SWISS = Actor("ch", "Delegate of Switzerland", "Switzerland", "government", "delegate")
ITU = Actor("itu", "Delegate of ITU", "ITU", "international_organization", "delegate")


class Clock:
    def __init__(self, state: Deliberation) -> None:
        self.state, self.now = state, 1_000_000_000

    def __call__(self, actor: Actor, what: str, /, **command: Any) -> dict[str, Any]:
        self.now += 1_000_000
        return self.state.apply({"type": what, **command}, actor, self.now, f"t{self.now}")


def convene(run: Clock, meeting: str) -> None:
    run(
        CHAIR,
        "meeting.create",
        id=meeting,
        title=meeting,
        kind="formal",
        starts="2005-05-02T10:00:00Z",
        starts_us=1,
        agenda=[{"title": "Item"}],
    )


@pytest.mark.parametrize(
    ("moves", "refused"),
    [
        (["open", "suspend", "resume", "close"], None),
        (["open", "close"], None),
        (["open", "suspend", "close"], None),
        (["suspend"], "scheduled"),
        (["open", "resume"], "open"),
        (["open", "close", "open"], "closed"),
        (["close"], "scheduled"),
    ],
)
def test_a_meeting_s_life(moves: list[str], refused: str | None) -> None:
    run = Clock(Deliberation())
    convene(run, "mt-1")
    *ok, last = moves
    for move in ok:
        run(CHAIR, f"meeting.{move}", meeting="mt-1")
    if refused is None:
        run(CHAIR, f"meeting.{last}", meeting="mt-1")
    else:
        with pytest.raises(CommandRefused, match=f"the meeting is {refused}"):
            run(CHAIR, f"meeting.{last}", meeting="mt-1")


def test_one_meeting_in_session_at_a_time() -> None:
    run = Clock(Deliberation())
    convene(run, "mt-1")
    convene(run, "mt-2")
    run(CHAIR, "meeting.open", meeting="mt-1")
    run(CHAIR, "meeting.suspend", meeting="mt-1")
    with pytest.raises(CommandRefused, match="in session"):
        run(CHAIR, "meeting.open", meeting="mt-2")
    run(CHAIR, "meeting.close", meeting="mt-1")
    run(CHAIR, "meeting.open", meeting="mt-2")


class _Roll:
    """The part of the roll (issue #15) the group's mandate reads: its delegations."""

    profile = "intergovernmental"

    def __init__(self, *names: str) -> None:
        self.delegations = {name: object() for name in names}
        self.people = {"x": object()}

    def is_empty(self) -> bool:
        return False

    def delegation_of(self, participant: str) -> None:
        return None


def test_a_group_s_members_come_from_the_roll() -> None:
    state = Deliberation()
    state.roll = _Roll("Switzerland", "Brazil")  # type: ignore[attr-defined]
    run = Clock(state)
    mandate = {"draft": "d-foc-1", "paragraphs": ["p1"], "deadline": "later", "deadline_us": 1 << 60}
    with pytest.raises(CommandRefused, match="not on the roll: Atlantis"):
        run(CHAIR, "friends.establish", id="foc-1", members=["Switzerland", "Atlantis"], **mandate)
    run(CHAIR, "friends.establish", id="foc-1", members=["Switzerland", "Brazil"], **mandate)


def test_only_members_work_on_a_group_s_draft_until_it_reports() -> None:
    run = Clock(Deliberation())
    run(
        CHAIR,
        "friends.mandate",
        parent="d",
        group="foc-1",
        paragraphs=["p1"],
        members=["Switzerland"],
        deadline="later",
        deadline_us=1 << 60,
    )
    position = {"target": "p1", "stance": "support"}
    with pytest.raises(CommandRefused, match="only the members") as refused:
        run(ITU, "position.state", **position)
    assert refused.value.status == 403
    run(SWISS, "position.state", **position)
    run(CHAIR, "paragraph.status", paragraph="p1", status="bracketed")  # the chair keeps the chair's role
    with pytest.raises(CommandRefused, match="establish"):
        run(
            CHAIR,
            "friends.establish",
            id="foc-2",
            draft="x",
            paragraphs=["p1"],
            members=["Switzerland"],
            deadline="later",
            deadline_us=1 << 60,
        )
    run(CHAIR, "friends.reported", parent="d", set="foc-1", amendments=["am-1"])
    assert run.state.locked
    with pytest.raises(CommandRefused, match="reported") as late:
        run(SWISS, "position.state", **position)
    assert late.value.status == 409
