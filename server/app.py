"""The Starlette application: its routes, and the life of the server around them."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from crdt.wire.protocol import KEEPALIVE_FRAME, encode_permission_denied
from server.api import audit as audit_api
from server.api import changes as changes_api
from server.api import deliberation as deliberation_api
from server.api import documents as documents_api
from server.api import drafts as drafts_api
from server.api import exports as exports_api
from server.api import history as history_api
from server.api import languages as languages_api
from server.api import meetings as meetings_api
from server.api import participants as participants_api
from server.api import revisions as revisions_api
from server.api import roll as roll_api
from server.api.endpoints import openapi_document
from server.api.hosts import ServedHosts, served_hosts
from server.api.problems import Problem, handle_http_exception, handle_problem, handle_unexpected
from server.api.throttle import CommandThrottle
from server.broker import Broker
from server.broker import messages as relay
from server.config import Settings
from server.identity import (
    Action,
    AuthenticationError,
    PermissionDeniedError,
    Role,
    TokenIssuer,
    origin_allowed,
)
from server.procedure.access import Access
from server.procedure.deliberation import Deliberations
from server.procedure.demo import create_demo_draft
from server.procedure.drafts import get_draft
from server.procedure.roll import resolve
from server.procedure.summaries import room_editable
from server.procedure.translations import Translations
from server.record.history import past_room_refusal, past_room_state
from server.signin import SignIn, signin_routes
from server.stalls import StallWatch
from server.storage.database import Database, now_us
from server.storage.log import LogWriter
from server.sync.allocator import release_free_memory
from server.sync.closecodes import CloseCode
from server.sync.handshake import Doorway
from server.sync.idle import IdleDeliveries
from server.sync.inspection import Inspector
from server.sync.metrics import CONTENT_TYPE_LATEST, Metrics, token_matches
from server.sync.ratelimit import Allowances
from server.sync.roomnames import RoomKind, parse_room
from server.sync.rooms import Rooms
from server.sync.scopes import WriteScope
from server.sync.sessions import Actor, Session
from server.sync.transport import RawSend
from server.web import web_routes

if TYPE_CHECKING:
    from server.sync.budgets import SharedBudgets

log = logging.getLogger("plenary.app")

#: Memory is released once half of at least this many connections have left.
RELEASE_AFTER_CONNECTIONS = 100


class Plenary:
    """Everything one server process holds: settings, database, log writer, rooms."""

    def __init__(self, settings: Settings) -> None:
        if not settings.secret:
            raise ValueError("no secret: set PLENARY_SECRET (or run `plenary serve --dev`)")
        self.settings = settings
        self.tokens = TokenIssuer(settings.secret)
        self.database = Database(
            settings.database_url,
            sqlite_synchronous=settings.sqlite_synchronous,
            slow_ms=settings.stall_log_ms,
        )
        self.broker = self._broker(settings)
        self.broker.receiver = self
        self.writer = LogWriter(self.database, slow_commit_ms=settings.stall_log_ms)
        self.stalls = StallWatch(settings.stall_log_ms)
        self.rooms = Rooms(self.database, self.writer, settings, self.broker)
        self.inspector = Inspector(settings)
        self.sessions: set[Session] = set()
        self.allowances = Allowances(settings)
        self.budgets: SharedBudgets | None = None
        if settings.redis_url and not self.database.is_sqlite:
            from server.sync.budgets import SharedBudgets

            self.budgets = SharedBudgets(settings.redis_url, self.allowances)
        self.idle_deliveries = IdleDeliveries()
        self.metrics = Metrics()
        self.doorway = Doorway(
            settings.max_opening_connections,
            settings.max_opening_connections_per_address,
            settings.handshake_timeout_seconds,
        )
        self.doorway.on_refusal = self.metrics.handshake_refused
        self.metrics.track(
            connections=lambda: len(self.sessions),
            rooms=lambda: len(self.rooms),
            opening=lambda: self.doorway.total,
        )
        self.writer.on_commit = self.metrics.observe_commit
        self.rooms.on_fanout = self.metrics.fanout_seconds.observe
        self.deliberations = Deliberations(self.database, self.rooms, self.broker)
        self.access = Access(self.database, self.rooms, self.broker, self.sessions)
        self.translations = Translations(self.database, self.rooms, self.deliberations)
        self.signin = SignIn(settings, self.tokens, self.deliberations)
        self.rooms.on_load.append(self.deliberations.attach)
        self.rooms.on_entry.append(self.translations.take_entry)
        self.rooms.past_state = functools.partial(past_room_state, self.database)
        if self.broker.shared:
            # Only other processes' commands need folding: one process folded each as it ran it.
            self.rooms.on_entry.append(self.deliberations.take_entry)
        self.ready = False
        self._drafts_seen: set[str] = set()
        self._keepalive: asyncio.Task[None] | None = None
        self._metrics_server: Any = None
        #: Most connections since memory was last released (see _release_after_departures).
        self._high_water = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def draft_exists(self, draft: str) -> bool:
        """Whether ``draft`` is a draft (drafts are never deleted, so a yes is kept)."""
        if draft in self._drafts_seen:
            return True
        if await get_draft(self.database, draft) is None:
            return False
        self._drafts_seen.add(draft)
        return True

    def _broker(self, settings: Settings) -> Broker:
        if not settings.redis_url:
            return Broker()
        if self.database.is_sqlite:
            raise ValueError(
                "several processes (a Redis URL) need a shared PostgreSQL database: "
                "set PLENARY_DATABASE_URL=postgresql://…"
            )
        from server.broker.redis import RedisBroker

        return RedisBroker(settings.redis_url, self.database.url, settings.secret or "")

    async def start(self) -> None:
        await self.database.migrate()
        self.writer.start()
        await self.broker.start()
        if self.budgets is not None:
            self.budgets.start()
        await self.access.load()
        await self.deliberations.load_all()
        await self.translations.start()
        self.rooms.start()
        self.deliberations.start()
        self._keepalive = asyncio.create_task(self._keep_alive(), name="plenary-keepalive")
        if self.settings.metrics_port:
            self._metrics_server = self.metrics.serve(self.settings.metrics_host, self.settings.metrics_port)
        self.stalls.start()
        # What start-up loaded (modules, routes, every draft's state) lives as long as the process:
        # out of the collector's sight, a full collection (a pause for every room) has less to walk.
        gc.freeze()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await self.stalls.stop()
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        await self.deliberations.stop()
        await self.translations.stop()
        for session in list(self.sessions):
            session.close(CloseCode.SERVICE_RESTART, "server restarting; reconnect")
        await self.rooms.close()
        if self.budgets is not None:
            await self.budgets.stop()
        await self.broker.stop()
        await self.writer.stop()
        await self.database.close()

    # What other processes tell this one (server/broker).

    def on_message(self, node: str, message: relay.Message) -> None:
        if isinstance(message, relay.Entry):
            self.metrics.relay_lag_seconds.observe(max(0, now_us() - message.time_us) / 1e6)
            self.rooms.receive(message)
        elif isinstance(message, relay.Presence):
            self.rooms.receive_presence(node, message)
        elif isinstance(message, relay.Access):
            self.access.apply(message.draft, message.participant, revoked=message.revoked)

    def on_gap(self, reason: str) -> None:
        self.rooms.catch_up_all()
        # A revocation may have been among the lost messages.
        task = asyncio.get_running_loop().create_task(self.access.load())
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("reloading the revocations failed: %s", task.exception())

    def on_node_gone(self, node: str) -> None:
        self.rooms.drop_node(node)

    async def _keep_alive(self) -> None:
        # Clients reconnect after 30 s without a message; an idle room would
        # otherwise see every client drop and rejoin.
        interval = self.settings.keepalive_seconds
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval / 3)
            now = loop.time()
            cutoff = now - interval
            for session in list(self.sessions):
                if session.last_sent < cutoff:
                    session.send(KEEPALIVE_FRAME)
                session.check_progress(now)
            self.allowances.forget_idle()
            await self._release_after_departures()

    async def _release_after_departures(self) -> None:
        """Once at least half of many connections have left, give their memory back to the OS:
        collect the reference cycles they leave (sessions, protocols, tasks), then trim the heap."""
        count = len(self.sessions)
        self._high_water = max(self._high_water, count)
        if self._high_water < RELEASE_AFTER_CONNECTIONS or count > self._high_water // 2:
            return
        self._high_water = count
        gc.collect()
        await asyncio.get_running_loop().run_in_executor(None, release_free_memory)


async def healthz(request: Request) -> JSONResponse:
    """Liveness for anyone; the figures only for the bearer of the metrics token."""
    plenary: Plenary = request.app.state.plenary
    if not plenary.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        await plenary.database.ping()
    except Exception:
        log.warning("health check: the database does not answer", exc_info=True)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    if not token_matches(request.headers.get("authorization"), plenary.settings.metrics_token):
        return JSONResponse({"status": "ok"})
    return JSONResponse(
        {
            "status": "ok",
            "rooms": len(plenary.rooms),
            "connections": len(plenary.sessions),
            "log": {"commits": plenary.writer.commits, "entries": plenary.writer.entries_written},
            "broker": plenary.broker.stats(),
        }
    )


async def metrics(request: Request) -> Response:
    plenary: Plenary = request.app.state.plenary
    if not token_matches(request.headers.get("authorization"), plenary.settings.metrics_token):
        # Not found rather than 401: without the token the figures do not exist here.
        raise HTTPException(404, "Not Found")
    return Response(plenary.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def sync_endpoint(websocket: WebSocket) -> None:
    plenary: Plenary = websocket.app.state.plenary
    room = websocket.path_params["room"]
    headers = websocket.headers
    if not origin_allowed(
        headers.get("origin"),
        plenary.settings.allowed_origins,
        headers.get("host"),
        scheme=websocket.url.scheme,
    ):
        # Refuse before the upgrade: a page from another site gets no socket at all.
        await websocket.close(CloseCode.FORBIDDEN, "origin not allowed")
        return
    await websocket.accept()

    async def refuse(code: int, reason: str) -> None:
        with contextlib.suppress(Exception):
            await websocket.send_bytes(encode_permission_denied(reason))
            # A close reason holds 123 bytes of UTF-8: cut there, not in the middle of a character.
            await websocket.close(code, reason.encode()[:120].decode(errors="ignore"))

    name = parse_room(room)
    if isinstance(name, str):
        await refuse(CloseCode.PROTOCOL, name)
        return
    try:
        verified = plenary.tokens.verify_token(websocket.query_params.get("token"))
    except AuthenticationError as exc:
        await refuse(CloseCode.UNAUTHENTICATED, exc.reason)
        return
    draft = name.draft
    if not await plenary.draft_exists(draft):
        # Only drafts are rooms: nothing is made, or written, for a name that is not one.
        await refuse(CloseCode.NOT_FOUND, f"no draft {draft!r}: only drafts and their rooms may be opened")
        return
    try:
        # On a draft with a roll, who someone is comes from the roll, not the token.
        participant = await resolve(plenary.deliberations, draft, verified.participant)
    except PermissionDeniedError as exc:
        await refuse(CloseCode.FORBIDDEN, exc.reason)
        return
    role = participant.role_for(draft)
    if role is None or not participant.may(Action.READ, draft):
        await refuse(CloseCode.FORBIDDEN, "no access to this draft")
        return
    if plenary.access.revoked(draft, participant.id):
        await refuse(CloseCode.FORBIDDEN, "your access to this draft was revoked")
        return
    if name.kind is RoomKind.SUMMARY and name.meeting not in (
        (await plenary.deliberations.get(draft)).state.proceedings.meetings
    ):
        await refuse(CloseCode.NOT_FOUND, f"no meeting {name.meeting!r} in draft {draft!r}")
        return
    if "@" in room and (past := await past_room_refusal(plenary.database, room, participant)):
        await refuse(*past)  # past versions ({draft}@{seq}) are the archive's: READ_HISTORY
        return
    editable = await room_editable(plenary.deliberations, room, draft, participant)
    scope = None
    if room == draft:
        # The draft's text: the original (as the role and any group mandate allow) and translations.
        scope = WriteScope(
            original=editable,
            languages=None
            if role == Role.SECRETARIAT
            else frozenset(code for code in participant.languages if participant.may_translate(code, draft)),
        )
        editable = scope.original or scope.translates
    actor = Actor(
        participant_id=participant.id,
        role=str(role),
        # The deliberation document is the server's to write; historical rooms are read-only; a
        # group's working text is its members'; a summary room, the chair's and the secretariat's.
        can_edit=editable,
        scope=scope,
        user={
            "id": participant.id,
            "name": participant.name,
            "delegation": participant.delegation,
            "group": str(participant.group or ""),
            "role": str(role),
        },
    )
    session = Session(websocket, plenary, room, actor)
    plenary.sessions.add(session)
    # A connection does not outlive its token: the client reconnects with a fresh one.
    expiry = asyncio.get_running_loop().call_later(
        max(0.0, verified.expires_at.timestamp() - time.time()),
        session.refuse,
        CloseCode.UNAUTHENTICATED,
        "access token expired",
    )
    try:
        await session.run()
    finally:
        expiry.cancel()
        plenary.sessions.discard(session)


def create_app(settings: Settings) -> Starlette:
    plenary = Plenary(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await plenary.start()
        if settings.demo:
            await create_demo_draft(plenary.database, plenary.rooms)
        try:
            yield
        finally:
            await plenary.stop()

    endpoints = [
        *drafts_api.ENDPOINTS,
        *deliberation_api.ENDPOINTS,
        *participants_api.ENDPOINTS,
        *roll_api.ENDPOINTS,
        *audit_api.ENDPOINTS,
        *history_api.ENDPOINTS,
        *changes_api.ENDPOINTS,
        *exports_api.ENDPOINTS,
        *revisions_api.ENDPOINTS,
        *languages_api.ENDPOINTS,
        *meetings_api.ENDPOINTS,
        *documents_api.ENDPOINTS,
    ]
    # Built on first request, not at start-up: it costs a third of a second, and every second of a
    # restart is a second every open tab spends reconnecting (bench/storm.py).
    openapi = functools.cache(lambda: openapi_document(endpoints, title="Plenary", version="0.1.0"))

    async def openapi_json(_request: Request) -> JSONResponse:
        return JSONResponse(openapi())

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/metrics", metrics),
            Route("/api/openapi.json", openapi_json),
            *(endpoint.route() for endpoint in endpoints),
            WebSocketRoute("/ws/{room:path}", sync_endpoint),
            *signin_routes(plenary.signin),
            *web_routes(),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(ServedHosts, allowed_hosts=served_hosts(settings.allowed_hosts, settings.host))
        ],
        exception_handlers={
            Problem: handle_problem,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
    )
    app.state.plenary = plenary
    return app


def create_asgi(settings: Settings) -> RawSend:
    """The ASGI application uvicorn runs: the Starlette app behind the fast-lane middleware."""
    app = create_app(settings)
    plenary: Plenary = app.state.plenary
    limited = plenary.metrics.rate_limited.labels("commands").inc
    wrapped = RawSend(CommandThrottle(app, plenary.tokens, plenary.allowances, on_limited=limited))
    wrapped.state = app.state  # type: ignore[attr-defined]
    return wrapped
