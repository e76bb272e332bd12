"""REST commands per participant: a state-changing request over the budget gets 429.

The budget is the participant's (the token's subject), not the connection's: the
same allowances as their websockets (server/sync/ratelimit.py). Reading (GET,
HEAD, OPTIONS) is not limited here; a request whose token does not verify goes
on to be refused with 401 by the endpoint.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from server.api.problems import Problem, problem_response
from server.identity import AuthenticationError, TokenIssuer
from server.sync.ratelimit import Allowances

READING = frozenset({"GET", "HEAD", "OPTIONS"})


class CommandThrottle:
    """ASGI middleware: 429 problem+json for a participant's commands beyond their rate."""

    def __init__(
        self,
        app: ASGIApp,
        tokens: TokenIssuer,
        allowances: Allowances,
        on_limited: Callable[[], None] = lambda: None,
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.allowances = allowances
        self.on_limited = on_limited

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in READING:
            participant = self._participant(scope)
            if participant is not None:
                allowance = self.allowances.of(participant)
                if not allowance.take("commands"):
                    self.on_limited()
                    problem = Problem(
                        429, "Too Many Requests", "too many commands; slow down", kind="rate-limited"
                    )
                    problem.headers["Retry-After"] = str(max(1, math.ceil(1 / allowance.rate("commands"))))
                    await problem_response(problem)(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    def _participant(self, scope: Scope) -> str | None:
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer":
                    return None
                try:
                    return self.tokens.verify(token.strip()).id
                except AuthenticationError:
                    return None
        return None
