"""A long draft log written in-process through the server's own write path (``create_draft``, then
``Room.edit`` per keystroke, so every entry is hash-chained and grouped like a client's), before a
server is started on the same database. Keystrokes come in runs by alternating delegates, so the
archive has consecutive edits of one person to group."""

from __future__ import annotations

import asyncio
import threading

from pycrdt import Doc

from crdt.procedure.draft import Paragraph, ParagraphKind, find_text, read_paragraphs

TYPISTS = ("switzerland", "itu")
RUN = 40  # keystrokes per person before the other one types
KEEP = 120  # the paragraph's length: past it, each keystroke also deletes from the start


async def _write(url: str, draft: str, entries: int) -> tuple[int, str]:
    from server.config import Settings
    from server.identity import Participant
    from server.procedure.drafts import create_draft
    from server.storage.database import Database
    from server.storage.log import LogWriter
    from server.sync.rooms import Rooms

    settings = Settings.from_env(database_url=url, unload_grace_seconds=10**9)
    database = Database(url, sqlite_synchronous=settings.sqlite_synchronous)
    await database.migrate()
    writer = LogWriter(database)
    writer.start()
    rooms = Rooms(database, writer, settings)
    chair = Participant(
        id="chair",
        name="Chair",
        delegation="Bureau",
        group="international_organization",
        roles={"*": "chair"},
    )
    try:
        await create_draft(
            database,
            rooms,
            draft_id=draft,
            title="A long negotiation",
            symbol="LONG/1",
            paragraphs=[Paragraph("p1", ParagraphKind.OPERATIVE, "")],
            creator=chair,
        )
        room = await rooms.open(draft)
        for done in range(room.seq, entries):
            who = TYPISTS[(done // RUN) % len(TYPISTS)]
            char = "abcdefghij "[done % 11]

            def keystroke(doc: Doc, char: str = char) -> None:
                text = find_text(doc, "p1")
                assert text is not None
                if len(text) >= KEEP:
                    del text[0:1]
                text.insert(len(text), char)

            room.edit(keystroke, participant=who, role="delegate", connection=f"tab-{who}")
            if done % 5_000 == 0:
                await room.until_logged()
        await room.until_logged()
        return room.seq, read_paragraphs(room.replica.doc)[0].text
    finally:
        await rooms.close()
        await writer.stop()
        await database.close()


def write_long_log(url: str, draft: str, entries: int) -> tuple[int, str]:
    """The head seq and the paragraph's final text. In a thread: the caller may hold Playwright's
    event loop."""
    result: list[tuple[int, str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            result.append(asyncio.run(_write(url, draft, entries)))
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return result[0]
