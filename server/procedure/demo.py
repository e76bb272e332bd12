"""The demo draft: follow-up principles in the style of the 2005 WSIS consultations."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from crdt.procedure.draft import parse_plain_text
from server.identity import demo_participants
from server.procedure.drafts import create_draft, get_draft

if TYPE_CHECKING:
    from server.storage.database import Database
    from server.sync.rooms import Rooms

log = logging.getLogger("plenary.demo")

DEMO_ID = "wsis-follow-up"
DEMO_TITLE = "Implementation and follow-up: principles (draft)"
DEMO_SYMBOL = "WSIS-II/PC-3/DT/1"
DEMO_TEXT = """\
# Chapter one: principles of implementation

Any implementation mechanism must have a multi-stakeholder character, which is an essential characteristic \
of the WSIS process.

Implementation must be carried out at the national level, as well as at the regional and international \
levels. Member States should press ahead with the creation of national dialogues for implementation.

WSIS implementation and follow-up must be closely aligned with other global frameworks, notably the \
achievement of the goals expressed in the Millennium Declaration.

# Chapter four: the way ahead

A distinction should be made between follow-up of the WSIS process and implementation of the WSIS \
action lines.

There should be an implementation mechanism, decentralised and based around multi-stakeholder teams.

- a stocktaking implementation document;
- a stakeholder commitments document, with criteria to ensure that commitments are real.

An overall coordinating body, which could comprise several organisations, should avoid duplication \
between the stakeholder teams.
"""


async def create_demo_draft(database: Database, rooms: Rooms) -> None:
    if await get_draft(database, DEMO_ID) is not None:
        return
    chair = demo_participants()[0]
    await create_draft(
        database,
        rooms,
        draft_id=DEMO_ID,
        title=DEMO_TITLE,
        symbol=DEMO_SYMBOL,
        paragraphs=parse_plain_text(DEMO_TEXT),
        creator=chair,
    )
    log.info("created the demo draft %r", DEMO_ID)
