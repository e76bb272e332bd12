"""The meeting page in Chromium, with a chair and three delegations (Playwright, as tests/test_web.py).

The chair opens the meeting, adopts the agenda and takes up an item; the delegations request the floor
and see the list, the current speaker and the time left change live; a point of order goes first; the
chair reorders; the chair drafts the summary from the record, edits it live while a delegation follows,
and publishes it.
"""

from __future__ import annotations

import re
from typing import Any

from tests import test_web
from tests.test_web import App, shot, wait_until

# The browser and the app (a server, a draft, the table's tokens) of the web tests.
browser = test_web.browser
app = test_web.app

MEETING = "/drafts/tunis/meetings/mt-1"


def meeting_page(app: App, who: str) -> Any:
    page = app.open(who, MEETING)
    page.wait_for_selector(".connection[data-state=connected]")
    page.locator(".meeting-head h1").wait_for()
    return page


def entries(page: Any) -> list[str]:
    return page.locator("[data-test=speaking-list] li.entry").evaluate_all(
        "els => els.map(e => e.dataset.delegation)"
    )


def test_a_meeting_with_a_chair_and_three_delegations(app: App) -> None:
    table = app.table
    table.ok(
        "secretariat",
        "POST",
        "/api/drafts/tunis/meetings",
        {
            "title": "Informal consultation on implementation",
            "kind": "informal",
            "starts": "2005-05-02T10:00:00+02:00",
            "timezone": "Europe/Zurich",
            "convened_by": "the Chair",
            "open_to": "all stakeholders",
            "agenda": [{"title": "Adoption of the agenda"}, {"title": "Implementation and follow-up"}],
        },
    )
    table.ok(
        "secretariat",
        "POST",
        "/api/drafts/tunis/documents",
        {
            "kind": "background",
            "title": "Background note",
            "text": "…",
            "author": "the secretariat",
            "author_type": "body",
            "meeting": "mt-1",
            "item": "2",
        },
    )
    chair = meeting_page(app, "chair")
    status = chair.locator("[data-test=meeting-status]")
    assert status.inner_text() == "Scheduled"
    chair.get_by_role("button", name="Open the meeting").click()
    chair.locator("[data-test=meeting-status]", has_text="In session").wait_for()
    chair.get_by_role("button", name="Adopt the agenda").click()
    chair.locator(".agenda-item[data-item='2']").get_by_role("button", name="Take up").click()
    chair.locator(".agenda-item.current[data-item='2'][aria-current=step]").wait_for()

    delegations = {who: meeting_page(app, who) for who in ("switzerland", "ccbi", "csc")}
    for page in delegations.values():
        page.locator(".agenda-item.current[data-item='2']").wait_for()
        page.get_by_role("button", name="Request the floor").click()
        page.get_by_role("button", name="Request the floor").wait_for(state="detached")
    wait_until(
        chair, lambda: entries(chair) == ["Switzerland", "CCBI", "Civil Society Caucus"], "three requests"
    )
    for page in delegations.values():
        wait_until(page, lambda page=page: len(entries(page)) == 3, "the list everywhere")
    assert (
        delegations["ccbi"].locator(".document[data-document='doc-1']", has_text="Background note").count()
        == 1
    )

    # The chair sets a time limit and gives the floor; everyone sees who speaks and the time left.
    chair.get_by_label("Seconds per turn").fill("120")
    chair.get_by_role("button", name="Set the time limit").click()
    chair.locator("[data-test=speaking-list]", has_text="120 s per turn").wait_for()
    chair.get_by_role("button", name="Next speaker").click()
    ccbi = delegations["ccbi"]
    # An informal consultation shows the group speaking, not the delegation (the record is unattributed).
    ccbi.locator("[data-test=speaker]", has_text="A speaker from governments").wait_for()
    left = ccbi.locator("[data-test=time-left]")
    first = left.inner_text()
    assert re.fullmatch(r"[12] min \d\d s left", first), first
    wait_until(ccbi, lambda: left.inner_text() != first, "the countdown")
    shot(ccbi, "meeting-delegate", full_page=True)

    # A point of order goes first; the chair reorders the rest.
    delegations["csc"].get_by_role("button", name="Point of order").click()
    wait_until(
        chair,
        lambda: entries(chair) == ["Civil Society Caucus", "CCBI", "Civil Society Caucus"],
        "the point of order first",
    )
    assert ccbi.locator("li.entry").first.locator(".purpose-point_of_order").count() == 1
    chair.get_by_role("button", name="Move CCBI down").click()
    wait_until(
        ccbi,
        lambda: entries(ccbi) == ["Civil Society Caucus", "Civil Society Caucus", "CCBI"],
        "the chair's order",
    )
    assert ccbi.locator("li.entry[data-delegation='CCBI']", has_text="placed by the chair").count() == 1
    chair.get_by_role("button", name="Next speaker").click()
    ccbi.locator("[data-test=speaker]", has_text="A speaker from civil society").wait_for()
    ccbi.locator("[data-test=speaker] .purpose-point_of_order").wait_for()

    # The chair introduces the background note, records a conclusion, establishes a Group of Friends.
    chair.locator(".document[data-document='doc-1']").get_by_role("button", name="Introduce").click()
    ccbi.locator(
        ".document[data-document='doc-1']", has_text="Introduced by the Chair under item 2"
    ).wait_for()
    chair.get_by_label("Decision or conclusion").fill("Comments on chapter one are due by 31 May.")
    chair.get_by_role("button", name="Record the decision").click()
    ccbi.locator(".decision-list", has_text="Comments on chapter one are due by 31 May.").wait_for()
    chair.get_by_text("Establish a Group of Friends of the Chair").click()
    form = chair.locator(".friends-form")
    form.locator("input[type=checkbox][value='p1']").check()
    form.get_by_label("Members (delegations, comma-separated)").fill("Switzerland, CCBI")
    form.get_by_label("Deadline").fill("2030-05-20T18:00")
    form.get_by_role("button", name="Establish the group").click()
    ccbi.locator(".group-list li[data-group='foc-1']", has_text="Switzerland, CCBI").wait_for()
    assert table.ok("ccbi", "GET", "/api/drafts/tunis-foc-1")["paragraphs"][0]["id"] == "p1"

    # The summary: drafted from the record, edited live by the chair, followed by a delegation, published.
    chair.get_by_role("button", name="Draft from the record").click()
    editor = chair.locator("[data-test=summary-editor] .cm-content")
    editor.get_by_text("Meeting summary").wait_for()
    editor.click()
    chair.keyboard.press("Control+End")
    chair.keyboard.type("\n- The Chair thanked the participants.")
    ccbi.locator(
        "[data-test=summary-editor] .cm-content", has_text="The Chair thanked the participants."
    ).wait_for()
    assert ccbi.locator("[data-test=summary-editor] .cm-content").get_attribute("contenteditable") == "false"
    assert ccbi.get_by_role("button", name="Publish").count() == 0
    shot(chair, "meeting-chair", full_page=True)
    chair.get_by_role("button", name="Publish").click()
    ccbi.locator("[data-test=published]", has_text="Version 1").wait_for()
    published = table.ok("ccbi", "GET", "/api/drafts/tunis/meetings/mt-1/summary/published/1")
    assert "\n- The Chair thanked the participants." in published["text"]
    assert published["text"].startswith("# Informal consultation on implementation: 2 May 2005")
    assert "- Comments on chapter one are due by 31 May." in published["text"]
    assert (
        "A Group of Friends of the Chair was established on paragraph 1, with Switzerland and CCBI"
        in published["text"]
    )
