"""The host names this server answers to (``PLENARY_ALLOWED_HOSTS``), checked on every request and
websocket upgrade before anything else: a page on ``evil.example`` whose name an attacker re-points at
this server (DNS rebinding) sends ``Host: evil.example`` and is refused, whatever its Origin says."""

from __future__ import annotations

from collections.abc import Sequence

from starlette._utils import parse_host_header
from starlette.datastructures import Headers
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from server.api.problems import Problem, problem_response

#: Always served: the loopback names a browser on this machine uses.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_ANY_INTERFACE = ("0.0.0.0", "::", "")
#: Liveness probes come by IP address (a load balancer, Kubernetes) and learn nothing worth rebinding for.
UNCHECKED_PATHS = frozenset({"/healthz"})


def served_hosts(configured: Sequence[str], bound: str) -> list[str]:
    """The configured hosts, or by default the loopback names and the address the server is bound to
    (an IP literal cannot be re-pointed by DNS); ``*`` serves any host (not for production)."""
    if configured:
        for pattern in configured:
            if "*" in pattern[1:] or (pattern.startswith("*") and pattern != "*" and pattern[:2] != "*."):
                raise ValueError(f"PLENARY_ALLOWED_HOSTS: {pattern!r}: a wildcard is '*' or '*.example.org'")
            if ":" in pattern and not pattern.startswith("["):
                raise ValueError(f"PLENARY_ALLOWED_HOSTS: {pattern!r}: list host names without a port")
        return list(configured)
    hosts = list(LOOPBACK_HOSTS)
    name = f"[{bound}]" if ":" in bound else bound
    if bound not in _ANY_INTERFACE and name not in hosts:
        hosts.append(name)
    return hosts


class ServedHosts(TrustedHostMiddleware):
    """Starlette's ``TrustedHostMiddleware`` (its patterns: ``example.org``, ``*.example.org``, ``*``),
    answering a refused host with a problem document (400) that names the setting."""

    def __init__(self, app: ASGIApp, allowed_hosts: Sequence[str]) -> None:
        super().__init__(app, allowed_hosts=allowed_hosts, www_redirect=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.allow_any or scope["type"] not in ("http", "websocket") or scope["path"] in UNCHECKED_PATHS:
            await self.app(scope, receive, send)
            return
        parsed = parse_host_header(Headers(scope=scope).get("host"))
        host = parsed.host.lower() if parsed is not None else None
        if host is not None and any(
            host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            for pattern in self.allowed_hosts
        ):
            await self.app(scope, receive, send)
            return
        detail = (
            "missing or malformed Host header"
            if host is None
            else f"host {host[:100]!r} is not served here (PLENARY_ALLOWED_HOSTS)"
        )
        # For a websocket, Starlette sends this as the denial response of the upgrade: no socket.
        await problem_response(Problem(400, "Bad Request", detail, kind="host-not-allowed"))(
            scope, receive, send
        )
