"""Exports: a :class:`~crdt.record.exports.DraftView` of a live draft or of a database, rendered in one
format; and the ``plenary export`` command.

Formats (``crdt/record/exports/``): ``markdown`` and ``html`` (views ``compilation`` and ``clean``),
``akn`` (a ZIP of Akoma Ntoso documents: the draft and each amendment), ``annotations`` (W3C Web Annotation
JSON-LD) and ``summary`` (a meeting summary in plain text).

The server builds the view from its loaded rooms under the draft's deliberation lock, so the text and the
deliberation state are from the same moment and already in the log. ``plenary export`` reads the database
directly and writes nothing to it: the latest snapshot and the log after it for the text, the draft's
deliberation commands folded again for the state, so it can run beside a server (SQLite in WAL mode and
PostgreSQL allow concurrent readers).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crdt.procedure.commands import CommandRefused
from crdt.procedure.deliberation import Deliberation, replay_command
from crdt.procedure.draft import read_paragraphs
from crdt.procedure.revisions import revision_id, revision_number
from crdt.procedure.translations import TranslationTimeline
from crdt.record.exports import (
    FORMATS,
    VIEWS,
    DraftView,
    akn,
    annotations,
    compilation,
    draft_view,
    sidebyside,
    summary,
)
from crdt.times import iso_seconds, iso_us
from crdt.wire.replica import Replica
from server.config import add_database_option, existing_database_url
from server.exitcodes import EXIT_FAILED, EXIT_OK
from server.procedure.deliberation import COMMAND_PREFIX
from server.procedure.drafts import DraftInfo, get_draft
from server.procedure.translations import status_view
from server.record.revisions import revision_seq
from server.storage.database import Database, now_us

if TYPE_CHECKING:
    from server.procedure.deliberation import Deliberations
    from server.procedure.translations import Translations
    from server.sync.rooms import Rooms

__all__ = ["Rendered", "add_commands", "live_view", "read_view", "render"]

#: Where the annotation IRIs point when no base URL is given (the default ``plenary serve`` address).
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True, slots=True)
class Rendered:
    data: bytes
    media_type: str
    filename: str


def render(
    view: DraftView,
    fmt: str,
    kind: str = "compilation",
    base_url: str = DEFAULT_BASE_URL,
    language: str | None = None,
    languages: list[str] | None = None,
) -> Rendered:
    """``view`` in format ``fmt`` (and view ``kind`` for markdown and html), in ``language`` (default the
    original; Akoma Ntoso carries every language), or two ``languages`` side by side. ValueError if
    unknown."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if kind not in VIEWS:
        raise ValueError(f"unknown view {kind!r}: one of {', '.join(VIEWS)}")
    stem = view.id
    if kind == "side_by_side":
        if fmt not in ("markdown", "html"):
            raise ValueError("the side-by-side view is for markdown and html")
        pair = languages or [view.original_language, *view.translation_languages[:1]]
        stem = f"{stem}-{'-'.join(pair)}"
        if fmt == "markdown":
            text = sidebyside.markdown(view, pair)
            return Rendered(text.encode(), "text/markdown; charset=utf-8", f"{stem}.md")
        return Rendered(sidebyside.html(view, pair).encode(), "text/html; charset=utf-8", f"{stem}.html")
    if language and fmt in ("markdown", "html", "summary") and language != view.original_language:
        view = view.in_language(language)
        stem = f"{stem}-{language}"
    if fmt == "markdown":
        text = compilation.markdown(view, kind)
        return Rendered(text.encode(), "text/markdown; charset=utf-8", f"{stem}-{kind}.md")
    if fmt == "html":
        text = compilation.html(view, kind)
        return Rendered(text.encode(), "text/html; charset=utf-8", f"{stem}-{kind}.html")
    if fmt == "akn":
        return Rendered(akn.archive(view), "application/zip", f"{stem}-akn.zip")
    if fmt == "annotations":
        text = annotations.export(view, base_url)
        media = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
        return Rendered(text.encode(), media, f"{stem}-annotations.jsonld")
    return Rendered(summary.summary(view).encode(), "text/plain; charset=utf-8", f"{stem}-summary.txt")


def _now() -> str:
    return iso_seconds(now_us())


# The live draft.


async def live_view(
    database: Database,
    deliberations: Deliberations,
    rooms: Rooms,
    info: DraftInfo,
    translations: Translations | None = None,
) -> DraftView:
    """The draft as this server holds it now (only what is already in the log)."""
    deliberation = await deliberations.current(info.id)
    room = await rooms.current(info.id)
    statuses = None
    if translations is not None and deliberation.state.languages["translations"]:
        found = await translations.current(info.id)
        statuses = status_view(
            room.replica.doc,
            found.timeline,
            deliberation.state.languages["translations"],
            [p.id for p in read_paragraphs(room.replica.doc)],
        )
    async with deliberation.lock:  # commands hold it until their text edits are durable
        await room.until_logged()
        view = draft_view(
            room.replica.doc,
            deliberation.state,
            draft_id=info.id,
            title=info.title,
            symbol=info.symbol,
            created=iso_seconds(info.created_us),
            generated=_now(),
            translations=statuses,
        )
        seq = room.seq
    return await _at_entry(database, view, info.id, seq)


async def _at_entry(database: Database, view: DraftView, draft: str, seq: int) -> DraftView:
    """``view`` stating the entry it shows: its number, time and hash (read from the log)."""
    from sqlalchemy import select

    from server.storage.schema import LOG

    async with database.engine.connect() as conn:
        row = (
            await conn.execute(select(LOG.c.time_us, LOG.c.hash).where(LOG.c.room == draft, LOG.c.seq == seq))
        ).first()
    if row is None:
        return replace(view, seq=seq)
    return replace(view, seq=seq, seq_time=iso_us(row.time_us), seq_hash=bytes(row.hash).hex())


# The database, read only.


async def resolve_at(database: Database, draft: str, at: str) -> int:
    """The entry ``at`` names: a sequence number, a revision (``rev2``), or the last entry at or
    before an ISO 8601 time."""
    from sqlalchemy import func, select

    from server.record.history import History, parse_moment
    from server.storage.schema import LOG

    if revision_number(at) is not None:
        return await revision_seq(database, draft, at, History.of(database))
    kind, value = parse_moment(at)
    async with database.engine.connect() as conn:
        if kind == "seq":
            head = (await conn.execute(select(func.max(LOG.c.seq)).where(LOG.c.room == draft))).scalar() or 0
            if not 1 <= value <= head:
                raise ValueError(f"no entry {value}: the log of {draft!r} has {head}")
            return value
        found = (
            await conn.execute(select(func.max(LOG.c.seq)).where(LOG.c.room == draft, LOG.c.time_us <= value))
        ).scalar()
    if not found:
        raise ValueError(f"the log of {draft!r} has no entry at or before {at}")
    return int(found)


async def read_view(database: Database, draft: str, at: int | None = None) -> DraftView | None:
    """The draft as its log says — now, or just after entry ``at``: the text from the latest usable
    snapshot and the updates after it, the deliberation state folded from its commands (as the
    server folds them on load). ``None`` if no draft."""
    info = await get_draft(database, draft)
    if info is None:
        return None
    if at is None:
        at = (await database.head(draft)).seq
    limit = at
    replica = Replica()
    try:
        snapshot = await database.latest_snapshot(draft)
        after = 0
        if snapshot is not None and snapshot.seq <= limit:
            replica.load(snapshot.state)
            after = snapshot.seq
        async for row in database.updates_after(draft, after):
            if row.seq > limit:
                break
            replica.load(row.payload)
        state = Deliberation()
        async for row in database.commands(draft, COMMAND_PREFIX):
            if row.seq > limit:
                break
            try:
                replay_command(state, row.payload, row.time_us, iso_seconds(row.time_us))
            except CommandRefused as exc:  # as on load: the log is the truth, keep going
                print(
                    f"plenary: entry {row.seq} of {draft!r} was refused on replay: {exc.detail}",
                    file=sys.stderr,
                )
            except ValueError as exc:
                print(f"plenary: entry {row.seq} of {draft!r}: {exc}", file=sys.stderr)
        statuses = None
        if state.languages["translations"]:
            timeline = TranslationTimeline()
            async for row in database.entries_after(draft, 0):
                if row.seq > limit:
                    break
                timeline.feed(row.seq, row.kind, row.payload)
            ids = [p.id for p in read_paragraphs(replica.doc)]
            statuses = status_view(replica.doc, timeline, state.languages["translations"], ids)
        view = draft_view(
            replica.doc,
            state,
            draft_id=info.id,
            title=info.title,
            symbol=info.symbol,
            created=iso_seconds(info.created_us),
            generated=_now(),
            translations=statuses,
        )
    finally:
        replica.close()
    return await _at_entry(database, view, draft, at)


#: Views of issued revisions kept per database (a revision never changes: its entry is fixed).
REVISION_VIEWS_KEPT = 16
_revision_views: weakref.WeakKeyDictionary[Database, OrderedDict[tuple[str, str], DraftView]] = (
    weakref.WeakKeyDictionary()
)
_revision_views_pending: weakref.WeakKeyDictionary[
    Database, dict[tuple[str, str], asyncio.Task[DraftView]]
] = weakref.WeakKeyDictionary()


async def read_revision_view(database: Database, draft: str, name: str) -> DraftView:
    """A revision as its log says: the draft just after the entry it names, under the revision's symbol and
    dated that entry (so exporting a revision twice gives the same bytes). ValueError if there is none.

    Built once per (draft, revision) and kept (everyone at the table may export it, at once): from
    the history's checkpoints, the folding and the view in threads, off the event loop."""
    from server.record.history import BadMoment, History, NotInHistory
    from server.record.revisions import find_revision

    kept = _revision_views.setdefault(database, OrderedDict())
    number = revision_number(name)
    if number is not None and (draft, revision_id(number)) in kept:
        # An issued revision never changes (the log only grows): no need to look it up again.
        kept.move_to_end((draft, revision_id(number)))
        return kept[(draft, revision_id(number))]
    history = History.of(database)
    try:
        record = await find_revision(history, draft, name)
    except (NotInHistory, BadMoment) as exc:
        raise ValueError(str(exc)) from exc
    key = (draft, str(record["id"]))
    pending = _revision_views_pending.setdefault(database, {})
    task = pending.get(key)
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        task = pending[key] = asyncio.ensure_future(_build_revision_view(database, history, draft, record))
    try:
        view = await asyncio.shield(task)
    finally:
        if task.done() and pending.get(key) is task:
            del pending[key]
    kept[key] = view
    while len(kept) > REVISION_VIEWS_KEPT:
        kept.popitem(last=False)
    return view


async def _build_revision_view(
    database: Database, history: Any, draft: str, record: dict[str, Any]
) -> DraftView:
    info = await get_draft(database, draft)
    if info is None:
        raise ValueError(f"no draft {draft!r}")
    doc, state, statuses = await history.parts_at(draft, int(record["seq"]))
    view = await asyncio.to_thread(
        draft_view,
        doc,
        state,
        draft_id=info.id,
        title=info.title,
        symbol=record["symbol"],
        created=iso_seconds(info.created_us),
        generated=_now(),
        translations=statuses,
    )
    view = await _at_entry(database, view, draft, int(record["seq"]))
    return replace(view, symbol=record["symbol"], generated=(record.get("time") or view.generated)[:19] + "Z")


# The command.


def add_commands(commands: Any) -> None:
    """Add ``export DRAFT --format F [--view V] [--out FILE]`` to the ``plenary`` command's subparsers."""
    export = commands.add_parser(
        "export",
        help="export a draft (compilation/clean text, Akoma Ntoso, annotations, summary)",
        description="Export a draft from the database (read only; works beside a running server). "
        "Formats: markdown and html (--view compilation: every paragraph, contested text in brackets "
        "with the delegations behind it; --view clean: agreed paragraphs only), akn (a ZIP of Akoma "
        "Ntoso 3.0 documents: the draft and each amendment), annotations (W3C Web Annotation JSON-LD), "
        "summary (a meeting summary). Exit status 0: written; 1: no such draft; 2: usage error.",
    )
    export.add_argument("draft", metavar="DRAFT", help="the draft id")
    export.add_argument("--format", "-f", required=True, choices=FORMATS, dest="format")
    export.add_argument("--view", choices=VIEWS, default="compilation", help="for markdown and html")
    export.add_argument("--language", help="the language version (default: the original; akn has them all)")
    export.add_argument(
        "--languages", help="with --view side_by_side: the two languages, e.g. en,ar (default: the first two)"
    )
    export.add_argument("--out", "-o", metavar="FILE", help="write to FILE (default: standard output)")
    export.add_argument(
        "--at",
        metavar="SEQ|TIME|REV",
        help="export the draft as it was just after this entry (or ISO 8601 time), or a revision (rev2)",
    )
    export.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help=f"the server's public URL, for the IRIs in annotations (default {DEFAULT_BASE_URL})",
    )
    add_database_option(export)
    export.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:

    url = existing_database_url(args.database_url)

    async def go() -> DraftView | None:
        database = Database(url)
        try:
            if args.at is not None and revision_number(args.at) is not None:
                return await read_revision_view(database, args.draft, args.at)
            at = None if args.at is None else await resolve_at(database, args.draft, args.at)
            return await read_view(database, args.draft, at)
        finally:
            await database.close()

    try:
        view = asyncio.run(go())
    except ValueError:
        raise
    except Exception as exc:  # an unreadable database is the user's to fix, not a traceback
        raise ValueError(f"cannot read the database: {str(exc)[:300]}") from exc
    if view is None:
        print(f"plenary: no draft {args.draft!r}", file=sys.stderr)
        return EXIT_FAILED
    pair = [code.strip() for code in args.languages.split(",")] if args.languages else None
    rendered = render(view, args.format, args.view, args.base_url, args.language, pair)
    if args.out:
        Path(args.out).write_bytes(rendered.data)
    else:
        if args.format == "akn" and sys.stdout.isatty():
            raise ValueError("akn is a ZIP archive: write it with --out FILE or redirect standard output")
        sys.stdout.buffer.write(rendered.data)
        sys.stdout.buffer.flush()
    return EXIT_OK
