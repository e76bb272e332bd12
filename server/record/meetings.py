"""The record of meetings: drafting a summary from the record, publishing it (signed like a log head),
rendering a published version (Markdown, HTML, Akoma Ntoso), and a meeting's whole record as a ZIP
(the archive's: statements attributed, every document and file, the summaries, a SHA-256 manifest).

Publishing takes the summary room's text exactly as its log holds it at one entry (replayed from the
log, not read from the live replica, which may already hold an edit not yet durable), logs
``summary.publish`` on the draft with that text, its SHA-256 and the summary room's entry and chain hash,
and returns a receipt of the draft's log signed at that command's entry: one signature vouches for the
text, the summary's own history up to it and everything before in the draft.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import zipfile
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select

from crdt.procedure.commands import refuse
from crdt.procedure.summaries import digest
from crdt.record.exports import DraftView
from crdt.record.exports import meeting_report as report
from crdt.record.exports.meeting_summary import meeting_summary
from crdt.record.history import CommandEntry
from crdt.record.history.proceedings import attributes_a_speaker
from crdt.wire.replica import Replica
from server.identity import Participant
from server.procedure import summaries
from server.procedure.attachments import load
from server.procedure.drafts import get_draft
from server.procedure.meetings import summary_room
from server.record.audit import Head, server_key, sign_head
from server.record.exports import live_view
from server.storage.schema import LOG

if TYPE_CHECKING:
    from server.procedure.deliberation import Deliberations
    from server.storage.database import Database
    from server.sync.rooms import Rooms

FORMATS = ("markdown", "html", "akn", "json")
_MEDIA = {
    "markdown": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "akn": ("application/akn+xml", "akn.xml"),
    "json": ("application/json", "json"),
}


async def view_now(deliberations: Deliberations, rooms: Rooms, database: Database, draft: str) -> DraftView:
    info = await get_draft(database, draft)
    if info is None:
        raise refuse(f"no draft {draft!r}", 404)
    return await live_view(database, deliberations, rooms, info)


async def generate(
    deliberations: Deliberations, rooms: Rooms, database: Database, draft: str, meeting: str
) -> str:
    view = await view_now(deliberations, rooms, database, draft)
    if meeting not in view.deliberation.get("meetings", {}):
        raise refuse(f"no meeting {meeting!r} in this draft", 404)
    return meeting_summary(view, meeting)


async def text_at(database: Database, room: str, seq: int) -> str:
    """The summary room's text just after its entry ``seq``, replayed from the log."""
    replica = Replica()
    try:
        snapshot = await database.latest_snapshot(room, upto=seq)
        after = 0
        if snapshot is not None:
            replica.load(snapshot.state)
            after = snapshot.seq
        async for row in database.updates_after(room, after, upto=seq):
            replica.load(row.payload)
        return str(summaries.summary_text(replica.doc))
    finally:
        replica.close()


async def _entry(database: Database, room: str, seq: int) -> Any:
    query = select(LOG.c.seq, LOG.c.hash, LOG.c.time_us, LOG.c.payload).where(
        LOG.c.room == room, LOG.c.seq == seq
    )
    async with database.engine.connect() as conn:
        return (await conn.execute(query)).first()


async def publish(
    deliberations: Deliberations,
    rooms: Rooms,
    database: Database,
    secret: str,
    draft: str,
    meeting: str,
    participant: Participant,
) -> dict[str, Any]:
    room = summary_room(draft, meeting)
    _, seq = await summaries.read(rooms, draft, meeting)
    if seq == 0:
        raise refuse("the summary is empty: draft it first", 409)
    text = await text_at(database, room, seq)
    entry = await _entry(database, room, seq)
    version = await deliberations.execute(
        draft,
        {
            "type": "summary.publish",
            "meeting": meeting,
            "text": text,
            "sha256": digest(text),
            "room": room,
            "room_seq": seq,
            "room_hash": bytes(entry.hash).hex(),
        },
        participant,
    )
    return {**version, "receipt": await receipt(database, secret, draft, version)}


async def receipt(database: Database, secret: str, draft: str, version: dict[str, Any]) -> dict[str, Any]:
    """A receipt of the draft's log at the entry that published ``version``."""
    query = (
        select(LOG.c.seq, LOG.c.hash, LOG.c.time_us, LOG.c.payload)
        .where(LOG.c.room == draft, LOG.c.kind == "cmd.summary.publish")
        .order_by(LOG.c.seq.desc())
    )
    async with database.engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    for row in rows:
        command = json.loads(row.payload)["command"]
        if command.get("meeting") == version["meeting"] and command.get("sha256") == version["sha256"]:
            head = Head(draft, row.seq, bytes(row.hash), row.time_us)
            return sign_head(server_key(secret), head).to_dict()
    raise refuse("the published version is not in the log", 404)


def render(version: dict[str, Any], meeting: dict[str, Any], draft: str, fmt: str) -> tuple[bytes, str, str]:
    """A published version as (bytes, media type, file name)."""
    if fmt not in FORMATS:
        raise refuse(f"format must be one of {', '.join(FORMATS)}", 422)
    meta = {
        "draft": draft,
        "meeting": meeting["id"],
        "meeting_title": meeting["title"],
        "date": str(meeting.get("starts", ""))[:10],
        "version": version["version"],
        "published": version["published"],
        "by": version["by"],
        "sha256": version["sha256"],
        "kind": meeting["kind"],
    }
    media, extension = _MEDIA[fmt]
    name = f"{draft}-{meeting['id']}-summary-v{version['version']}.{extension}"
    text = version["text"]
    if fmt == "markdown":
        return report.markdown(text, meta).encode(), media, name
    if fmt == "html":
        return report.html_page(text, meta).encode(), media, name
    if fmt == "akn":
        return report.akn(text, meta), media, name
    return json.dumps({**meta, "text": text}, ensure_ascii=False, indent=2).encode(), media, name


#: Bytes of a record archive kept in memory while it is written; beyond, it goes to a temporary file.
ARCHIVE_IN_MEMORY = 8 * 1024 * 1024


async def record_archive(
    deliberations: Deliberations, rooms: Rooms, database: Database, draft: str, meeting_id: str
) -> IO[bytes]:
    """A meeting's whole record as a ZIP, read from the start: attributed, with its documents' contents (the
    archive's; the caller checks the right to read it, and closes the file). Files are read from the
    database one at a time and compressed in a thread into a spooled temporary file: a meeting with many
    large files never sits in memory whole."""
    state = (await deliberations.current(draft)).state
    proceedings = state.proceedings
    meeting = proceedings.meetings.get(meeting_id)
    if meeting is None:
        raise refuse(f"no meeting {meeting_id!r} in this draft", 404)
    floors = {key: floor for key, floor in proceedings.floors.items() if floor["meeting"] == meeting_id}
    statements = [s for s in proceedings.statements.values() if s["meeting"] == meeting_id]
    documents = [
        d
        for d in proceedings.documents.values()
        if d["meeting"] == meeting_id or any(i["meeting"] == meeting_id for i in d["introduced"])
    ]
    # name → its bytes, or the SHA-256 of a stored file (read when its turn comes).
    files: dict[str, bytes | str] = {}
    for document in documents:
        stem = (document["symbol"] or document["id"]).replace("/", "_")
        if document["text"]:
            files[f"documents/{stem}.txt"] = document["text"].encode()
        if document["file"]:
            files[f"documents/{stem}-{document['file']['filename']}"] = str(document["file"]["sha256"])
    for version in proceedings.summaries.get(meeting_id, []):
        for fmt in ("markdown", "akn"):
            data, _, name = render(version, meeting, draft, fmt)
            files[f"summary/{name}"] = data
    record = {
        "draft": draft,
        "meeting": meeting,
        "speaking_lists": floors,
        "statements": statements,
        "documents": documents,
        "summaries": proceedings.summaries.get(meeting_id, []),
    }
    files["record.json"] = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True).encode()
    spool = tempfile.SpooledTemporaryFile(max_size=ARCHIVE_IN_MEMORY)  # noqa: SIM115 - the caller closes it
    try:
        manifest: dict[str, str] = {}
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                content = files[name]
                data = await load(database, draft, content) if isinstance(content, str) else content
                if data is None:
                    continue
                manifest[name] = await asyncio.to_thread(_add, archive, name, data)
            archive.writestr("SHA256SUMS", "".join(f"{sha}  {name}\n" for name, sha in manifest.items()))
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool  # type: ignore[return-value]


def _add(archive: zipfile.ZipFile, name: str, data: bytes) -> str:
    archive.writestr(name, data)
    return digest_bytes(data)


def digest_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


async def informal_record_filter(deliberations: Deliberations, draft: str) -> Callable[[CommandEntry], bool]:
    """For readers without ``read_informal_record``: hides the entries that tell who asked for or had the
    floor, or handed in a text, in an informal meeting."""
    proceedings = (await deliberations.current(draft)).state.proceedings
    informal = {m["id"] for m in proceedings.meetings.values() if m["kind"] == "informal"}
    statements = {s["id"]: s["meeting"] for s in proceedings.statements.values()}

    def hide(entry: CommandEntry) -> bool:
        if not attributes_a_speaker(entry.type):
            return False
        command = entry.command
        meeting = command.get("meeting") or statements.get(str(command.get("statement")))
        return meeting in informal

    return hide
