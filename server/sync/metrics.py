"""Prometheus metrics of one server process (``prometheus-client``).

The figures are not public: ``/healthz`` only says whether the process serves.
They are served as ``/metrics`` on the main port to a request bearing
``PLENARY_METRICS_TOKEN``, and/or without a token on ``PLENARY_METRICS_PORT``
(bound to ``PLENARY_METRICS_HOST``, loopback by default), for a scraper on a
private network. docs/grafana-dashboard.json charts them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics", "token_matches"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Every figure the process exports, in its own registry (one per application)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.connections = Gauge("plenary_connections", "Open websocket sessions", registry=registry)
        self.rooms = Gauge("plenary_rooms", "Rooms loaded in memory", registry=registry)
        self.opening = Gauge(
            "plenary_opening_connections", "Connections still sending their request head", registry=registry
        )
        self.commit_seconds = Histogram(
            "plenary_log_commit_seconds",
            "Duration of one group commit of the log",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.committed_entries = Counter(
            "plenary_log_entries", "Log entries committed by this process", registry=registry
        )
        self.fanout_seconds = Histogram(
            "plenary_fanout_seconds",
            "Time to hand one message to every connection of a room",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.closes = Counter(
            "plenary_websocket_closes",
            "Websocket sessions closed by the server, by close code",
            ["code"],
            registry=registry,
        )
        self.rate_limited = Counter(
            "plenary_rate_limited",
            "Refusals for exceeding a participant's rate limit, by kind",
            ["kind"],
            registry=registry,
        )
        self.slow_readers = Counter(
            "plenary_slow_readers_dropped",
            "Connections aborted because the client did not read (queue limit or write timeout)",
            ["why"],
            registry=registry,
        )
        self.handshakes_refused = Counter(
            "plenary_handshakes_refused",
            "Connections refused before a request arrived (busy, timeout, unparseable)",
            ["reason"],
            registry=registry,
        )
        self.relay_lag_seconds = Histogram(
            "plenary_broker_relay_lag_seconds",
            "From a log entry's time to its arrival from another process through the broker",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )

    def track(
        self, connections: Callable[[], int], rooms: Callable[[], int], opening: Callable[[], int]
    ) -> None:
        self.connections.set_function(connections)
        self.rooms.set_function(rooms)
        self.opening.set_function(opening)

    def handshake_refused(self, reason: str) -> None:
        self.handshakes_refused.labels(reason).inc()

    def observe_commit(self, seconds: float, entries: int) -> None:
        self.commit_seconds.observe(seconds)
        self.committed_entries.inc(entries)

    def serve(self, host: str, port: int) -> Any:
        """``/metrics`` without a token on a port of its own (a thread); returns the server to shut down."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return server

    def render(self) -> bytes:
        return generate_latest(self.registry)


def token_matches(header: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header bears ``token`` (never, while no token is set)."""
    if not token or not header:
        return False
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
