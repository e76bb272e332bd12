"""The committed build of the browser app (client/web/dist) is what its sources build to.

The server serves client/web/dist and needs no Node.js; this test rebuilds the app from a clean
copy of its sources with the pinned packages (``npm ci && npm run build``) and compares the bytes,
so the committed assets never drift from the sources. Skipped without Node.js and npm, unless
PLENARY_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.conftest import ROOT, need

WEB = ROOT / "client" / "web"
SOURCES = ["package.json", "package-lock.json", "build.mjs", "index.html", "src"]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()
    }


def test_committed_build_matches_a_fresh_build(tmp_path: Path) -> None:
    need(
        shutil.which("node") is not None and shutil.which("npm") is not None,
        "Node.js and npm are needed to rebuild the web app",
    )
    work = tmp_path / "web"
    work.mkdir()
    for name in SOURCES:
        source = WEB / name
        if source.is_dir():
            shutil.copytree(source, work / name)
        else:
            shutil.copy2(source, work / name)

    def run(*command: str) -> None:
        done = subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"

    run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
    run("npm", "run", "build")

    committed, fresh = _tree(WEB / "dist"), _tree(work / "dist")
    assert sorted(committed) == sorted(fresh), (
        "client/web/dist is stale: run `npm ci && npm run build` in client/web and commit dist/"
    )
    for name, content in fresh.items():
        assert committed[name] == content, (
            f"client/web/dist/{name} differs from a fresh build: rebuild and commit"
        )
