"""Protected text over real sockets: an unmodified JS y-websocket client that types into agreed text is
refused before the server applies anything; the server and the other clients never see the change; the
refused client starts again from a fresh document and shows the paragraph as it is. Editing modes and
closed comment periods take the same road."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pycrdt import Array

from client.session import RoomClient
from tests.conftest import eventually
from tests.test_deliberation import Table, create


def texts(table: Table) -> list[str]:
    return [p["text"] for p in table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"]]


async def test_js_client_typing_into_agreed_text_is_refused_and_resyncs(server, tokens, js_peers):
    table = Table(server, tokens)
    create(table)
    table.ok("chair", "PUT", "/api/drafts/tunis/paragraphs/p3/status", {"status": "agreed"})
    before = texts(table)
    editor = await js_peers(server.ws, "tunis", table.tokens["ccbi"])
    other = await js_peers(server.ws, "tunis", table.tokens["csc"])
    await editor.call("synced")
    await other.call("synced")

    await editor.call("insertInParagraph", index=2, at=0, text="Not ")

    async def refused():
        status = await editor.call("status")
        return status if status["closeEvents"] else None

    status = await eventually(refused)
    assert status["closeEvents"][0]["code"] == 4403
    assert "p3" in status["closeEvents"][0]["reason"] and "agreed" in status["closeEvents"][0]["reason"]
    assert any("p3" in message and "agreed" in message for message in status["denied"])
    # The editing client still shows its refused change: nothing reached the server or the others.
    assert (await editor.call("paragraphs"))["paragraphs"][2]["text"] == "Not " + before[2]
    assert texts(table) == before
    assert [p["text"] for p in (await other.call("paragraphs"))["paragraphs"]] == before
    assert (await other.call("status"))["wsconnected"]

    # The application starts again from a fresh document: the paragraph as the server holds it.
    await editor.call("resync")
    assert [p["text"] for p in (await editor.call("paragraphs"))["paragraphs"]] == before
    # Unprotected text stays open to the same client.
    await editor.call("insertInParagraph", index=1, at=0, text="Each ")
    await other.call("waitParagraph", index=1, text="Each " + before[1])
    assert texts(table)[1] == "Each " + before[1]


async def refused_edit(server, token: str, index: int, text: str = "x") -> list[str] | None:
    """Type into paragraph ``index``: None when accepted, the refusal reasons when closed with 4403."""
    async with RoomClient(server.ws, "tunis", token=token, reconnect=False) as client:
        await client.wait_synced()
        paragraph = client.doc.get("paragraphs", type=Array)[index]
        paragraph["text"].insert(0, text)
        try:
            await eventually(lambda: client.closed.is_set(), timeout=1.5)
        except AssertionError:
            return None
        assert client.close_code == 4403, client.close_code
        return client.denied


async def test_editing_modes_and_closed_periods_over_the_websocket(server, tokens):
    table = Table(server, tokens)
    create(table)
    pen = tokens("delegate", user="facilitator", delegation="Kenya", group="government")
    table.ok(
        "chair", "PUT", "/api/drafts/tunis/editing", {"mode": "pen_holder", "pen_holders": ["facilitator"]}
    )
    assert any("pen-holders" in r for r in await refused_edit(server, table.tokens["ccbi"], 1))
    assert await refused_edit(server, pen, 1) is None
    assert await refused_edit(server, table.tokens["secretariat"], 1) is None
    # One paragraph open to everyone again, one for amendments only.
    table.ok("chair", "PUT", "/api/drafts/tunis/paragraphs/p2/editing", {"mode": "open"})
    table.ok("chair", "PUT", "/api/drafts/tunis/paragraphs/p5/editing", {"mode": "amendments_only"})
    assert await refused_edit(server, table.tokens["ccbi"], 1) is None
    assert any("amendments only" in r for r in await refused_edit(server, pen, 4))
    table.ok("chair", "PUT", "/api/drafts/tunis/editing", {"mode": "open"})
    table.ok("chair", "PUT", "/api/drafts/tunis/paragraphs/p5/editing", {"mode": None})
    assert await refused_edit(server, table.tokens["ccbi"], 4) is None
    # Only the chair sets modes.
    assert table("secretariat", "PUT", "/api/drafts/tunis/editing", {"mode": "open"}).status_code == 403

    # A comment period on p5 that has closed closes p5 to edits too; p2 stays open.
    deadline = (datetime.now(UTC) + timedelta(seconds=60)).isoformat()
    period = table.ok(
        "chair", "POST", "/api/drafts/tunis/periods", {"deadline": deadline, "paragraphs": ["p5"]}
    )
    table.ok("chair", "POST", f"/api/drafts/tunis/periods/{period['result']['id']}/close")
    assert any("closed" in r and "p5" in r for r in await refused_edit(server, table.tokens["ccbi"], 4))
    assert await refused_edit(server, table.tokens["ccbi"], 1) is None
