"""Documents besides the draft: background documents, proposals, written contributions, non-papers and
chair's texts, each with a symbol, an author (a delegation, or a body such as the ITU Council), an
addressee, a date, a language, and its content: text, or a file kept in the database whose SHA-256 is in
the log.

Rules of practice:

- The secretariat issues symbols. A delegation submits its proposals, contributions and non-papers in
  its own name and gets the next symbol of the series; the chair and the secretariat may give one
  (``WSIS-II/PC-3/CONTR/12``: parts separated by ``/``, each a letter or digit then letters, digits,
  ``.`` or ``-``, as in ``Rev.1`` or ``CRP.2``) and register documents of any author, bodies included.
- A **non-paper** has no symbol: it is informal by definition.
- Background documents and chair's texts come from the chair or the secretariat.
- A document is *introduced* in a meeting (under the item before it) by the chair or the secretariat, or
  by its author's delegation while that delegation has the floor.
- Delegations state positions on **proposals** as on amendments; the indicator is published with them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from crdt.procedure.commands import Actor, need, refuse
from crdt.procedure.proceedings import MeetingStatus, Procedure, id_list, meeting_of, text_field

MAX_TITLE = 500
MAX_CONTENT = 200_000
SYMBOL = re.compile(r"^[A-Z0-9][A-Za-z0-9.\-]*(?:/[A-Za-z0-9][A-Za-z0-9.\-]*)+$")
MAX_SYMBOL = 100
LANGUAGE = re.compile(r"^[a-z]{2,3}$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class DocumentKind(StrEnum):
    BACKGROUND = "background"
    PROPOSAL = "proposal"
    CONTRIBUTION = "contribution"
    NON_PAPER = "non_paper"
    CHAIR_TEXT = "chair_text"


class AuthorType(StrEnum):
    DELEGATION = "delegation"
    BODY = "body"


#: The series each kind's symbols are numbered in (``{draft symbol}/{series}/{n}``).
SERIES: Mapping[str, str] = {
    DocumentKind.BACKGROUND: "INF",
    DocumentKind.PROPOSAL: "CRP",
    DocumentKind.CONTRIBUTION: "CONTR",
    DocumentKind.CHAIR_TEXT: "DT",
}
_OFFICERS = ("chair", "secretariat")
_DELEGATION_KINDS = (DocumentKind.PROPOSAL, DocumentKind.CONTRIBUTION, DocumentKind.NON_PAPER)


def symbol_problem(symbol: str) -> str | None:
    """Why ``symbol`` is not a document symbol, or None."""
    if len(symbol) > MAX_SYMBOL:
        return f"a symbol has at most {MAX_SYMBOL} characters"
    if not SYMBOL.fullmatch(symbol):
        return (
            f"{symbol!r} is not a document symbol: parts separated by '/', each a letter or digit then "
            "letters, digits, '.' or '-' (e.g. WSIS-II/PC-3/CONTR/12)"
        )
    return None


def symbol_base(draft_symbol: str, draft_id: str) -> str:
    """The prefix a draft's documents are numbered under: its symbol's leading parts before the first
    series name ("WSIS-II/PC-3/DT/5" → "WSIS-II/PC-3"), else the draft id in capitals ("TUNIS-2005")."""
    parts = []
    for part in draft_symbol.split("/") if symbol_problem(draft_symbol) is None else []:
        if part.isalpha() and parts:
            break
        parts.append(part)
    return "/".join(parts) or draft_id.upper()


def next_symbol(state: Procedure, base: str, kind: str) -> str | None:
    """The next free symbol in ``kind``'s series under ``base`` (None for a non-paper)."""
    series = SERIES.get(kind)
    if series is None:
        return None
    taken = {d["symbol"] for d in state.proceedings.documents.values() if d["symbol"]}
    prefix = f"{base}/{series}/"
    number = 1 + sum(1 for s in taken if s.startswith(prefix))
    while f"{prefix}{number}" in taken:
        number += 1
    return f"{prefix}{number}"


def _submit(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    kind = c.get("kind")
    if kind not in DocumentKind.__members__.values():
        raise refuse(f"kind must be one of {', '.join(DocumentKind)}")
    officer = actor.role in _OFFICERS
    author_type = c.get("author_type", AuthorType.DELEGATION.value)
    if author_type not in AuthorType.__members__.values():
        raise refuse(f"author_type must be one of {', '.join(AuthorType)}")
    author = text_field(c, "author", MAX_TITLE) or actor.delegation
    if not officer:
        if kind not in _DELEGATION_KINDS:
            raise refuse(f"a {kind.replace('_', ' ')} comes from the chair or the secretariat", 403)
        if author_type != AuthorType.DELEGATION or author != actor.delegation:
            raise refuse("a delegation submits documents in its own name", 403)
    if not author:
        raise refuse("missing 'author'")
    symbol = c.get("symbol")
    if kind == DocumentKind.NON_PAPER:
        if symbol:
            raise refuse("a non-paper has no symbol", 422)
        symbol = None
    elif not isinstance(symbol, str) or (problem := symbol_problem(symbol)) is not None:
        raise refuse(problem if isinstance(symbol, str) and problem else "missing 'symbol'")
    if symbol and any(d["symbol"] == symbol for d in state.proceedings.documents.values()):
        raise refuse(f"a document {symbol} exists", 409)
    language = c.get("language", "en")
    if not isinstance(language, str) or not LANGUAGE.fullmatch(language):
        raise refuse("language is an ISO 639 code, e.g. en, fr, es, ar, zh, ru")
    date = need(c, "date")
    if not DATE.fullmatch(date):
        raise refuse("date is YYYY-MM-DD")
    text = text_field(c, "text", MAX_CONTENT)
    file = c.get("file")
    if file is not None and not (
        isinstance(file, Mapping)
        and isinstance(file.get("sha256"), str)
        and SHA256.fullmatch(file["sha256"])
        and isinstance(file.get("size"), int)
        and isinstance(file.get("media_type"), str)
    ):
        raise refuse("file must be an uploaded file: {sha256, size, media_type, filename}")
    if not text and file is None:
        raise refuse("a document has content: text, or an uploaded file", 422)
    meeting_id, item = c.get("meeting"), c.get("item")
    if meeting_id is not None:
        meeting = meeting_of(state, c)
        if item is not None and not any(i["id"] == item for i in meeting["agenda"]["items"]):
            raise refuse(f"no item {item!r} on the agenda of {meeting_id}", 404)
    elif item is not None:
        raise refuse("an agenda item belongs to a meeting: give the meeting too")
    document_id = need(c, "id")
    if document_id in state.proceedings.documents:
        raise refuse(f"document {document_id!r} exists", 409)
    document = {
        "id": document_id,
        "symbol": symbol,
        "kind": kind,
        "title": text_field(c, "title", MAX_TITLE, required=True),
        "author": author,
        "author_type": author_type,
        "addressee": text_field(c, "addressee", MAX_TITLE),
        "date": date,
        "language": language,
        "text": text,
        "file": dict(file) if file is not None else None,
        "meeting": meeting_id,
        "item": item,
        "paragraphs": id_list(c, "paragraphs", 500),
        "submitted": now,
        "submitted_us": now_us,
        "submitted_by": actor.to_json(),
        "introduced": [],
    }
    state.proceedings.documents[document_id] = document
    return document


def _introduce(state: Procedure, c: Mapping[str, Any], actor: Actor, now_us: int, now: str) -> dict[str, Any]:
    document = state.proceedings.documents.get(need(c, "document"))
    if document is None:
        raise refuse("no such document", 404)
    meeting = meeting_of(state, c)
    if meeting["status"] != MeetingStatus.OPEN:
        raise refuse(f"the meeting is {meeting['status']}", 409)
    item = meeting["current_item"]
    if actor.role not in _OFFICERS:
        if document["author_type"] != AuthorType.DELEGATION or document["author"] != actor.delegation:
            raise refuse("a delegation introduces its own documents", 403)
        floors = state.proceedings.floors.values()
        speaking = any(
            f["meeting"] == meeting["id"]
            and f["current"] is not None
            and f["current"]["delegation"] == actor.delegation
            for f in floors
        )
        if not speaking:
            raise refuse("a delegation introduces its document when it has the floor", 409)
    if any(i["meeting"] == meeting["id"] and i["item"] == item for i in document["introduced"]):
        raise refuse("the document was introduced under this item already", 409)
    officers = {"secretariat": "the secretariat", "chair": "the Chair"}
    by = text_field(c, "by", MAX_TITLE)
    if by and by != actor.delegation and actor.role not in _OFFICERS:
        raise refuse(
            "only the chair or the secretariat records a document as introduced by someone else", 403
        )
    by = by or officers.get(actor.role) or actor.delegation or actor.name
    introduction = {"meeting": meeting["id"], "item": item, "at": now, "at_us": now_us, "by": by}
    document["introduced"].append(introduction)
    return document


def is_proposal(state: Procedure, target: str) -> bool:
    document = state.proceedings.documents.get(target)
    return document is not None and document["kind"] == DocumentKind.PROPOSAL


def published(state: Procedure, document: Mapping[str, Any]) -> dict[str, Any]:
    """A document as the deliberation document shows it: everything but its content (served over REST),
    with the consensus indicator of a proposal."""
    public = {key: value for key, value in document.items() if key not in ("text", "submitted_by")}
    public["has_text"] = bool(document["text"])
    public["submitted_by"] = document["submitted_by"]["name"]
    if document["kind"] == DocumentKind.PROPOSAL:
        public["indicator"] = state.indicator(document["id"]).to_json()
    return public


def search(state: Procedure, query: str, *, meeting: str | None = None, item: str | None = None) -> list[str]:
    """Ids of the documents whose title, symbol, author or text hold every word of ``query``
    (case-insensitive), listed or introduced in ``meeting`` (under ``item``) when given; newest first."""
    words = [w for w in query.casefold().split() if w]
    found = []
    for document in state.proceedings.documents.values():
        if meeting is not None and not _belongs(document, meeting, item):
            continue
        haystack = " ".join(
            str(part or "")
            for part in (document["title"], document["symbol"], document["author"], document["text"])
        ).casefold()
        if all(word in haystack for word in words):
            found.append(document["id"])
    return sorted(found, key=lambda d: state.proceedings.documents[d]["submitted_us"], reverse=True)


def _belongs(document: Mapping[str, Any], meeting: str, item: str | None) -> bool:
    places = [(document["meeting"], document["item"])] + [
        (i["meeting"], i["item"]) for i in document["introduced"]
    ]
    return any(m == meeting and (item is None or i == item) for m, i in places)


HANDLERS = {
    "document.submit": _submit,
    "document.introduce": _introduce,
}
