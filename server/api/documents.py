"""``/api/drafts/{draft}/documents`` and ``…/files``: documents besides the draft (background documents,
proposals, written contributions, non-papers, chair's texts), their files, and searching them.

A file is uploaded first (the raw bytes, with its media type as ``Content-Type``; at most
``PLENARY_MAX_ATTACHMENT_BYTES``), then named by its SHA-256 in the document. Files are served back as
downloads only, with the media type they were accepted with.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from starlette.responses import Response

from crdt.procedure.documents import DocumentKind, search, symbol_base
from server.api.deliberation import Result, command
from server.api.endpoints import Call, Endpoint
from server.api.problems import Problem, conflict, forbidden, not_found
from server.identity import Action
from server.procedure import attachments
from server.procedure.drafts import get_draft

SHA256 = r"^[0-9a-f]{64}$"


class FileOut(BaseModel):
    sha256: str
    size: int
    media_type: str
    filename: str


class DocumentIn(BaseModel):
    kind: DocumentKind
    title: str = Field(min_length=1, max_length=500)
    symbol: str | None = Field(
        default=None, max_length=100, description="e.g. WSIS-II/PC-3/CONTR/12; absent: the next of its series"
    )
    author: str = Field(default="", max_length=500, description="a delegation or a body; absent: yours")
    author_type: str = Field(default="delegation", pattern="^(delegation|body)$")
    addressee: str = Field(
        default="", max_length=500, description="e.g. PrepCom-3, the Group of Friends of the Chair"
    )
    date: str = Field(
        default_factory=lambda: datetime.now(UTC).date().isoformat(), pattern=r"^\d{4}-\d{2}-\d{2}$"
    )
    language: str = Field(default="en", pattern=r"^[a-z]{2,3}$", description="ISO 639 code")
    text: str = Field(default="", max_length=200_000)
    file: str | None = Field(default=None, pattern=SHA256, description="the SHA-256 of an uploaded file")
    meeting: str | None = Field(default=None, max_length=64)
    item: str | None = Field(default=None, max_length=16)
    paragraphs: list[str] = Field(default_factory=list, max_length=500)


class IntroduceIn(BaseModel):
    meeting: str = Field(max_length=64)
    by: str = Field(default="", max_length=500, description="who introduced it, if not you")


async def _draft(call: Call, action: Action = Action.READ) -> str:
    draft = call.path("draft")
    if not call.participant.may(action, draft):
        raise forbidden("no access to this draft" if action == Action.READ else f"your role may not {action}")
    return draft


async def upload(call: Call) -> FileOut:
    draft = await _draft(call, Action.SUBMIT_DOCUMENT)
    if await get_draft(call.plenary.database, draft) is None:
        raise not_found(f"no draft {draft!r}")
    request = call.request
    media = attachments.media_type_of(request.headers.get("content-type", ""))
    if media is None:
        accepted = ", ".join(attachments.MEDIA_TYPES)
        raise Problem(415, "Unsupported Media Type", f"send the file with one of these types: {accepted}")
    limit = call.plenary.settings.max_attachment_bytes
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise Problem(413, "Content Too Large", f"a file has at most {limit} bytes")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise Problem(413, "Content Too Large", f"a file has at most {limit} bytes")
    if not data:
        raise Problem(422, "Unprocessable Content", "the file is empty")
    filename = request.query_params.get("filename", "")[:255]
    database = call.plenary.database
    known = await attachments.describe(database, draft, attachments.digest(bytes(data)))
    settings = call.plenary.settings
    if known is None:
        mine = await attachments.count(database, draft, by=call.participant.id)
        if mine >= settings.max_attachments_per_person:
            raise conflict(f"you have added {mine} files to this draft: the limit per person")
        if await attachments.count(database, draft) >= settings.max_attachments_per_draft:
            raise conflict(f"this draft keeps {settings.max_attachments_per_draft} files: the limit")
    stored = await attachments.store(
        call.plenary.database, draft, bytes(data), media, filename, call.participant.id
    )
    return FileOut(**stored.to_json())  # type: ignore[arg-type]


async def submit(call: Call) -> Result:
    draft = await _draft(call)
    assert isinstance(call.body, DocumentIn)
    body = call.body.model_dump(mode="json")
    info = await get_draft(call.plenary.database, draft)
    if info is None:
        raise not_found(f"no draft {draft!r}")
    if body["file"] is not None:
        stored = await attachments.describe(call.plenary.database, draft, body["file"])
        if stored is None:
            raise not_found("no uploaded file with that SHA-256 in this draft: upload it first")
        body["file"] = stored.to_json()
        if stored.media_type in attachments.TEXT_TYPES and not body["text"]:
            data = await attachments.load(call.plenary.database, draft, stored.sha256)
            body["text"] = (data or b"").decode("utf-8", errors="replace")[:200_000]
    base = symbol_base(info.symbol, draft)
    return await command(lambda _c: {"type": "document.submit", **body, "_symbol_base": base})(call)


async def list_documents(call: Call) -> list[dict[str, Any]]:
    """Documents, newest first; ``q`` searches titles, symbols, authors and texts; ``meeting`` and ``item``
    keep those listed or introduced there."""
    draft = await _draft(call)
    state = (await call.plenary.deliberations.current(draft)).state
    params = call.request.query_params
    query = params.get("q", "")[:500]
    found = search(state, query, meeting=params.get("meeting") or None, item=params.get("item") or None)
    documents = state.proceedings.documents
    return [_public(documents[d]) for d in found]


def _public(document: dict[str, Any], *, text: bool = False) -> dict[str, Any]:
    out = {k: v for k, v in document.items() if k != "submitted_by" and (text or k != "text")}
    out["submitted_by"] = document["submitted_by"]["name"]
    out["has_text"] = bool(document["text"])
    return out


async def get_document(call: Call) -> dict[str, Any]:
    draft = await _draft(call)
    state = (await call.plenary.deliberations.current(draft)).state
    document = state.proceedings.documents.get(call.path("document"))
    if document is None:
        raise not_found("no such document")
    return _public(document, text=True)


async def get_file(call: Call) -> Response:
    draft = await _draft(call)
    state = (await call.plenary.deliberations.current(draft)).state
    document = state.proceedings.documents.get(call.path("document"))
    if document is None or not document["file"]:
        raise not_found("no such document, or it has no file")
    data = await attachments.load(call.plenary.database, draft, document["file"]["sha256"])
    if data is None:
        raise not_found("the file is missing from the database")
    name = attachments.safe_filename(
        document["file"]["filename"], document["file"]["sha256"], document["file"]["media_type"]
    )
    return Response(
        data,
        media_type=document["file"]["media_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Digest": f"sha-256={document['file']['sha256']}",
            "Cache-Control": "private, max-age=31536000, immutable",
        },
    )


D = "/api/drafts/{draft}"
ENDPOINTS = [
    Endpoint(
        "POST",
        f"{D}/files",
        upload,
        "Upload a document's file (raw body; Content-Type its media type; ?filename=)",
        None,
        FileOut,
        status=201,
        tags=["documents"],
        query={"filename": "the file's name, kept for downloads"},
        raw_body=tuple(attachments.MEDIA_TYPES),
    ),
    Endpoint(
        "POST",
        f"{D}/documents",
        submit,
        "Submit or register a document (delegations: their own proposals, contributions, non-papers)",
        DocumentIn,
        Result,
        status=201,
        tags=["documents"],
    ),
    Endpoint(
        "GET",
        f"{D}/documents",
        list_documents,
        "Documents (?q=&meeting=&item=)",
        tags=["documents"],
        query={"q": "words to search for", "meeting": "a meeting id", "item": "an agenda item"},
    ),
    Endpoint(
        "GET", f"{D}/documents/{{document}}", get_document, "A document with its text", tags=["documents"]
    ),
    Endpoint(
        "GET",
        f"{D}/documents/{{document}}/file",
        get_file,
        "A document's file, as a download",
        tags=["documents"],
    ),
    Endpoint(
        "POST",
        f"{D}/documents/{{document}}/introduce",
        command(
            lambda c: {"type": "document.introduce", "document": c.path("document"), **c.body.model_dump()}
        ),  # type: ignore[union-attr]
        "Record that a document was introduced in the meeting (under the item before it)",
        IntroduceIn,
        Result,
        tags=["documents"],
    ),
]
