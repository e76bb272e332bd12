"""Times as Plenary writes them: microseconds since the Unix epoch, shown as ISO 8601 UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso_us(time_us: int) -> str:
    """To the microsecond (log entries, audit receipts), e.g. ``2026-11-29T22:19:45.123456Z``."""
    return (
        (_EPOCH + timedelta(microseconds=time_us)).isoformat(timespec="microseconds").replace("+00:00", "Z")
    )


def iso_seconds(time_us: int) -> str:
    """To the second (the deliberation state: deadlines, decisions), e.g. ``2026-11-29T22:19:45Z``.
    The server and every replay of the log must format alike: the states are compared."""
    return datetime.fromtimestamp(time_us / 1e6, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
