"""The roll: a CSV file checked row by row, imported through the CLI into a running server, and then the
source of who everyone is on the draft (over REST and the websocket), whatever their token claims."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pycrdt import Map

from client.session import RoomClient
from crdt.procedure.commands import Actor, CommandRefused
from crdt.procedure.deliberation import Deliberation
from crdt.procedure.rollfile import parse_roll_csv
from tests.conftest import ROOT, eventually, plenary_command
from tests.test_deliberation import Table, create

ROLL = ROOT / "tests" / "fixtures" / "wsis-roll.csv"
CHAIR = Actor("chair", "Chair", "Bureau", "", "chair")


def test_the_seed_roll_parses():
    parsed = parse_roll_csv(ROLL.read_text())
    assert parsed.errors == []
    assert len(parsed.delegations) == 24
    assert {d["group"] for d in parsed.delegations} == {
        "government",
        "private_sector",
        "civil_society",
        "international_organization",
        "technical_academic",
    }
    gsma = next(d for d in parsed.delegations if d["name"] == "GSM Association")
    assert gsma["kind"] == "accredited_organisation"  # the default for its group
    chair = next(p for p in parsed.people if p["id"] == "chair")
    assert chair["delegation"] is None and chair["email"] == "chair@bureau.example.org"


def test_every_bad_row_is_reported_with_its_line():
    text = (
        "delegation,group,participant,name,role\n"
        "Switzerland,government,ch-1,Ambassador,head_of_delegation\n"
        "France,press,fr-1,Delegate,delegate\n"  # 3: unknown group
        "Switzerland,civil_society,ch-2,Other,delegate\n"  # 4: the same delegation listed differently
        ",,ch-1,Again,delegate\n"  # 5: a delegate without a delegation
        "Kenya,government,ke-1,Delegate,king\n"  # 6: unknown role
        "Kenya,government,ch-1,Copy,delegate\n"  # 7: a participant twice
        "Kenya,government,ke-2\n"  # 8: too few fields
    )
    errors = parse_roll_csv(text).errors
    assert [error.line for error in errors] == [3, 4, 5, 6, 7, 8]
    assert "group" in errors[0].message and "listed differently on line 2" in errors[1].message
    assert "belongs to a delegation" in errors[2].message and "role" in errors[3].message
    assert "already on line 2" in errors[4].message and "fields" in errors[5].message
    header = parse_roll_csv("delegation,group,person\n").errors
    assert header[0].line == 1 and "unknown columns person" in header[0].message


def test_roll_rules_in_the_fold():
    state = Deliberation()
    roll = parse_roll_csv(ROLL.read_text())
    state.apply(
        {"type": "roll.import", "delegations": roll.delegations, "people": roll.people}, CHAIR, 0, "t"
    )
    assert state.roll.delegation_of("ch-2").name == "Switzerland"
    assert state.roll.delegation_of("chair") is None and state.roll.person("chair").role == "chair"
    assert state.roll.negotiates("Holy See")  # multistakeholder by default: everyone does
    state.apply({"type": "profile.set", "profile": "intergovernmental"}, CHAIR, 0, "t")
    assert state.roll.negotiates("Brazil") and not state.roll.negotiates("Holy See")
    assert not state.roll.negotiates("Internet Society")
    state.apply(
        {"type": "roll.delegation.update", "name": "Internet Society", "changes": {"negotiating": True}},
        CHAIR,
        0,
        "t",
    )
    assert state.roll.negotiates("Internet Society")
    with pytest.raises(CommandRefused, match="withdraw them first"):
        state.apply({"type": "roll.delegation.remove", "name": "Switzerland"}, CHAIR, 0, "t")
    # The last people who may change the roll cannot leave it: nobody could change it again.
    for pid in ("vice-chair", "sec"):
        state.apply({"type": "roll.person.withdraw", "id": pid}, CHAIR, 0, "t")
    with pytest.raises(CommandRefused, match="must keep a chair"):
        state.apply({"type": "roll.person.withdraw", "id": "chair"}, CHAIR, 0, "t")
    with pytest.raises(CommandRefused, match="e-mail already belongs to ch-1"):
        person = {
            "id": "x",
            "name": "X",
            "delegation": "Kenya",
            "role": "delegate",
            "email": "FURRER@admin.example.ch",
        }
        state.apply({"type": "roll.person.accredit", "person": person}, CHAIR, 0, "t")


def roll_cli(server, token: str, *args: str):
    return plenary_command("roll", *args, env={"PLENARY_SERVER": server.http, "PLENARY_TOKEN": token})


async def test_a_roll_imported_from_csv_decides_who_is_who(server, tokens, tmp_path: Path):
    table = Table(server, tokens)
    create(table)

    # A bad file: every problem on its own line, nothing sent.
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "delegation,group,participant,name,role\nFrance,press,fr-1,Delegate,delegate\n,,x,Y,delegate\n"
    )
    result = roll_cli(server, table.tokens["chair"], "import", str(bad), "--draft", "tunis")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"plenary: {bad}:2: ") and lines[1].startswith(f"plenary: {bad}:3: ")
    assert table.ok("chair", "GET", "/api/drafts/tunis/roll")["people"] == []

    # A delegate may not import a roll; the chair may.
    refused = roll_cli(server, table.tokens["ccbi"], "import", str(ROLL), "--draft", "tunis")
    assert refused.returncode == 1 and "403" in refused.stderr
    done = roll_cli(server, table.tokens["chair"], "import", str(ROLL), "--draft", "tunis", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["people"] == 28
    shown = roll_cli(server, tokens("chair", user="chair"), "show", "--draft", "tunis", "--json")
    roll = json.loads(shown.stdout)
    assert len(roll["delegations"]) == 24 and roll["profile"] == "multistakeholder"
    text = roll_cli(server, tokens("chair", user="chair"), "show", "--draft", "tunis").stdout
    assert "Switzerland — government, member state, negotiates" in text

    # Someone with a valid token who is not on the roll: refused, with the reason.
    stranger = tokens("delegate", user="stranger", delegation="Switzerland")
    response = table.http.get("/api/drafts/tunis", headers={"Authorization": f"Bearer {stranger}"})
    assert response.status_code == 403 and "not on the roll" in response.json()["detail"]
    async with RoomClient(server.ws, "tunis", token=stranger, reconnect=False) as client:
        await eventually(lambda: client.closed.is_set())
        # The reason comes in the auth message and in the close frame (the client may see only the latter).
        assert client.close_code == 4403 and "not on the roll" in (client.close_reason or "")

    # A token claiming another delegation and group is ignored in favour of the roll.
    forged = tokens("delegate", user="ch-2", delegation="France", group="civil_society")
    position = table.http.put(
        "/api/drafts/tunis/positions/p2",
        json={"stance": "support"},
        headers={"Authorization": f"Bearer {forged}"},
    )
    assert position.status_code == 200, position.text
    assert position.json()["result"]["delegation"] == "Switzerland"
    assert position.json()["result"]["group"] == "government"
    async with RoomClient(server.ws, "tunis", token=forged) as ch:
        await ch.wait_synced()
        ch.set_local_state({"cursor": {"index": 0}})
        async with RoomClient(server.ws, "tunis", token=tokens("delegate", user="br-1")) as br:
            await br.wait_synced()

            def swiss_seen():
                users = [s.get("user", {}) for s in br.awareness.values()]
                return any(u.get("id") == "ch-2" and u.get("delegation") == "Switzerland" for u in users)

            await eventually(swiss_seen)
        # Withdrawn from the roll: the connection closes with the reason.
        table.tokens["chair-on-roll"] = tokens("chair", user="chair")
        table.ok("chair-on-roll", "DELETE", "/api/drafts/tunis/roll/people/ch-2")
        await eventually(lambda: ch.closed.is_set())
        assert ch.close_code == 4403 and "withdrawn" in (ch.close_reason or "")

    # The roll is published in the read-only deliberation document.
    async with RoomClient(server.ws, "tunis/deliberation", token=tokens("delegate", user="br-1")) as watch:
        await watch.wait_synced()
        published = watch.doc.get("roll", type=Map)
        assert published["delegation/Brazil"]["group"] == "government"
        assert "person/ch-2" not in published and published["person/ch-1"]["role"] == "head_of_delegation"
        process = watch.doc.get("process", type=Map)
        assert process["profile"] == "multistakeholder" and process["editing_mode"] == "open"


def delegate(participant: str, delegation: str, group: str) -> Actor:
    return Actor(participant, participant, delegation, group, "delegate")


@pytest.mark.parametrize("profile", ["intergovernmental", "multistakeholder"])
def test_a_civil_society_objection_is_a_view_or_blocks_by_profile(profile):
    """The issue's case in the fold: the same formal objection from civil society is a view in an
    intergovernmental draft (shown by group, not blocking, silence unbroken) and blocks in a
    multistakeholder one."""
    state = Deliberation()
    roll = parse_roll_csv(ROLL.read_text())
    state.apply(
        {"type": "roll.import", "delegations": roll.delegations, "people": roll.people}, CHAIR, 0, "t"
    )
    state.apply({"type": "profile.set", "profile": profile}, CHAIR, 0, "t")
    state.apply({"type": "silence.start", "target": "p1", "deadline_us": 10_000}, CHAIR, 0, "t")
    swiss = delegate("ch-1", "Switzerland", "government")
    apc = delegate("apc-1", "Association for Progressive Communications", "civil_society")
    state.apply({"type": "position.state", "target": "p1", "stance": "support"}, swiss, 1, "t")
    state.apply({"type": "position.state", "target": "p1", "stance": "formal_objection"}, apc, 2, "t")
    indicator = _snapshot(state)["indicators"]["p1"]
    assert indicator["profile"] == profile
    if profile == "intergovernmental":
        assert indicator["status"] == "consensus" and state.silences["p1"]["state"] == "running"
        assert indicator["views"]["counts"]["civil_society"]["formal_objection"] == 1
        assert "Association for Progressive Communications" not in indicator["silent_delegations"]
        assert "Brazil" in indicator["silent_delegations"]  # a Member State on the roll, silent
        with pytest.raises(CommandRefused, match="no negotiating rights"):
            state.apply(
                {"type": "amendment.propose", "id": "am-1", "paragraph": "p1", "kind": "deletion"},
                apc,
                3,
                "t",
            )
    else:
        assert indicator["status"] == "blocked" and state.silences["p1"]["state"] == "broken"
        assert indicator["views"]["total"] == 0
        assert "Internet Society" in indicator["silent_delegations"]
    assert indicator["unrepresented_groups"] == []  # all five groups have someone on the roll


def _snapshot(state: Deliberation) -> dict:
    from crdt.procedure.deliberation import snapshot

    return snapshot(state, ["p1"])


_NAMES = ["Switzerland", "Kenya", "CCBI", "APC"]
_GROUPS = [
    "government",
    "private_sector",
    "civil_society",
    "international_organization",
    "technical_academic",
]
_ROLES = [
    "head_of_delegation",
    "delegate",
    "adviser",
    "chair",
    "vice_chair",
    "secretariat",
    "observer",
    "archivist",
]


def _commands():
    from hypothesis import strategies as st

    delegation = st.fixed_dictionaries(
        {"name": st.sampled_from(_NAMES), "group": st.sampled_from([*_GROUPS, "press"])},
        optional={"kind": st.sampled_from(["member_state", "un_system", "accredited_organisation", "x"])},
    )
    person = st.fixed_dictionaries(
        {
            "id": st.sampled_from(["a", "b", "c", "d"]),
            "name": st.sampled_from(["A", "B", " "]),
            "delegation": st.sampled_from([None, *_NAMES]),
            "role": st.sampled_from(_ROLES),
        },
        optional={"email": st.sampled_from(["a@x.org", "b@x.org", "bad"])},
    )
    return st.one_of(
        st.builds(lambda d: {"type": "roll.delegation.add", "delegation": d}, delegation),
        st.builds(lambda n: {"type": "roll.delegation.remove", "name": n}, st.sampled_from(_NAMES)),
        st.builds(
            lambda n, v: {"type": "roll.delegation.update", "name": n, "changes": {"negotiating": v}},
            st.sampled_from(_NAMES),
            st.booleans(),
        ),
        st.builds(lambda p: {"type": "roll.person.accredit", "person": p}, person),
        st.builds(lambda i: {"type": "roll.person.withdraw", "id": i}, st.sampled_from(["a", "b", "c", "d"])),
        st.builds(
            lambda ds, ps, r: {"type": "roll.import", "delegations": ds, "people": ps, "replace": r},
            st.lists(delegation, max_size=3),
            st.lists(person, max_size=3),
            st.booleans(),
        ),
        st.builds(
            lambda p: {"type": "profile.set", "profile": p},
            st.sampled_from(["intergovernmental", "multistakeholder", "x"]),
        ),
    )


def test_roll_invariants_hold_whatever_is_tried():
    """Property (300 examples of up to 25 commands): every refused command leaves the roll as it was, and
    the roll always holds together: each person's delegation is on it, e-mails are unique, and once it
    names people someone on it can still change it."""
    import copy

    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.lists(_commands(), max_size=25))
    def run(commands):
        state = Deliberation()
        for command in commands:
            before = copy.deepcopy(state.roll)
            try:
                state.apply(command, CHAIR, 0, "t")
            except CommandRefused:
                assert state.roll == before
            roll = state.roll
            assert all(p.delegation is None or p.delegation in roll.delegations for p in roll.people.values())
            emails = [p.email for p in roll.people.values() if p.email]
            assert len(emails) == len(set(emails))
            if not roll.is_empty():
                assert any(p.role in ("chair", "vice_chair", "secretariat") for p in roll.people.values())

    run()
