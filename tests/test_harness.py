"""The test harness's own promises: servers on ports of their own, even when two workers run at once."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import ServerProcess, free_port


def test_each_xdist_worker_takes_ports_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    for worker in (0, 1):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{worker}")
        assert {free_port() % 2 for _ in range(20)} == {worker}


def test_a_server_whose_port_was_taken_moves_to_another(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ServerProcess(f"sqlite:///{tmp_path / 'plenary.sqlite3'}", tmp_path, port=port)
        try:
            server.start()
            assert server.port != port and server.alive()
            server.restart()  # a restart keeps the port it got
            assert server.port != port and server.alive()
        finally:
            server.stop()


def test_server_ports_are_outside_the_range_outgoing_connections_take() -> None:
    """Outgoing connections take their local ports from the ephemeral range: a server port from there could
    be taken by a client between the check and the server's bind (it was, beside the socket tests)."""
    from tests.conftest import _ephemeral_ports

    low, _ = _ephemeral_ports()
    assert all(free_port() < low for _ in range(50))
