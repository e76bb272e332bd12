"""/healthz is liveness for anyone; the figures are Prometheus metrics behind a token (server/sync/metrics.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from pycrdt import Text

from client.session import RoomClient
from tests.conftest import METRICS_TOKEN, eventually, free_port

DASHBOARD = Path(__file__).resolve().parent.parent / "docs" / "grafana-dashboard.json"


async def test_healthz_is_liveness_and_the_figures_need_the_token(server, tokens):
    server.create_draft("counted")
    assert httpx.get(f"{server.http}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{server.http}/metrics").status_code == 404
    wrong = {"Authorization": "Bearer not-the-token"}
    assert httpx.get(f"{server.http}/metrics", headers=wrong).status_code == 404
    assert httpx.get(f"{server.http}/healthz", headers=wrong).json() == {"status": "ok"}

    async with RoomClient(server.ws, "counted", token=tokens()) as client:
        await client.wait_synced()
        client.doc.get("text", type=Text).insert(0, "hello")
        await eventually(lambda: server.health()["log"]["entries"] >= 1)
        assert server.health()["connections"] == 1
        figures = server.metrics()
        assert "plenary_connections 1.0" in figures
        assert "plenary_rooms 1.0" in figures
        assert re.search(r"^plenary_log_commit_seconds_count [1-9]", figures, re.M)
        assert re.search(r"^plenary_log_entries_total [1-9]", figures, re.M)

    # Every metric the Grafana dashboard charts is one the server exports.
    def base(name: str) -> str:
        return re.sub(r"_(total|bucket|count|sum|created)$", "", name)

    exported = {base(name) for name in re.findall(r"^# TYPE (plenary_\w+) ", figures, re.M)}
    charted = set(re.findall(r"plenary_\w+", DASHBOARD.read_text()))
    assert len(charted) >= 9
    for name in charted:
        assert base(name) in exported, name
    json.loads(DASHBOARD.read_text())


def test_metrics_on_a_port_of_their_own(server_factory):
    port = free_port()
    server = server_factory(plenary_metrics_port=str(port))
    response = httpx.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert "plenary_connections" in response.text
    assert METRICS_TOKEN not in response.text
    assert httpx.get(f"{server.http}/healthz").json() == {"status": "ok"}
