"""Hostile or careless requests each get a 4xx problem document with a clear detail, never a 500; the
keep-alive connection they came on serves the next request; nothing they carried is stored. One real
server, one HTTP/1.1 connection for the whole sequence (issue 17's list)."""

from __future__ import annotations

import contextlib
import http.client
import json
from collections.abc import Iterator

import pytest

from tests.conftest import ServerProcess, Tokens, postgres_database

DEEP = b'{"id": "deep", "title": ' + b"[" * 1000 + b"]" * 1000 + b"}"
EDGES = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")


def cases() -> list[tuple[str, str, str, bytes | None, str, int, str]]:
    """(label, method, path, body, content type, status, words the detail must contain)."""
    out = [
        ("json 1,000 deep", "POST", "/api/drafts", DEEP, "application/json", 400, "deeper than 64 levels"),
        ("not json", "POST", "/api/drafts", b"{", "application/json", 400, "not valid JSON"),
        (
            "nan",
            "POST",
            "/api/drafts",
            b'{"id": "n", "title": NaN}',
            "application/json",
            400,
            "NaN is not a JSON value",
        ),
        (
            "content type jsonx",
            "POST",
            "/api/drafts",
            b'{"id": "jsonx", "title": "x"}',
            "application/jsonx",
            415,
            "Content-Type: application/json",
        ),
        (
            "nul in a title",
            "POST",
            "/api/drafts",
            b'{"id": "nul", "title": "a\\u0000b"}',
            "application/json",
            400,
            "U+0000",
        ),
        (
            "nul in a key",
            "POST",
            "/api/drafts/fuzz/annotations",
            b'{"paragraph": "p1", "body": "x", "a\\u0000": 1}',
            "application/json",
            400,
            "U+0000",
        ),
        (
            "start as a string",
            "POST",
            "/api/drafts/fuzz/amendments",
            _amendment('"3"'),
            "application/json",
            422,
            "start",
        ),
        (
            "start as a boolean",
            "POST",
            "/api/drafts/fuzz/amendments",
            _amendment("true"),
            "application/json",
            422,
            "start",
        ),
        (
            "events after 31 digits",
            "GET",
            "/api/drafts/fuzz/events?after=" + "1" * 31,
            None,
            "",
            422,
            "after must be",
        ),
        ("events limit -5", "GET", "/api/drafts/fuzz/events?limit=-5", None, "", 422, "limit must be"),
        ("events limit ²", "GET", "/api/drafts/fuzz/events?limit=%C2%B2", None, "", 422, "limit must be"),
        ("text at ²", "GET", "/api/drafts/fuzz/text?at=%C2%B2", None, "", 422, "neither a sequence number"),
        (
            "text at 31 digits",
            "GET",
            "/api/drafts/fuzz/text?at=" + "9" * 31,
            None,
            "",
            422,
            "at most 18 digits",
        ),
        ("asset NUL", "GET", "/assets/%00.js", None, "", 404, "no asset"),
        ("draft id look-alike", "GET", "/api/drafts/pl%D0%B0n/events", None, "", 400, "is not a draft id"),
        ("nul in a query", "GET", "/api/drafts/fuzz/audit/head?room=fuzz%00", None, "", 400, "U+0000"),
        ("nul in a path", "DELETE", "/api/drafts/fuzz/participants/a%00b", None, "", 400, "U+0000"),
    ]
    for edge in EDGES:
        quoted = edge.replace("+", "%2B")
        body = json.dumps({"deadline": edge}).encode()
        silence = json.dumps({"target": "p1", "deadline": edge}).encode()
        out += [
            (
                f"period {edge}",
                "POST",
                "/api/drafts/fuzz/periods",
                body,
                "application/json",
                422,
                "outside the calendar",
            ),
            (
                f"silence {edge}",
                "POST",
                "/api/drafts/fuzz/silence",
                silence,
                "application/json",
                422,
                "outside the calendar",
            ),
            (
                f"text at {edge}",
                "GET",
                f"/api/drafts/fuzz/text?at={quoted}",
                None,
                "",
                422,
                "outside the calendar",
            ),
            (
                f"blame at {edge}",
                "GET",
                f"/api/drafts/fuzz/blame?at={quoted}",
                None,
                "",
                422,
                "outside the calendar",
            ),
        ]
    return out


def _amendment(start: str) -> bytes:
    fields = '"paragraph": "p1", "kind": "substitution", "end": 4, "text": "That", "start": '
    return ("{" + fields + start + "}").encode()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """On SQLite and on PostgreSQL (which, unlike SQLite, cannot store a NUL in text)."""
    workdir = tmp_path_factory.mktemp("no500")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{workdir / 'plenary.sqlite3'}"
        else:
            url = stack.enter_context(postgres_database())
        server = ServerProcess(url, workdir)
        server.start()
        stack.callback(server.stop)
        server.create_draft("fuzz", "This text is the draft.")
        yield server


def test_every_bad_request_is_a_4xx_problem_on_a_surviving_connection(served):
    chair = Tokens()("chair", user="careless-chair")
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)

    def request(
        method: str, path: str, body: bytes | None = None, content_type: str = ""
    ) -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {chair}"}
        if content_type:
            headers["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        kind = response.getheader("content-type", "")
        return response.status, (json.loads(raw) if "json" in kind else {"raw": raw, "type": kind})

    status, head = request("GET", "/api/drafts/fuzz/audit/head")
    assert status == 200, head
    socket = conn.sock
    for label, method, path, body, content_type, expected, words in cases():
        status, problem = request(method, path, body, content_type)
        assert status == expected, (label, status, problem)
        assert problem.get("status") == expected and words in problem.get("detail", ""), (label, problem)
        assert conn.sock is socket, f"{label}: the server closed the keep-alive connection"
    # Nothing refused was stored: the same head, no draft made by any of them.
    status, after = request("GET", "/api/drafts/fuzz/audit/head")
    assert (status, after["seq"], after["hash"]) == (200, head["seq"], head["hash"])
    status, drafts = request("GET", "/api/drafts")
    assert [d["id"] for d in drafts] == ["fuzz"]
    assert conn.sock is socket
    conn.close()


def test_json_depth_is_measured_without_parsing():
    from server.api.endpoints import MAX_JSON_DEPTH, json_too_deep

    assert not json_too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert json_too_deep(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert json_too_deep(b'{"a":' * 65 + b"1" + b"}" * 65)
    # Brackets inside strings, escaped quotes and backslashes do not count.
    assert not json_too_deep(b'["' + b"[" * 100 + b'"]')
    assert not json_too_deep(b'["\\"' + b"[" * 100 + b'", "\\\\"]')
    assert json_too_deep(b'["\\\\", ' + b"[" * 70 + b"]" * 70 + b"]")
    # Unbalanced: left to the parser, which says why.
    assert not json_too_deep(b"[" * 10_000)
