"""GET /api/drafts/{draft}/changes?since=: what changed in the text since a moment, word by word,
for any reader of the draft (a delegate too), without who changed it; bad input is a problem+json."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tests.test_deliberation import Table
from tests.test_web import PARAGRAPHS


def create(table: Table) -> None:
    table.ok(
        "chair", "POST", "/api/drafts", {"id": "tunis", "title": "Tunis follow-up", "paragraphs": PARAGRAPHS}
    )


def test_a_delegate_sees_the_words_changed_since_a_moment(server: Any, tokens: Any) -> None:
    table = Table(server, tokens)
    create(table)
    time.sleep(1.1)  # the moment must fall after the draft's first entry, at whole seconds too
    before = datetime.now(UTC).isoformat()
    time.sleep(0.05)
    am = table.ok(
        "switzerland",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p1", "start": 4, "end": 28, "kind": "substitution", "text": "follow-up process"},
    )["result"]
    table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{am['id']}/adopt", {})

    changes = table.ok("csc", "GET", f"/api/drafts/tunis/changes?since={before.replace('+', '%2B')}")
    assert [p["id"] for p in changes["paragraphs"]] == ["p1"]
    p1 = changes["paragraphs"][0]
    assert p1["status"] == "changed"
    assert p1["after"].startswith("Any follow-up process must")
    assert ["delete", "implementation mechanism"] in p1["words"]
    assert ["insert", "follow-up process"] in p1["words"]
    assert "participant" not in str(p1)  # the text, not who wrote it

    # Since now: nothing; since before the draft: everything is added.
    now = table.ok(
        "csc", "GET", f"/api/drafts/tunis/changes?since={datetime.now(UTC).isoformat().replace('+', '%2B')}"
    )
    assert now["paragraphs"] == []
    first = table.ok("observer", "GET", "/api/drafts/tunis/changes?since=2001-01-01T00:00:00Z")
    assert {p["status"] for p in first["paragraphs"]} == {"added"}


def test_bad_input_is_a_problem(server: Any, tokens: Any) -> None:
    table = Table(server, tokens)
    create(table)
    for query, status, words in [
        ("", 422, "since is required"),
        ("?since=yesterday", 422, "ISO 8601"),
        ("?since=2005-05-31T23:59:00", 422, "timezone"),
    ]:
        response = table("csc", "GET", f"/api/drafts/tunis/changes{query}")
        assert response.status_code == status, (query, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert words in response.json()["detail"], response.json()
    # Found in review: a seq past the head or a revision never issued was answered "everything is new".
    for query, words in [("?since=999999", "no entry 999999"), ("?since=rev7", "no revision")]:
        response = table("csc", "GET", f"/api/drafts/tunis/changes{query}")
        assert response.status_code == 404, (query, response.text)
        assert words in response.json()["detail"], response.json()
    missing = table("csc", "GET", "/api/drafts/nope/changes?since=0")
    assert missing.status_code in (403, 404) and "problem+json" in missing.headers["content-type"]
