"""The archive at scale, in Chromium: a 100,000-entry log (written in-process through the server's
own write path before the server starts) replays to its last entry, the text there is the draft's,
and one person's consecutive keystrokes show as one grouped editing event."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.long_log import RUN, write_long_log
from tests.test_deliberation import Table
from tests.test_web import App, browser  # noqa: F401 - fixtures

ENTRIES = 100_000


def test_a_100000_entry_log_replays_to_its_end_with_grouped_events(
    browser: Any,  # noqa: F811
    server_factory: Callable[..., Any],
    tmp_path: Any,
    tokens: Any,
) -> None:
    url = f"sqlite:///{tmp_path / 'plenary.sqlite3'}"
    head, final = write_long_log(url, "long", ENTRIES)
    assert head >= ENTRIES
    server = server_factory(url)
    table = Table(server, tokens)
    app = App(browser, server, table)
    try:
        draft_text = table.ok("chair", "GET", "/api/drafts/long/text")["paragraphs"][0]["text"]
        assert draft_text == final

        archive = app.open("archivist", "/drafts/long/archive")
        position = archive.locator("#timeline-position")
        position.get_by_text(f"Entry {head}", exact=True).wait_for(timeout=30_000)
        assert f"of {head}" in position.inner_text()
        slider = archive.get_by_label("Point in the record")
        assert slider.get_attribute("max") == str(head)
        assert slider.input_value() == str(head)
        replay = archive.locator("[data-test=replay-text] .replay-para[data-paragraph='p1']")
        replay.wait_for()
        archive.wait_for_function(
            "([el, text]) => el.textContent.includes(text)", arg=[replay.element_handle(), final.strip()]
        )

        # Runs of RUN keystrokes by one delegate: grouped, not one line each.
        grouped = archive.locator(".events li[data-edits]")
        grouped.first.wait_for()
        counts = [int(n) for n in grouped.evaluate_all("els => els.map(e => e.dataset.edits)")]
        assert max(counts) == RUN, counts
        first = grouped.first.inner_text()
        assert re.search(r"text edit on p1 — \d+ edits", first), first
        assert archive.locator(".events li:not([data-edits]):not(.muted)").count() <= 2
    finally:
        app.close()
    assert not app.errors, app.errors
