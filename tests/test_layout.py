"""The tree shows the architecture: layers import downwards only, and nothing grows past what a reader
can hold. These read the sources (no import runs), so they also catch imports under ``TYPE_CHECKING``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crdt", "server", "client")


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name


def _graph() -> dict[str, set[str]]:
    return {name: {m for m in _imports(path) if m in MODULES and m != name} for name, path in MODULES.items()}


def test_crdt_imports_nothing_of_server_or_client():
    offenders = {
        name: sorted(m for m in deps if m.startswith(("server", "client")))
        for name, deps in _graph().items()
        if name.startswith("crdt")
    }
    assert {name: deps for name, deps in offenders.items() if deps} == {}


def test_only_the_entry_points_know_the_application_object():
    importers = sorted(name for name, deps in _graph().items() if "server.app" in deps)
    assert importers == ["server.cli"]  # app.py defines it


def test_server_keeps_at_most_eight_modules_at_its_top():
    top = sorted(p.name for p in (ROOT / "server").glob("*.py") if p.name != "__init__.py")
    assert len(top) <= 8, top


def test_no_source_file_passes_a_thousand_lines():
    long = {name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > 1000}
    assert long == {}


def test_no_import_cycles():
    graph = _graph()
    # Packages' __init__ modules re-exporting their own submodules are not cycles of design.
    for name in list(graph):
        graph[name] = {
            dep
            for dep in graph[name]
            if not (name.startswith(dep + ".") and MODULES[dep].name == "__init__.py")
        }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_layers_point_down():
    """sync, procedure and record never reach up into the API or the entry points; storage and the
    broker reach into nothing above them."""
    above = {
        "server.storage": ("server.sync", "server.procedure", "server.record", "server.api", "server.broker"),
        "server.broker": ("server.sync", "server.procedure", "server.record", "server.api"),
        "server.sync": ("server.procedure", "server.record", "server.api"),
        "server.procedure": ("server.record", "server.api"),
        "server.record": ("server.api",),
    }
    wrong = {}
    for name, deps in _graph().items():
        for layer, forbidden in above.items():
            if name == layer or name.startswith(layer + "."):
                bad = sorted(d for d in deps if d.startswith(forbidden) or d in ("server.app", "server.cli"))
                if bad:
                    wrong[name] = bad
    assert wrong == {}
