"""``GET /api/drafts/{draft}/export?format=…&view=…``: a draft exported (see server/record/exports.py).

Exporting is part of reading the history, so it needs ``read_history`` (chair, secretariat, archivist).
The response is the document itself, with its media type and a file name in ``Content-Disposition``:

=============  =============================================================  ==========================
format         what                                                            media type
=============  =============================================================  ==========================
markdown       compilation (default) or clean text (``view=clean``)           text/markdown
html           the same as an HTML5 page                                       text/html
akn            ZIP: the draft and each amendment as Akoma Ntoso 3.0 XML       application/zip
annotations    W3C Web Annotation collection (JSON-LD)                         application/ld+json
summary        meeting summary, plain text                                     text/plain
=============  =============================================================  ==========================
"""

from __future__ import annotations

from starlette.responses import Response

from crdt.procedure.revisions import revision_number
from crdt.record.exports import FORMATS, VIEWS
from server.api.endpoints import Call, Endpoint
from server.api.problems import Problem, forbidden, not_found
from server.identity import Action
from server.procedure.drafts import get_draft
from server.record.exports import live_view, read_revision_view, read_view, render, resolve_at


async def export_draft(call: Call) -> Response:
    draft = call.path("draft")
    params = call.request.query_params
    # A revision is a document issued to everyone at the table; any other moment is the archive's.
    issued = revision_number(params.get("at") or "") is not None
    if not call.participant.may(Action.READ if issued else Action.READ_HISTORY, draft):
        raise forbidden("exporting a draft needs the chair, secretariat or archivist role (or at=revN)")
    fmt = params.get("format", "markdown")
    kind = params.get("view", "compilation")
    if fmt not in FORMATS:
        raise Problem(422, "Unprocessable Content", f"format must be one of {', '.join(FORMATS)}")
    if kind not in VIEWS:
        raise Problem(422, "Unprocessable Content", f"view must be one of {', '.join(VIEWS)}")
    info = await get_draft(call.plenary.database, draft)
    if info is None:
        raise not_found(f"no draft {draft!r}")
    at = params.get("at")
    if issued:
        try:
            view = await read_revision_view(call.plenary.database, draft, at or "")
        except ValueError as exc:
            raise not_found(str(exc)) from exc
    elif at:
        try:
            seq = await resolve_at(call.plenary.database, draft, at)
        except ValueError as exc:
            raise Problem(422, "Unprocessable Content", str(exc)) from exc
        past = await read_view(call.plenary.database, draft, seq)
        assert past is not None
        view = past
    else:
        view = await live_view(
            call.plenary.database,
            call.plenary.deliberations,
            call.plenary.rooms,
            info,
            call.plenary.translations,
        )
    base = str(call.request.base_url).rstrip("/")
    language = params.get("language") or None
    pair = [code.strip() for code in params["languages"].split(",")] if params.get("languages") else None
    try:
        rendered = render(view, fmt, kind, base, language, pair)
    except ValueError as exc:
        raise Problem(422, "Unprocessable Content", str(exc)) from exc
    disposition = "attachment" if fmt == "akn" else "inline"
    return Response(
        rendered.data,
        media_type=rendered.media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{rendered.filename}"'},
    )


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/api/drafts/{draft}/export",
        export_draft,
        "Export the draft: format=markdown|html (view=compilation|clean), akn, annotations or summary "
        "(chair, secretariat, archivist)",
        tags=["exports"],
        query={
            "at": "an entry's seq, an ISO 8601 time or a revision (rev1); default: now",
            "format": "markdown, html, akn, annotations or summary",
            "view": "compilation or clean",
            "language": "a language version",
            "languages": "two languages side by side, e.g. en,fr",
        },
    ),
]
