"""The README's examples run as written, against a real server.

Each example in README.md is a fenced block preceded by ``<!-- example: NAME -->``; this test reads them
from the README (which stays the source) and runs them for real, in the README's order: the shell blocks
with bash (``curl`` as itself, made to fail on an HTTP error), the JS one with Node (the npm packages of
``tests/js``), the Python one with this interpreter. The only change made to them is the server's address
(``127.0.0.1:8000`` becomes the test server's). The tokens the README names (``$TOKEN``, ``$CHAIR``,
``$DELEGATE``, ``PLENARY_TOKEN``) are in the environment, as a reader would have them.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx

from tests.conftest import ROOT, TEST_SECRET, ServerProcess, Tokens, free_port

EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```(\w+)\n(.*?)\n```", re.DOTALL)
NAMES = ["js", "python", "token", "create", "commands", "history", "audit", "export", "serve"]
# bash: every curl fails on an HTTP error status, as a reader would notice one.
STRICT_CURL = 'curl() { command curl --fail-with-body --silent --show-error "$@"; echo; }\n'
PRINCIPLES = """\
# Principles

Any implementation mechanism must have a multi-stakeholder character.

- national dialogues;
- regional reviews.
"""


def examples() -> dict[str, tuple[str, str]]:
    found = {name: (lang, code) for name, lang, code in EXAMPLE.findall((ROOT / "README.md").read_text())}
    assert sorted(found) == sorted(NAMES), "an example lost its marker, or a new one needs running here"
    return found


def test_every_readme_example_runs(tmp_path: Path, tokens: Tokens) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'plenary.sqlite3'}", tmp_path, {"PLENARY_DEMO": "1"})
    server.start()
    try:
        _run_all(server, tokens, tmp_path)
    finally:
        server.stop()


def _run_all(server: ServerProcess, tokens: Tokens, workdir: Path) -> None:
    found = examples()
    here = f"127.0.0.1:{server.port}"

    def code(name: str) -> str:
        return found[name][1].replace("127.0.0.1:8000", here)

    chair = tokens(
        "chair", user="chair", name="Chair", delegation="Bureau", group="international_organization"
    )
    delegate = tokens("delegate", user="kenya", name="Delegate of Kenya", delegation="Kenya")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PLENARY_SECRET": TEST_SECRET,
        "PLENARY_DATABASE_URL": server.database_url,
        "TOKEN": chair,
        "CHAIR": chair,
        "DELEGATE": delegate,
        "PLENARY_TOKEN": delegate,
        "PYTHONPATH": str(ROOT),
    }
    (workdir / "principles.md").write_text(PRINCIPLES)
    http = httpx.Client(base_url=server.http, headers={"Authorization": f"Bearer {chair}"}, timeout=10)

    def sh(name: str) -> str:
        assert found[name][0] == "sh"
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", STRICT_CURL + code(name)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert done.returncode == 0, f"{name}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    issued = sh("token").split()
    assert len(issued) == 2 and all(token.count(".") == 2 for token in issued)  # signed tokens (JWTs)

    sh("create")
    assert http.get("/api/drafts/tunis-2005").status_code == 200
    imported = http.get("/api/drafts/tunis-principles").json()["paragraphs"]
    assert [p["kind"] for p in imported] == ["heading", "operative", "item", "item"]

    sh("commands")
    text = http.get("/api/drafts/tunis-2005").json()["paragraphs"][0]["text"]
    assert text == "The process of implementation must be multi-stakeholder."

    assert "The mechanism of implementation" in sh("history")  # entry 3: before the adoption
    sh("audit")
    assert (workdir / "receipt.json").exists()
    assert "No paragraph is agreed yet" in sh("export")
    with zipfile.ZipFile(workdir / "tunis-2005-akn.zip") as archive:
        assert "tunis-2005.xml" in archive.namelist()
        assert b"The mechanism of implementation" in archive.read("tunis-2005.xml")

    # The JS example, with the npm packages the tests install (Node resolves them from the script's folder).
    assert found["js"][0] == "js"
    script = ROOT / "tests" / "js" / f"readme-example-{os.getpid()}.mjs"
    script.write_text(code("js"))
    try:
        done = subprocess.run(
            ["node", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    finally:
        script.unlink()
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("p2 Hello from JS. Any implementation"), done.stdout

    assert found["python"][0] == "python"
    done = subprocess.run(
        [sys.executable, "-c", code("python")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("p2 Hello from Python. Hello from JS. Any implementation"), done.stdout
    demo = http.get("/api/drafts/wsis-follow-up").json()["paragraphs"][1]["text"]
    assert demo.startswith("Hello from Python. Hello from JS. Any implementation")

    # Running it: a second server, on a port of its own, until it answers its health check.
    port = free_port()
    serve = subprocess.Popen(
        ["bash", "-c", code("serve").replace("--port 8000", f"--port {port}")],
        cwd=workdir,
        env={**env, "PLENARY_DATABASE_URL": f"sqlite:///{workdir / 'served.sqlite3'}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60  # as long as any test server gets on a loaded machine
        with httpx.Client(timeout=1) as client:  # one client: httpx.get() costs 25 ms of CPU a call
            while True:
                assert serve.poll() is None, serve.stderr.read() if serve.stderr else ""
                try:
                    if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the served example never answered"
                time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have exited: let its own failure show
            os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=20)
