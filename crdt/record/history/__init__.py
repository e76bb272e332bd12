"""Time travel over a draft's log: the text, the deliberation state, blame and diffs at any entry.

Pure (no I/O): ``server/record/history.py`` reads the log of room ``{draft}`` and hands its entries in,
in ``seq`` order. The log is the truth and everything here is a fold of it:

- **the text** at entry *n* is the ``update`` payloads up to *n* replayed into a fresh pycrdt
  ``Doc``. :class:`TextTimeline` keeps a full-state checkpoint every few thousand entries, so a
  past version costs one checkpoint load plus at most that many updates, however long the log;
- **the deliberation state** at *n* is the ``cmd.*`` entries up to *n* folded through
  :meth:`crdt.procedure.deliberation.Deliberation.apply` with the logged actor and time, exactly as the
  server rebuilds it on load (:class:`CommandTimeline`);
- **blame** is read off item ids (:func:`blame_doc`, ``authorship.py``): every Yjs item's id is
  (client, clock), and :class:`Writers` (fed with the log, ~23 bytes per entry) knows which entry
  wrote which clock range of which client. The document state at the moment asked for (kept with
  ``skip_gc=True``, so deleted items keep their place) is decoded once, its items are put in
  document order by integrating them as Yjs does (``items.py``), and each paragraph's live items
  are cut by the entries that wrote them. The whole automerge-paper trace: ≈0.4 s of CPU, where
  replaying it takes ≈30 s. Positions are UTF-16 code units like every public Plenary API;
  formatting (anchors) changes no attribution. When the ids cannot be trusted (a log that rewrites
  clocks, a state with collected neighbours) ``blame_doc`` raises and the caller replays;
- the replaying fold (:class:`BlameFold`) is that fallback, the reference the tests compare
  against, and what diffs and events are made of: pycrdt exposes no per-character authorship, so
  the updates are replayed one by one and each text event's delta is applied to a list of
  attributed spans per paragraph. Deltas count UTF-8 bytes (pycrdt), spans keep Python text;
- **diffs** come from the same fold: :meth:`BlameFold.mark` stamps every span with its offset in the
  text as it was then; what is unstamped later was inserted since, and deletions of stamped text
  are recorded with who deleted it.

Observers: each paragraph's ``Text`` is observed directly (the raw yrs observer, which skips
pycrdt's conversion of every event's target and path), so a text event lands on its paragraph's
spans without going through array indices, which yrs' array deltas can get wrong (see
:meth:`BlameFold._check`); the root array and each paragraph's map are observed for paragraphs
coming and going. Cost: yrs computes a text event's delta by walking the whole ``Y.Text`` (as Yjs
does), so attribution costs O(length of the paragraph) per entry. On the automerge-paper trace
(259,778 keystrokes into one paragraph of 105,000 characters) computing the deltas alone takes
≈30 s, where replaying without observers takes 1.5 s; real drafts spread their text over many
paragraphs, each its own ``Y.Text``. The server keeps blame folds and continues them.
"""

from crdt.record.history.authorship import blame_doc, blame_state
from crdt.record.history.blame import BlameFold, EntryChange
from crdt.record.history.entries import (
    AMENDMENT_CONNECTION,
    ANCHOR_CONNECTION,
    COMMAND_PREFIX,
    UPDATE,
    Entry,
    HistoryError,
    Origin,
    Person,
    doc_from,
    fold_people,
)
from crdt.record.history.events import amendment_story, describe, text_change
from crdt.record.history.timeline import CommandEntry, CommandTimeline, TextTimeline
from crdt.record.history.writers import Writers
from crdt.times import iso_us

__all__ = [
    "AMENDMENT_CONNECTION",
    "ANCHOR_CONNECTION",
    "COMMAND_PREFIX",
    "UPDATE",
    "BlameFold",
    "CommandEntry",
    "CommandTimeline",
    "Entry",
    "EntryChange",
    "HistoryError",
    "Origin",
    "Person",
    "TextTimeline",
    "Writers",
    "amendment_story",
    "blame_doc",
    "blame_state",
    "describe",
    "doc_from",
    "fold_people",
    "iso_us",
    "text_change",
]
