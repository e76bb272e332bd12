"""The archivist's time travel, served: a draft's log read in batches and folded by ``crdt.record.history``.

What it answers: the text and deliberation state just after any entry (a seq, or an ISO 8601
time: the last entry at or before it), blame, diffs between two entries, readable events, the
story of an amendment, and the state of a read-only Yjs room ``{draft}@{seq}``.

Why caches: the log is the truth, but replaying 260,000 entries for every question would take
seconds. Per draft (:class:`DraftHistory`), built on first use and extended as the log grows
(keyed by the head it was folded to): the text timeline's checkpoints (every 5,000 entries, a
full-state update; a past version is one checkpoint plus at most that many updates), the parsed
commands with periodic copies of the deliberation state, the entries' times (for ISO moments),
which entry wrote which Yjs clocks (blame reads authorship off the items' ids with it, ~23 bytes
per entry), and up to two replaying blame folds (diffs, and blame when the ids cannot be
trusted). Memory is bounded: drafts are evicted least recently used past a checkpoint budget,
and each draft's checkpoints thin themselves out. One :class:`History` per :class:`Database`
(``History.of(database)``), shared by the API and by the rooms that serve past versions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import sys
import weakref
from array import array
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from pycrdt import Doc
from sqlalchemy import func, select

from crdt.errors import PlenaryError
from crdt.offsets import utf16_length
from crdt.procedure.deliberation import Deliberation, snapshot
from crdt.procedure.draft import read_paragraphs
from crdt.procedure.numbering import numbering
from crdt.procedure.revisions import revision_id, revision_number
from crdt.procedure.translations import TranslationTimeline, read_translations, view_of
from crdt.record.history import (
    UPDATE,
    BlameFold,
    CommandEntry,
    CommandTimeline,
    Entry,
    HistoryError,
    Person,
    TextTimeline,
    Writers,
    amendment_story,
    blame_doc,
    describe,
    doc_from,
    fold_people,
    iso_us,
)
from server.config import add_database_option, existing_database_url
from server.exitcodes import EXIT_FAILED, EXIT_OK
from server.storage.database import Database
from server.storage.schema import LOG

__all__ = [
    "BadMoment",
    "DraftHistory",
    "History",
    "NotInHistory",
    "add_history_commands",
    "parse_moment",
    "past_room_refusal",
    "past_room_state",
]

log = logging.getLogger("plenary.history")

#: Rows read per round trip.
BATCH = 5_000
#: A text checkpoint every this many entries. A past text reads and replays at most this many
#: updates (reading a row costs more than applying it): ≈2,000 keeps the worst case near 50 ms
#: on the automerge-paper history, for ≈130 checkpoints (25 MB) in memory.
CHECKPOINT_EVERY = 2_000
#: Checkpoint bytes kept for all drafts together, and per draft.
CHECKPOINT_BUDGET = 256 << 20
DRAFT_CHECKPOINT_BUDGET = 64 << 20
#: Blame folds kept per draft (each holds a document and its spans).
FOLDS_PER_DRAFT = 2
#: Events pages: a summary fold is advanced over at most this many entries rather than rebuilt.
REUSE_GAP = 500
MAX_EVENTS_PAGE = 1_000
#: An entry's seq fits a signed 64-bit column: 18 digits always do.
MAX_SEQ_DIGITS = 18

Progress = Callable[[str, int], None]


class NotInHistory(PlenaryError):
    """No such entry (or draft, or amendment) in the log: a 404."""


class BadMoment(PlenaryError, ValueError):
    """An ``at`` that is neither a seq nor an ISO 8601 time with a timezone: a 422."""


def parse_moment(value: str) -> tuple[str, int]:
    """``("seq", n)`` for digits, ``("time", µs since the epoch)`` for an ISO 8601 time with a timezone."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        if len(value) > MAX_SEQ_DIGITS:
            raise BadMoment(f"{value[:40]!r}: an entry's sequence number has at most {MAX_SEQ_DIGITS} digits")
        return "seq", int(value)
    if "T" in value and " " in value:
        value = value.replace(" ", "+")  # a '+' sent unencoded in a query string arrives as a space
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadMoment(f"{value!r} is neither a sequence number nor an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise BadMoment(f"{value!r} has no timezone: add one (e.g. Z for UTC)")
    try:
        delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+14:00 is before the calendar's first day in UTC
        raise BadMoment(f"{value!r} is outside the calendar (years 1 to 9999 in UTC)") from exc
    return "time", (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _entry(row: Any) -> Entry:
    return Entry(row.seq, row.time_us, row.participant, row.role, row.kind, row.connection, row.payload)


async def read_entries(
    database: Database,
    room: str,
    after: int,
    upto: int | None = None,
    *,
    updates_only: bool = False,
    participant: str | None = None,
    limit: int | None = None,
) -> AsyncIterator[list[Entry]]:
    """A room's entries after ``after`` (up to ``upto``), in order, a batch at a time."""
    left = limit
    while left is None or left > 0:
        size = BATCH if left is None else min(BATCH, left)
        query = select(
            LOG.c.seq,
            LOG.c.time_us,
            LOG.c.participant,
            LOG.c.role,
            LOG.c.kind,
            LOG.c.connection,
            LOG.c.payload,
        ).where(LOG.c.room == room, LOG.c.seq > after)
        if upto is not None:
            query = query.where(LOG.c.seq <= upto)
        if updates_only:
            query = query.where(LOG.c.kind == UPDATE)
        if participant is not None:
            query = query.where(LOG.c.participant == participant)
        async with database.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(LOG.c.seq).limit(size))).all()
        if rows:
            yield [_entry(row) for row in rows]
        if len(rows) < size:
            return
        after = rows[-1].seq
        if left is not None:
            left -= len(rows)


class DraftHistory:
    """What has been folded of one draft's log, up to ``seq``."""

    def __init__(self, draft: str, *, checkpoint_every: int, checkpoint_budget: int) -> None:
        self.draft = draft
        self.lock = asyncio.Lock()
        self.seq = 0
        self.timeline = TextTimeline(every=checkpoint_every, max_bytes=checkpoint_budget)
        self.commands = CommandTimeline()
        #: Which version of each original paragraph each translation translates: folded from the whole
        #: log the first time a question needs it (drafts without translations never pay for it).
        self.translations: TranslationTimeline | None = None
        #: time_us of entry n at index n - 1 (sequence numbers are dense).
        self.times = array("q")
        #: Which entry wrote each Yjs clock: blame reads authorship off the items' ids.
        self.writers = Writers()
        self.folds: list[BlameFold] = []
        #: The last blame: ((seq, the people it named), its paragraphs).
        self.blamed: tuple[tuple[int, Any], list[dict[str, Any]]] | None = None

    def feed(self, entries: list[Entry]) -> None:
        for entry in entries:
            if entry.seq != self.seq + 1:
                raise NotInHistory(f"the log of {self.draft!r} jumps from entry {self.seq} to {entry.seq}")
            self.timeline.feed(entry)
            self.commands.feed(entry)
            self.writers.feed(entry)
            if self.translations is not None:
                self.translations.feed(entry.seq, entry.kind, entry.payload)
            self.times.append(entry.time_us)
            self.seq = entry.seq

    def time_of(self, seq: int) -> int | None:
        return self.times[seq - 1] if 0 < seq <= len(self.times) else None

    def seq_at_time(self, time_us: int) -> int:
        """The last entry written at or before ``time_us`` (0: none)."""
        low, high = 0, len(self.times)
        while low < high:  # times are not decreasing: the writer stamps entries in order
            middle = (low + high) // 2
            if self.times[middle] <= time_us:
                low = middle + 1
            else:
                high = middle
        return low


class History:
    """Time travel over every draft of one database."""

    _instances: ClassVar[weakref.WeakKeyDictionary[Database, History]] = weakref.WeakKeyDictionary()

    def __init__(
        self,
        database: Database,
        *,
        checkpoint_every: int = CHECKPOINT_EVERY,
        checkpoint_budget: int = CHECKPOINT_BUDGET,
    ) -> None:
        self.database = database
        self.checkpoint_every = checkpoint_every
        self.checkpoint_budget = checkpoint_budget
        self._drafts: OrderedDict[str, DraftHistory] = OrderedDict()

    @classmethod
    def of(cls, database: Database) -> History:
        found = cls._instances.get(database)
        if found is None:
            found = cls._instances[database] = cls(database)
        return found

    # Folding the log.

    async def head(self, draft: str) -> int:
        async with self.database.engine.connect() as conn:
            return (await conn.execute(select(func.max(LOG.c.seq)).where(LOG.c.room == draft))).scalar() or 0

    async def sync(self, draft: str, progress: Progress | None = None) -> DraftHistory:
        """The draft's history, folded up to the log's current head."""
        history = self._drafts.get(draft)
        if history is None:
            history = self._drafts[draft] = DraftHistory(
                draft,
                checkpoint_every=self.checkpoint_every,
                checkpoint_budget=min(DRAFT_CHECKPOINT_BUDGET, self.checkpoint_budget),
            )
        self._drafts.move_to_end(draft)
        head = await self.head(draft)
        if head > history.seq:
            async with history.lock:
                async for batch in read_entries(self.database, draft, history.seq, head):
                    await asyncio.to_thread(history.feed, batch)
                    if progress is not None:
                        progress("read", history.seq)
        if history.seq == 0:
            self._drafts.pop(draft, None)
            raise NotInHistory(f"draft {draft!r} has no log")
        self._evict(keep=draft)
        return history

    def _evict(self, keep: str) -> None:
        total = sum(h.timeline.nbytes for h in self._drafts.values())
        for name in list(self._drafts):
            if total <= self.checkpoint_budget:
                break
            if name != keep:
                total -= self._drafts.pop(name).timeline.nbytes

    async def resolve(self, history: DraftHistory, at: str | int | None) -> int:
        """The seq ``at`` names: a seq, an ISO time (the last entry at or before it), a revision
        (``rev2``: the entry it shows), or the head."""
        if at is None or at == "":
            return history.seq
        if isinstance(at, str) and (number := revision_number(at)) is not None:
            found = history.commands.state_at(history.seq).revisions.get(revision_id(number))
            if found is None:
                raise NotInHistory(f"draft {history.draft!r} has no revision {at.strip()!r}")
            return int(found["seq"])
        kind, value = ("seq", at) if isinstance(at, int) else parse_moment(at)
        if kind == "seq":
            if not 0 <= value <= history.seq:
                raise NotInHistory(f"no entry {value}: the log of {history.draft!r} has {history.seq}")
            return value
        seq = history.seq_at_time(value)
        if seq == 0:
            raise NotInHistory(f"the log of {history.draft!r} has no entry at or before {iso_us(value)}")
        return seq

    async def _doc_at(self, history: DraftHistory, seq: int) -> Doc:
        """The text document just after entry ``seq`` (the caller holds the draft's lock)."""
        base, state = history.timeline.nearest(seq)
        query = (
            select(LOG.c.payload)
            .where(LOG.c.room == history.draft, LOG.c.seq > base, LOG.c.seq <= seq, LOG.c.kind == UPDATE)
            .order_by(LOG.c.seq)
        )
        async with self.database.engine.connect() as conn:
            payloads = (await conn.execute(query)).scalars().all()
        return await asyncio.to_thread(doc_from, state, payloads)

    async def _advance(
        self, history: DraftHistory, fold: BlameFold, seq: int, progress: Progress | None = None
    ) -> None:
        async for batch in read_entries(self.database, history.draft, fold.seq, seq, updates_only=True):
            await asyncio.to_thread(_feed_all, fold, batch)
            if progress is not None:
                progress("blame", fold.seq)
        fold.seq = max(fold.seq, seq)

    def _fold_for(self, history: DraftHistory, seq: int) -> BlameFold:
        """The kept fold furthest along without passing ``seq``, or a new one."""
        usable = [fold for fold in history.folds if fold.seq <= seq]
        if usable:
            fold = max(usable, key=lambda f: f.seq)
            history.folds.remove(fold)
        else:
            fold = BlameFold()
        history.folds.append(fold)
        del history.folds[:-FOLDS_PER_DRAFT]
        return fold

    def _people(self, history: DraftHistory, extra: Mapping[str, Person] | None) -> dict[str, Person]:
        return fold_people(history.commands.people, extra)

    # The questions.

    async def text_at(self, draft: str, at: str | int | None = None) -> dict[str, Any]:
        """The paragraphs and the deliberation state exactly as just after an entry."""
        history = await self.sync(draft)
        async with history.lock:
            seq = await self.resolve(history, at)
            doc = await self._doc_at(history, seq)
            state = history.commands.state_at(seq)
            paragraphs = read_paragraphs(doc)
            ids, languages = [p.id for p in paragraphs], state.languages["translations"]
            translated = {}
            if languages:
                timeline = await self._translations(history)
                translated = view_of(read_translations(doc), timeline.statuses(ids, languages, seq))
        numbers = numbering(paragraphs, state.numbering)
        time_us = history.time_of(seq)
        return {
            "draft": draft,
            "seq": seq,
            "time": iso_us(time_us) if time_us is not None else None,
            "head": history.seq,
            "languages": dict(state.languages),
            "paragraphs": [
                {
                    "id": p.id,
                    "number": numbers.number(p.id),
                    "reference": numbers.reference(p.id),
                    "kind": str(p.kind),
                    "text": p.text,
                    "length_utf16": utf16_length(p.text),
                    "translations": translated.get(p.id, {}),
                }
                for p in paragraphs
            ],
            "deliberation": snapshot(state, [p.id for p in paragraphs]),
        }

    async def parts_at(self, draft: str, seq: int) -> tuple[Doc, Deliberation, dict[str, Any] | None]:
        """The text document, the deliberation state and the translations' statuses (None without
        translation languages) just after entry ``seq``: from the checkpoints, folded in threads."""
        history = await self.sync(draft)
        async with history.lock:
            seq = await self.resolve(history, seq)
            doc = await self._doc_at(history, seq)
            state = history.commands.state_at(seq)
            languages = state.languages["translations"]
            statuses = None
            if languages:
                timeline = await self._translations(history)
                ids = [p.id for p in read_paragraphs(doc)]
                statuses = view_of(read_translations(doc), timeline.statuses(ids, languages, seq))
        return doc, state, statuses

    async def _translations(self, history: DraftHistory) -> TranslationTimeline:
        """The draft's translation timeline, folded up to ``history.seq`` (the caller holds its lock)."""
        if history.translations is None:
            timeline = TranslationTimeline()
            async for batch in read_entries(self.database, history.draft, 0, history.seq):
                await asyncio.to_thread(_feed_timeline, timeline, batch)
            history.translations = timeline
        return history.translations

    async def state_at(self, draft: str, seq: int) -> bytes:
        """The text document's full state just after entry ``seq`` (a Yjs v1 update)."""
        history = await self.sync(draft)
        async with history.lock:
            seq = await self.resolve(history, seq)
            doc = await self._doc_at(history, seq)
        return doc.get_update()

    async def blame(
        self,
        draft: str,
        at: str | int | None = None,
        people: Mapping[str, Person] | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Who wrote every character of the text as it was just after an entry."""
        history = await self.sync(draft, progress)
        async with history.lock:
            seq = await self.resolve(history, at)
            known = self._people(history, people)
            # Spans carry who each participant is: the cache is good for this moment and these people.
            key = (seq, tuple(sorted(known.items())))
            if history.blamed is not None and history.blamed[0] == key:
                paragraphs = history.blamed[1]
            else:
                found = await self._blame_by_ids(history, seq, known)
                if found is None:
                    fold = self._fold_for(history, seq)
                    await self._advance(history, fold, seq, progress)
                    found = await asyncio.to_thread(fold.blame, known)
                paragraphs = found
                history.blamed = (key, paragraphs)
        time_us = history.time_of(seq)
        return {
            "draft": draft,
            "seq": seq,
            "time": iso_us(time_us) if time_us is not None else None,
            "unit": "utf16",
            "paragraphs": paragraphs,
        }

    async def _blame_by_ids(
        self, history: DraftHistory, seq: int, people: Mapping[str, Person]
    ) -> list[dict[str, Any]] | None:
        """Blame read off the items' ids in the state at ``seq`` (the caller holds the draft's lock);
        None when the state or the log cannot be read that way, and the fold must replay."""
        if history.writers.irregular is not None:
            return None
        if seq == history.seq:
            doc = history.timeline.doc
        else:
            base, state = history.timeline.nearest(seq)
            query = (
                select(LOG.c.payload)
                .where(LOG.c.room == history.draft, LOG.c.seq > base, LOG.c.seq <= seq, LOG.c.kind == UPDATE)
                .order_by(LOG.c.seq)
            )
            async with self.database.engine.connect() as conn:
                payloads = (await conn.execute(query)).scalars().all()
            doc = await asyncio.to_thread(doc_from, state, payloads, skip_gc=True)
        try:
            return await asyncio.to_thread(blame_doc, doc, history.writers, people)
        except HistoryError as exc:
            log.info("blame of %s at %d replays the log: %s", history.draft, seq, exc)
            return None

    async def diff(
        self,
        draft: str,
        since: str | int | None,
        until: str | int | None = None,
        people: Mapping[str, Person] | None = None,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """What changed in each paragraph between two entries, and by whom."""
        history = await self.sync(draft, progress)
        async with history.lock:
            start = await self.resolve(history, since if since not in (None, "") else 0)
            end = await self.resolve(history, until)
            if end < start:
                raise BadMoment(f"'to' ({end}) is before 'from' ({start})")
            fold = self._fold_for(history, start)
            await self._advance(history, fold, start, progress)
            fold.mark()
            await self._advance(history, fold, end, progress)
            changes = await asyncio.to_thread(fold.diff, self._people(history, people))
        return {
            "draft": draft,
            "from": start,
            "to": end,
            "from_time": _iso(history.time_of(start)),
            "to_time": _iso(history.time_of(end)),
            "unit": "utf16",
            "paragraphs": changes,
        }

    async def events(
        self,
        draft: str,
        after: int = 0,
        limit: int = 100,
        participant: str | None = None,
        hide: Callable[[CommandEntry], bool] | None = None,
        decisions: bool = False,
        search: str | None = None,
        delegation: str | None = None,
    ) -> dict[str, Any]:
        """Readable events after ``after`` (only ``participant``'s, if given; none of the commands
        ``hide`` says the caller may not see), ``limit`` at most. ``decisions`` keeps only the
        procedure's commands that applied; ``search`` only events whose summary contains it (any
        case). Filters apply within the page of ``limit`` entries read, so a page may hold fewer
        events: go on with ``next_after``. ``delegation`` keeps the entries of participants the log
        knows to be of that delegation."""
        needle = search.casefold() if search else None
        limit = max(1, min(limit, MAX_EVENTS_PAGE))
        history = await self.sync(draft)
        page: list[Entry] = []
        async for batch in read_entries(
            self.database, draft, max(0, after), history.seq, participant=participant, limit=limit
        ):
            page.extend(batch)
        events = []
        async with history.lock:
            # Logged commands the fold skips (they cannot apply): shown as such, never as decisions.
            skipped = dict(history.commands.refused)
            fold: BlameFold | None = None
            for entry in page:
                change = None
                command = None
                if entry.kind == UPDATE:
                    if fold is None or fold.seq >= entry.seq or entry.seq - 1 - fold.seq > REUSE_GAP:
                        doc = await self._doc_at(history, entry.seq - 1)
                        fold = await asyncio.to_thread(BlameFold, doc.get_update(), entry.seq - 1)
                    else:
                        await self._advance(history, fold, entry.seq - 1)
                    change = await asyncio.to_thread(fold.feed, entry)
                elif entry.kind.startswith("cmd."):
                    command = _command(entry)
                    if command is not None and hide is not None and hide(command):
                        continue
                record = {
                    "seq": entry.seq,
                    "time": iso_us(entry.time_us),
                    "participant": entry.participant,
                    "role": entry.role,
                    "kind": entry.kind,
                    "connection": entry.connection,
                    "summary": describe(entry, command=command, change=change),
                }
                if entry.amendment:
                    record["amendment"] = entry.amendment
                why = skipped.get(entry.seq)
                if why is not None:
                    record["skipped"] = why
                    record["summary"] = f"skipped (it cannot apply: {why}): {record['summary']}"
                if decisions and (command is None or why is not None):
                    continue
                if needle is not None and needle not in str(record["summary"]).casefold():
                    continue
                if delegation is not None:
                    person = history.commands.people.get(entry.participant or "")
                    if person is None or person.delegation != delegation:
                        continue
                events.append(record)
        return {
            "draft": draft,
            "after": after,
            "head": history.seq,
            "events": events,
            "next_after": page[-1].seq if len(page) == limit and page[-1].seq < history.seq else None,
        }

    async def amendment(
        self, draft: str, amendment_id: str, people: Mapping[str, Person] | None = None
    ) -> dict[str, Any]:
        """The story of one amendment, and the exact text change its adoption made."""
        history = await self.sync(draft)
        async with history.lock:
            final = history.commands.state_at(history.seq).amendments.get(amendment_id)
            if final is None:
                raise NotInHistory(f"no amendment {amendment_id!r} in draft {draft!r}")
            anchored = await self._by_connection(draft, f"anchor/{amendment_id}")
            adoption = await self._by_connection(draft, f"amendment/{amendment_id}")
            before = after = None
            if adoption is not None:
                paragraph = final.get("paragraph")
                before = _paragraph_text(await self._doc_at(history, adoption.seq - 1), paragraph)
                after = _paragraph_text(await self._doc_at(history, adoption.seq), paragraph)
            story = amendment_story(
                amendment_id,
                history.commands.entries,
                final=final,
                anchored=anchored,
                adoption=adoption,
                paragraph_before=before,
                paragraph_after=after,
                people=self._people(history, people),
            )
        return {"draft": draft, **story}

    async def _by_connection(self, draft: str, connection: str) -> Entry | None:
        query = (
            select(
                LOG.c.seq,
                LOG.c.time_us,
                LOG.c.participant,
                LOG.c.role,
                LOG.c.kind,
                LOG.c.connection,
                LOG.c.payload,
            )
            .where(LOG.c.room == draft, LOG.c.connection == connection)
            .order_by(LOG.c.seq)
            .limit(1)
        )
        async with self.database.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _entry(row)


def _feed_timeline(timeline: TranslationTimeline, entries: list[Entry]) -> None:
    for entry in entries:
        timeline.feed(entry.seq, entry.kind, entry.payload)


def _feed_all(fold: BlameFold, entries: list[Entry]) -> None:
    for entry in entries:
        fold.feed(entry)


def _command(entry: Entry) -> CommandEntry | None:
    from crdt.procedure.commands import Actor

    try:
        record = json.loads(entry.payload)
        return CommandEntry(entry.seq, entry.time_us, dict(record["command"]), Actor(**record["actor"]))
    except (ValueError, KeyError, TypeError):
        return None


def _paragraph_text(doc: Doc, paragraph: Any) -> str | None:
    for p in read_paragraphs(doc):
        if p.id == paragraph:
            return p.text
    return None


def _iso(time_us: int | None) -> str | None:
    return None if time_us is None else iso_us(time_us)


# --- past versions as read-only Yjs rooms: {draft}@{seq} ------------------------------------------

_PAST_ROOM = re.compile(r"^(?P<draft>[^/@]+)@(?:(?P<seq>[0-9]{1,18})|(?P<rev>rev[1-9][0-9]{0,5}))$")


async def past_room_refusal(database: Database, room: str, participant: Any) -> tuple[int, str] | None:
    """Why a connection to a past version ``{draft}@{seq}`` or a revision ``{draft}@rev2`` is refused
    (close code, reason), or None.

    Past versions are the archive's: they need READ_HISTORY (chair, secretariat, archivist). A revision
    is a document issued to the table: READ is enough."""
    from server.identity import Action
    from server.sync.closecodes import CloseCode
    from server.sync.roomnames import draft_of

    if "@" not in room:
        return None
    draft = draft_of(room)
    match = _PAST_ROOM.fullmatch(room)
    if match is not None and match["rev"]:
        try:
            history = await History.of(database).sync(draft)
            await History.of(database).resolve(history, match["rev"])
        except NotInHistory as exc:
            return CloseCode.PROTOCOL, str(exc)
        return None
    if not participant.may(Action.READ_HISTORY, draft):
        return CloseCode.FORBIDDEN, "past versions need the chair, secretariat or archivist role"
    if match is None:
        return CloseCode.PROTOCOL, "a past version is named {draft}@{seq}, a revision {draft}@rev1"
    head = await History.of(database).head(draft)
    if int(match["seq"]) > head:
        return CloseCode.PROTOCOL, f"no entry {match['seq']}: the log of {draft!r} has {head}"
    return None


async def past_room_state(database: Database, room: str) -> tuple[bytes, int]:
    """The state of ``{draft}@{seq}`` or ``{draft}@rev2`` (a Yjs update of the text just after the
    entry), and that entry's seq."""
    match = _PAST_ROOM.fullmatch(room)
    if match is None:
        raise NotInHistory(f"{room!r} is not a past version ({{draft}}@{{seq}} or {{draft}}@rev1)")
    history = History.of(database)
    if match["rev"]:
        seq = await history.resolve(await history.sync(match["draft"]), match["rev"])
    else:
        seq = int(match["seq"])
    if seq == 0:
        return Doc().get_update(), 0
    return await history.state_at(match["draft"], seq), seq


# --- the command line: `plenary history | blame | events` ----------------------------------------


def add_history_commands(commands: Any) -> None:
    """Add ``history``, ``blame`` and ``events`` to the ``plenary`` command's subparsers."""

    def common(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("draft", metavar="DRAFT")
        add_database_option(parser)
        parser.add_argument("--json", action="store_true", help="print JSON (as the HTTP API returns it)")

    history = commands.add_parser(
        "history",
        help="the text and deliberation state at a past moment",
        description="Print the draft's paragraphs (and a summary of its deliberation state) exactly as "
        "they were just after an entry of its log. Reads the database directly.",
    )
    common(history)
    history.add_argument("--at", help="a sequence number or an ISO 8601 time with a timezone (default: now)")
    history.set_defaults(run=run_history)

    blame = commands.add_parser(
        "blame",
        help="who wrote each part of the text",
        description="Print each paragraph with who wrote each span (participant, delegation, role, entry, "
        "time, amendment). Offsets are UTF-16 code units. Reads the database directly.",
    )
    common(blame)
    blame.add_argument("--at", help="a sequence number or an ISO 8601 time (default: now)")
    blame.set_defaults(run=run_blame)

    events = commands.add_parser(
        "events",
        help="the draft's log as readable events",
        description="Print the draft's log entries after --after, one line each. "
        "Reads the database directly.",
    )
    common(events)
    events.add_argument("--after", type=int, default=0, help="entries after this sequence number (default 0)")
    events.add_argument(
        "--limit", type=int, default=100, help=f"at most this many (default 100, max {MAX_EVENTS_PAGE})"
    )
    events.set_defaults(run=run_events)


def _progress() -> Progress:
    reported: dict[str, int] = {}

    def report(stage: str, seq: int) -> None:
        step = seq // 50_000
        if step > reported.get(stage, 0):
            reported[stage] = step
            verb = "read" if stage == "read" else "attributed"
            print(f"plenary: {seq:,} entries {verb}", file=sys.stderr, flush=True)

    return report


def _run(args: argparse.Namespace, question: Callable[[History], Any]) -> int:

    url = existing_database_url(args.database_url)

    async def go() -> Any:
        database = Database(url)
        try:
            return await question(History(database))
        finally:
            await database.close()

    try:
        result = asyncio.run(go())
    except NotInHistory as exc:
        print(f"plenary: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        args.render(result)
    return EXIT_OK


def run_history(args: argparse.Namespace) -> int:
    args.render = _print_text
    return _run(args, lambda h: _synced(h, args.draft, lambda: h.text_at(args.draft, args.at)))


def run_blame(args: argparse.Namespace) -> int:
    args.render = _print_blame
    return _run(args, lambda h: h.blame(args.draft, args.at, progress=_progress()))


def run_events(args: argparse.Namespace) -> int:
    args.render = _print_events
    return _run(args, lambda h: _synced(h, args.draft, lambda: h.events(args.draft, args.after, args.limit)))


async def _synced(history: History, draft: str, then: Callable[[], Any]) -> Any:
    await history.sync(draft, _progress())
    return await then()


def _print_text(result: dict[str, Any]) -> None:
    print(f"{result['draft']} just after entry {result['seq']} of {result['head']} ({result['time']})")
    for p in result["paragraphs"]:
        label = p["number"] or f"[{p['kind']}]"
        print(f"\n{p['id']:<8} {label}\n  {p['text']}")
    state = result["deliberation"]
    amendments = state["amendments"].values()
    by_state: dict[str, int] = {}
    for amendment in amendments:
        by_state[amendment["state"]] = by_state.get(amendment["state"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(by_state.items())) or "none"
    print(
        f"\nrule {state['process']['rule']}, text {'locked' if state['process']['locked'] else 'open'}; "
        f"amendments: {summary}; annotations: {len(state['annotations'])}"
    )


def _print_blame(result: dict[str, Any]) -> None:
    print(
        f"{result['draft']} just after entry {result['seq']} ({result['time']}); offsets in UTF-16 code units"
    )
    for p in result["paragraphs"]:
        print(f"\n{p['id']} [{p['kind']}]")
        for span in p["spans"]:
            who = span["delegation"] or span["participant"]
            via = f" via {span['amendment']}" if span["amendment"] else ""
            text = span["text"] if len(span["text"]) <= 60 else span["text"][:59] + "…"
            print(
                f"  {span['start']:>6}-{span['end']:<6} {who} ({span['role']}) #{span['seq']} "
                f"{span['time']}{via}: {text!r}"
            )


def _print_events(result: dict[str, Any]) -> None:
    for event in result["events"]:
        who = f"{event['participant']} ({event['role']})" if event["participant"] else "-"
        print(f"{event['seq']:>8}  {event['time']}  {who:<28} {event['summary']}")
    if result["next_after"] is not None:
        print(f"… more: --after {result['next_after']}", file=sys.stderr)
