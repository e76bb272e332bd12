"""The browser app, driven in Debian's Chromium by Playwright against a real server.

Delegates from different stakeholder groups co-edit a paragraph and see each other's text and
cursors; a delegate proposes an amendment on a selected passage, another delegation co-sponsors,
positions are stated, the chair's dashboard follows without a reload and the chair adopts; an
observer cannot type; a locked text and a closed comment period say why; the archive replays the
record; a client that loses the server keeps its edits and merges them when it comes back.

Each test saves screenshots in test-artifacts/web/; with PLENARY_SCREENSHOTS=docs they are also
copied to docs/screenshots/ (the README's pictures).

Playwright's own browser download does not work here: the tests use Debian's ``chromium``
(``./run test`` installs it when it is missing and it may). Without it, or without the Playwright
package, they are skipped, unless PLENARY_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, need
from tests.test_deliberation import Table

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts" / "web"
DOCS_SHOTS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 15_000

PARAGRAPHS = [
    {"id": "h1", "kind": "heading", "text": "Chapter one: principles of implementation"},
    {
        "id": "p1",
        "kind": "operative",
        "text": "Any implementation mechanism must have a multi-stakeholder character.",
    },
    {
        "id": "p2",
        "kind": "operative",
        "text": "Implementation must be carried out at the national, regional and international levels.",
    },
    {"id": "h2", "kind": "heading", "text": "Chapter four: the way ahead"},
    {
        "id": "p3",
        "kind": "operative",
        "text": "There should be an implementation mechanism, decentralised and based around "
        "multi-stakeholder teams.",
    },
    {"id": "p4", "kind": "item", "text": "a stocktaking implementation document;"},
    {"id": "p5", "kind": "item", "text": "a stakeholder commitments document."},
]


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _playwright()
    need(sync_playwright is not None, "the Playwright package is not installed (pip install -e '.[test]')")
    need(
        Path(CHROMIUM).exists(),
        f"{CHROMIUM} is missing (apt-get install chromium; ./run test installs it when run as root)",
    )
    need(
        (ROOT / "client" / "web" / "dist" / "index.html").exists(),
        "client/web/dist is not built (cd client/web && npm ci && npm run build)",
    )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class App:
    """Browser tabs on one server, each signed in with its own token, with their errors kept."""

    def __init__(self, browser: Any, server: Any, table: Table) -> None:
        self.browser = browser
        self.server = server
        self.table = table
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def open(self, who: str, route: str = "", *, width: int = 1280, height: int = 800) -> Any:
        context = self.browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{who}: {error}"))
        page.goto(f"{self.server.http}/?token={self.table.tokens[who]}#{route}")
        return page

    def draft(self, who: str, draft: str = "tunis", view: str = "", **size: int) -> Any:
        page = self.open(who, f"/drafts/{draft}{'/' + view if view else ''}", **size)
        page.wait_for_selector(".connection[data-state=connected]")
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def app(browser: Any, server: Any, tokens: Any) -> Iterator[App]:
    table = Table(server, tokens)
    table.ok(
        "chair", "POST", "/api/drafts", {"id": "tunis", "title": "Tunis follow-up", "paragraphs": PARAGRAPHS}
    )
    opened = App(browser, server, table)
    yield opened
    opened.close()
    assert not opened.errors, opened.errors


def shot(page: Any, name: str, *, full_page: bool = False, scroll: bool = True) -> Path:
    """A screenshot in test-artifacts/web/ (and docs/screenshots/ with PLENARY_SCREENSHOTS=docs),
    from the top of the page unless ``scroll`` is false, once layout has settled."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if scroll:
        page.evaluate("window.scrollTo(0, 0)")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.screenshot(path=str(path), full_page=full_page)
    if os.environ.get("PLENARY_SCREENSHOTS") == "docs":
        DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SHOTS / path.name)
    return path


def paragraph(page: Any, pid: str) -> Any:
    return page.locator(f".para[data-paragraph='{pid}']")


def editor_text(page: Any, pid: str) -> str:
    """The paragraph's text as its editor shows it, without the other participants' cursors."""
    return (
        paragraph(page, pid)
        .locator(".cm-content")
        .evaluate(
            """content => {
            const copy = content.cloneNode(true)
            copy.querySelectorAll('.remote-caret').forEach((caret) => caret.remove())
            return [...copy.querySelectorAll('.cm-line')].map((line) => line.textContent).join('\\n')
        }"""
        )
    )


def wait_until(page: Any, check: Callable[[], bool], what: str) -> None:
    """Poll a condition in Python (re-rendered elements, REST state) on the page's event loop."""
    for _ in range(TIMEOUT_MS // 50):
        if check():
            return
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {what}")


def server_text(table: Table, pid: str) -> str:
    paragraphs = table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"]
    return next(p["text"] for p in paragraphs if p["id"] == pid)


def select_passage(page: Any, pid: str, passage: str) -> None:
    """Select words the way a keyboard user does: to the start, then Shift+→ over the passage."""
    text = editor_text(page, pid)
    start = text.index(passage)
    content = paragraph(page, pid).locator(".cm-content")
    content.click()
    page.keyboard.press("Control+Home")
    for _ in range(start):
        page.keyboard.press("ArrowRight")
    for _ in range(len(passage)):
        page.keyboard.press("Shift+ArrowRight")
    note = paragraph(page, pid).locator(".selection-note")
    note.wait_for()
    assert passage in note.inner_text()


# --- serving the app --------------------------------------------------------------------------


def test_page_and_assets_are_served_with_types_and_caching(server):
    dist = ROOT / "client" / "web" / "dist"
    need(
        (dist / "index.html").exists(),
        "client/web/dist is not built (cd client/web && npm ci && npm run build)",
    )
    with httpx.Client(base_url=server.http, timeout=10) as http:
        page = http.get("/")  # no token: the app asks for one
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["cache-control"] == "no-cache"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["referrer-policy"] == "no-referrer"
        assert http.get("/", headers={"If-None-Match": page.headers["etag"]}).status_code == 304
        scripts = re.findall(r'src="(/assets/app-[A-Z0-9]{8}\.js)"', page.text)
        styles = re.findall(r'href="(/assets/app-[A-Z0-9]{8}\.css)"', page.text)
        assert len(scripts) == 1 and len(styles) == 1, page.text
        script = http.get(scripts[0])
        assert script.status_code == 200
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert script.content == (dist / scripts[0].lstrip("/")).read_bytes()
        assert http.get(scripts[0], headers={"If-None-Match": script.headers["etag"]}).status_code == 304
        style = http.get(styles[0])
        assert style.headers["content-type"] == "text/css; charset=utf-8"
        plain = http.head(styles[0], headers={"Accept-Encoding": "identity"})
        assert plain.headers["content-length"] == str(len(style.content))
        assert "content-encoding" not in plain.headers
        assert style.headers["content-encoding"] == "gzip"  # decoded by httpx
        assert style.headers["vary"] == "Accept-Encoding"
        for missing in [
            "/assets/nope.js",
            "/assets/../index.html",
            "/assets/%2e%2e/index.html",
            "/assets/x.py",
        ]:
            assert http.get(missing).status_code == 404, missing


# --- in the browser ---------------------------------------------------------------------------


def test_sign_in_shows_who_you_are_and_the_drafts(app):
    page = app.open("switzerland")
    page.wait_for_selector(".draft-item[data-draft='tunis']")
    assert "token=" not in page.url  # removed from the address bar
    who = page.locator("[data-test=who]").inner_text()
    assert "Delegate of Switzerland" in who and "Switzerland" in who and "Governments" in who
    assert "Delegate" in who
    assert page.locator(".draft-item[data-draft='tunis'] a", has_text="Chair’s dashboard").count() == 0
    shot(page, "drafts")

    # A pasted token works too; a wrong one is refused with the reason.
    signin = app.browser.new_context(viewport={"width": 1280, "height": 800})
    app.contexts.append(signin)
    fresh = signin.new_page()
    fresh.goto(f"{app.server.http}/")
    fresh.get_by_label("Access token").fill("not-a-token")
    fresh.get_by_role("button", name="Sign in").click()
    assert "not an access token" in fresh.locator(".error").inner_text()
    shot(fresh, "sign-in")
    fresh.get_by_label("Access token").fill(app.table.tokens["chair"])
    fresh.get_by_role("button", name="Sign in").click()
    fresh.get_by_role("link", name="Chair’s dashboard").click()
    fresh.wait_for_selector("td[data-target='p1'][data-group='government']")


def test_two_delegates_coedit_and_see_each_other(app):
    swiss = app.draft("switzerland")
    civil = app.draft("csc")
    # Numbers come from the server: headings none, operative 1, 2, 3, items (a), (b).
    assert paragraph(swiss, "p3").locator(".para-number").inner_text().strip().endswith("3.")
    assert paragraph(swiss, "p4").locator(".para-number").inner_text().strip().endswith("(a)")

    paragraph(swiss, "p2").locator(".cm-content").click()
    swiss.keyboard.press("End")
    swiss.keyboard.type(" Swiss words")
    paragraph(civil, "p2").locator(".cm-content").click()
    civil.keyboard.press("Control+Home")
    civil.keyboard.type("Civil words: ")

    for page in (swiss, civil):
        wait_until(
            page,
            lambda page=page: (
                editor_text(page, "p2").startswith("Civil words: ")
                and editor_text(page, "p2").endswith("Swiss words")
            ),
            "both edits on both screens",
        )
    expected = "Civil words: Implementation must be carried out at the national, regional and international levels. Swiss words"
    wait_until(swiss, lambda: server_text(app.table, "p2") == expected, "the server's text")

    # Each sees the other's cursor, named, in the paragraph, and the other in the presence list.
    paragraph(swiss, "p2").locator(
        ".remote-caret-name", has_text="Delegate of Civil Society Caucus"
    ).wait_for()
    paragraph(civil, "p2").locator(".remote-caret-name", has_text="Delegate of Switzerland").wait_for()
    swiss.locator(".presence-list [data-user='csc']").wait_for()
    assert "Civil Society Caucus" in swiss.locator(".presence-list").inner_text()
    shot(swiss, "draft-coediting")


def test_amendment_cosponsored_positions_live_dashboard_and_adoption(app):
    swiss = app.draft("switzerland")
    ccbi = app.draft("ccbi")
    chair = app.draft("chair", view="chair")
    cell = chair.locator("td[data-target='am-1'][data-group='government']")

    select_passage(swiss, "p3", "implementation mechanism")
    paragraph(swiss, "p3").get_by_role("button", name="Propose amendment").click()
    form = paragraph(swiss, "p3").locator("form.amendment-form")
    assert "implementation mechanism" in form.locator(".original").inner_text()
    assert form.get_by_label("Kind of amendment").input_value() == "substitution"
    form.get_by_label("Proposed text").fill("implementation process")
    form.get_by_label("Justification").fill("A process is lighter than a mechanism.")
    form.get_by_role("button", name="Propose amendment").click()

    card = paragraph(ccbi, "p3").locator(".amendment[data-amendment='am-1']")
    card.wait_for()
    assert "implementation mechanism" in card.locator("del").inner_text()
    assert "implementation process" in card.locator("ins").inner_text()
    assert "Switzerland" in card.locator(".sponsor").inner_text()
    card.get_by_role("button", name="Co-sponsor").click()
    paragraph(swiss, "p3").locator(
        ".amendment[data-amendment='am-1'] .cosponsors", has_text="CCBI"
    ).wait_for()
    card.get_by_role("button", name="Co-sponsor").wait_for(state="hidden")

    # The dashboard follows the positions live.
    chair.locator("tr[data-target='am-1']").wait_for()
    # The sponsor and the co-sponsor count as supporting their amendment.
    assert chair.locator("[data-indicator='am-1'] .indicator").get_attribute("data-status") == "consensus"
    swiss_card = paragraph(swiss, "p3").locator(".amendment[data-amendment='am-1']")
    swiss_card.get_by_label("Switzerland’s position").select_option("support")
    swiss_card.get_by_role("button", name="State position").click()
    chair.wait_for_function(
        "() => document.querySelector(\"td[data-target='am-1'][data-group='government']\")?.dataset.stances === 'support:1'"
    )
    assert "support" in cell.inner_text()
    card.get_by_label("CCBI’s position").select_option("objection")
    card.get_by_label("Explanation").fill("too vague")
    card.get_by_role("button", name="State position").click()
    chair.wait_for_function(
        "() => document.querySelector(\"[data-indicator='am-1'] .indicator\")?.dataset.status === 'divided'"
    )
    private = chair.locator("td[data-target='am-1'][data-group='private_sector']")
    assert private.get_attribute("data-stances") == "objection:1" and "objection" in private.inner_text()
    shot(chair, "dashboard-divided", full_page=True)
    # Adopting now would be over CCBI's objection: the dialog says so, and what it replaces, first.
    chair.get_by_role("button", name="Adopt amendment am-1…").click()
    assert "CCBI objects" in chair.locator("[data-test=adopt-objections]").inner_text()
    assert chair.locator("[data-test=adopt-replaced] del").inner_text() == "implementation mechanism"
    chair.locator("dialog").get_by_role("button", name="Cancel").click()
    chair.locator("dialog").wait_for(state="detached")
    card.get_by_label("CCBI’s position").select_option("support")
    card.get_by_role("button", name="State position").click()
    chair.wait_for_function(
        "() => ['consensus', 'broad_support'].includes(document.querySelector(\"[data-indicator='am-1'] .indicator\")?.dataset.status)"
    )
    assert "Divided" not in chair.locator("[data-indicator='am-1']").inner_text()
    swiss_card.scroll_into_view_if_needed()
    shot(swiss, "draft-amendment", scroll=False)
    shot(chair, "dashboard", full_page=True)

    # The chair sees the exact change, then adopts: the delegates' text changes.
    chair.get_by_role("button", name="Adopt amendment am-1…").click()
    preview = chair.locator("[data-test=adopt-preview]")
    assert "implementation mechanism" in preview.locator("del").first.inner_text()
    assert "implementation process" in preview.locator("ins").first.inner_text()
    assert "There should be an" in preview.locator(".paragraph-preview").inner_text()
    shot(chair, "adopt-dialog")
    chair.locator("dialog").get_by_role("button", name="Adopt", exact=True).click()
    chair.locator("dialog").wait_for(state="detached")
    adopted = (
        "There should be an implementation process, decentralised and based around multi-stakeholder teams."
    )
    for page in (swiss, ccbi):
        wait_until(page, lambda page=page: editor_text(page, "p3") == adopted, "the adopted text")
    chair.locator("tr[data-target='am-1']").wait_for(state="detached")
    paragraph(swiss, "p3").locator(".amendment[data-amendment='am-1'] [data-state='adopted']").wait_for(
        state="attached"
    )
    assert server_text(app.table, "p3") == adopted


def test_chair_sets_a_status_starts_a_silence_and_rejects_with_a_reason(app):
    proposed = app.table.ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 14, "kind": "deletion", "justification": "redundant"},
    )["result"]
    delegate = app.draft("ccbi")
    chair = app.draft("chair", view="chair")

    chair.get_by_role("button", name="Set the status of ¶ 1").click()
    dialog = chair.locator("dialog")
    dialog.get_by_label("Status").select_option("bracketed")
    dialog.get_by_label("Reason (optional)").fill("mechanism to be defined")
    dialog.get_by_role("button", name="Set status").click()
    dialog.wait_for(state="detached")
    status = paragraph(delegate, "p1").locator(".para-status .status")
    status.and_(delegate.locator("[data-status='bracketed']")).wait_for()
    assert "Bracketed" in status.inner_text()
    assert "mechanism to be defined" in paragraph(delegate, "p1").locator(".para-status").inner_text()

    chair.get_by_role("button", name="Start a silence procedure on ¶ 3").click()
    dialog.get_by_label("Duration (minutes)").fill("30")
    dialog.get_by_role("button", name="Start silence procedure").click()
    dialog.wait_for(state="detached")
    running = chair.locator("tr[data-target='p3'] .silence[data-state='running']")
    running.wait_for()
    assert re.search(r"(29|30) min \d+ s left", running.text_content()), running.text_content()
    paragraph(delegate, "p3").locator(".silence[data-state='running']").wait_for()

    chair.get_by_role("button", name=f"Reject amendment {proposed['id']}…").click()
    reason = dialog.get_by_label("Reason (required, shown to everyone)")
    dialog.get_by_role("button", name="Reject").click()
    assert reason.evaluate("field => field.validity.valueMissing")  # a reason is required
    assert dialog.is_visible()
    reason.fill("The chapeau stays.")
    dialog.get_by_role("button", name="Reject").click()
    dialog.wait_for(state="detached")
    card = paragraph(delegate, "p2").locator(f".amendment[data-amendment='{proposed['id']}']")
    card.locator("[data-state='rejected']").wait_for(state="attached")
    assert "The chapeau stays." in card.locator(".decision").text_content()
    shot(chair, "dashboard-silence", full_page=True)


def test_observer_cannot_type_and_a_locked_text_stops_everyone(app):
    observer = app.draft("observer")
    assert "observer" in observer.locator("[data-test=role-banner]").inner_text()
    content = paragraph(observer, "p1").locator(".cm-content")
    assert content.get_attribute("contenteditable") == "false"
    assert "read-only" in content.get_attribute("aria-label")
    assert (
        "observers can read and comment" in paragraph(observer, "p1").locator(".readonly-note").inner_text()
    )
    content.click()
    observer.keyboard.type("Observer was here")
    assert "Observer" not in editor_text(observer, "p1")
    # Observers may comment, not amend.
    assert paragraph(observer, "p1").get_by_role("button", name="Comment").is_enabled()
    assert paragraph(observer, "p1").get_by_role("button", name="Propose amendment").count() == 0
    shot(observer, "draft-observer")

    delegate = app.draft("switzerland")
    chair = app.draft("chair", view="chair")
    chair.get_by_role("button", name="Lock the text").click()
    chair.locator("[data-test=lock-state]", has_text="Locked").wait_for()
    banner = delegate.locator("[data-test=lock-banner]")
    banner.wait_for()
    assert "locked" in banner.inner_text() and "amendments" in banner.inner_text()
    locked = paragraph(delegate, "p1").locator(".cm-content")
    paragraph(delegate, "p1").locator(".readonly-note", has_text="locked").wait_for()
    # A delegate's typing in a locked text is a suggestion (to propose as an amendment), not an edit.
    assert "suggestion" in paragraph(delegate, "p1").locator(".readonly-note").inner_text()
    locked.click()
    delegate.keyboard.press("End")
    delegate.keyboard.type(" Typed while locked")
    paragraph(delegate, "p1").locator("[data-test=suggestion]", has_text="Typed while locked").wait_for()
    assert "Typed" not in server_text(app.table, "p1")
    shot(delegate, "draft-locked")
    paragraph(delegate, "p1").get_by_role("button", name="Discard").click()
    assert "Typed" not in editor_text(delegate, "p1")

    # The chair moves between the text and the dashboard on one connection.
    chair.get_by_role("link", name="Text", exact=True).click()
    assert "locked" in chair.locator("[data-test=lock-banner]").inner_text()
    paragraph(chair, "p1").locator(".cm-content[contenteditable=false]").wait_for()
    chair.get_by_role("link", name="Dashboard").click()
    chair.get_by_role("button", name="Unlock the text").click()
    delegate.locator("[data-test=lock-banner]").wait_for(state="hidden")
    delegate.wait_for_function(
        "() => { const p = document.querySelector(\".para[data-paragraph='p1']\");"
        " return !p.classList.contains('suggesting') && !p.classList.contains('readonly') }"
    )
    locked.click()
    delegate.keyboard.press("End")
    delegate.keyboard.type(" Unlocked.")
    wait_until(
        delegate, lambda: server_text(app.table, "p1").endswith("Unlocked."), "the edit after unlocking"
    )
    assert delegate.locator(".connection[data-state=connected]").count() == 1


def test_closed_comment_period_disables_commenting_with_the_reason(app):
    from tests.test_deliberation import iso_in

    app.table.ok(
        "chair", "POST", "/api/drafts/tunis/periods", {"paragraphs": ["p2"], "deadline": iso_in(600)}
    )
    delegate = app.draft("csc")
    period = delegate.locator(".period[data-period='cp-1']")
    period.wait_for()
    assert "open" in period.inner_text() and "closes in" in period.inner_text()
    comment = paragraph(delegate, "p2").get_by_role("button", name="Comment")
    assert comment.is_enabled()

    # A comment on a selected passage, in UTF-16 offsets: an astral character before it counts two.
    paragraph(delegate, "p2").locator(".cm-content").click()
    delegate.keyboard.press("Control+Home")
    delegate.keyboard.type("🌍 ")
    wait_until(delegate, lambda: server_text(app.table, "p2").startswith("🌍 "), "the globe on the server")
    select_passage(delegate, "p2", "national")
    comment.click()
    form = paragraph(delegate, "p2").locator("form.comment-form")
    form.get_by_label("Your comment").fill("Which national dialogues?")
    form.get_by_label("Kind of comment").select_option("questioning")
    form.get_by_role("button", name="Post comment").click()
    paragraph(delegate, "p2").locator(".annotation", has_text="Which national dialogues?").wait_for()
    note = app.table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["annotations"]["an-1"]
    assert note["quote"] == "national" and note["motivation"] == "questioning"
    before = "🌍 Implementation must be carried out at the "
    assert note["start"] == len(before.encode("utf-16-le")) // 2 == len(before) + 1
    assert note["end"] == note["start"] + len("national")
    paragraph(delegate, "p2").locator(".cm-content").click()
    delegate.keyboard.press("Control+Home")
    delegate.keyboard.press("Delete")
    delegate.keyboard.press("Delete")
    wait_until(delegate, lambda: server_text(app.table, "p2") == PARAGRAPHS[2]["text"], "the globe removed")

    chair = app.draft("chair", view="chair")
    chair.locator("tr[data-period='cp-1']").get_by_role("button", name="Close").click()
    chair.locator("tr[data-period='cp-1'] [data-state='closed']").wait_for()
    reason = paragraph(delegate, "p2").locator("[data-test=period-note]")
    reason.wait_for()
    assert "comment period" in reason.inner_text() and "closed" in reason.inner_text()
    assert comment.is_disabled()
    assert paragraph(delegate, "p2").get_by_role("button", name="Propose amendment").is_disabled()
    assert paragraph(delegate, "p2").get_by_label("Civil Society Caucus’s position").is_disabled()
    # Paragraphs never put out for comment stay open.
    assert paragraph(delegate, "p1").get_by_role("button", name="Comment").is_enabled()
    assert "closed" in period.inner_text()
    paragraph(delegate, "p2").scroll_into_view_if_needed()
    shot(delegate, "draft-period-closed", scroll=False)


def test_archive_replays_an_earlier_version(app):
    openapi = app.table.ok("chair", "GET", "/api/openapi.json")
    if (
        "/api/drafts/{draft}/events" not in openapi["paths"]
        or "/api/drafts/{draft}/text" not in openapi["paths"]
    ):
        pytest.skip("this server has no history endpoints (GET /api/drafts/{id}/events and /text?at=)")
    amendment = app.table.ok(
        "switzerland",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p1", "start": 4, "end": 28, "kind": "substitution", "text": "follow-up process"},
    )["result"]
    app.table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{amendment['id']}/adopt", {})
    original = PARAGRAPHS[1]["text"]
    adopted = "Any follow-up process must have a multi-stakeholder character."
    assert server_text(app.table, "p1") == adopted

    archive = app.open("archivist", "/drafts/tunis/archive")
    archive.locator("[data-test=verify] .verdict[data-ok='true']").wait_for()
    assert "Intact" in archive.locator("[data-test=verify]").inner_text()
    archive.locator(".receipt").wait_for()
    replay = archive.locator("[data-test=replay-text]")
    replay.locator(".replay-para[data-paragraph='p1']", has_text=adopted).wait_for()
    assert replay.locator(".blame[data-delegation='Switzerland']").count() >= 1
    shot(archive, "archive", full_page=True)

    # Back to the first entries: the text before the amendment.
    slider = archive.get_by_label("Point in the record")
    slider.focus()
    archive.keyboard.press("Home")
    archive.get_by_role("button", name="Next ▶").click()
    archive.get_by_role("button", name="Next ▶").click()
    replay.locator(".replay-para[data-paragraph='p1']", has_text=original).wait_for()
    assert archive.locator(".events .current").count() == 1
    shot(archive, "archive-earlier", full_page=True)


def test_offline_edits_merge_when_the_server_returns(app):
    delegate = app.draft("itu")
    app.server.stop()
    delegate.wait_for_selector(".connection[data-state=offline], .connection[data-state=connecting]")
    paragraph(delegate, "p5").locator(".cm-content").click()
    delegate.keyboard.press("End")
    delegate.keyboard.type(" Typed offline.")
    status = delegate.locator(".connection")
    wait_until(delegate, lambda: "will merge" in status.inner_text(), "the offline notice")
    shot(delegate, "draft-offline", scroll=False)
    app.server.start()
    delegate.wait_for_selector(".connection[data-state=connected]", timeout=30_000)
    wait_until(
        delegate,
        lambda: server_text(app.table, "p5") == "a stakeholder commitments document. Typed offline.",
        "the offline edit on the server",
    )


def test_narrow_screen(app):
    page = app.draft("ccbi", width=420, height=860)
    paragraph(page, "p1").get_by_role("button", name="Comment").wait_for()
    box = paragraph(page, "p1").bounding_box()
    assert box is not None and box["width"] <= 420
    assert page.evaluate("document.documentElement.scrollWidth") <= 420
    shot(page, "draft-narrow")
