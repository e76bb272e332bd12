"""The language versions and revisions in the browser (Chromium, Playwright, a real server).

An Arabic translator edits right to left: the paragraph runs right to left, the arrow keys move the
caret through the Arabic text as its readers expect (→ goes back, ← forward), a selection made with
Shift+← covers the first letters, and what is typed lands where the caret is. A change to the English
original marks the Arabic paragraph stale live, and confirming it clears the mark. Chinese renders in a
CJK font. The revisions page issues Rev.1 and Rev.2 and shows their comparison with the words marked.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any

import pytest
from pycrdt import Array

from client.session import RoomClient
from server.identity import Participant, TokenIssuer
from tests.conftest import TEST_SECRET
from tests.test_deliberation import Table
from tests.test_web import App, browser, shot, wait_until  # noqa: F401 - the Chromium fixture

ARABIC = "يجب أن يتم التنفيذ"
CHINESE = "执行工作必须在国家一级进行。"


def _translator(*codes: str) -> str:
    person = Participant(
        id=f"translator-{'-'.join(codes)}",
        name="Translator",
        delegation="Secretariat",
        group="international_organization",
        roles={"*": "translator"},
        languages=frozenset(codes),
    )
    return TokenIssuer(TEST_SECRET).issue(person, timedelta(hours=1))


@pytest.fixture
def app(browser: Any, server: Any, tokens: Any) -> Any:  # noqa: F811
    table = Table(server, tokens)
    table.tokens["translator"] = _translator("ar", "zh")
    table.ok(
        "chair",
        "POST",
        "/api/drafts",
        {
            "id": "dt",
            "title": "Tunis follow-up",
            "symbol": "WSIS-II/PC-3/DT/5",
            "translations": ["ar", "zh"],
            "paragraphs": [
                {"id": "p1", "text": "Implementation must be carried out.", "translations": {"ar": ARABIC}},
                {"id": "p2", "text": "It shall be carried out nationally.", "translations": {"zh": CHINESE}},
            ],
        },
    )
    opened = App(browser, server, table)
    yield opened
    opened.close()
    assert not opened.errors, opened.errors


def _run(coroutine: Any) -> None:
    """Run a Python Yjs client's coroutine beside Playwright (whose sync API holds this thread's loop)."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if failure:
        raise failure[0]


def _arabic(table: Table) -> str:
    found = table.ok("chair", "GET", "/api/drafts/dt/translations?language=ar")
    return found["paragraphs"][0]["translations"]["ar"]["text"]


def _status(page: Any, pid: str) -> str:
    return page.locator(f".translation-row[data-paragraph='{pid}']").get_attribute("data-status") or ""


def test_arabic_is_edited_right_to_left_and_goes_stale_live(app: App, server: Any) -> None:
    table = app.table
    page = app.open("translator", "/drafts/dt/translate/ar")
    page.wait_for_selector(".connection[data-state=connected]")
    row = page.locator(".translation-row[data-paragraph='p1']")
    editor = row.locator(".translation-editor .cm-content")
    editor.wait_for()
    assert row.locator(".translation-editor").get_attribute("dir") == "rtl"
    assert editor.evaluate("e => getComputedStyle(e).direction") == "rtl"
    wait_until(page, lambda: _status(page, "p1") == "current", "the Arabic translation to show as current")

    # The caret at the start of the Arabic text (its right edge); ← moves it forward, one letter in.
    editor.click()
    page.keyboard.press("Control+Home")
    page.keyboard.press("ArrowLeft")
    page.keyboard.type("ـ")
    wait_until(
        page, lambda: _arabic(table) == ARABIC[0] + "ـ" + ARABIC[1:], "the letter typed after the first"
    )
    # → goes back to the start; Shift+← ×3 selects the first three letters, and typing replaces them.
    page.keyboard.press("Control+Home")
    for _ in range(3):
        page.keyboard.press("Shift+ArrowLeft")
    page.keyboard.type("لا ")
    wait_until(page, lambda: _arabic(table) == "لا " + ARABIC[2:], "the selection replaced")
    # Its caret shows to the others where it is: a second tab sees the translator's name.
    observer = app.open("chair", "/drafts/dt/translate/ar")
    observer.wait_for_selector(".translation-row[data-paragraph='p1'] .remote-caret")
    shot(page, "translation-arabic")

    # The English changes: the Arabic paragraph goes stale on screen, live; the translator confirms it.
    async def change_english() -> None:
        async with RoomClient(server.ws, "dt", token=table.tokens["switzerland"]) as delegate:
            await delegate.wait_synced()
            delegate.doc.get("paragraphs", type=Array)[0]["text"].insert(0, "Effective ")
            for _ in range(100):
                if table.ok("chair", "GET", "/api/drafts/dt")["paragraphs"][0]["text"].startswith(
                    "Effective"
                ):
                    return
                await asyncio.sleep(0.05)

    _run(change_english())
    wait_until(page, lambda: _status(page, "p1") == "stale", "the Arabic paragraph to go stale")
    assert row.locator(".original").inner_text().startswith("Effective")
    row.get_by_role("button", name="Confirm: still correct").click()
    wait_until(page, lambda: _status(page, "p1") == "current", "the confirmation to show")

    # Chinese renders in a CJK font: its ideographs are drawn, not the missing-glyph box an unassigned
    # code point gets in the same font.
    page.locator(".language-picker a[data-language='zh']").click()
    zh = page.locator(".translation-row[data-paragraph='p2'] .translation-editor")
    zh.locator(".cm-content").wait_for()
    assert zh.get_attribute("dir") == "ltr"
    drawn = zh.evaluate(
        """host => {
        const font = getComputedStyle(host.querySelector('.cm-line')).font
        const pixels = (char) => {
            const canvas = document.createElement('canvas')
            canvas.width = canvas.height = 48
            const context = canvas.getContext('2d')
            context.font = font
            context.fillText(char, 4, 36)
            return Array.from(context.getImageData(0, 0, 48, 48).data).join(',')
        }
        return { differs: pixels('执') !== pixels("\\u{10FFFD}"), font }
    }"""
    )
    assert drawn["differs"] and "WenQuanYi Micro Hei" in drawn["font"], drawn
    shot(page, "translation-chinese")


def test_revisions_page_compares_word_by_word(app: App) -> None:
    table = app.table
    table.ok("chair", "POST", "/api/drafts/dt/revisions", {"note": "first"})
    page = app.open("chair", "/drafts/dt/revisions")
    page.locator(".revision-list li[data-revision='rev1']").wait_for()

    async def edit() -> None:
        async with RoomClient(app.server.ws, "dt", token=table.tokens["switzerland"]) as delegate:
            await delegate.wait_synced()
            text = delegate.doc.get("paragraphs", type=Array)[1]["text"]
            with delegate.doc.transaction():
                del text[3:8]  # "shall"
                text.insert(3, "must")
            for _ in range(100):
                if (
                    "must be carried out nationally"
                    in table.ok("chair", "GET", "/api/drafts/dt")["paragraphs"][1]["text"]
                ):
                    return
                await asyncio.sleep(0.05)

    _run(edit())
    page.get_by_label("Note for the record").fill("after the informals")
    page.get_by_role("button", name="Issue the next revision of the text now").click()
    page.locator(".revision-list li[data-revision='rev2']").wait_for()
    page.get_by_role("button", name="Compare").click()
    changed = page.locator(".paragraph-change[data-paragraph='p2']")
    changed.wait_for()
    assert changed.locator("del").text_content() == "[deleted: shall]"  # said in words, not only struck
    assert changed.locator("ins").text_content() == "[inserted: must]"
    assert changed.get_attribute("data-change") == "modified"
    shot(page, "revisions-compare")
