"""Signing in as a person on the roll through a real OpenID Connect provider (tests/oidc_provider.py,
authlib's server side, in its own process): the web app's sign-in page in Chromium, the provider's form,
the code exchanged with PKCE, the ID token checked, the person matched on the roll, the server's own token
back in the app; and everyone the roll does not know, or a sign-in that was tampered with, refused."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, free_port
from tests.test_deliberation import Table, create
from tests.test_roll import ROLL, roll_cli
from tests.test_web import browser  # noqa: F401 - the fixture

CLIENT_ID = "plenary-test"
CLIENT_SECRET = "a-client-secret-for-the-tests-only"
USERS = [
    # On the roll through their e-mail (Switzerland's head of delegation in tests/fixtures/wsis-roll.csv).
    {
        "username": "furrer",
        "password": "pw-furrer",
        "sub": "idp-7f3a",
        "email": "furrer@admin.example.ch",
        "name": "M. Furrer",
    },
    {
        "username": "stranger",
        "password": "pw-stranger",
        "sub": "idp-0000",
        "email": "who@nowhere.example",
        "name": "Who",
    },
]


@pytest.fixture
def provider_and_server(server_factory) -> Iterator[tuple[str, Any]]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    server = server_factory(
        plenary_oidc_issuer=issuer, plenary_oidc_client_id=CLIENT_ID, plenary_oidc_client_secret=CLIENT_SECRET
    )
    redirect = f"{server.http}/auth/oidc/callback"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.oidc_provider",
            str(port),
            CLIENT_ID,
            CLIENT_SECRET,
            redirect,
            json.dumps(USERS),
        ],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60  # as long as a server gets on a loaded machine
        with httpx.Client(timeout=1) as client:  # one client: httpx.get() costs 25 ms of CPU a call
            while True:
                try:
                    if client.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the test identity provider did not start"
                time.sleep(0.05)
        yield issuer, server
    finally:
        process.terminate()
        process.wait(timeout=10)


def with_roll(server, tokens) -> Table:
    table = Table(server, tokens)
    create(table)
    assert roll_cli(server, table.tokens["chair"], "import", str(ROLL), "--draft", "tunis").returncode == 0
    return table


def sign_in_without_browser(server, username: str, password: str, *, tamper: bool = False) -> httpx.Response:
    """The redirects a browser follows, with its cookies: the last response (Plenary's, or the provider's)."""
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        response = client.get(f"{server.http}/auth/oidc/login?draft=tunis")
        assert response.status_code == 303
        authorize = response.headers["location"]
        assert "code_challenge=" in authorize and "code_challenge_method=S256" in authorize
        response = client.post(authorize, data={"username": username, "password": password})
        assert response.status_code == 302, response.text
        back = response.headers["location"]
        if tamper:
            back = back.replace("state=", "state=x")
        return client.get(back)


def test_sign_in_through_the_web_app_in_chromium(browser, provider_and_server, tokens):  # noqa: F811
    _issuer, server = provider_and_server
    with_roll(server, tokens)
    context = browser.new_context()
    context.set_default_timeout(15_000)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{server.http}/#/drafts/tunis")
        page.click("[data-test=sign-in-organisation]")
        page.wait_for_selector("text=Sign in to the test provider")
        page.fill("input[name=username]", "furrer")
        page.fill("input[name=password]", "pw-furrer")
        page.click("button[type=submit]")
        page.wait_for_selector(".connection[data-state=connected]")
        who = page.inner_text("[data-test=who]")
        # The roll's name and delegation, not the provider's.
        assert "Ambassador Marc Furrer" in who and "Switzerland" in who
        assert "token=" not in page.url  # taken out of the address bar
        token = page.evaluate("() => sessionStorage.getItem('plenary.token')")
    finally:
        context.close()
    assert errors == []
    # The server's own token, for the drafts the person is on, in the capacity the roll gives.
    response = httpx.get(f"{server.http}/api/drafts/tunis/me", headers={"Authorization": f"Bearer {token}"})
    me = response.json()
    assert (me["id"], me["delegation"], me["role"], me["roll_role"]) == (
        "ch-1",
        "Switzerland",
        "delegate",
        "head_of_delegation",
    )


def test_sign_in_refusals(provider_and_server, tokens):
    _issuer, server = provider_and_server
    with_roll(server, tokens)
    stranger = sign_in_without_browser(server, "stranger", "pw-stranger")
    assert stranger.status_code == 403 and "not on the roll of tunis" in stranger.text
    tampered = sign_in_without_browser(server, "furrer", "pw-furrer", tamper=True)
    assert tampered.status_code == 400 and "state does not match" in tampered.text
    ok = sign_in_without_browser(server, "furrer", "pw-furrer")
    assert ok.status_code == 303 and ok.headers["location"].startswith("/?token=")
    # A callback without the sign-in's cookie (started elsewhere, or forged) is refused.
    forged = httpx.get(f"{server.http}/auth/oidc/callback?code=abc&state=def")
    assert forged.status_code == 400 and "start again" in forged.text
    assert httpx.get(f"{server.http}/auth/oidc").json()["enabled"] is True


def test_sign_in_is_off_without_a_provider(server):
    assert httpx.get(f"{server.http}/auth/oidc").json() == {"enabled": False, "login": None}
    assert httpx.get(f"{server.http}/auth/oidc/login").status_code == 404
