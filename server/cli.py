"""The ``plenary`` command: serve, issue tokens, and (later) look after the record."""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from server.config import Settings, add_database_option
from server.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(command_of(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.run(args) or EXIT_OK)
    except ValueError as exc:
        print(f"plenary: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        # A database that cannot be reached or read, a file that cannot be written: the user's to fix,
        # said in one line. Anything else is a bug, and its traceback is wanted.
        if not _environmental(exc):
            raise
        print(f"plenary: {one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


def one_line(exc: BaseException) -> str:
    """The first line of an error's message (SQLAlchemy adds a second with a link), at most 300 chars."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 300 else text[:299] + "…"


def _environmental(exc: BaseException) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, (OSError, SQLAlchemyError))


#: The commands the record's modules add, by module: each imports what its commands use (the
#: database, cryptography, the exports), so a command loads only its own (`plenary audit verify` skips
#: the exports, `plenary serve` and `plenary token` all of them).
RECORD_COMMANDS = {
    "roll": ("roll",),
    "audit": ("audit", "revisions", "compare"),
    "history": ("history", "blame", "events"),
    "exports": ("export",),
}


def command_of(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (its first word that is not an option), if any."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or only what ``command`` needs when it is one of the built-in commands
    or a record command (anything else, or none, gets every command, for the help and the errors)."""
    parser = argparse.ArgumentParser(
        prog="plenary",
        description="Plenary: a real-time collaborative deliberation server (Yjs-compatible).",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    secret = commands.add_parser(
        "secret",
        help="print a new server secret",
        description="Print a new random server secret (48 bytes, URL-safe base64) for PLENARY_SECRET.",
    )
    secret.add_argument("--json", action="store_true", help='print {"secret": …}')
    secret.set_defaults(run=run_secret)

    serve = commands.add_parser("serve", help="run the server", description="Run the Plenary server.")
    serve.add_argument(
        "--host", help=f"interface to bind (env {Settings.env_name('host')}, default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, help=f"port (env {Settings.env_name('port')}, default 8000)")
    serve.add_argument(
        "--database-url",
        help=f"sqlite:///FILE or postgresql://… (env {Settings.env_name('database_url')}, "
        "default sqlite:///plenary.sqlite3)",
    )
    serve.add_argument(
        "--redis-url", help=f"Redis for fan-out between processes (env {Settings.env_name('redis_url')})"
    )
    serve.add_argument(
        "--dev",
        action="store_true",
        default=None,
        help="development mode: generate a secret if none is set and print demo tokens",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        default=None,
        help="create the demo draft (the WSIS follow-up principles) if it does not exist yet",
    )
    serve.add_argument(
        "--max-message-bytes",
        type=int,
        help="largest websocket message accepted (env PLENARY_MAX_MESSAGE_BYTES)",
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(run=run_serve)

    token = commands.add_parser("token", help="access tokens", description="Access tokens.")
    token_commands = token.add_subparsers(title="token commands", metavar="COMMAND")
    issue = token_commands.add_parser(
        "issue",
        help="print a signed access token",
        description="Print a signed access token (needs PLENARY_SECRET).",
    )
    issue.add_argument("--user", required=True, help="stable participant id")
    issue.add_argument("--name", required=True, help="display name")
    issue.add_argument("--delegation", required=True, help="e.g. a country, a coalition, an NGO network")
    issue.add_argument(
        "--group",
        required=True,
        choices=[
            "government",
            "private_sector",
            "civil_society",
            "international_organization",
            "technical_academic",
        ],
    )
    issue.add_argument(
        "--role",
        required=True,
        choices=["chair", "secretariat", "delegate", "observer", "archivist", "translator"],
    )
    issue.add_argument(
        "--language",
        action="append",
        default=[],
        metavar="CODE",
        help="a language a translator keeps, e.g. fr (repeat for several)",
    )
    issue.add_argument("--draft", help="limit the role to this draft (default: all drafts)")
    issue.add_argument("--ttl", default="8h", help="lifetime, e.g. 90m, 8h, 2d (default 8h)")
    issue.add_argument("--json", action="store_true", help="print JSON with the token and its claims")
    issue.set_defaults(run=run_token_issue)

    drafts = commands.add_parser("drafts", help="drafts", description="Create drafts.")
    draft_commands = drafts.add_subparsers(title="drafts commands", metavar="COMMAND")
    importer = draft_commands.add_parser(
        "import",
        help="create a draft from a plain-text or Markdown file",
        description="Create a draft from a plain-text or Markdown file: blank lines separate paragraphs, "
        "'#' lines are headings, '-'/'·' bullets are items. Writes to the database directly.",
    )
    importer.add_argument("file", help="the text file ('-' for standard input)")
    importer.add_argument("--id", required=True, help="the draft id, a slug such as tunis-2005")
    importer.add_argument("--title", required=True)
    importer.add_argument("--symbol", default="", help="document symbol, e.g. WSIS-II/PC-3/DOC/1")
    importer.add_argument("--by", default="cli", help="participant id recorded as the creator (default: cli)")
    add_database_option(importer)
    importer.add_argument("--json", action="store_true", help="print the result as JSON")
    importer.set_defaults(run=run_drafts_import)

    if command in commands.choices:
        return parser
    wanted = {group for group, names in RECORD_COMMANDS.items() if command in names} or set(RECORD_COMMANDS)
    if "roll" in wanted:
        from server.procedure.roll_import import add_commands as add_roll_commands

        add_roll_commands(commands)
    if "audit" in wanted:
        from server.record.audit import add_commands as add_audit_commands

        audit_commands = add_audit_commands(commands)
    if "history" in wanted:
        from server.record.history import add_history_commands

        add_history_commands(commands)
    if "exports" in wanted:
        from server.record.exports import add_commands as add_export_commands

        add_export_commands(commands)
    if "audit" in wanted:  # `revisions`, `compare`, and `audit revision | check-revision`
        from server.record.revisions import add_commands as add_revision_commands

        add_revision_commands(commands, audit_commands)
    return parser


def run_secret(args: argparse.Namespace) -> int:
    from server.identity import generate_secret

    secret = generate_secret()
    print(json.dumps({"secret": secret}) if args.json else secret)
    return EXIT_OK


def cluster_problem(settings: Settings) -> str | None:
    """Why these settings cannot run as one of several processes (None: they can)."""
    if settings.database_url.startswith("sqlite"):
        return (
            "--redis-url: several processes need one shared PostgreSQL database "
            "(--database-url postgresql://…); SQLite serves one process"
        )
    if not settings.secret:
        return "--redis-url: every process verifies the others' tokens: give them all the same PLENARY_SECRET"
    return None


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from server.app import create_asgi
    from server.identity import generate_secret
    from server.sync.handshake import AnsweredWebSocket, GuardedHttp

    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        database_url=args.database_url,
        redis_url=args.redis_url,
        dev=args.dev,
        demo=args.demo,
        max_message_bytes=args.max_message_bytes,
    )
    if settings.redis_url:
        problem = cluster_problem(settings)
        if problem:
            print(f"plenary: {problem}", file=sys.stderr)
            return EXIT_USAGE
    if not settings.secret:
        if not settings.dev:
            print(
                "plenary: no secret. Set PLENARY_SECRET (at least 32 bytes: "
                "PLENARY_SECRET=$(plenary secret)), or run `plenary serve --dev`.",
                file=sys.stderr,
            )
            return EXIT_USAGE
        settings = Settings.from_env(**{**_settings_dict(settings), "secret": generate_secret()})
    # Whatever can fail for the user's reasons fails here, in one line, before anything is printed or
    # created (the database file, the demo draft): the port must be ours, the database must answer.
    try:
        listening = listen(settings.host, settings.port)
    except OSError as exc:
        where = f"{settings.host}:{settings.port}"
        print(f"plenary: cannot listen on {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = database_problem(settings.database_url)
    if problem:
        listening.close()
        print(f"plenary: {problem}", file=sys.stderr)
        return EXIT_USAGE
    if settings.dev:
        print_dev_banner(settings, generated=not os.environ.get(Settings.env_name("secret")))
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app = create_asgi(settings)
    doorway = app.state.plenary.doorway
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        # The doorway bounds and times the connections still sending their request head (see
        # server/sync/handshake.py); the websocket protocol answers the handshakes it cannot parse.
        http=functools.partial(GuardedHttp, doorway=doorway),  # type: ignore[arg-type]
        ws=functools.partial(AnsweredWebSocket, on_refusal=doorway.on_refusal),  # type: ignore[arg-type]
        h11_max_incomplete_event_size=settings.max_request_head_bytes,
        ws_max_size=settings.max_message_bytes,
        ws_per_message_deflate=settings.websocket_deflate,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
        lifespan="on",
        log_level=args.log_level,
        proxy_headers=True,
    )
    from server.identity import RedactTokens

    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(RedactTokens())
    uvicorn.Server(config).run(sockets=[listening])
    return EXIT_OK


def database_problem(url: str, timeout: float = 10.0) -> str | None:
    """Why the server could not use the database at ``url`` (None: it answers)."""
    import asyncio

    from server.storage.database import Database

    async def ping() -> None:
        database = Database(url)
        try:
            await asyncio.wait_for(database.ping(), timeout)
        finally:
            await database.close()

    try:
        asyncio.run(ping())
    except TimeoutError:
        return f"the database did not answer within {timeout:g} s ({_redacted(url)})"
    except Exception as exc:
        if not _environmental(exc) and not isinstance(exc, ValueError):
            raise
        return f"cannot use the database ({_redacted(url)}): {one_line(exc)}"
    return None


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def listen(host: str, port: int) -> Any:
    """A socket bound to ``host``:``port`` and listening (OSError if the port is taken)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _settings_dict(settings: Settings) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(settings)


def print_dev_banner(settings: Settings, *, generated: bool) -> None:
    from server.identity import TokenIssuer, demo_participants

    issuer = TokenIssuer(settings.secret or "")
    bar = "!" * 78
    out = sys.stderr
    print(bar, file=out)
    if generated:
        print("  DEVELOPMENT MODE: a throw-away secret was generated for this run.", file=out)
        print(
            "  Tokens below stop working when the server restarts. Never use --dev in production.", file=out
        )
        print(
            "  (Set PLENARY_SECRET to keep tokens across restarts and to issue your own.)",
            file=out,
        )
    else:
        print(
            "  DEVELOPMENT MODE with PLENARY_SECRET: demo tokens below. Never use --dev in production.",
            file=out,
        )
    print(bar, file=out)
    base = f"http://{settings.host}:{settings.port}"
    for participant in demo_participants():
        token = issuer.issue(participant, timedelta(hours=12))
        role = participant.role_for(None)
        print(f"\n  {participant.name} ({participant.delegation}, {participant.group}, {role}):", file=out)
        print(f"    {base}/?token={token}", file=out)
    print(file=out)


def run_token_issue(args: argparse.Namespace) -> int:
    from server.identity import Participant, TokenIssuer, parse_ttl

    secret = os.environ.get("PLENARY_SECRET")
    if not secret:
        print("plenary: PLENARY_SECRET is not set; it must be the server's secret", file=sys.stderr)
        return EXIT_USAGE
    participant = Participant(
        id=args.user,
        name=args.name,
        delegation=args.delegation,
        group=args.group,
        roles={args.draft or "*": args.role},
        languages=frozenset(args.language),
    )
    if args.role == "translator" and not args.language:
        raise ValueError("a translator needs --language (the language versions they keep)")
    ttl = parse_ttl(args.ttl)
    token = TokenIssuer(secret).issue(participant, ttl)
    if args.json:
        print(json.dumps({"token": token, "participant": args.user, "ttl_seconds": int(ttl.total_seconds())}))
    else:
        print(token)
    return EXIT_OK


def run_drafts_import(args: argparse.Namespace) -> int:
    import asyncio

    from crdt.procedure.draft import parse_plain_text
    from server.identity import Participant
    from server.procedure.drafts import DraftExists, check_draft_id, create_draft
    from server.storage.database import Database
    from server.storage.log import LogWriter

    check_draft_id(args.id)
    try:
        source = sys.stdin.read() if args.file == "-" else open(args.file, encoding="utf-8").read()  # noqa: SIM115
    except OSError as exc:
        print(f"plenary: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    paragraphs = parse_plain_text(source)
    settings = Settings.from_env(database_url=args.database_url)
    creator = Participant(
        id=args.by,
        name=args.by,
        delegation="Secretariat",
        group="international_organization",
        roles={"*": "secretariat"},
    )

    async def run() -> int:
        from server.sync.rooms import Rooms

        database = Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
        await database.migrate()
        writer = LogWriter(database)
        writer.start()
        rooms = Rooms(database, writer, settings)
        try:
            await create_draft(
                database,
                rooms,
                draft_id=args.id,
                title=args.title,
                symbol=args.symbol,
                paragraphs=paragraphs,
                creator=creator,
            )
        except DraftExists:
            print(f"plenary: draft {args.id!r} already exists", file=sys.stderr)
            return EXIT_FAILED
        finally:
            await rooms.close()
            await writer.stop()
            await database.close()
        return EXIT_OK

    code = asyncio.run(run())
    if code == EXIT_OK:
        kinds: dict[str, int] = {}
        for paragraph in paragraphs:
            kinds[paragraph.kind] = kinds.get(paragraph.kind, 0) + 1
        if args.json:
            print(
                json.dumps(
                    {"id": args.id, "title": args.title, "paragraphs": len(paragraphs), "kinds": kinds}
                )
            )
        else:
            summary = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            print(f"created draft {args.id!r} with {len(paragraphs)} paragraphs ({summary})")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
