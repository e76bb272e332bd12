"""Failures the stateful property tests (tests/test_procedure_properties.py) found, each kept as a plain test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.procedure_harness import OPENING


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
