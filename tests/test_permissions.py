"""Identity and permissions over real websockets and HTTP: every cell of the
role table, every kind of bad token, tokens for another draft, revocation."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import timedelta

import httpx
import jwt
import pytest
from pycrdt import Array
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from client.session import RoomClient
from crdt.wire.protocol import PermissionDenied, SyncStep1, parse_message
from server.identity import Participant, TokenIssuer
from tests.conftest import TEST_SECRET, ServerProcess, eventually
from tests.test_deliberation import Table, create

ROLES = ["chair", "secretariat", "delegate", "observer", "archivist"]

# The table of issue 4, cell by cell: (action, roles allowed).
HTTP_CELLS = {
    "annotate": {"chair", "secretariat", "delegate", "observer"},
    "propose": {"delegate"},
    "position": {"delegate"},
    "manage_process": {"chair", "secretariat"},
    "decide": {"chair"},
}
EDIT_ALLOWED = {"chair", "secretariat", "delegate"}


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the table's many cells, each on a draft of its own (a server start costs a
    second of CPU; revocation and the list of drafts, which are not per draft, get their own server)."""
    workdir = tmp_path_factory.mktemp("permissions")
    server = ServerProcess(f"sqlite:///{workdir / 'plenary.sqlite3'}", workdir)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def draft() -> str:
    return f"tunis-{secrets.token_hex(4)}"


def token_for(tokens, role: str, **kwargs) -> str:
    return tokens(role, user=f"{role}-user", delegation=f"{role.title()} delegation", **kwargs)


async def close_of(ws) -> tuple[int | None, str, list[str]]:
    denied = []
    try:
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                message = parse_message(frame)
                if isinstance(message, PermissionDenied):
                    denied.append(message.reason)
    except ConnectionClosed:
        pass
    return ws.close_code, ws.close_reason or "", denied


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_reads_and_only_editors_edit(shared, tokens, role, draft):
    table = Table(shared, tokens)
    create(table, draft)
    async with RoomClient(shared.ws, draft, token=token_for(tokens, role), reconnect=False) as client:
        await client.wait_synced()
        paragraphs = client.doc.get("paragraphs", type=Array)
        assert len(paragraphs) == 7  # read: everyone
        paragraphs[1]["text"].insert(0, "Edited: ")
        if role in EDIT_ALLOWED:
            await eventually(
                lambda: table.ok("chair", "GET", f"/api/drafts/{draft}")["paragraphs"][1]["text"].startswith(
                    "Edited"
                )
            )
        else:
            await eventually(lambda: client.closed.is_set())
            assert client.close_code == 4403
            assert any("read-only" in reason for reason in client.denied)
    if role not in EDIT_ALLOWED:
        assert not table.ok("chair", "GET", f"/api/drafts/{draft}")["paragraphs"][1]["text"].startswith(
            "Edited"
        )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(HTTP_CELLS))
async def test_http_permission_cells(shared, tokens, role, action, draft):
    table = Table(shared, tokens)
    create(table, draft)
    table.tokens[role] = token_for(tokens, role)
    amendment = table.ok(
        "ccbi",
        "POST",
        f"/api/drafts/{draft}/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "deletion"},
    )
    aid = amendment["result"]["id"]
    requests = {
        "annotate": ("POST", f"/api/drafts/{draft}/annotations", {"paragraph": "p2", "body": "A comment"}),
        "propose": (
            "POST",
            f"/api/drafts/{draft}/amendments",
            {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Each"},
        ),
        "position": ("PUT", f"/api/drafts/{draft}/positions/{aid}", {"stance": "support"}),
        "manage_process": ("PUT", f"/api/drafts/{draft}/paragraphs/p2/status", {"status": "bracketed"}),
        "decide": ("POST", f"/api/drafts/{draft}/amendments/{aid}/reject", {"reason": "Not now"}),
    }
    method, path, body = requests[action]
    response = table(role, method, path, body)
    if role in HTTP_CELLS[action]:
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", ROLES)
async def test_everyone_reads_the_deliberation_state(shared, tokens, role, draft):
    table = Table(shared, tokens)
    create(table, draft)
    table.tokens[role] = token_for(tokens, role)
    assert table(role, "GET", f"/api/drafts/{draft}/deliberation").status_code == 200
    assert table(role, "GET", f"/api/drafts/{draft}").status_code == 200


def forged(secret: str = TEST_SECRET, **changes) -> str:
    participant = Participant(id="x", name="X", delegation="X", group="government", roles={"*": "chair"})
    return TokenIssuer(secret).issue(participant, timedelta(hours=1)) if not changes else ""


BAD_TOKENS = {
    "missing": None,
    "garbage": "not-a-token",
    "wrong secret": forged("another-secret-that-is-long-enough-0123456789"),
    "tampered payload": "TAMPER",
    "expired": "EXPIRED",
    "unsigned (alg none)": jwt.encode({"sub": "x", "roles": {"*": "chair"}}, key=None, algorithm="none"),
}


def bad_token(kind: str) -> str | None:
    token = BAD_TOKENS[kind]
    issuer = TokenIssuer(TEST_SECRET)
    participant = Participant(id="x", name="X", delegation="X", group="government", roles={"*": "chair"})
    if token == "TAMPER":
        header, payload, signature = issuer.issue(participant, timedelta(hours=1)).split(".")
        claims = jwt.utils.base64url_decode(payload + "==").replace(b'"chair"', b'"CHAIR"')
        return ".".join([header, jwt.utils.base64url_encode(claims).decode(), signature])
    if token == "EXPIRED":
        from datetime import UTC, datetime

        return issuer.issue(participant, timedelta(minutes=1), now=datetime.now(UTC) - timedelta(hours=2))
    return token


@pytest.mark.parametrize("kind", list(BAD_TOKENS))
async def test_bad_tokens_are_refused(shared, kind):
    token = bad_token(kind)
    url = f"{shared.ws}/tunis" + (f"?token={token}" if token else "")
    async with connect(url) as ws:
        code, reason, denied = await close_of(ws)
    assert code == 4401
    assert denied and denied[0] == reason
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{shared.http}/api/drafts", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_for_one_draft_does_not_open_another(server, tokens):
    table = Table(server, tokens)
    create(table, "draft-a")
    create(table, "draft-b")
    only_a = tokens("delegate", draft="draft-a")
    async with RoomClient(server.ws, "draft-a", token=only_a) as ok:
        await ok.wait_synced()
    async with connect(f"{server.ws}/draft-b?token={only_a}") as ws:
        code, reason, _ = await close_of(ws)
    assert (code, reason) == (4403, "no access to this draft")
    response = httpx.get(f"{server.http}/api/drafts/draft-b", headers={"Authorization": f"Bearer {only_a}"})
    assert response.status_code == 403
    listed = httpx.get(f"{server.http}/api/drafts", headers={"Authorization": f"Bearer {only_a}"}).json()
    assert [d["id"] for d in listed] == ["draft-a"]


async def test_revoked_participant_is_disconnected_within_a_second(server, tokens):
    table = Table(server, tokens)
    create(table)
    async with (
        RoomClient(server.ws, "tunis", token=table.tokens["csc"], reconnect=False) as csc,
        RoomClient(server.ws, "tunis/deliberation", token=table.tokens["csc"], reconnect=False) as csc_watch,
        RoomClient(server.ws, "tunis", token=table.tokens["ccbi"], reconnect=False) as other,
    ):
        await csc.wait_synced()
        await csc_watch.wait_synced()
        await other.wait_synced()
        # A delegate may not revoke; the chair may.
        assert table("ccbi", "DELETE", "/api/drafts/tunis/participants/csc").status_code == 403
        started = asyncio.get_running_loop().time()
        result = table.ok("chair", "DELETE", "/api/drafts/tunis/participants/csc")
        assert result["connections_closed"] == 2
        await eventually(lambda: csc.closed.is_set() and csc_watch.closed.is_set(), timeout=1)
        assert asyncio.get_running_loop().time() - started < 1
        assert csc.close_code == 4403 and "revoked" in csc.close_reason
        assert not other.closed.is_set()
    async with connect(f"{server.ws}/tunis?token={table.tokens['csc']}") as ws:
        code, reason, _ = await close_of(ws)
    assert code == 4403 and "revoked" in reason
    assert (
        table("csc", "POST", "/api/drafts/tunis/annotations", {"paragraph": "p2", "body": "x"}).status_code
        == 403
    )
    table.ok("chair", "POST", "/api/drafts/tunis/participants/csc/reinstate")
    async with RoomClient(server.ws, "tunis", token=table.tokens["csc"]) as back:
        await back.wait_synced()


async def test_observer_js_client_is_read_only_and_converged(server, tokens, js_peers):
    table = Table(server, tokens)
    create(table)
    observer = await js_peers(server.ws, "tunis", table.tokens["observer"])
    delegate = await js_peers(server.ws, "tunis", table.tokens["switzerland"])
    await observer.call("synced")
    await delegate.call("synced")
    await delegate.call("insertInParagraph", index=1, at=0, text="Préambule 🕊️ ")
    expected = (await delegate.call("paragraphs"))["paragraphs"][1]["text"]
    await observer.call("waitParagraph", index=1, text=expected)
    status = await observer.call("status")
    assert status["closeEvents"] == [] and status["denied"] == []


async def test_presence_cannot_be_spoofed(server, tokens, js_peers):
    table = Table(server, tokens)
    create(table)
    spoofer = await js_peers(server.ws, "tunis", table.tokens["ccbi"])
    watcher = await js_peers(server.ws, "tunis", table.tokens["csc"])
    await spoofer.call("synced")
    await watcher.call("synced")
    client_id = (
        await spoofer.call("awareness", state={"user": {"name": "Chair", "role": "chair"}, "cursor": 5})
    )["clientID"]

    async def seen():
        # The JS client sets its fields one by one: wait for the last one.
        state = (await watcher.call("states"))["states"].get(str(client_id)) or {}
        return state if "cursor" in state else None

    state = await eventually(seen)
    assert state["user"]["name"] == "Delegate of CCBI"
    assert state["user"]["role"] == "delegate"
    assert state["user"]["delegation"] == "CCBI"
    assert state["cursor"] == 5


async def test_browsers_from_other_origins_are_refused(server_factory, tokens):
    from websockets.exceptions import InvalidStatus

    server = server_factory(plenary_allowed_origins="https://plenary.example.org")
    server.create_draft("tunis")
    token = tokens()
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{server.ws}/tunis?token={token}", origin="https://evil.example.com"):
            pass
    assert refused.value.response.status_code == 403
    async with RoomClient(server.ws, "tunis", token=token) as no_origin:  # not a browser: no Origin header
        await no_origin.wait_synced()
    async with connect(f"{server.ws}/tunis?token={token}", origin="https://plenary.example.org") as allowed:
        assert isinstance(parse_message(await allowed.recv()), SyncStep1)  # served like any client
