"""Rate limits are a participant's, across their connections: reconnecting does not refill them
(server/sync/ratelimit.py, server/api/throttle.py)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from crdt.wire.awareness import AwarenessEntry, encode_awareness_update
from crdt.wire.protocol import encode_awareness
from server.sync.budgets import WINDOW_SECONDS
from tests.test_cluster import cluster, pg_url  # noqa: F401 - fixtures

QUERY_AWARENESS = b"\x03"


async def send_then_close_code(url: str, messages: list[bytes]) -> int | None:
    """Send ``messages`` on a fresh connection; the close code the server gave (None: still open)."""
    async with connect(url, max_size=None) as ws:
        try:
            for message in messages:
                await ws.send(message)
            # Anything the server says in answer, until it has nothing more to say or closes.
            while True:
                await asyncio.wait_for(ws.recv(), timeout=0.5)
        except ConnectionClosed:
            return ws.close_code
        except TimeoutError:
            return None


async def test_reconnecting_does_not_multiply_the_message_budget(server_factory, tokens):
    server = server_factory(plenary_message_burst="100", plenary_max_messages_per_second="1")
    server.create_draft("limits")
    same_person = tokens(user="eager")
    url = f"{server.ws}/limits?token={same_person}"
    codes = [await send_then_close_code(url, [QUERY_AWARENESS] * 40) for _ in range(4)]
    # 40 + 40 fit in the burst of 100; the third connection runs out, and the fourth at once.
    assert codes[:2] == [None, None]
    assert codes[2:] == [4529, 4529]
    # Somebody else has a budget of their own.
    other = f"{server.ws}/limits?token={tokens(user='calm')}"
    assert await send_then_close_code(other, [QUERY_AWARENESS] * 40) is None
    assert 'plenary_rate_limited_total{kind="messages"} 2.0' in server.metrics()


async def test_presence_updates_have_a_budget_per_participant(server_factory, tokens):
    server = server_factory(plenary_awareness_burst="30", plenary_max_awareness_per_second="1")
    server.create_draft("limits")
    url = f"{server.ws}/limits?token={tokens(user='fidgety')}"
    clock = 0

    def moves(count: int) -> list[bytes]:
        nonlocal clock
        frames = []
        for _ in range(count):
            clock += 1
            state = json.dumps({"cursor": clock})
            frames.append(encode_awareness(encode_awareness_update([AwarenessEntry(7, clock, state)])))
        return frames

    assert await send_then_close_code(url, moves(20)) is None
    assert await send_then_close_code(url, moves(20)) == 4529
    assert 'plenary_rate_limited_total{kind="awareness"} 1.0' in server.metrics()


def test_rest_commands_have_a_budget_per_participant(server_factory, tokens):
    server = server_factory(plenary_command_burst="5", plenary_max_commands_per_second="0.01")
    eager = {"Authorization": f"Bearer {tokens('chair', user='eager-chair')}"}
    calm = {"Authorization": f"Bearer {tokens('chair', user='calm-chair')}"}
    # Each on a new connection: the budget is the person's, not the connection's.
    statuses = [httpx.post(f"{server.http}/api/drafts", json={}, headers=eager).status_code for _ in range(6)]
    assert 429 not in statuses[:5]
    assert statuses[5] == 429
    refused = httpx.post(f"{server.http}/api/drafts", json={}, headers=eager)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "100"
    assert "too many commands" in refused.json()["detail"]
    # Reading is not limited, and somebody else may still act.
    assert httpx.get(f"{server.http}/api/drafts", headers=eager).status_code == 200
    assert httpx.post(f"{server.http}/api/drafts", json={}, headers=calm).status_code != 429


async def test_the_budget_holds_across_processes(cluster, tokens):  # noqa: F811 - the fixture
    one, two = cluster.start(2, plenary_message_burst="100", plenary_max_messages_per_second="1")
    one.create_draft("spread")
    same_person = tokens(user="everywhere")
    # The processes add up spending per 10 s window: start early in one.
    await asyncio.sleep((WINDOW_SECONDS - time.time() % WINDOW_SECONDS) % WINDOW_SECONDS)
    # 70 on one process, 70 on the other: each within its own burst, over the participant's.
    assert await send_then_close_code(f"{one.ws}/spread?token={same_person}", [QUERY_AWARENESS] * 70) is None
    assert await send_then_close_code(f"{two.ws}/spread?token={same_person}", [QUERY_AWARENESS] * 70) is None
    await asyncio.sleep(1.5)  # both processes have reported what was spent
    assert await send_then_close_code(f"{one.ws}/spread?token={same_person}", [QUERY_AWARENESS]) == 4529
    assert await send_then_close_code(f"{two.ws}/spread?token={same_person}", [QUERY_AWARENESS]) == 4529
    # Somebody else, on either process, is not affected.
    other = tokens(user="elsewhere")
    assert await send_then_close_code(f"{two.ws}/spread?token={other}", [QUERY_AWARENESS] * 10) is None


def test_an_allowance_in_use_is_never_forgotten():
    """Found in review: the table forgot a participant's allowance 60 s after their connection opened, while
    the connection still spent from it, so a second connection (or a REST command) got a fresh, full budget."""
    from server.config import Settings
    from server.sync.ratelimit import Allowances

    now = [0.0]
    allowances = Allowances(Settings(message_burst=5, max_messages_per_second=0.001), clock=lambda: now[0])
    held = allowances.hold("eager")
    assert all(held.take("messages") for _ in range(5)) and not held.take("messages")
    now[0] += 3600
    allowances.forget_idle()
    assert allowances.of("eager") is held  # still open: the same, spent budget
    allowances.release(held)
    now[0] += 3600
    allowances.forget_idle()
    assert allowances.of("eager") is not held  # closed and idle: forgotten, as before
