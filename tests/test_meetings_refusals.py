"""A refused command leaves no trace: whatever sequence of meeting, floor, statement, document, Friends of
the Chair, summary and translation commands is tried, by whoever, every command that is refused leaves the
deliberation state exactly as it was (the server logs nothing for it, so the state must not hold it either).

Plus the regressions the property first found, one test each.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crdt.procedure.commands import Actor, CommandRefused
from crdt.procedure.deliberation import Deliberation
from crdt.procedure.summaries import digest

CHAIR = Actor("c", "Chair", "", "", "chair")
SECRETARIAT = Actor("s", "Secretary", "Secretariat", "international_organization", "secretariat")
SWITZERLAND = Actor("ch", "Swiss delegate", "Switzerland", "government", "delegate")
ISOC = Actor("isoc", "ISOC delegate", "ISOC", "technical_community", "delegate")
OBSERVER = Actor("o", "Observer", "Observer", "civil_society", "observer")
TRANSLATOR = Actor("t", "Translator", "Secretariat", "international_organization", "translator")
ACTORS = (CHAIR, SECRETARIAT, SWITZERLAND, ISOC, OBSERVER, TRANSLATOR)

NOW_US = 1_000_000_000
FUTURE_US = NOW_US + 86_400_000_000

MEETINGS = st.sampled_from(["mt-1", "mt-2", "mt-9"])
PARAGRAPHS = st.lists(st.sampled_from(["p1", "p2", "p3"]), max_size=3)  # duplicates on purpose
ITEM = st.fixed_dictionaries(
    {"title": st.sampled_from(["Opening", "Draft", ""])},
    optional={
        "paragraphs": PARAGRAPHS,
        "documents": st.lists(st.sampled_from(["doc-1", "doc-9"]), max_size=2),
        "amendments": st.lists(st.sampled_from(["am-1", "am-9"]), max_size=2),
    },
)
ITEMS = st.one_of(st.none(), st.lists(ITEM, max_size=3), st.just("not a list"), st.just([1]))
TEXT = st.sampled_from(["", "Some text.", "Other text."])


def _summary_text() -> st.SearchStrategy[dict[str, Any]]:
    return st.sampled_from(["", "Summary one.", "Summary two."]).flatmap(
        lambda text: st.fixed_dictionaries(
            {
                "type": st.just("summary.publish"),
                "meeting": MEETINGS,
                "text": st.just(text),
                "sha256": st.sampled_from([digest(text), "0" * 64]),
            },
            optional={"room": st.just("d/summary/mt-1"), "room_seq": st.just(3), "room_hash": st.just("h")},
        )
    )


def _commands() -> st.SearchStrategy[dict[str, Any]]:
    c = st.fixed_dictionaries
    return st.one_of(
        c(
            {
                "type": st.just("meeting.create"),
                "id": MEETINGS,
                "kind": st.sampled_from(["formal", "informal", "secret"]),
                "title": st.sampled_from(["First meeting", ""]),
                "starts": st.just("2026-01-01T10:00:00Z"),
                "starts_us": st.just(NOW_US),
            },
            optional={"items": ITEMS},
        ),
        c(
            {
                "type": st.sampled_from(
                    ["meeting.open", "meeting.suspend", "meeting.resume", "meeting.close"]
                ),
                "meeting": MEETINGS,
            }
        ),
        c(
            {"type": st.sampled_from(["agenda.set", "agenda.adopt"]), "meeting": MEETINGS},
            optional={"items": ITEMS},
        ),
        c({"type": st.just("agenda.take_up"), "meeting": MEETINGS, "item": st.sampled_from(["1", "2", "9"])}),
        c({"type": st.just("meeting.decision"), "meeting": MEETINGS, "id": st.just("dc-1"), "text": TEXT}),
        c(
            {"type": st.just("floor.request"), "meeting": MEETINGS, "id": st.sampled_from(["fl-1", "fl-2"])},
            optional={"purpose": st.sampled_from(["speak", "point_of_order", "right_of_reply", "sing"])},
        ),
        c(
            {"type": st.sampled_from(["floor.withdraw", "floor.remove"]), "meeting": MEETINGS},
            optional={"entry": st.sampled_from(["fl-1", "fl-2"])},
        ),
        c(
            {"type": st.just("floor.give"), "meeting": MEETINGS},
            optional={
                "entry": st.sampled_from(["fl-1", "fl-2"]),
                "statement": st.sampled_from(["st-1", "st-2"]),
            },
        ),
        c({"type": st.sampled_from(["floor.end", "floor.close", "floor.reopen"]), "meeting": MEETINGS}),
        c(
            {
                "type": st.just("floor.reorder"),
                "meeting": MEETINGS,
                "order": st.lists(st.sampled_from(["fl-1", "fl-2"])),
            }
        ),
        c({"type": st.just("floor.limit"), "meeting": MEETINGS, "seconds": st.sampled_from([None, 1, 120])}),
        c(
            {
                "type": st.just("floor.mode"),
                "meeting": MEETINGS,
                "mode": st.sampled_from(["precedence", "fifo", "x"]),
            }
        ),
        c(
            {"type": st.just("statement.summarise"), "statement": st.sampled_from(["st-1", "st-2"])},
            optional={
                "summary": TEXT,
                "stance": st.sampled_from([None, "support", "maybe"]),
                "paragraphs": PARAGRAPHS,
                "documents": st.lists(st.sampled_from(["doc-1", "doc-9"]), max_size=2),
            },
        ),
        c(
            {
                "type": st.just("statement.hand_in"),
                "statement": st.sampled_from(["st-1", "st-2"]),
                "text": TEXT,
            }
        ),
        c(
            {
                "type": st.just("document.submit"),
                "id": st.sampled_from(["doc-1", "doc-2"]),
                "kind": st.sampled_from(["proposal", "contribution", "non_paper", "background", "nonsense"]),
                "title": st.sampled_from(["A proposal", ""]),
                "date": st.sampled_from(["2026-01-01", "yesterday"]),
            },
            optional={
                "text": TEXT,
                "symbol": st.sampled_from(["WSIS/PC-3/CRP/1", "bad symbol", ""]),
                "meeting": MEETINGS,
                "item": st.sampled_from(["1", "9"]),
            },
        ),
        c(
            {
                "type": st.just("document.introduce"),
                "document": st.sampled_from(["doc-1", "doc-9"]),
                "meeting": MEETINGS,
            },
            optional={"by": st.sampled_from(["Switzerland", "ISOC", ""])},
        ),
        c(
            {
                "type": st.just("friends.establish"),
                "id": st.sampled_from(["foc-1", "foc-2"]),
                "draft": st.just("d-foc-1"),
                "paragraphs": PARAGRAPHS,
                "members": st.lists(st.sampled_from(["Switzerland", "ISOC"]), max_size=2),
                "deadline": st.just("2026-01-02T10:00:00Z"),
                "deadline_us": st.sampled_from([FUTURE_US, NOW_US - 1]),
            },
            optional={"meeting": MEETINGS},
        ),
        c(
            {
                "type": st.just("friends.report"),
                "id": st.sampled_from(["foc-1", "foc-2"]),
                "amendments": st.lists(
                    c(
                        {
                            "id": st.sampled_from(["am-1", "am-2"]),
                            "paragraph": st.sampled_from(["p1", "p2", "p9"]),
                            "text": st.one_of(TEXT, st.just(7)),
                        }
                    ),
                    max_size=3,
                ),
            }
        ),
        c(
            {
                "type": st.just("friends.mandate"),
                "parent": st.sampled_from(["d", ""]),
                "group": st.just("foc-1"),
                "paragraphs": PARAGRAPHS,
                "members": st.lists(st.sampled_from(["Switzerland", "ISOC"]), max_size=2),
                "deadline": st.just("2026-01-02T10:00:00Z"),
                "deadline_us": st.sampled_from([FUTURE_US, NOW_US - 1]),
            }
        ),
        c(
            {
                "type": st.just("friends.reported"),
                "set": st.sampled_from(["foc-1", ""]),
                "amendments": PARAGRAPHS,
            }
        ),
        _summary_text(),
        c(
            {
                "type": st.just("languages.set"),
                "original": st.sampled_from(["en", "fr", "english"]),
                "translations": st.lists(st.sampled_from(["fr", "ar", "en", "xx1"]), max_size=3),
            }
        ),
        c(
            {
                "type": st.just("translation.confirm"),
                "paragraph": st.sampled_from(["p1", ""]),
                "language": st.sampled_from(["fr", "zh"]),
            }
        ),
        c(
            {
                "type": st.just("amendment.translate"),
                "id": st.sampled_from(["am-1", "am-9"]),
                "language": st.sampled_from(["fr", "zh"]),
                "text": st.one_of(TEXT, st.just(3)),
            }
        ),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(ACTORS), _commands()), max_size=30))
def test_a_refused_command_leaves_the_state_unchanged(steps: list[tuple[Actor, dict[str, Any]]]) -> None:
    """Property (200 examples of up to 30 commands by anyone, each from an empty draft and from one in session)."""
    for state in (Deliberation(), copy.deepcopy(_IN_SESSION)):
        _try(state, steps)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ACTORS), _commands())
def test_a_refused_command_in_session_leaves_the_state_unchanged(
    actor: Actor, command: dict[str, Any]
) -> None:
    """Property (300 examples): any one command, by anyone, on a draft in session (someone speaking, one
    waiting, a document, an amendment, a group at work)."""
    _try(copy.deepcopy(_IN_SESSION), [(actor, command)])


def _try(state: Deliberation, steps: list[tuple[Actor, dict[str, Any]]]) -> None:
    for n, (actor, command) in enumerate(steps):
        before = copy.deepcopy(state)
        try:
            state.apply(command, actor, NOW_US + n, "2026-01-01T10:00:00Z")
        except CommandRefused as refused:
            assert state == before, f"{command['type']} refused ({refused.detail}) but changed the state"


def _in_session() -> Deliberation:
    """A draft whose formal meeting is open on item 1, Switzerland speaking (st-1), ISOC waiting (fl-2), with
    a document, a proposed amendment, a Group of Friends at work and French translations."""
    state = _session()
    for actor, command in [
        (CHAIR, {"type": "languages.set", "original": "en", "translations": ["fr"]}),
        (CHAIR, {"type": "agenda.adopt", "meeting": "mt-1"}),
        (CHAIR, {"type": "agenda.take_up", "meeting": "mt-1", "item": "1"}),
        (SWITZERLAND, {"type": "floor.request", "meeting": "mt-1", "id": "fl-1"}),
        (ISOC, {"type": "floor.request", "meeting": "mt-1", "id": "fl-2"}),
        (CHAIR, {"type": "floor.give", "meeting": "mt-1", "statement": "st-1"}),
        (
            SWITZERLAND,
            {
                "type": "document.submit",
                "id": "doc-1",
                "kind": "proposal",
                "title": "P",
                "date": "2026-01-01",
                "text": "Text.",
                "symbol": "WSIS/PC-3/CRP/1",
            },
        ),
        (
            SWITZERLAND,
            {
                "type": "amendment.propose",
                "id": "am-1",
                "paragraph": "p1",
                "kind": "insertion",
                "start": 0,
                "end": 0,
                "original": "",
                "text": "New ",
            },
        ),
        (
            CHAIR,
            {
                "type": "friends.establish",
                "id": "foc-1",
                "draft": "d-foc-1",
                "paragraphs": ["p1", "p2"],
                "members": ["Switzerland", "ISOC"],
                "deadline": "tomorrow",
                "deadline_us": FUTURE_US,
            },
        ),
    ]:
        state.apply(command, actor, NOW_US, "2026-01-01T10:00:00Z")
    return state


# Regressions, each found by a reviewer or the property above.


def _session(kind: str = "formal") -> Deliberation:
    state = Deliberation()
    items = [{"title": "Draft", "paragraphs": ["p1"]}]
    state.apply(
        {
            "type": "meeting.create",
            "id": "mt-1",
            "kind": kind,
            "title": "M",
            "starts": "t",
            "starts_us": 1,
            "items": items,
        },
        CHAIR,
        NOW_US,
        "t",
    )
    state.apply({"type": "meeting.open", "meeting": "mt-1"}, CHAIR, NOW_US, "t")
    return state


_IN_SESSION = _in_session()


def test_a_refused_friends_report_leaves_no_amendment_to_adopt() -> None:
    state = Deliberation()
    establish = {
        "type": "friends.establish",
        "id": "foc-1",
        "draft": "d-foc-1",
        "paragraphs": ["p1"],
        "members": ["Switzerland"],
        "deadline": "tomorrow",
        "deadline_us": FUTURE_US,
    }
    state.apply(establish, CHAIR, NOW_US, "2026-01-01T10:00:00Z")
    report = {
        "type": "friends.report",
        "id": "foc-1",
        "amendments": [{"id": "am-1", "paragraph": "p1", "text": "New."}, {"id": "am-2", "paragraph": "p9"}],
    }
    with pytest.raises(CommandRefused, match="mandated paragraphs only"):
        state.apply(report, CHAIR, NOW_US, "t")
    assert state.amendments == {} and state.proceedings.friends["foc-1"]["state"] == "working"
    with pytest.raises(CommandRefused, match="no such amendment"):
        state.apply({"type": "amendment.adopt", "id": "am-1"}, CHAIR, NOW_US, "t")


def test_adopting_an_agenda_as_amended_to_nothing_keeps_the_proposed_items() -> None:
    state = _session()
    with pytest.raises(CommandRefused, match="no items"):
        state.apply({"type": "agenda.adopt", "meeting": "mt-1", "items": []}, CHAIR, NOW_US, "t")
    assert [i["title"] for i in state.proceedings.meetings["mt-1"]["agenda"]["items"]] == ["Draft"]


def test_a_summary_with_a_paragraph_twice_is_refused_whole() -> None:
    state = _session()
    state.apply({"type": "agenda.adopt", "meeting": "mt-1"}, CHAIR, NOW_US, "t")
    state.apply({"type": "agenda.take_up", "meeting": "mt-1", "item": "1"}, CHAIR, NOW_US, "t")
    state.apply({"type": "floor.request", "meeting": "mt-1", "id": "fl-1"}, SWITZERLAND, NOW_US, "t")
    state.apply({"type": "floor.give", "meeting": "mt-1", "statement": "st-1"}, CHAIR, NOW_US, "t")
    summary = {
        "type": "statement.summarise",
        "statement": "st-1",
        "summary": "urged",
        "paragraphs": ["p1", "p1"],
    }
    with pytest.raises(CommandRefused):
        state.apply(summary, SECRETARIAT, NOW_US, "t")
    assert state.proceedings.statements["st-1"]["summary"] == ""


def test_only_the_chair_or_the_secretariat_records_who_introduced_a_document() -> None:
    state = copy.deepcopy(_IN_SESSION)  # Switzerland has the floor; doc-1 is its proposal
    introduce = {"type": "document.introduce", "document": "doc-1", "meeting": "mt-1"}
    with pytest.raises(CommandRefused, match="someone else") as refused:
        state.apply({**introduce, "by": "the Chair"}, SWITZERLAND, NOW_US, "t")
    assert refused.value.status == 403 and state.proceedings.documents["doc-1"]["introduced"] == []
    by_the_secretariat = copy.deepcopy(state)
    done = state.apply({**introduce, "by": "Switzerland"}, SWITZERLAND, NOW_US, "t")
    assert done["introduced"][-1]["by"] == "Switzerland"
    done = by_the_secretariat.apply({**introduce, "by": "Brazil"}, SECRETARIAT, NOW_US, "t")
    assert done["introduced"][-1]["by"] == "Brazil"


def test_an_informal_meeting_publishes_who_has_the_floor_without_attribution() -> None:
    from crdt.procedure import conference

    for kind, attributed in (("formal", True), ("informal", False)):
        state = _session(kind)
        state.apply({"type": "agenda.adopt", "meeting": "mt-1"}, CHAIR, NOW_US, "t")
        state.apply({"type": "agenda.take_up", "meeting": "mt-1", "item": "1"}, CHAIR, NOW_US, "t")
        state.apply({"type": "floor.request", "meeting": "mt-1", "id": "fl-1"}, SWITZERLAND, NOW_US, "t")
        state.apply({"type": "floor.give", "meeting": "mt-1", "statement": "st-1"}, CHAIR, NOW_US, "t")
        current = conference.publish(state)["speakers"]["mt-1"]["current"]
        assert current["group"] == "government" and current["statement"] == "st-1"
        assert ("Switzerland" in repr(current)) is attributed
        assert (
            state.proceedings.floors["mt-1/1"]["current"]["delegation"] == "Switzerland"
        )  # the state keeps it


def test_a_silence_on_a_group_s_working_draft_can_be_broken_after_its_report() -> None:
    """Found by the rules' review: a reported group refused its members' every command, so a silence started
    on its working draft before the report ran on with nobody able to stop it."""
    state = Deliberation()
    mandate = {
        "type": "friends.mandate",
        "parent": "d",
        "group": "foc-1",
        "paragraphs": ["p1"],
        "members": ["Switzerland"],
        "deadline": "tomorrow",
        "deadline_us": FUTURE_US,
    }
    state.apply(mandate, CHAIR, NOW_US, "t")
    silence = {"type": "silence.start", "target": "p1", "deadline": "tomorrow", "deadline_us": FUTURE_US}
    state.apply(silence, CHAIR, NOW_US, "t")
    state.apply({"type": "friends.reported", "set": "fs-1", "amendments": ["am-1"]}, CHAIR, NOW_US, "t")
    with pytest.raises(CommandRefused, match="reported"):
        state.apply({"type": "annotation.create", "target": "p1", "text": "late"}, SWITZERLAND, NOW_US, "t")
    state.apply({"type": "position.state", "target": "p1", "stance": "objection"}, SWITZERLAND, NOW_US, "t")
    assert state.silences["p1"]["state"] == "broken"
    with pytest.raises(CommandRefused, match="reported"):  # no silence left to break: refused as before
        state.apply({"type": "position.state", "target": "p1", "stance": "support"}, SWITZERLAND, NOW_US, "t")
