"""Settings: every knob has a name, an environment variable and a default.

The README's configuration and limits tables list the same settings; keep them
in step when you add one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

ENV_PREFIX = "PLENARY_"


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    #: SQLite file in the working directory unless told otherwise.
    database_url: str = "sqlite:///plenary.sqlite3"
    #: Unset: one process, in-process fan-out.
    redis_url: str | None = None
    #: HS256 secret for access tokens; required unless ``dev`` is set.
    secret: str | None = None
    dev: bool = False
    #: Create the demo draft at start-up if it does not exist.
    demo: bool = False
    #: Browser origins allowed to open websockets; empty means same origin only.
    allowed_origins: tuple[str, ...] = ()
    #: Host names the server answers to (``plenary.example.org``, ``*.example.org``; ``*``: any);
    #: empty means 127.0.0.1, localhost, [::1] and the address it is bound to.
    allowed_hosts: tuple[str, ...] = ()
    #: SQLite's ``synchronous`` pragma (NORMAL survives a process crash in WAL mode).
    sqlite_synchronous: str = "NORMAL"
    #: Per-message deflate costs ~6x CPU on fan-out: off unless asked for.
    websocket_deflate: bool = False
    #: Languages drafts may be translated into beyond the six official ones (ISO 639-1 codes).
    extra_languages: tuple[str, ...] = ()

    # Sign-in through an OpenID Connect provider (server/signin.py); off while no issuer is set.
    #: The provider's issuer URL (its discovery document is at {issuer}/.well-known/openid-configuration).
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    #: Where the provider sends people back; unset: {this server}/auth/oidc/callback as requested.
    oidc_redirect_url: str | None = None
    #: Lifetime of the token issued after a sign-in (seconds).
    oidc_token_ttl_seconds: int = 8 * 3600

    # Operations (server/sync/metrics.py).
    #: Bearer token for ``/metrics`` and the figures in ``/healthz``; unset: neither on the main port.
    metrics_token: str | None = None
    #: A separate port serving ``/metrics`` without a token (0: none), and the address it binds.
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"

    # Limits. Each is enforced where the README's limits table says.
    #: Largest websocket message accepted (bytes); larger frames close with 1009.
    max_message_bytes: int = 8 * 1024 * 1024
    #: Deepest nesting of JSON-like content in an update.
    max_nesting_depth: int = 64
    #: Structs one update may carry (a 100 KB paste is one struct).
    max_structs_per_update: int = 50_000
    #: Size of a room's document (its encoded state) in bytes.
    max_document_bytes: int = 64 * 1024 * 1024
    #: Size of one awareness state (JSON) in bytes.
    max_awareness_state_bytes: int = 64 * 1024
    #: Bytes queued for one slow client before it is dropped (close 4508).
    max_send_queue_bytes: int = 8 * 1024 * 1024
    #: Messages per second one participant may send over all their connections, sustained, and
    #: the burst above it (close 4529).
    max_messages_per_second: float = 500.0
    message_burst: int = 2_000
    #: Bytes per second one participant may send over all their connections, and the burst (close 4529).
    max_bytes_per_second: float = 2 * 1024 * 1024
    bytes_burst: int = 32 * 1024 * 1024
    #: Presence (awareness) messages per second one participant may send, and the burst (close 4529).
    max_awareness_per_second: float = 50.0
    awareness_burst: int = 500
    #: REST commands (POST, PUT, PATCH, DELETE) per second one participant may send, and the burst (429).
    max_commands_per_second: float = 20.0
    command_burst: int = 200
    #: A send to a client that makes no progress for this long aborts the connection (seconds).
    write_timeout_seconds: float = 20.0
    #: Connections still sending their request head (not yet authenticated), in total and per
    #: peer address (503 beyond either), and how long one may take to send it (408).
    max_opening_connections: int = 1_024
    max_opening_connections_per_address: int = 128
    handshake_timeout_seconds: float = 10.0
    #: Largest request head (request line and headers) read before refusing it (400; websockets: 414/431).
    max_request_head_bytes: int = 16 * 1024
    #: Connections one room may hold.
    max_connections_per_room: int = 5_000
    #: Rooms with more connections than this do not relay unchanged presence (renewals): see rooms.py.
    quiet_presence_above: int = 100
    #: Size of one file attached to a document (bytes); larger uploads get 413.
    max_attachment_bytes: int = 10 * 1024 * 1024
    #: Files one draft may keep (uploads beyond it get 409).
    max_attachments_per_draft: int = 1_000
    #: Files one person may add to one draft (uploads beyond it get 409): no one fills the draft's quota.
    max_attachments_per_person: int = 100

    # Timing.
    #: Seconds a room stays loaded after its last connection leaves.
    unload_grace_seconds: float = 10.0
    #: Seconds between keepalive messages to an idle connection (clients give up after 30 s).
    keepalive_seconds: float = 15.0
    #: A snapshot is written after this many log entries in a room.
    snapshot_every: int = 1_000
    #: Log (warning) event-loop lag, garbage-collection pauses, commits and WAL checkpoints longer than
    #: this many milliseconds: what stalls every broadcast (server/stalls.py). 0 turns it off.
    stall_log_ms: float = 100.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ``PLENARY_*`` environment variables, then explicit overrides."""
        environ = dict(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, raw, getattr(cls(), f.name))
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = replace(cls(), **values)
        check_database_url(settings.database_url)
        return settings

    @staticmethod
    def env_name(name: str) -> str:
        return ENV_PREFIX + name.upper()


def _parse(name: str, raw: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid value") from None
    return raw


def check_database_url(url: str) -> None:
    """ValueError, in one line, unless ``url`` names a database Plenary can use (SQLite or PostgreSQL)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    hint = "use sqlite:///FILE or postgresql://USER@HOST/DATABASE"
    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        raise ValueError(f"database URL {url!r} is not a URL: {hint}") from None
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"database URL {url!r}: unsupported database {backend!r}: {hint}")


def existing_database_url(given: str | None) -> str:
    """The database a reading command (audit, history, export) opens: ``given``, else the
    environment's. A SQLite file must already exist: opening one would create it, empty."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    url = Settings.from_env(database_url=given).database_url
    parsed = make_url(url)
    path = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if path and path != ":memory:" and not Path(path).exists():
        raise ValueError(f"no database file at {path}")
    return url


def add_database_option(parser: Any) -> None:
    """``--database-url``, as every command that reads the database spells it."""
    parser.add_argument(
        "--database-url",
        help=f"sqlite:///FILE or postgresql://… (default: {Settings.env_name('database_url')})",
    )
