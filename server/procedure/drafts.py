"""Drafts: creating one (its record, its first text, its first log entries) and finding them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from crdt.procedure.draft import Paragraph, write_paragraphs
from server.identity import Participant
from server.storage.database import Database, now_us
from server.storage.schema import DRAFTS
from server.sync.roomnames import draft_id_problem
from server.sync.rooms import Rooms

MAX_PARAGRAPHS = 5_000


class DraftExists(Exception):
    pass


@dataclass(frozen=True, slots=True)
class DraftInfo:
    id: str
    title: str
    symbol: str
    created_us: int
    created_by: str


def check_draft_id(draft_id: str) -> None:
    problem = draft_id_problem(draft_id)
    if problem is not None:
        raise ValueError(f"{draft_id!r} is not a draft id: {problem} (e.g. 'tunis-2005')")


async def create_draft(
    database: Database,
    rooms: Rooms,
    *,
    draft_id: str,
    title: str,
    symbol: str,
    paragraphs: list[Paragraph],
    creator: Participant,
) -> DraftInfo:
    check_draft_id(draft_id)
    if len(paragraphs) > MAX_PARAGRAPHS:
        raise ValueError(f"at most {MAX_PARAGRAPHS} paragraphs")
    if len({p.id for p in paragraphs}) != len(paragraphs):
        raise ValueError("paragraph ids must be unique")
    info = DraftInfo(draft_id, title, symbol, now_us(), creator.id)
    if (await database.head(draft_id)).seq > 0:
        # Someone already wrote into a room of that name: a draft must start from an empty record.
        raise DraftExists(draft_id)
    try:
        async with database.engine.begin() as conn:
            await conn.execute(
                insert(DRAFTS).values(
                    id=info.id, title=title, symbol=symbol, created_us=info.created_us, created_by=creator.id
                )
            )
    except IntegrityError as exc:
        raise DraftExists(draft_id) from exc
    room = await rooms.open(draft_id)
    role = str(creator.role_for(draft_id) or "")
    command = {"title": title, "symbol": symbol, "paragraphs": [p.id for p in paragraphs]}
    room.append(
        json.dumps(command, sort_keys=True).encode(),
        kind="draft.created",
        connection="api",
        participant=creator.id,
        role=role,
    )
    room.edit(
        lambda doc: write_paragraphs(doc, paragraphs), participant=creator.id, role=role, connection="api"
    )
    await room.until_logged()
    return info


async def get_draft(database: Database, draft_id: str) -> DraftInfo | None:
    row = await database.draft_row(draft_id)  # asked on every join: the fast read on SQLite
    return None if row is None else DraftInfo(*row)


async def list_drafts(database: Database) -> list[DraftInfo]:
    async with database.engine.connect() as conn:
        rows = (await conn.execute(select(DRAFTS).order_by(DRAFTS.c.created_us))).all()
    return [DraftInfo(r.id, r.title, r.symbol, r.created_us, r.created_by) for r in rows]
