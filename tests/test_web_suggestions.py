"""Suggestion mode in the browser (Chromium, Playwright, a real server): where a delegate may not type into
the text (a pen-holder holds it, or the delegation has no negotiating rights), typing shows a tracked
change, the reason stays visible, and submitting files the amendment (or, without negotiating rights, a
comment that edits) with the kind and span derived from the change; the text itself never changes."""

from __future__ import annotations

from tests.test_web import app, browser, paragraph, server_text, shot, wait_until  # noqa: F401 - fixtures


def test_typing_where_one_may_not_edit_files_an_amendment(app):  # noqa: F811
    table = app.table
    table.ok("chair", "PUT", "/api/drafts/tunis/editing", {"mode": "pen_holder", "pen_holders": ["ccbi"]})
    delegate = app.draft("switzerland")
    note = paragraph(delegate, "p2").locator(".readonly-note")
    note.wait_for(state="attached")
    wait_until(delegate, lambda: "pen-holders" in note.text_content(), "the pen-holder reason")
    assert "suggestion" in note.text_content()
    assert note.is_visible()  # the reason stays in view while suggesting

    original = server_text(table, "p2")
    content = paragraph(delegate, "p2").locator(".cm-content")
    content.click()
    delegate.keyboard.press("Control+Home")
    # "Implementation must be carried out" → "Implementation shall be carried out"
    for _ in range(len("Implementation ")):
        delegate.keyboard.press("ArrowRight")
    for _ in range(len("must")):
        delegate.keyboard.press("Shift+ArrowRight")
    delegate.keyboard.type("shall")
    panel = paragraph(delegate, "p2").locator("[data-test=suggestion]")
    panel.wait_for()
    assert "must" in panel.locator("del").inner_text() and "shall" in panel.locator("ins").inner_text()
    assert paragraph(delegate, "p2").locator(".suggest-ins").inner_text() == "shall"
    assert paragraph(delegate, "p2").locator(".suggest-del").inner_text() == "must"
    shot(delegate, "draft-suggestion", scroll=False)
    assert server_text(table, "p2") == original

    panel.get_by_label("Justification").fill("Stronger wording")
    panel.get_by_role("button", name="Propose as amendment (substitution)").click()
    panel.wait_for(state="hidden")

    def amendment():
        amendments = table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["amendments"]
        return next(iter(amendments.values()), None)

    wait_until(delegate, lambda: amendment() is not None, "the amendment")
    filed = amendment()
    assert (filed["kind"], filed["original"], filed["text"]) == ("substitution", "must", "shall")
    assert (filed["start"], filed["end"]) == (15, 19) and filed["sponsor"] == "Switzerland"
    assert filed["justification"] == "Stronger wording"
    assert server_text(table, "p2") == original
    # The editor shows the paragraph as it stands again, the amendment's span marked.
    paragraph(delegate, "p2").locator(".anchored-amendment").wait_for()

    # The pen-holder types into the text itself.
    holder = app.draft("ccbi")
    holder_content = paragraph(holder, "p2").locator(".cm-content")
    holder.wait_for_function(
        "() => !document.querySelector(\".para[data-paragraph='p2']\").classList.contains('suggesting')"
    )
    holder_content.click()
    holder.keyboard.press("End")
    holder.keyboard.type(" Agreed.")
    wait_until(holder, lambda: server_text(table, "p2").endswith("Agreed."), "the pen-holder's edit")


def test_without_negotiating_rights_a_suggestion_is_a_comment(app):  # noqa: F811
    table = app.table
    table.ok("chair", "PUT", "/api/drafts/tunis/profile", {"profile": "intergovernmental"})
    ngo = app.draft("csc")
    note = paragraph(ngo, "p1").locator(".readonly-note")
    wait_until(ngo, lambda: "negotiating rights" in (note.text_content() or ""), "the reason")
    paragraph(ngo, "p1").locator(".cm-content").click()
    ngo.keyboard.press("End")
    ngo.keyboard.type(" and human rights")
    panel = paragraph(ngo, "p1").locator("[data-test=suggestion]")
    panel.get_by_role("button", name="Send as a suggestion (comment)").click()
    panel.wait_for(state="hidden")

    def comment():
        annotations = table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["annotations"]
        return next(iter(annotations.values()), None)

    wait_until(ngo, lambda: comment() is not None, "the comment")
    filed = comment()
    assert filed["motivation"] == "editing" and "insert “ and human rights”" in filed["body"]
    assert "human rights" not in server_text(table, "p1")
