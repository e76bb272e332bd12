"""Declaring an endpoint once: its route, who may call it, the request and
response models that validate it and document it in OpenAPI."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.api.problems import Problem, unauthorized
from server.identity import AuthenticationError, Participant, PermissionDeniedError, TokenIssuer
from server.procedure.roll import resolve
from server.sync.roomnames import draft_id_problem

if TYPE_CHECKING:
    from collections.abc import Set

    from server.config import Settings
    from server.procedure.access import Access
    from server.procedure.deliberation import Deliberations
    from server.procedure.translations import Translations
    from server.storage.database import Database
    from server.sync.rooms import Rooms
    from server.sync.sessions import Session

#: Largest JSON request body accepted (bytes).
MAX_BODY_BYTES = 1024 * 1024


class Server(Protocol):
    """What the endpoints use of the process serving them (the application object, seen through what
    the API needs of it: ``server.app`` is the only module that knows the whole)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def tokens(self) -> TokenIssuer: ...

    @property
    def database(self) -> Database: ...

    @property
    def rooms(self) -> Rooms: ...

    @property
    def deliberations(self) -> Deliberations: ...

    @property
    def translations(self) -> Translations: ...

    @property
    def access(self) -> Access: ...

    @property
    def sessions(self) -> Set[Session]: ...


def server_of(request: Request) -> Server:
    return request.app.state.plenary  # type: ignore[no-any-return]


@dataclass
class Call:
    """What an endpoint function receives."""

    request: Request
    participant: Participant
    body: BaseModel | None

    @property
    def plenary(self) -> Server:
        return server_of(self.request)

    def path(self, name: str) -> str:
        return self.request.path_params[name]


Handler = Callable[[Call], Awaitable[BaseModel | dict[str, Any] | list[Any] | Response]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    request_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    status: int = 200
    tags: list[str] = field(default_factory=list)
    #: Query parameters it reads (name → what it is), so that the OpenAPI document lists them.
    query: dict[str, str] = field(default_factory=dict)
    #: Media types it takes as a raw body (a file), read by the handler itself.
    raw_body: tuple[str, ...] = ()

    def route(self) -> Route:
        async def endpoint(request: Request) -> Response:
            participant = authenticate(request)
            if any(
                "\x00" in value for value in (*request.path_params.values(), *request.query_params.values())
            ):
                # PostgreSQL cannot hold a NUL in text: refused here rather than failing deep in a query.
                raise Problem(400, "Bad Request", "path and query parameters may not contain U+0000 (NUL)")
            draft = request.path_params.get("draft")
            if draft is not None:
                if (problem := draft_id_problem(draft)) is not None:
                    raise Problem(
                        400, "Bad Request", f"{draft!r} is not a draft id: {problem}", kind="draft-id"
                    )
                plenary = server_of(request)
                if plenary.access.revoked(draft, participant.id):
                    raise Problem(403, "Forbidden", "your access to this draft was revoked")
                try:
                    # On a draft with a roll, who someone is comes from the roll, not the token.
                    participant = await resolve(plenary.deliberations, draft, participant)
                except PermissionDeniedError as exc:
                    raise Problem(403, "Forbidden", exc.reason) from exc
            body = await _read_body(request, self.request_model) if self.request_model else None
            result = await self.handler(Call(request, participant, body))
            if isinstance(result, Response):
                return result
            if isinstance(result, BaseModel):
                result = result.model_dump(mode="json")
            return JSONResponse(result, status_code=self.status)

        return Route(self.path, endpoint, methods=[self.method])


def authenticate(request: Request) -> Participant:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise unauthorized("missing Authorization: Bearer token")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized("Authorization header must be 'Bearer <token>'")
    try:
        return server_of(request).tokens.verify(token.strip())
    except AuthenticationError as exc:
        raise unauthorized(exc.reason) from exc


async def _read_body(request: Request, model: type[BaseModel]) -> BaseModel:
    if request.headers.get("content-length") in (None, "0") and "transfer-encoding" not in request.headers:
        # No body at all: fine when every field has a default (adopt, for one).
        try:
            return model.model_validate({})
        except ValidationError:
            pass
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise Problem(415, "Unsupported Media Type", "send a JSON body with Content-Type: application/json")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise Problem(413, "Content Too Large", f"request body over {MAX_BODY_BYTES} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise Problem(413, "Content Too Large", f"request body over {MAX_BODY_BYTES} bytes")
    problem = json_body_problem(raw)
    if problem is not None:
        raise Problem(400, "Bad Request", problem)
    try:
        # Strict: "3" and true are not numbers; JSON strings still make enums and times.
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        errors = [
            {"loc": ".".join(str(part) for part in error["loc"]), "msg": error["msg"]}
            for error in exc.errors()
        ]
        detail = "; ".join(f"{e['loc'] or 'body'}: {e['msg']}" for e in errors)
        raise Problem(422, "Unprocessable Content", detail, errors=errors) from exc


def json_body_problem(raw: bytes) -> str | None:
    """Why ``raw`` is not a JSON body the server reads (too deep, not JSON, a NUL in a string), or None.
    The depth is measured before parsing, so no parser recurses through a hostile body."""
    if json_too_deep(raw):
        return f"body nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects"
    try:
        data = json.loads(raw, parse_constant=_not_json)
    except (ValueError, RecursionError) as exc:
        return f"body is not valid JSON: {exc}"
    if _has_nul(data):
        return "strings may not contain U+0000 (NUL)"
    return None


#: Deepest nesting of arrays and objects in a JSON request body.
MAX_JSON_DEPTH = 64
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def json_too_deep(raw: bytes) -> bool:
    """Whether arrays and objects nest deeper than ``MAX_JSON_DEPTH`` in ``raw``, in linear passes
    (no regular expression here backtracks): escapes out, strings out, then one level of brackets
    peeled per pass. Unbalanced brackets are left for the parser to report."""
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", unescaped))
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return False
        peeled = _INNERMOST.sub(b"", brackets)
        if peeled == brackets:
            return False
        brackets = peeled
    return bool(brackets)


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _has_nul(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def openapi_document(endpoints: list[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    """An OpenAPI 3.1 document from the endpoint declarations."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
            },
        }
    }

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    for endpoint in endpoints:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "tags": endpoint.tags,
            "security": [{"bearer": []}],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in _path_params(endpoint.path)
            ]
            + [
                {
                    "name": name,
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": text,
                }
                for name, text in endpoint.query.items()
            ],
            "responses": {
                str(endpoint.status): {
                    "description": "OK",
                    "content": {"application/json": {"schema": ref(endpoint.response_model)}}
                    if endpoint.response_model
                    else {"application/json": {}},
                },
                "default": {
                    "description": "A problem (RFC 9457)",
                    "content": {
                        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                },
            },
        }
        if endpoint.raw_body:
            binary = {"schema": {"type": "string", "format": "binary"}}
            operation["requestBody"] = {"required": True, "content": dict.fromkeys(endpoint.raw_body, binary)}
        if endpoint.request_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(endpoint.request_model)}},
            }
        paths.setdefault(_openapi_path(endpoint.path), {})[endpoint.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _path_params(path: str) -> list[str]:
    import re

    return [name.split(":")[0] for name in re.findall(r"{([^}]+)}", path)]


def _openapi_path(path: str) -> str:
    import re

    return re.sub(r"{([^}:]+)(:[^}]+)?}", r"{\1}", path)
