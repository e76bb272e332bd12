"""Errors as RFC 9457 ``application/problem+json`` documents."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from crdt.procedure.commands import CommandRefused

PROBLEM_TYPE = "https://plenary.example.org/problems/"


class Problem(Exception):
    """Raise anywhere in a request: the client gets a problem document."""

    def __init__(
        self, status: int, title: str, detail: str, *, kind: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.kind = kind or title.lower().replace(" ", "-")
        self.extra = extra
        self.headers: dict[str, str] = {}


def problem_response(problem: Problem) -> Response:
    body = {
        "type": PROBLEM_TYPE + problem.kind,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **problem.extra,
    }
    return JSONResponse(
        body, status_code=problem.status, media_type="application/problem+json", headers=problem.headers
    )


async def handle_problem(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(exc)


async def handle_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    problem = Problem(exc.status_code, title(exc.status_code), str(exc.detail))
    if exc.headers:
        problem.headers.update(exc.headers)
    return problem_response(problem)


def title(status: int) -> str:
    """The title every problem document of this API gives a status (the one place that says it)."""
    if status == 422:
        return "Unprocessable Content"  # RFC 9110's name; Python 3.11 still says "Entity"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def refused(exc: CommandRefused) -> Problem:
    """A command the procedure refused, as a problem document with its status and detail."""
    return Problem(exc.status, title(exc.status), exc.detail)


def unauthorized(detail: str) -> Problem:
    problem = Problem(401, "Unauthorized", detail)
    problem.headers["WWW-Authenticate"] = 'Bearer realm="plenary"'
    return problem


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)


def not_found(detail: str) -> Problem:
    return Problem(404, "Not Found", detail)


def conflict(detail: str, **extra: Any) -> Problem:
    return Problem(409, "Conflict", detail, **extra)


async def handle_unexpected(_request: Request, exc: Exception) -> Response:
    """Anything else: a 500 problem document, never a stack trace."""
    import logging

    logging.getLogger("plenary.api").exception("unexpected error", exc_info=exc)
    return problem_response(
        Problem(500, "Internal Server Error", "the server could not complete the request")
    )
