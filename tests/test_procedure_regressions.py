"""Failures the stateful property tests (tests/test_procedure_properties.py) found, each kept as a plain test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.procedure_harness import OPENING, SECOND, PureTable, check_refold


def _table(server, tokens) -> tuple[httpx.Client, dict[str, str]]:
    headers = {
        "chair": {"Authorization": f"Bearer {tokens('chair', user='chair', delegation='Bureau')}"},
        "delegate": {"Authorization": f"Bearer {tokens('delegate', user='ch', delegation='Switzerland')}"},
    }
    http = httpx.Client(base_url=server.http, timeout=10)
    paragraphs = [{"id": p.id, "kind": str(p.kind), "text": p.text} for p in OPENING]
    created = http.post(
        "/api/drafts", json={"id": "tunis", "title": "T", "paragraphs": paragraphs}, headers=headers["chair"]
    )
    assert created.status_code == 201, created.text
    return http, headers


def test_the_live_state_is_the_fold_of_the_log_to_the_microsecond(server, tokens):
    """A command was judged at one clock reading and logged at a later one: the fold of the log (history,
    a restart) gave silences and comment periods other start times and durations than the live state."""
    http, who = _table(server, tokens)
    deadline = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for path, body in (
        ("/api/drafts/tunis/silence", {"target": "p3", "deadline": deadline}),
        ("/api/drafts/tunis/periods", {"paragraphs": ["p4"], "deadline": deadline}),
    ):
        assert http.post(path, json=body, headers=who["chair"]).status_code == 201
    http.put("/api/drafts/tunis/positions/p4", json={"stance": "support"}, headers=who["delegate"])
    live = http.get("/api/drafts/tunis/deliberation", headers=who["chair"]).json()
    folded = http.get("/api/drafts/tunis/text", headers=who["chair"]).json()["deliberation"]
    assert folded["silences"] == live["silences"]
    assert folded["periods"] == live["periods"]
    assert folded == live


def test_a_silence_on_an_amendment_whose_paragraph_went_ends_at_its_deadline():
    """An amendment's paragraph was deleted while a silence procedure ran on the amendment: at the deadline
    its adoption was refused, so the silence stayed running past its deadline for good (the server's timer
    gave up on it). It concludes adopting nothing, saying why, and the amendment stays before the chair."""
    table = PureTable()
    proposed = table.command(
        "switzerland",
        {
            "type": "amendment.propose",
            "paragraph": "p3",
            "kind": "substitution",
            "start": 21,
            "end": 32,
            "text": "x",
        },
    )
    assert proposed.ok, proposed.body
    started = table.command(
        "chair", {"type": "silence.start", "target": "am-1", "deadline_us": table.now_us + 60 * SECOND}
    )
    assert started.ok, started.body
    assert table.delete_paragraph("switzerland", "p3") is None
    table.wait(120)
    silence = table.state.silences["am-1"]
    assert silence["state"] == "concluded"
    assert "no longer exists" in silence["not_adopted"]
    assert table.state.amendments["am-1"]["state"] == "proposed"
    check_refold(table)


def test_a_silence_on_an_amendment_whose_span_was_deleted_ends_at_its_deadline():
    table = PureTable()
    table.command(
        "switzerland",
        {
            "type": "amendment.propose",
            "paragraph": "p3",
            "kind": "substitution",
            "start": 21,
            "end": 32,
            "text": "x",
        },
    )
    table.command(
        "chair", {"type": "silence.start", "target": "am-1", "deadline_us": table.now_us + 60 * SECOND}
    )
    assert table.edit("brazil", "p3", 20, 32, "") is None  # " press ahead": every word of the span
    table.wait(120)
    assert table.state.silences["am-1"]["state"] == "concluded"
    assert "nothing is left of the span" in table.state.silences["am-1"]["not_adopted"]
    assert table.state.amendments["am-1"]["state"] == "proposed"
    assert table.texts()["p3"] == "Member States should with dialogues."
