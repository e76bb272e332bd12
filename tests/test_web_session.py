"""The web app in a real session (Chromium, Playwright, a real server): the connection state follows the
browser's network at once and counts the changes waiting; edits made offline survive a closed tab and
merge when the draft is opened again; closing a tab with unsent changes asks first; a reader appears
under "Present" as soon as they open the draft."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.test_web import (  # noqa: F401 - fixtures
    PARAGRAPHS,
    App,
    app,
    browser,
    editor_text,
    paragraph,
    select_passage,
    server_text,
    shot,
    wait_until,
)


def test_offline_is_shown_at_once_and_edits_survive_a_closed_tab(app: App) -> None:  # noqa: F811
    delegate = app.draft("itu")
    context = delegate.context
    status = delegate.locator(".connection")
    context.set_offline(True)
    # At once, not after the socket's 30 s silence timeout.
    delegate.locator(".connection[data-state=offline]").wait_for(timeout=2_000)
    paragraph(delegate, "p5").locator(".cm-content").click()
    delegate.keyboard.press("End")
    delegate.keyboard.type(" Kept.")
    wait_until(delegate, lambda: status.get_attribute("data-pending") == "6", "six waiting changes")
    assert "6 waiting" in status.inner_text()
    shot(delegate, "draft-offline-waiting", scroll=False)

    # Closing the tab asks first: the changes have not reached the server.
    dialogs: list[str] = []

    def stay(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    delegate.on("dialog", stay)
    delegate.close(run_before_unload=True)
    wait_until(delegate, lambda: dialogs == ["beforeunload"], "the warning before closing")
    assert not delegate.is_closed()
    delegate.remove_listener("dialog", stay)
    delegate.close()  # gone, without the server ever hearing of the edit
    assert "Kept." not in server_text(app.table, "p5")

    # Meanwhile someone else edits the same paragraph.
    other = app.draft("switzerland")
    paragraph(other, "p5").locator(".cm-content").click()
    other.keyboard.press("Control+Home")
    other.keyboard.type("(b) ")

    # The network returns and the draft is opened again: the kept edit merges with the other one.
    context.set_offline(False)
    reopened = context.new_page()
    reopened.on("pageerror", lambda error: app.errors.append(f"itu: {error}"))
    reopened.goto(f"{app.server.http}/?token={app.table.tokens['itu']}#/drafts/tunis")
    reopened.locator(".connection[data-state=connected]").wait_for(timeout=10_000)
    merged = "(b) a stakeholder commitments document. Kept."
    wait_until(reopened, lambda: server_text(app.table, "p5") == merged, "the kept edit on the server")
    wait_until(reopened, lambda: editor_text(reopened, "p5") == merged, "the merge in the reopened tab")
    assert reopened.locator(".connection").get_attribute("data-pending") == "0"


def test_a_reader_is_present_as_soon_as_the_draft_opens(app: App) -> None:  # noqa: F811
    chair = app.draft("chair")
    opened = time.monotonic()
    app.draft("observer")  # connected: reads, never clicks into the text
    chair.locator(".presence-list .person[data-user]", has_text="Academia").wait_for(timeout=1_000)
    assert time.monotonic() - opened < 5


def test_text_refused_by_a_lock_is_offered_back_and_the_warning_clears(app: App) -> None:  # noqa: F811
    delegate = app.draft("switzerland")
    # Typed on a train: the chair locks the text before the edit reaches the server.
    delegate.context.set_offline(True)
    delegate.locator(".connection[data-state=offline]").wait_for()
    paragraph(delegate, "p1").locator(".cm-content").click()
    delegate.keyboard.press("End")
    delegate.keyboard.type(" And fast.")
    app.table.ok("chair", "POST", "/api/drafts/tunis/lock", {})
    delegate.context.set_offline(False)
    banner = delegate.locator(".banner-warn", has_text="locked while you were typing")
    banner.wait_for()
    refused = banner.locator("[data-test=refused][data-paragraph=p1]")
    refused.wait_for()
    assert refused.locator(".refused-text").inner_text() == " And fast."
    assert "And fast." not in server_text(app.table, "p1")
    shot(delegate, "draft-refused-offered", scroll=False)

    # Unlocked: the warning is no longer true and goes; the offer stays until used.
    app.table.ok("chair", "POST", "/api/drafts/tunis/unlock", {})
    delegate.locator(".banner-warn", has_text="unlocked again").wait_for()
    assert banner.count() == 0
    delegate.locator("[data-test=lock-banner]").wait_for(state="hidden")
    delegate.wait_for_function(
        "() => !document.querySelector(\".para[data-paragraph='p1']\").classList.contains('readonly')"
    )
    delegate.locator("[data-test=refused]").get_by_role("button", name="Put it back").click()
    expected = "Any implementation mechanism must have a multi-stakeholder character. And fast."
    wait_until(delegate, lambda: server_text(app.table, "p1") == expected, "the refused text put back")
    delegate.locator(".banner-warn").wait_for(state="hidden")


def test_redo_escape_and_the_selection_note(app: App) -> None:  # noqa: F811
    delegate = app.draft("csc")
    content = paragraph(delegate, "p4").locator(".cm-content")
    content.click()
    delegate.keyboard.press("End")
    delegate.keyboard.type("X")
    wait_until(delegate, lambda: editor_text(delegate, "p4").endswith("X"), "the typed letter")
    delegate.keyboard.press("Control+z")
    wait_until(delegate, lambda: not editor_text(delegate, "p4").endswith("X"), "undo")
    # Shift reported with the unshifted key ("z"), as some layouts and input tools do, and shifted.
    delegate.keyboard.press("Control+Shift+z")
    wait_until(delegate, lambda: editor_text(delegate, "p4").endswith("X"), "redo with Ctrl+Shift+z")
    delegate.keyboard.press("Control+z")
    wait_until(delegate, lambda: not editor_text(delegate, "p4").endswith("X"), "undo")
    delegate.keyboard.press("Control+Shift+Z")
    wait_until(delegate, lambda: editor_text(delegate, "p4").endswith("X"), "redo with Ctrl+Shift+Z")
    delegate.keyboard.press("Control+z")
    wait_until(delegate, lambda: not editor_text(delegate, "p4").endswith("X"), "undo again")
    delegate.keyboard.press("Control+y")
    wait_until(delegate, lambda: editor_text(delegate, "p4").endswith("X"), "redo with Ctrl+Y")

    # Esc closes an inline form and returns to the text.
    paragraph(delegate, "p4").get_by_role("button", name="Comment").click()
    form = paragraph(delegate, "p4").locator("form.comment-form")
    form.get_by_label("Your comment").focus()
    delegate.keyboard.press("Escape")
    form.wait_for(state="detached")

    # The "Selected: …" note goes once the amendment on the selection is sent.
    select_passage(delegate, "p4", "stocktaking")
    paragraph(delegate, "p4").get_by_role("button", name="Propose amendment").click()
    amend = paragraph(delegate, "p4").locator("form.amendment-form")
    amend.get_by_label("Proposed text").fill("review")
    amend.get_by_role("button", name="Propose amendment").click()
    amend.wait_for(state="detached")
    note = paragraph(delegate, "p4").locator(".selection-note")
    wait_until(delegate, lambda: note.inner_text() == "", "the selection note cleared")


def test_the_chair_opens_a_cell_to_see_who_objects_and_why(app: App, tokens: Any) -> None:  # noqa: F811
    table = app.table
    for key, delegation in [("egypt", "Egypt"), ("brazil", "Brazil")]:
        table.tokens[key] = tokens(
            "delegate", user=key, name=f"Delegate of {delegation}", delegation=delegation, group="government"
        )
    table.ok(
        "switzerland", "PUT", "/api/drafts/tunis/positions/p3", {"stance": "support", "explanation": "Fine."}
    )
    table.ok("egypt", "PUT", "/api/drafts/tunis/positions/p3", {"stance": "reservation"})
    table.ok(
        "brazil",
        "PUT",
        "/api/drafts/tunis/positions/p3",
        {"stance": "objection", "explanation": "Teams of whom? Say multi-stakeholder."},
    )
    # The text changes after Switzerland, Egypt and Brazil spoke; the Civil Society Caucus speaks after.
    delegate = app.draft("itu")
    delegate.wait_for_timeout(1_100)  # positions keep the second they were stated in
    paragraph(delegate, "p3").locator(".cm-content").click()
    delegate.keyboard.press("End")
    delegate.keyboard.type(" Soon.")
    wait_until(delegate, lambda: server_text(table, "p3").endswith("Soon."), "the edit")
    delegate.wait_for_timeout(1_100)
    table.ok(
        "csc", "PUT", "/api/drafts/tunis/positions/p3", {"stance": "support", "explanation": "As edited."}
    )

    chair = app.draft("chair", view="chair")
    row = chair.locator("tr.row-paragraph[data-target=p3]")
    row.locator("td.cell[data-group=government] button.cell-open").click()
    dialog = chair.get_by_role("dialog")
    items = dialog.locator("[data-test=stances] li")
    items.first.wait_for()
    # Governments only, objections first, each with its explanation and time.
    assert items.evaluate_all("els => els.map(e => e.dataset.delegation)") == [
        "Brazil",
        "Egypt",
        "Switzerland",
    ]
    assert "Teams of whom?" in items.nth(0).inner_text()
    assert "No explanation given." in items.nth(1).inner_text()
    assert items.nth(0).locator("time").count() == 1
    wait_until(chair, lambda: dialog.locator(".is-stale").count() == 3, "the stale marks")
    shot(chair, "dashboard-drilldown", scroll=False)
    dialog.get_by_role("button", name="Close").click()

    # The row: every group, the later support not stale.
    row.get_by_role("button", name="Who stands where on ¶ 3, and why").click()
    csc = chair.get_by_role("dialog").locator(
        "[data-test=stances] li[data-delegation='Civil Society Caucus']"
    )
    csc.wait_for()
    chair.wait_for_timeout(300)
    assert "stale" not in csc.get_attribute("class")
    assert chair.get_by_role("dialog").locator("[data-test=stances] li").count() == 4
    chair.keyboard.press("Escape")

    # The row's paragraph link opens the paragraph on the Text page.
    row.locator("a.row-name").click()
    target = paragraph(chair, "p3")
    wait_until(chair, lambda: target.get_attribute("data-targeted") == "true", "the linked paragraph")
    assert chair.url.endswith("#/drafts/tunis/text/p3")


def test_deep_links_to_an_amendment_and_a_comment(app: App) -> None:  # noqa: F811
    table = app.table
    am = table.ok(
        "switzerland",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p5", "start": 2, "end": 13, "kind": "substitution", "text": "multi-stakeholder"},
    )["result"]
    table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{am['id']}/reject", {"reason": "Not now."})
    note = table.ok(
        "csc", "POST", "/api/drafts/tunis/annotations", {"paragraph": "p4", "body": "Which document?"}
    )["result"]
    page = app.open("ccbi", f"/drafts/tunis/text/{am['id']}")
    card = page.locator(f".amendment[data-amendment='{am['id']}']")
    wait_until(page, lambda: card.get_attribute("data-targeted") == "true", "the linked amendment")
    assert card.is_visible()  # its folded "decided" section was opened
    page.goto(f"{app.server.http}/#/drafts/tunis/text/{note['id']}")
    comment = page.locator(f".annotation[data-annotation='{note['id']}']")
    wait_until(page, lambda: comment.get_attribute("data-targeted") == "true", "the linked comment")
    href = comment.locator("a.deep-link").get_attribute("href")
    assert href == f"#/drafts/tunis/text/{note['id']}"


def test_deadlines_show_the_meetings_and_the_viewers_time_zone(app: App) -> None:  # noqa: F811
    from tests.test_deliberation import iso_in

    table = app.table
    table.ok(
        "chair",
        "POST",
        "/api/drafts/tunis/meetings",
        {"title": "Resumed session", "kind": "formal", "starts": iso_in(3600), "timezone": "Africa/Tunis"},
    )
    table.ok("chair", "POST", "/api/drafts/tunis/periods", {"paragraphs": ["p2"], "deadline": iso_in(600)})
    context = app.browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="America/New_York")
    app.contexts.append(context)
    page = context.new_page()
    page.goto(f"{app.server.http}/?token={table.tokens['csc']}#/drafts/tunis")
    deadline = page.locator(".period[data-period='cp-1'] [data-test=deadline]")
    page.locator(".period[data-period='cp-1'] [data-test=meeting-zone]").wait_for()
    text = deadline.inner_text()
    assert "your time (America/New_York)" in text
    assert "at the meeting (Africa/Tunis)" in text
    # The same moment on both clocks, each named.
    assert re.search(r"\b(EST|EDT|GMT-[45])\b", text) and re.search(r"\b(CET|GMT\+1)\b", text), text

    chair = app.draft("chair", view="chair")
    cell = chair.locator("tr[data-period='cp-1'] [data-test=deadline]")
    chair.locator("tr[data-period='cp-1'] [data-test=deadline]").wait_for()
    assert "your time" in cell.inner_text()


def test_a_sponsor_is_notified_of_adoption_at_once(app: App) -> None:  # noqa: F811
    from tests.test_deliberation import iso_in

    table = app.table
    am = table.ok(
        "switzerland",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p1", "start": 4, "end": 28, "kind": "substitution", "text": "follow-up process"},
    )["result"]
    table.ok("switzerland", "PUT", "/api/drafts/tunis/positions/p2", {"stance": "objection"})
    sponsor = app.draft("switzerland")
    notices = sponsor.locator("[data-test=notices]")
    unread = sponsor.locator("[data-test=unread]")

    adopted = time.monotonic()
    table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{am['id']}/adopt", {})
    notices.locator(".notice[data-kind='amendment.adopted'][data-unread]").wait_for(timeout=1_000)
    assert time.monotonic() - adopted < 1.5
    assert f"Your amendment {am['id']}" in notices.inner_text()
    assert unread.inner_text() == "(1 unread)"
    assert sponsor.title().startswith("(1) ")

    # A silence on what the delegation spoke on, and a comment period: notices too; a position
    # someone else states is activity, not a notice.
    table.ok("chair", "POST", "/api/drafts/tunis/silence", {"target": "p2", "deadline": iso_in(600)})
    table.ok("chair", "POST", "/api/drafts/tunis/periods", {"paragraphs": ["p3"], "deadline": iso_in(600)})
    table.ok("csc", "PUT", "/api/drafts/tunis/positions/p3", {"stance": "support"})
    wait_until(sponsor, lambda: unread.inner_text() == "(3 unread)", "three unread notices")
    assert notices.locator(".notice[data-kind='silence.started']").count() == 1
    assert notices.locator(".notice[data-kind='period.opened']").count() == 1
    feed = sponsor.locator("[data-test=activity]")
    assert feed.locator(".notice[data-kind=position]", has_text="Civil Society Caucus").count() == 1
    shot(sponsor, "draft-notices", scroll=False)

    # Read, and still read after a reload; an objection that breaks the silence is new.
    sponsor.get_by_role("button", name="Mark all read").click()
    wait_until(sponsor, lambda: unread.inner_text() == "", "no unread notices")
    sponsor.reload()
    sponsor.locator(".connection[data-state=connected]").wait_for()
    sponsor.locator("[data-test=notices] .notice").first.wait_for()
    assert unread.inner_text() == ""
    table.ok("csc", "PUT", "/api/drafts/tunis/positions/p2", {"stance": "objection"})
    notices.locator(".notice[data-kind='silence.broken'][data-unread]").wait_for()
    assert unread.inner_text() == "(1 unread)"


def test_what_changed_since_my_last_visit_is_highlighted_word_by_word(app: App) -> None:  # noqa: F811
    table = app.table
    first = app.draft("csc")
    context = first.context
    first.close()  # the visit is over
    am = table.ok(
        "switzerland",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p1", "start": 4, "end": 28, "kind": "substitution", "text": "follow-up process"},
    )["result"]
    table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{am['id']}/adopt", {})

    again = context.new_page()
    again.on("pageerror", lambda error: app.errors.append(f"csc: {error}"))
    again.goto(f"{app.server.http}/?token={table.tokens['csc']}#/drafts/tunis")
    since = paragraph(again, "p1").locator("[data-test=since-last]")
    since.wait_for()
    assert since.locator("del").inner_text() == "implementation mechanism"
    assert since.locator("ins").inner_text() == "follow-up process"
    assert paragraph(again, "p2").locator("[data-test=since-last]").is_hidden()
    shot(again, "draft-since-last-visit", scroll=False)
    since.get_by_role("button", name="Dismiss").click()
    since.wait_for(state="hidden")


def test_the_dashboard_on_a_phone_is_one_card_per_paragraph(app: App) -> None:  # noqa: F811
    from tests.test_deliberation import iso_in

    app.table.ok(
        "chair", "POST", "/api/drafts/tunis/periods", {"paragraphs": ["p2"], "deadline": iso_in(600)}
    )
    app.table.ok("switzerland", "PUT", "/api/drafts/tunis/positions/p1", {"stance": "objection"})
    chair = app.draft("chair", view="chair", width=390, height=844)
    row = chair.locator("tr.row-paragraph[data-target=p1]")
    row.wait_for()
    assert chair.evaluate("document.documentElement.scrollWidth") <= 390
    box = row.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    # Every group of the paragraph is on its card, named, and in view across.
    for group in ["government", "private_sector", "civil_society", "international_organization"]:
        cell = row.locator(f"td.cell[data-group={group}]")
        cell_box = cell.bounding_box()
        assert cell_box is not None and cell_box["x"] + cell_box["width"] <= 390, group
    assert "Governments" in row.locator("td.cell[data-group=government]").evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    row.locator("td.cell[data-group=government] button.cell-open").click()
    chair.get_by_role("dialog").locator("[data-test=stances] li[data-delegation=Switzerland]").wait_for()
    shot(chair, "dashboard-phone", full_page=True)


def test_the_archive_pages_through_the_log_and_groups_keystrokes(app: App) -> None:  # noqa: F811
    delegate = app.draft("itu")
    paragraph(delegate, "p5").locator(".cm-content").click()
    delegate.keyboard.press("End")
    typed = " Typed letter by letter, one entry each."
    delegate.keyboard.type(typed)
    wait_until(delegate, lambda: server_text(app.table, "p5").endswith(typed), "the typing on the server")
    head = app.table.ok("archivist", "GET", "/api/drafts/tunis/events?limit=1")["head"]

    context = app.browser.new_context(viewport={"width": 1280, "height": 900})
    app.contexts.append(context)
    archive = context.new_page()
    archive.on("pageerror", lambda error: app.errors.append(f"archivist: {error}"))
    pages: list[str] = []
    archive.on("request", lambda request: pages.append(request.url) if "/events?" in request.url else None)
    archive.goto(f"{app.server.http}/?token={app.table.tokens['archivist']}#/drafts/tunis/archive")
    replay = archive.locator("[data-test=replay-text]")
    replay.locator(".replay-para[data-paragraph='p5']", has_text=typed.strip()).wait_for()
    slider = archive.get_by_label("Point in the record")
    assert slider.get_attribute("max") == str(head) and slider.input_value() == str(head)
    assert f"Entry {head} of {head}" in archive.locator(".timeline-position").inner_text()
    # The keystrokes are one editing event; the log is read around the point, not from its start.
    grouped = archive.locator(".events li[data-edits]")
    assert grouped.count() == 1 and int(grouped.get_attribute("data-edits") or 0) >= len(typed) - 2
    assert "text edit on p5" in grouped.inner_text()
    # Who, by name and delegation rather than by participant id.
    wait_until(archive, lambda: "Delegate of ITU (ITU)" in grouped.inner_text(), "the editor's name")
    assert len(pages) <= 3, pages
    # Who wrote a passage, with the keyboard; each delegation its own colour.
    archive.locator(".blame[data-delegation=ITU]").first.focus()
    detail = archive.locator("[data-test=blame-detail]")
    wait_until(
        archive, lambda: detail.inner_text().startswith("ITU: written by Delegate of ITU"), "the blame detail"
    )
    swatches = archive.locator(".blame-legend .swatch").evaluate_all(
        "els => els.map(e => getComputedStyle(e).backgroundColor)"
    )
    assert len(swatches) >= 2 and len(set(swatches)) == len(swatches)
    shot(archive, "archive-grouped", full_page=True)

    # The slider reaches anywhere: halfway through the typing, the text is halfway typed.
    middle = head - len(typed) // 2
    slider.evaluate(
        "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', { bubbles: true })) }", middle
    )
    archive.locator(f"[data-test=replay-text][data-seq='{middle}']").wait_for()
    shown = replay.locator(".replay-para[data-paragraph='p5']").inner_text()
    assert "Typed" in shown and not shown.endswith(typed.strip())


def test_the_chair_creates_a_draft_from_pasted_text(app: App) -> None:  # noqa: F811
    home = app.open("chair")
    home.wait_for_selector(".draft-item[data-draft='tunis']")
    home.get_by_text("Create a draft").click()
    form = home.get_by_role("form", name="New draft")
    form.get_by_label("Title").fill("Geneva Plan of Action")
    assert form.get_by_label("Short id (in the address)").input_value() == "geneva-plan-of-action"
    form.get_by_label("Text (blank lines between paragraphs; # heading, - item)").fill(
        "# Objectives\n\nThe objectives of the Plan are to build an inclusive\nInformation Society.\n\n- access;\n\n- capacity."
    )
    form.get_by_role("button", name="Create the draft").click()
    home.wait_for_url("**#/drafts/geneva-plan-of-action")
    home.locator(
        ".para[data-paragraph='p2'] .cm-content", has_text="inclusive Information Society."
    ).wait_for()
    created = app.table.ok("chair", "GET", "/api/drafts/geneva-plan-of-action")
    assert [p["kind"] for p in created["paragraphs"]] == ["heading", "operative", "item", "item"]
    delegate = app.open("switzerland")
    delegate.wait_for_selector(".draft-item[data-draft='tunis']")
    assert delegate.locator(".new-draft-panel").count() == 0  # delegates may not create drafts


def test_the_secretariat_adds_and_removes_paragraphs_from_the_text_page(app: App) -> None:  # noqa: F811
    secretariat = app.draft("secretariat")
    delegate = app.draft("csc")
    assert paragraph(delegate, "p4").get_by_role("button", name="Add paragraph after").count() == 0
    para = paragraph(secretariat, "p4")
    para.get_by_label("Kind of the new paragraph").select_option("item")
    para.get_by_role("button", name="Add paragraph after").click()
    secretariat.locator(".para[data-paragraph^='p-'] .cm-content:focus").wait_for()
    secretariat.keyboard.type("a review of the mechanism;")

    def ids() -> list[str]:
        return [p["id"] for p in app.table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"]]

    wait_until(secretariat, lambda: len(ids()) == len(PARAGRAPHS) + 1, "the new paragraph on the server")
    added = ids()[ids().index("p4") + 1]
    wait_until(secretariat, lambda: server_text(app.table, added) == "a review of the mechanism;", "its text")
    paragraph(delegate, added).locator(".cm-content", has_text="a review of the mechanism;").wait_for()

    paragraph(secretariat, "p5").get_by_role("button", name="Remove…").click()
    secretariat.get_by_role("dialog").get_by_role("button", name="Remove").click()
    wait_until(secretariat, lambda: "p5" not in ids(), "the paragraph removed")
    paragraph(delegate, "p5").wait_for(state="detached")
