"""The seed's meeting (the informal consultation on WSIS implementation and follow-up, 2 May 2005) run by
its chair in either procedure profile, with a roll of 24 delegations across all five stakeholder groups:
the indicators, the silence procedure, the protected text, the exports and the archive say which rules
applied and who was on the roll at the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pycrdt import Array

from client.session import RoomClient
from crdt.procedure.draft import parse_plain_text
from crdt.procedure.rollfile import parse_roll_csv
from server.procedure.demo import DEMO_TEXT
from tests.conftest import eventually
from tests.test_roll import ROLL

GROUPS = {"government", "private_sector", "civil_society", "international_organization", "technical_academic"}


class Meeting:
    def __init__(self, server, tokens):
        self.http = httpx.Client(base_url=server.http, timeout=15)
        self.tokens = tokens
        self.server = server

    def token(self, user: str, role: str = "delegate") -> str:
        # Tokens name people; what they claim beyond that is the roll's business (the chair's token
        # role matters only before the roll exists).
        role = {"chair": "chair", "sec": "secretariat", "arch": "archivist"}.get(user, role)
        return self.tokens(role, user=user, delegation="claimed", group="government")

    def __call__(self, user: str, method: str, path: str, json=None, role: str = "delegate"):
        headers = {"Authorization": f"Bearer {self.token(user, role)}"}
        return self.http.request(method, path, json=json, headers=headers)

    def ok(self, user: str, method: str, path: str, json=None, role: str = "delegate"):
        response = self(user, method, path, json, role)
        assert response.status_code in (200, 201), (user, path, response.text)
        return response.json()


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize("profile", ["intergovernmental", "multistakeholder"])
async def test_the_seed_meeting_under_either_profile(server, tokens, profile):
    m = Meeting(server, tokens)
    paragraphs = [{"id": p.id, "kind": p.kind, "text": p.text} for p in parse_plain_text(DEMO_TEXT)]
    m.ok(
        "chair",
        "POST",
        "/api/drafts",
        {"id": "wsis", "title": "Follow-up", "paragraphs": paragraphs},
        role="chair",
    )
    roll = parse_roll_csv(ROLL.read_text())
    assert len(roll.delegations) >= 20 and {d["group"] for d in roll.delegations} == GROUPS
    m.ok(
        "chair",
        "POST",
        "/api/drafts/wsis/roll/import",
        {"delegations": roll.delegations, "people": roll.people},
    )
    before_profile = m.ok("arch", "GET", "/api/drafts/wsis/events?limit=500", role="archivist")
    m.ok("chair", "PUT", "/api/drafts/wsis/profile", {"profile": profile})
    # The secretariat introduces the documents; comments on chapters one and four by a deadline.
    m.ok("sec", "POST", "/api/drafts/wsis/periods", {"deadline": iso_in(600)})

    # Switzerland presents its proposal; it receives broad support.
    proposal = m.ok(
        "ch-1",
        "POST",
        "/api/drafts/wsis/amendments",
        {
            "paragraph": "p8",
            "kind": "insertion",
            "start": 0,
            "end": 0,
            "text": "To be noted at the Tunis Summit: ",
        },
    )["result"]
    for person in ("br-1", "ke-1", "jp-1", "itu-1", "ccbi-1", "isoc-1"):
        m.ok(person, "PUT", f"/api/drafts/wsis/positions/{proposal['id']}", {"stance": "support"})
    # On the multi-stakeholder character of any mechanism there was agreement, though not all agreed
    # that WGIG was the model: civil society objects formally to the paragraph as it stands.
    for person in ("ch-1", "br-1", "tn-1", "lv-1", "ke-1", "us-1", "jp-1", "in-1"):
        m.ok(person, "PUT", "/api/drafts/wsis/positions/p2", {"stance": "support"})
    m.ok(
        "cs-1",
        "PUT",
        "/api/drafts/wsis/positions/p2",
        {"stance": "formal_objection", "explanation": "WGIG model"},
    )

    state = m.ok("chair", "GET", "/api/drafts/wsis/deliberation", role="chair")
    p2 = state["indicators"]["p2"]
    assert p2["profile"] == profile and p2["unrepresented_groups"] == []
    if profile == "intergovernmental":
        # Civil society's objection is a view: shown by group, not blocking.
        assert p2["status"] == "consensus" and p2["rule_satisfied"]
        assert p2["views"]["counts"]["civil_society"]["formal_objection"] == 1
        assert "Civil Society Bureau" in state["views"]["p2"]
        # Silent delegations are the Member States on the roll that have not spoken
        # (every Member State has spoken; observer States and stakeholders are not waited for).
        assert p2["silent_delegations"] == [] and p2["silent_groups"] == []
        refused = m(
            "icc-1",
            "POST",
            "/api/drafts/wsis/amendments",
            {"paragraph": "p2", "kind": "deletion", "start": 0, "end": 3},
        )
        assert refused.status_code == 403 and "negotiating rights" in refused.json()["detail"]
    else:
        assert p2["status"] == "blocked" and not p2["rule_satisfied"]
        assert "Internet Society" in p2["silent_delegations"] and p2["views"]["total"] == 0

    # A silence procedure on the paragraph: civil society's objection breaks it only where it counts.
    m.ok("chair", "POST", "/api/drafts/wsis/silence", {"target": "p3", "deadline": iso_in(1.5)}, role="chair")
    m.ok("apc-1", "PUT", "/api/drafts/wsis/positions/p3", {"stance": "objection"})

    async def decided():
        silence = m.ok("chair", "GET", "/api/drafts/wsis/deliberation", role="chair")["silences"]["p3"]
        return silence if silence["state"] != "running" else None

    silence = await eventually(decided, timeout=15)
    if profile == "intergovernmental":
        assert silence["state"] == "concluded"
        status = m.ok("chair", "GET", "/api/drafts/wsis/deliberation", role="chair")["statuses"]["p3"]
        assert status["status"] == "agreed"
        # Agreed text is protected: a Member State's delegate cannot type into it.
        async with RoomClient(server.ws, "wsis", token=m.token("br-1"), reconnect=False) as brazil:
            await brazil.wait_synced()
            texts = brazil.doc.get("paragraphs", type=Array)
            index = next(i for i, p in enumerate(texts) if p["id"] == "p3")
            texts[index]["text"].insert(0, "Nationally, ")
            await eventually(lambda: brazil.closed.is_set())
            assert brazil.close_code == 4403 and "agreed" in (brazil.close_reason or "")
    else:
        assert (
            silence["state"] == "broken"
            and silence["broken_by"]["delegation"] == "Association for Progressive Communications"
        )

    # The exports say which rules applied and who was on the roll.
    export = m("chair", "GET", "/api/drafts/wsis/export?format=markdown", role="chair")
    assert export.status_code == 200, export.text
    text = export.text
    assert f"Procedure profile: {profile}." in text and "## The roll" in text
    assert "24 delegations and 28 people on the roll" in text
    assert "Civil society: " in text and "Switzerland (2)" in text
    summary = m("chair", "GET", "/api/drafts/wsis/export?format=summary", role="chair").text
    assert f"Procedure profile: {profile}." in summary and "The roll at the time" in summary

    # The archive: who accredited whom, which profile was set, and the record as it stood before.
    events = m.ok("arch", "GET", "/api/drafts/wsis/events?limit=500", role="archivist")
    described = [e.get("summary", "") for e in events["events"]]
    assert any("added to the roll 24 delegations, 28 people" in d for d in described)
    assert any(f"set the procedure profile to {profile}" in d for d in described)
    seq = before_profile["events"][-1]["seq"]
    past = m.ok("arch", "GET", f"/api/drafts/wsis/text?at={seq}", role="archivist")
    assert past["deliberation"]["process"]["profile"] == "multistakeholder"
    assert len([k for k in past["deliberation"]["roll"] if k.startswith("delegation/")]) == 24
