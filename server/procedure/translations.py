"""Translations, live: which paragraphs each language version has stale, published as they change.

For every draft with translation languages (``languages.set``), this process keeps a
:class:`~crdt.procedure.translations.TranslationTimeline` folded from the draft's whole log (read once,
then fed every entry the text room takes, in log order, through ``Rooms.on_entry``), and publishes each
translation's status into the read-only ``{draft}/deliberation`` document, map ``translations``::

    translations[paragraph][language] = {status: current | stale | untranslated, basis, stale_since, via, by}

Only what changes is written, and only by the process an entry came in through (the others hold the same
fold). It also gives every paragraph an empty ``Y.Text`` per translation language, when the languages are
set and whenever paragraphs are added: created once by the server, never by two translators at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pycrdt import Doc, Map

from crdt.procedure.draft import read_paragraphs
from crdt.procedure.translations import (
    UPDATE,
    TranslationTimeline,
    add_translation_texts,
    missing_translations,
    read_translations,
    view_of,
)

if TYPE_CHECKING:
    from server.procedure.deliberation import Deliberations
    from server.storage.database import Database
    from server.sync.rooms import Room, Rooms

log = logging.getLogger("plenary.translations")

MAP = "translations"
#: Statuses are published at most this often per draft (seconds): a translator types many keystrokes.
PUBLISH_EVERY = 0.1
#: What of a status is published (the original's version changes with every keystroke; it is not).
PUBLISHED = ("status", "basis", "stale_since", "via", "by")


class DraftTranslations:
    def __init__(self, draft: str) -> None:
        self.draft = draft
        self.timeline = TranslationTimeline()
        self.lock = asyncio.Lock()
        self.dirty: set[str] = set()
        self.everything = True
        self.needs_texts = False
        self.task: asyncio.Task[None] | None = None


class Translations:
    """The translation timelines of the drafts this process serves that have translation languages."""

    def __init__(self, database: Database, rooms: Rooms, deliberations: Deliberations) -> None:
        self.database = database
        self.rooms = rooms
        self.deliberations = deliberations
        self._drafts: dict[str, DraftTranslations] = {}
        self._loading: dict[str, asyncio.Future[DraftTranslations]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Drafts whose timeline is being loaded because an edit came in here (see ``_adopt``).
        self._adopting: set[str] = set()

    async def start(self) -> None:
        """Fold, in the background, the timelines of the drafts that have translation languages (after
        the deliberations have loaded), then bring their published statuses up to date."""
        from server.procedure.drafts import list_drafts

        for info in await list_drafts(self.database):
            if (await self.deliberations.get(info.id)).state.languages["translations"]:
                self._later(self._warm(info.id))

    async def stop(self) -> None:
        tasks = [*self._tasks, *(d.task for d in self._drafts.values() if d.task is not None)]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _warm(self, draft: str) -> None:
        self._schedule(await self.get(draft))

    async def get(self, draft: str) -> DraftTranslations:
        """The draft's timeline, folded from its whole log on first use, up to the log's head."""
        found = self._drafts.get(draft)
        if found is None:
            pending = self._loading.get(draft)
            if pending is not None:
                return await asyncio.shield(pending)
            future: asyncio.Future[DraftTranslations] = asyncio.get_running_loop().create_future()
            self._loading[draft] = future
            try:
                found = DraftTranslations(draft)
                await self._catch_up(found)
                self._drafts[draft] = found
                future.set_result(found)
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()
                raise
            finally:
                del self._loading[draft]
        return found

    async def current(self, draft: str) -> DraftTranslations:
        found = await self.get(draft)
        await self._catch_up(found)
        return found

    async def _catch_up(self, found: DraftTranslations) -> None:
        async with found.lock:
            batch: list[tuple[int, str, bytes]] = []
            async for row in self.database.entries_after(found.draft, found.timeline.seq):
                batch.append((row.seq, row.kind, row.payload))
                if len(batch) >= 2_000:
                    await asyncio.to_thread(self._feed_all, found, batch)
                    batch = []
            if batch:
                await asyncio.to_thread(self._feed_all, found, batch)

    @staticmethod
    def _feed_all(found: DraftTranslations, batch: list[tuple[int, str, bytes]]) -> None:
        for seq, kind, payload in batch:
            fed = found.timeline.feed(seq, kind, payload)
            found.dirty |= fed.paragraphs

    # Every entry of every text room, in log order (Rooms.on_entry).

    def take_entry(self, room: Room, seq: int, kind: str, payload: bytes, time_us: int, local: bool) -> None:
        if "/" in room.name or "@" in room.name:
            return
        draft = room.name
        found = self._drafts.get(draft)
        if kind == "cmd.languages.set":
            # Every process folds the timeline from now on (its own edits change statuses too);
            # the one the command ran on adds the texts and publishes.
            self._later(self._languages_set(draft, local))
        if found is None:
            if local and kind == UPDATE:
                # The languages were set before this process loaded the draft: an edit that came in
                # here may add paragraphs, which this process (and no other) gives their texts.
                self._adopt(draft)
            return
        timeline = found.timeline
        if seq == timeline.seq + 1 and not found.lock.locked():
            fed = timeline.feed(seq, kind, payload)
            found.dirty |= fed.paragraphs
            if fed.structure and local:
                found.needs_texts = True
        elif seq > timeline.seq:
            self._later(self._catch_up(found))  # entries this process missed: read them from the log
            if local and kind == UPDATE:
                found.needs_texts = True  # not read here: it may have added paragraphs
        if local:
            self._schedule(found)

    def _adopt(self, draft: str) -> None:
        deliberation = self.deliberations.loaded(draft)
        if draft in self._adopting or (
            deliberation is not None and not deliberation.state.languages["translations"]
        ):
            return
        self._adopting.add(draft)
        self._later(self._adopt_now(draft))

    async def _adopt_now(self, draft: str) -> None:
        try:
            if (await self.deliberations.current(draft)).state.languages["translations"]:
                found = await self.current(draft)
                found.needs_texts = True
                self._schedule(found)
        finally:
            self._adopting.discard(draft)

    def _later(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("translations: %s", task.exception())

    async def _languages_set(self, draft: str, local: bool) -> None:
        found = await self.current(draft)
        if local:
            found.needs_texts = True
            found.everything = True
            self._schedule(found)

    def _schedule(self, found: DraftTranslations) -> None:
        if found.task is None or found.task.done():
            found.task = asyncio.get_running_loop().create_task(self._publish_soon(found))

    async def _publish_soon(self, found: DraftTranslations) -> None:
        await asyncio.sleep(PUBLISH_EVERY)
        try:
            await self.publish(found)
        except Exception:
            log.exception("publishing the translations of %r failed", found.draft)

    # Writing: translation texts for new paragraphs, statuses into the deliberation document.

    async def publish(self, found: DraftTranslations) -> None:
        draft = found.draft
        languages = found.timeline.languages["translations"]
        if not languages:
            return
        text_room = await self.rooms.open(draft)
        if found.needs_texts:
            found.needs_texts = False
            if missing_translations(text_room.replica.doc, languages):
                text_room.edit(
                    lambda doc: add_translation_texts(doc, languages),
                    participant="plenary",
                    role="system",
                    connection="translations",
                )
                await text_room.until_logged()
        await self._catch_up(found)
        doc = text_room.replica.doc
        async with found.lock:
            everything = found.everything
            paragraphs = [p.id for p in read_paragraphs(doc)]
            wanted = paragraphs if everything else [p for p in paragraphs if p in found.dirty]
            found.dirty.clear()
            found.everything = False
            statuses = status_view(doc, found.timeline, languages, wanted)
        room = await self.rooms.open(f"{draft}/deliberation")
        published = room.replica.doc.get(MAP, type=Map)
        changes: list[tuple[str, dict[str, Any] | None]] = []
        for pid, by_language in statuses.items():
            value = {lang: {k: status.get(k) for k in PUBLISHED} for lang, status in by_language.items()}
            if _plain(published.get(pid)) != value:
                changes.append((pid, value))
        if everything:
            changes += [(pid, None) for pid in list(published) if pid not in statuses]
        if not changes:
            return

        def write(document: Doc) -> None:
            target = document.get(MAP, type=Map)
            for pid, value in changes:
                if value is None:
                    del target[pid]
                else:
                    target[pid] = value

        room.edit(write, participant="plenary", role="system", connection="translations")
        await room.until_logged()


def status_view(
    doc: Doc, timeline: TranslationTimeline, languages: Iterable[str], paragraphs: Iterable[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """paragraph → language → {text, status, basis, …} as the document and the timeline say now."""
    return view_of(read_translations(doc), timeline.statuses(paragraphs, languages))


def _plain(value: Any) -> Any:
    # Numbers come back from Yjs maps as floats: compare like with like.
    if isinstance(value, Map):
        value = value.to_py()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
