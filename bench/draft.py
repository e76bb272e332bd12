"""The benchmark draft: where every bench's updates go, the same bytes for Plenary and for the peers.

Plenary opens only existing drafts (``server/sync/roomnames.py``) and its inspector reads where an update
writes (``crdt/procedure/writes.py``), so a bench room is a draft created over REST first, and its updates
type into a paragraph's text, as in the draft schema (``crdt/procedure/draft.py``)::

    paragraphs (root array) ─ map {id: "p1", kind: "operative", text: Y.Text}

The paragraph is not written by the server (whose Yjs client id is random, so updates made in advance
could not name its text) but by :func:`seed_update`: a fixed client id (:data:`SEED_CLIENT`) makes the
same bytes every time, so every update built on it (:func:`paragraph_text`, ``traces.py``) can be cached and
is byte-identical on every server. The peers (no drafts, no schema) get the same seed, sent by the
workload's first client before anything is measured, so they do the same work with the same update sizes.
The draft is created with no paragraphs; a chair's connection adds this one (chairs may add paragraphs).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pycrdt only where documents are made: the subscriber workers import none
    from pycrdt import Doc, Text

#: The seed's Yjs client id: fixed, so that the seed (and every update naming p1's text) is the same bytes.
SEED_CLIENT = 424_242_424
PARAGRAPH = "p1"
PARAGRAPHS = "paragraphs"  # crdt.procedure.draft.PARAGRAPHS (not imported: it would import pycrdt)
STEP1_EMPTY = b"\x00\x00\x01\x00"  # sync step 1 with an empty state vector
STEP2_EMPTY = b"\x00\x01\x02\x00\x00"  # sync step 2 carrying an empty update

_SEED: bytes | None = None


def seed_update() -> bytes:
    """The update that adds paragraph ``p1`` (empty) to an empty draft: the same bytes every call."""
    global _SEED
    if _SEED is None:
        from pycrdt import Array, Doc, Map, Text

        doc = Doc(client_id=SEED_CLIENT)
        with doc.transaction():
            doc.get(PARAGRAPHS, type=Array).append(
                Map({"id": PARAGRAPH, "kind": "operative", "text": Text()})
            )
        _SEED = doc.get_update()
    return _SEED


def paragraph_text(client_id: int | None = None) -> tuple[Doc, Text]:
    """A document holding the seed, and ``p1``'s text in it: type into it to make bench updates."""
    from pycrdt import Array, Doc, Map, Text

    doc = Doc() if client_id is None else Doc(client_id=client_id)
    if doc.client_id == SEED_CLIENT:
        raise ValueError(f"client id {SEED_CLIENT} is the seed's: its updates would clash with it")
    doc.apply_update(seed_update())
    paragraph = doc.get(PARAGRAPHS, type=Array)[0]
    assert isinstance(paragraph, Map)
    text = paragraph["text"]
    assert isinstance(text, Text)
    return doc, text


def sync_update_frame(update: bytes) -> bytes:
    from crdt.wire.protocol import encode_sync_update

    return encode_sync_update(update)


# Plenary: drafts over REST, tokens.


def token(secret: str, user: str, role: str = "delegate") -> str:
    """A token for ``user`` with ``role`` on every draft, signed with the server's ``PLENARY_SECRET``."""
    from server.identity import Participant, TokenIssuer

    participant = Participant(
        id=user, name=user, delegation="Benchmark", group="technical_academic", roles={"*": role}
    )
    return TokenIssuer(secret).issue(participant, timedelta(hours=4))


def create_draft(http: str, draft: str, chair_token: str, timeout: float = 30) -> None:
    """Create ``draft`` (no paragraphs yet: the seed adds ``p1``) as a chair would, over REST."""
    body = json.dumps({"id": draft, "title": draft}).encode()
    request = urllib.request.Request(
        f"{http}/api/drafts",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {chair_token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status != 201:
                raise RuntimeError(f"creating draft {draft!r}: HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        raise RuntimeError(f"creating draft {draft!r}: HTTP {exc.code} {detail}") from exc


async def seed(url: str, timeout: float = 30) -> int:
    """Connect to ``url`` (a room, with its token), write the seed, and wait until the server has it:
    the answer to a sync step 1 sent after it comes after it. Returns the whole document's size (bytes of
    that step 2's update). Works for any y-websocket server."""
    from websockets.asyncio.client import connect

    async with connect(url, compression=None, max_size=None, open_timeout=timeout, close_timeout=2) as ws:
        await ws.send(sync_update_frame(seed_update()))
        await ws.send(STEP1_EMPTY)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            message = await asyncio.wait_for(ws.recv(), max(0.01, remaining))
            if not isinstance(message, bytes) or len(message) < 2 or message[0] != 0:
                continue
            if message[1] == 0:
                await ws.send(STEP2_EMPTY)
            elif message[1] == 1 and len(message) > 6:  # a step 2 that is not empty: the seed is in
                return len(message)
