"""Defects a review found in the meetings and language versions, each reproduced on a real server first:
a refused Friends of the Chair report left an amendment behind that could be adopted; a translator's
typing restarted silence procedures; a draft refused for its languages was created all the same."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Array

from client.session import RoomClient
from crdt.procedure.commands import MAX_BODY
from tests.conftest import ServerProcess, eventually
from tests.test_languages import _translator
from tests.test_meetings import Table, in_days


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for this module's tests (each uses drafts of its own): starting one is most of their time."""
    path: Path = tmp_path_factory.mktemp("fixes")
    server = ServerProcess(f"sqlite:///{path / 'plenary.sqlite3'}", path, {})
    server.start()
    yield server
    server.stop()


PARAGRAPHS = [
    {"id": "p1", "text": "Implementation must be carried out at all levels."},
    {"id": "p2", "text": "Stakeholders are invited to report on their commitments."},
]


def _draft(table: Table, draft: str, **extra: Any) -> None:
    table.ok(
        "chair", "POST", "/api/drafts", {"id": draft, "title": "Tunis", "paragraphs": PARAGRAPHS, **extra}
    )


def _set_text(room: RoomClient, index: int, new: str) -> None:
    text = room.doc.get("paragraphs", type=Array)[index]["text"]
    with room.doc.transaction():
        del text[0 : len(text)]
        text.insert(0, new)


async def test_a_refused_friends_report_leaves_no_amendment_behind(server: Any, tokens: Any) -> None:
    """The group rewrote p1 and made p2 longer than an amendment may be: the report is refused whole;
    no amendment from it exists, and none can be adopted."""
    table = Table(server, tokens)
    _draft(table, "ghost")
    group = table.ok(
        "chair",
        "POST",
        "/api/drafts/ghost/friends",
        {"paragraphs": ["p1", "p2"], "members": ["Switzerland"], "deadline": in_days(3)},
    )["result"]
    async with RoomClient(server.ws, group["draft"], token=table.tokens["switzerland"]) as member:
        await member.wait_synced()
        _set_text(member, 0, "Implementation shall be carried out at all levels.")
        _set_text(member, 1, "x" * (MAX_BODY + 1))
        working = f"/api/drafts/{group['draft']}"
        await eventually(lambda: len(table.ok("chair", "GET", working)["paragraphs"][1]["text"]) > MAX_BODY)
    assert "invalid proposed text" in table.refused(
        422, "chair", "POST", f"/api/drafts/ghost/friends/{group['id']}/report"
    )
    state = table.ok("chair", "GET", "/api/drafts/ghost/deliberation")
    assert state["amendments"] == {}
    assert table.ok("chair", "GET", "/api/drafts/ghost/friends")["groups"][group["id"]]["state"] == "working"
    table.refused(404, "chair", "POST", "/api/drafts/ghost/amendments/am-1/adopt", {})


async def test_a_translators_typing_does_not_restart_a_silence_procedure(server: Any, tokens: Any) -> None:
    """Only a change of the original's words is a change of the paragraph; its translations are not."""
    table = Table(server, tokens)
    table.tokens["fr"] = _translator("fr")
    _draft(table, "quiet", translations=["fr"])
    table.ok("chair", "POST", "/api/drafts/quiet/silence", {"target": "p1", "deadline": in_days(1)})

    def restarts() -> int:
        return table.ok("chair", "GET", "/api/drafts/quiet/deliberation")["silences"]["p1"]["restarts"]

    async with RoomClient(server.ws, "quiet", token=table.tokens["fr"]) as french:
        await french.wait_synced()
        paragraphs = french.doc.get("paragraphs", type=Array)
        await eventually(lambda: "fr" in (paragraphs[0].get("translations") or {}))
        paragraphs[0]["translations"]["fr"].insert(0, "La mise en œuvre doit se faire à tous les niveaux.")

        def translated() -> bool:
            found = table.ok("chair", "GET", "/api/drafts/quiet/translations?language=fr")["paragraphs"]
            return found[0]["translations"]["fr"]["status"] == "current"

        await eventually(translated)
        await asyncio.sleep(0.5)  # a restart, were there one, is a task started by the edit
        assert restarts() == 0
    async with RoomClient(server.ws, "quiet", token=table.tokens["switzerland"]) as delegate:
        await delegate.wait_synced()
        delegate.doc.get("paragraphs", type=Array)[0]["text"].insert(0, "Indeed, ")
        await eventually(lambda: restarts() == 1)


def test_a_draft_refused_for_its_languages_is_not_created(server: Any, tokens: Any) -> None:
    table = Table(server, tokens)
    for languages, why in (
        ({"translations": ["fr", "fr"]}, "listed twice"),
        ({"language": "fr", "translations": ["fr"]}, "original language"),
    ):
        assert why in table.refused(
            422,
            "chair",
            "POST",
            "/api/drafts",
            {"id": "babel", "title": "B", "paragraphs": PARAGRAPHS, **languages},
        )
        table.refused(404, "chair", "GET", "/api/drafts/babel")
    _draft(table, "babel", translations=["fr"])
    assert table.ok("chair", "GET", "/api/drafts/babel")["languages"]["translations"] == ["fr"]


def test_groups_of_two_drafts_whose_ids_share_a_long_prefix_get_working_drafts_of_their_own(
    server: Any, tokens: Any
) -> None:
    """``{parent}-foc-N`` is cut to 64 characters: two long parent ids can name the same working draft.
    The second group gets the next free id; and a group refused for its mandate creates nothing."""
    table = Table(server, tokens)
    prefix = "x" * 58
    mandate = {"paragraphs": ["p1"], "members": ["Switzerland"], "deadline": in_days(3)}
    for suffix in ("a", "b"):
        _draft(table, f"{prefix}-{suffix}")
    first = table.ok("chair", "POST", f"/api/drafts/{prefix}-a/friends", mandate)["result"]
    second = table.ok("chair", "POST", f"/api/drafts/{prefix}-b/friends", mandate)["result"]
    assert (first["id"], first["draft"]) == ("foc-1", f"{prefix}-foc-1")
    assert (second["id"], second["draft"]) == ("foc-1", f"{prefix}-foc-2")
    assert (
        table.ok("switzerland", "GET", f"/api/drafts/{second['draft']}/friends")["mandate"]["parent"]
        == f"{prefix}-b"
    )
    drafts = {d["id"] for d in table.ok("chair", "GET", "/api/drafts")}
    refused = {**mandate, "members": ["Switzerland", "Switzerland"]}
    table.refused(422, "chair", "POST", f"/api/drafts/{prefix}-b/friends", refused)
    assert {d["id"] for d in table.ok("chair", "GET", "/api/drafts")} == drafts


async def test_a_token_scoped_to_the_plenarys_draft_reaches_its_groups_working_draft(
    server: Any, tokens: Any
) -> None:
    table = Table(server, tokens)
    _draft(table, "scoped")
    group = table.ok(
        "chair",
        "POST",
        "/api/drafts/scoped/friends",
        {"paragraphs": ["p1"], "members": ["Switzerland"], "deadline": in_days(3)},
    )["result"]
    working = group["draft"]
    member = tokens("delegate", user="swiss", delegation="Switzerland", draft="scoped")
    stranger = tokens("delegate", user="other", delegation="Switzerland", draft="elsewhere")
    headers = {"Authorization": f"Bearer {member}"}
    assert table.http.get(f"/api/drafts/{working}", headers=headers).status_code == 200
    assert (
        table.http.get(f"/api/drafts/{working}", headers={"Authorization": f"Bearer {stranger}"}).status_code
        == 403
    )
    async with RoomClient(server.ws, working, token=member) as swiss:
        await swiss.wait_synced()
        _set_text(swiss, 0, "Implementation shall be carried out at all levels.")
        await eventually(
            lambda: table.ok("chair", "GET", f"/api/drafts/{working}")["paragraphs"][0]["text"].startswith(
                "Implementation shall"
            )
        )
        assert swiss.close_code is None
    # Positions there too (the group's members only, as before).
    position = table.http.put(
        f"/api/drafts/{working}/positions/p1", json={"stance": "support"}, headers=headers
    )
    assert position.status_code == 200, position.text
