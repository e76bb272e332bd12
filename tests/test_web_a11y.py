"""Accessibility: axe-core (as shipped by axe-playwright-python) scans every page of the app, as
each role sees it, in Chromium against a real server; no serious or critical violation is allowed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import need
from tests.test_web import App, app, browser  # noqa: F401 - fixtures


def _axe_script() -> Path | None:
    try:
        import axe_playwright_python
    except ImportError:
        return None
    return Path(axe_playwright_python.__file__).parent / "axe.min.js"


class _ScannableBrowser:
    """The browser, opening contexts where axe's script may be added despite the app's CSP."""

    def __init__(self, wrapped: Any) -> None:
        self._browser = wrapped

    def new_context(self, **options: Any) -> Any:
        return self._browser.new_context(bypass_csp=True, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


def violations(page: Any) -> list[str]:
    """The serious and critical violations on the page as it is now, one line each."""
    script = _axe_script()
    need(script is not None and script.exists(), "axe-playwright-python is not installed")
    page.add_script_tag(path=str(script))
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    found = []
    for violation in result["violations"]:
        if violation["impact"] not in ("serious", "critical"):
            continue
        targets = [json.dumps(node["target"]) for node in violation["nodes"][:3]]
        found.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} at {', '.join(targets)}"
        )
    return found


def test_every_page_for_every_role_is_free_of_serious_violations(app: App) -> None:  # noqa: F811
    app.browser = _ScannableBrowser(app.browser)
    table = app.table
    am = table.ok(
        "switzerland",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p1", "start": 4, "end": 28, "kind": "substitution", "text": "follow-up process"},
    )["result"]
    table.ok("csc", "PUT", f"/api/drafts/tunis/positions/{am['id']}", {"stance": "objection"})
    table.ok("csc", "POST", "/api/drafts/tunis/annotations", {"paragraph": "p2", "body": "Which levels?"})
    found: dict[str, list[str]] = {}

    drafts = app.open("switzerland")
    drafts.wait_for_selector(".draft-item[data-draft='tunis']")
    found["drafts"] = violations(drafts)
    text = app.draft("switzerland")
    other = app.draft("csc")  # someone else present: their cursor's name tag is on the page
    other.locator(".para[data-paragraph='p2'] .cm-content").click()
    text.locator(".remote-caret-name").first.wait_for()
    text.locator(".presence-list .person[data-user]").first.wait_for()
    found["text (delegate)"] = violations(text)
    found["text (observer)"] = violations(app.draft("observer"))
    chair = app.draft("chair", view="chair")
    chair.locator("tr.row-amendment").first.wait_for()
    found["dashboard"] = violations(chair)
    meetings = app.draft("chair", view="meetings")
    found["meetings"] = violations(meetings)
    archive = app.open("archivist", "/drafts/tunis/archive")
    archive.locator("[data-test=verify] .verdict").wait_for()
    archive.locator("[data-test=replay-text] .replay-para").first.wait_for()
    found["archive"] = violations(archive)
    revisions = app.open("chair", "/drafts/tunis/revisions")
    revisions.wait_for_timeout(500)
    found["revisions"] = violations(revisions)
    narrow = app.draft("chair", view="chair", width=390, height=844)
    found["dashboard (phone)"] = violations(narrow)
    bad = {page: lines for page, lines in found.items() if lines}
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)
