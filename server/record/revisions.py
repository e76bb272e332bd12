"""Revisions as the record shows them: what Rev.N says, how two versions compare, revision receipts.

A revision (``crdt/procedure/revisions.py``) names one entry of the draft's log; everything it shows is
folded from the log up to that entry by :class:`server.record.history.History`, so it cannot change.

Revision receipts (format ``plenary-revision-v1``)
    The server's signed statement "revision R of draft D is entry ``seq`` of its log, whose hash is H, and
    its text (every paragraph in every language) has digest T; it was issued by entry ``issued_seq`` (hash
    ``issued_hash``)". Signed like a log head (server/record/audit.py: the same Ed25519 key, the same
    canonical JSON), with these members::

        format       "plenary-revision-v1"
        draft, room  the draft and its text room (the same id)
        revision     "rev1";  name  "Rev.1";  symbol  "WSIS-II/PC-3/DT/5/Rev.1"
        seq, hash    the entry the revision shows, and its chain hash (hex)
        time         when that entry was written (ISO 8601 UTC, µs)
        issued_seq, issued_hash   the ``cmd.revision.issue`` entry, and its chain hash
        text_digest  SHA-256 (hex) of the revision's text: the canonical JSON of
                     {"format": "plenary-revision-text-v1", "paragraphs": [{"id", "kind", "text",
                     "translations": {language: text}}, …]} in the order of the draft
        signed_at, public_key, signature   as in a head receipt

    :func:`check_revision` checks the signature, that the chain is intact and still holds both entries
    with those hashes, that the issuing entry issued that revision at that entry, and that the text folded
    from the log again has the same digest. ``plenary audit check-revision FILE`` does the same offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from crdt.procedure.revisions import revision_id, revision_number
from crdt.record import comparison
from crdt.record.comparison import Version, VersionParagraph
from crdt.record.verification import Anchor
from crdt.times import iso_us
from server.record.audit import AuditKey, MalformedReceipt, canonical_json, verify_room
from server.record.history import BadMoment, History, NotInHistory
from server.storage.database import Database
from server.storage.schema import LOG

__all__ = [
    "REVISION_RECEIPT_FORMAT",
    "check_revision",
    "compare",
    "find_revision",
    "list_revisions",
    "revision_view",
    "sign_revision",
    "text_digest",
    "version",
]

REVISION_RECEIPT_FORMAT = "plenary-revision-v1"
TEXT_DIGEST_FORMAT = "plenary-revision-text-v1"
_FIELDS = (
    "format",
    "draft",
    "room",
    "revision",
    "name",
    "symbol",
    "seq",
    "hash",
    "time",
    "issued_seq",
    "issued_hash",
    "text_digest",
    "signed_at",
    "public_key",
    "signature",
)
NOW = "now"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def text_digest(paragraphs: Iterable[dict[str, Any]]) -> str:
    """SHA-256 of a version's text, every language included (see the module docstring)."""
    canonical = {
        "format": TEXT_DIGEST_FORMAT,
        "paragraphs": [
            {
                "id": p["id"],
                "kind": p["kind"],
                "text": p["text"],
                "translations": {
                    lang: t["text"] for lang, t in sorted((p.get("translations") or {}).items())
                },
            }
            for p in paragraphs
        ],
    }
    return hashlib.sha256(canonical_json(canonical)).hexdigest()


# Finding revisions.


def _issued_seq(history: Any, rev: str) -> int | None:
    """The entry of the command that issued ``rev``."""
    for entry in history.commands.entries:
        if entry.type == "revision.issue" and rev in history.commands.state_at(entry.seq).revisions:
            return int(entry.seq)
    return None


async def list_revisions(history: History, draft: str) -> list[dict[str, Any]]:
    """Every revision of the draft, in order, each with the entry that issued it and that entry's time."""
    synced = await history.sync(draft)
    async with synced.lock:
        revisions = synced.commands.state_at(synced.seq).revisions
        out = []
        for record in sorted(revisions.values(), key=lambda r: r["number"]):
            time_us = synced.time_of(record["seq"])
            out.append(
                {
                    **record,
                    "time": iso_us(time_us) if time_us is not None else None,
                    "issued_seq": _issued_seq(synced, record["id"]),
                }
            )
    return out


async def find_revision(history: History, draft: str, name: str) -> dict[str, Any]:
    number = revision_number(name)
    if number is None:
        raise BadMoment(f"{name!r} is not a revision: revisions are rev1, rev2, …")
    for record in await list_revisions(history, draft):
        if record["id"] == revision_id(number):
            return record
    raise NotInHistory(f"draft {draft!r} has no revision {revision_id(number)}")


async def revision_view(history: History, draft: str, name: str) -> dict[str, Any]:
    """What a revision says: its record, the text (every language, each translation with its status)
    and the deliberation state at its entry, the digest of its text, and per translation language the
    paragraphs whose translation was current."""
    record = await find_revision(history, draft, name)
    text = await history.text_at(draft, record["seq"])
    current = {
        language: [p["id"] for p in text["paragraphs"] if _status(p, language) == "current"]
        for language in text["languages"]["translations"]
    }
    return {
        **text,
        "revision": record,
        "text_digest": text_digest(text["paragraphs"]),
        "current_translations": current,
    }


def _status(paragraph: dict[str, Any], language: str) -> str | None:
    return (paragraph.get("translations") or {}).get(language, {}).get("status")


async def version(
    history: History, draft: str, name: str, language: str | None = None
) -> tuple[Version, str]:
    """One side of a comparison: ``revN``, ``now`` (the head of the log), or a seq or ISO time; in
    ``language`` (default: the original), which it returns with it."""
    name = name.strip()
    revision = None
    if revision_number(name) is not None:
        revision = await find_revision(history, draft, name)
        at: str | int | None = revision["seq"]
    else:
        at = None if name.lower() == NOW else name
    text = await history.text_at(draft, at)
    original = (text.get("languages") or {}).get("original") or "en"
    paragraphs = []
    for p in text["paragraphs"]:
        body = p["text"]
        if language and language != original:
            body = ((p.get("translations") or {}).get(language) or {}).get("text", "")
        paragraphs.append(VersionParagraph(p["id"], p["number"], p["kind"], body))
    if revision is not None:
        vid, label, symbol = revision["id"], revision["name"], revision["symbol"]
    elif at is None:
        vid, label, symbol = NOW, f"the text now (entry {text['seq']})", ""
    else:
        vid, label, symbol = str(text["seq"]), f"the text at entry {text['seq']}", ""
    return Version(vid, label, symbol, text["seq"], text["time"], tuple(paragraphs)), language or original


async def compare(
    history: History, draft: str, title: str, old: str, new: str = NOW, language: str | None = None
) -> comparison.Comparison:
    older, shown = await version(history, draft, old, language)
    newer, _ = await version(history, draft, new, language)
    if newer.seq < older.seq:
        raise BadMoment(f"{new!r} (entry {newer.seq}) is earlier than {old!r} (entry {older.seq})")
    return comparison.compare(draft, title, older, newer, shown)


async def anything_since(database: Database, draft: str, after: int, upto: int) -> bool:
    """Whether the log has entries in (after, upto] other than issuing revisions: is there anything
    a new revision would show that the last one does not?"""
    from sqlalchemy import func

    async with database.engine.connect() as conn:
        count = (
            await conn.execute(
                select(func.count())
                .select_from(LOG)
                .where(
                    LOG.c.room == draft,
                    LOG.c.seq > after,
                    LOG.c.seq <= upto,
                    LOG.c.kind != "cmd.revision.issue",
                )
            )
        ).scalar()
    return bool(count)


# Receipts.


async def _entry_hash(database: Database, room: str, seq: int) -> tuple[bytes, int] | None:
    async with database.engine.connect() as conn:
        row = (
            await conn.execute(select(LOG.c.hash, LOG.c.time_us).where(LOG.c.room == room, LOG.c.seq == seq))
        ).first()
    return None if row is None else (bytes(row.hash), int(row.time_us))


async def sign_revision(
    key: AuditKey, database: Database, history: History, draft: str, name: str
) -> dict[str, Any]:
    view = await revision_view(history, draft, name)
    record = view["revision"]
    shown = await _entry_hash(database, draft, record["seq"])
    issued = await _entry_hash(database, draft, record["issued_seq"] or 0)
    if shown is None or issued is None:
        raise NotInHistory(f"the entries of {record['id']} are not in the log of {draft!r}")
    unsigned = {
        "format": REVISION_RECEIPT_FORMAT,
        "draft": draft,
        "room": draft,
        "revision": record["id"],
        "name": record["name"],
        "symbol": record["symbol"],
        "seq": record["seq"],
        "hash": shown[0].hex(),
        "time": iso_us(shown[1]),
        "issued_seq": record["issued_seq"],
        "issued_hash": issued[0].hex(),
        "text_digest": view["text_digest"],
        "signed_at": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "public_key": key.public_key,
    }
    return {**unsigned, "signature": _b64url(key.sign(canonical_json(unsigned)))}


def parse_revision_receipt(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MalformedReceipt("a revision receipt is a JSON object")
    missing = [name for name in _FIELDS if name not in data]
    extra = sorted(str(name) for name in data if name not in _FIELDS)
    if missing:
        raise MalformedReceipt(f"missing members: {', '.join(missing)}")
    if extra:
        raise MalformedReceipt(f"unknown members (they would not be signed): {', '.join(extra)}")
    if data["format"] != REVISION_RECEIPT_FORMAT:
        raise MalformedReceipt(f"unknown format {data['format']!r} (expected {REVISION_RECEIPT_FORMAT!r})")
    for name in _FIELDS:
        value = data[name]
        if name in ("seq", "issued_seq"):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise MalformedReceipt(f"{name} must be a positive integer")
        elif not isinstance(value, str):
            raise MalformedReceipt(f"{name} must be a string")
    for name in ("hash", "issued_hash", "text_digest"):
        if len(data[name]) != 64 or any(c not in "0123456789abcdef" for c in data[name]):
            raise MalformedReceipt(f"{name} must be 64 lowercase hex digits")
    return data


@dataclass(frozen=True)
class RevisionReport:
    ok: bool
    signature: str
    key: str
    revision: str | None = None
    seq: int | None = None
    problem: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "revision": self.revision,
            "seq": self.seq,
            "signature": self.signature,
            "key": self.key,
            "problem": self.problem,
        }


def _signature_valid(data: dict[str, Any]) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    unsigned = {name: data[name] for name in _FIELDS if name != "signature"}
    try:
        public = Ed25519PublicKey.from_public_bytes(_unb64url(data["public_key"]))
        public.verify(_unb64url(data["signature"]), canonical_json(unsigned))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


async def check_revision(
    database: Database,
    data: Any,
    key: AuditKey | None,
    *,
    trusted_keys: Iterable[str] = (),
    history: History | None = None,
) -> RevisionReport:
    """Check a revision receipt against its signature and the log (see the module docstring)."""
    try:
        receipt = parse_revision_receipt(data)
    except MalformedReceipt as exc:
        return RevisionReport(
            False, "not checked", "other", problem={"kind": "malformed", "detail": str(exc)}
        )
    if key is not None and receipt["public_key"] == key.public_key:
        key_status = "current"
    elif receipt["public_key"] in set(trusted_keys):
        key_status = "trusted"
    else:
        key_status = "other"

    def report(kind: str | None, detail: str = "", signature: str = "valid") -> RevisionReport:
        problem = None if kind is None else {"kind": kind, "detail": detail}
        return RevisionReport(
            kind is None, signature, key_status, receipt["revision"], receipt["seq"], problem
        )

    if not _signature_valid(receipt):
        return report(
            "bad_signature", "the signature does not match the receipt: altered or forged", "invalid"
        )
    draft = receipt["draft"]
    if receipt["room"] != draft:
        return report("malformed", "a revision covers the draft's text room")
    chain = await verify_room(database, draft, anchor=Anchor(receipt["seq"], bytes.fromhex(receipt["hash"])))
    if chain.problem is not None:
        return report(chain.problem.kind, chain.problem.detail)
    issued = await _entry_hash(database, draft, receipt["issued_seq"])
    if issued is None or issued[0].hex() != receipt["issued_hash"]:
        return report(
            "altered", f"entry {receipt['issued_seq']}, which issued the revision, is not as signed"
        )
    history = history or History(database)
    try:
        record = await find_revision(history, draft, receipt["revision"])
        text = await history.text_at(draft, receipt["seq"])
    except (NotInHistory, BadMoment) as exc:
        return report("not_issued", str(exc))
    if (record["seq"], record["symbol"], record["issued_seq"]) != (
        receipt["seq"],
        receipt["symbol"],
        receipt["issued_seq"],
    ):
        return report(
            "not_issued", f"the log issues {record['name']} at entry {record['seq']}, not as signed"
        )
    if text_digest(text["paragraphs"]) != receipt["text_digest"]:
        return report("text_differs", "the text folded from the log does not have the signed digest")
    if key_status == "other":
        return report(
            "unknown_key", "the log honours the receipt, but it was not signed with this server's key"
        )
    return report(None)


async def revision_seq(database: Database, draft: str, name: str, history: History | None = None) -> int:
    """The entry a revision shows (ValueError if the draft has no such revision)."""
    try:
        return int((await find_revision(history or History(database), draft, name))["seq"])
    except (NotInHistory, BadMoment) as exc:
        raise ValueError(str(exc)) from exc


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)


# --- the command line: `plenary revisions | compare`, `plenary audit revision | check-revision` -------


def add_commands(commands: Any, audit: Any) -> None:
    """Add ``revisions`` and ``compare`` to the ``plenary`` command, and ``revision`` and
    ``check-revision`` to ``plenary audit`` (``audit`` is its subparsers)."""
    from server.config import add_database_option

    listing = commands.add_parser(
        "revisions",
        help="the draft's revisions (Rev.1, Rev.2, …)",
        description="List the draft's revisions: name, symbol, the entry each shows. Reads the database.",
    )
    listing.add_argument("draft", metavar="DRAFT")
    add_database_option(listing)
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(run=run_revisions)

    comparing = commands.add_parser(
        "compare",
        help="compare two versions of a draft word by word",
        description="Compare two versions of a draft, paragraph by paragraph (matched by identity, so "
        "renumbered and moved paragraphs are recognised) and word by word. A version is a revision (rev1), "
        "now, a sequence number or an ISO 8601 time. Exit status 0: printed; 1: no such draft or version; "
        "2: usage error.",
    )
    comparing.add_argument("draft", metavar="DRAFT")
    comparing.add_argument("old", metavar="FROM", help="the earlier version, e.g. rev1")
    comparing.add_argument(
        "new", metavar="TO", nargs="?", default=NOW, help="the later version (default now)"
    )
    comparing.add_argument("--format", "-f", choices=("markdown", "html", "json"), default="markdown")
    comparing.add_argument("--language", help="compare this language version (default: the original)")
    comparing.add_argument("--out", "-o", metavar="FILE", help="write to FILE (default: standard output)")
    add_database_option(comparing)
    comparing.set_defaults(run=run_compare)

    sign = audit.add_parser(
        "revision",
        help="print a signed receipt of a revision",
        description="Print a signed receipt of a revision: the entry it shows, the entry that issued it, "
        "the digest of its text in every language (needs PLENARY_SECRET).",
    )
    sign.add_argument("--draft", required=True)
    sign.add_argument("revision", metavar="REV", help="rev1, rev2, …")
    add_database_option(sign)
    sign.add_argument("--json", action="store_true", help="print the receipt on one line")
    sign.set_defaults(run=run_sign_revision)

    check = audit.add_parser(
        "check-revision",
        help="check a revision receipt against the log",
        description="Check a revision receipt: its signature, that the log still holds both its entries "
        "intact, that the revision was issued as signed, and that its text folded from the log again has "
        "the signed digest. Exit status 0: OK; 1: not OK; 2: usage error.",
    )
    check.add_argument("file", metavar="FILE", help="the receipt (JSON), or - for standard input")
    check.add_argument(
        "--trust-key",
        action="append",
        default=[],
        metavar="KEY",
        help="also accept this public key (base64url)",
    )
    add_database_option(check)
    check.add_argument("--json", action="store_true", help="print a JSON report")
    check.set_defaults(run=run_check_revision)


def _run(args: Any, question: Any) -> Any:
    import asyncio

    from server.config import existing_database_url

    url = existing_database_url(args.database_url)

    async def go() -> Any:
        database = Database(url)
        try:
            return await question(database, History(database))
        finally:
            await database.close()

    return asyncio.run(go())


def _fail(message: str) -> int:
    import sys

    from server.exitcodes import EXIT_FAILED

    print(f"plenary: {message}", file=sys.stderr)
    return EXIT_FAILED


def run_revisions(args: Any) -> int:
    from server.exitcodes import EXIT_OK

    try:
        found = _run(args, lambda _db, history: list_revisions(history, args.draft))
    except (NotInHistory, BadMoment) as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps({"draft": args.draft, "revisions": found}, ensure_ascii=False))
    elif not found:
        print(f"{args.draft}: no revisions yet")
    for record in found if not args.json else []:
        note = f" — {record['note']}" if record["note"] else ""
        print(f"{record['id']:<6} {record['symbol']:<40} entry {record['seq']:>8}  {record['time']}{note}")
    return EXIT_OK


def run_compare(args: Any) -> int:
    import sys
    from pathlib import Path

    from server.exitcodes import EXIT_OK
    from server.procedure.drafts import get_draft

    async def question(database: Database, history: History) -> Any:
        info = await get_draft(database, args.draft)
        if info is None:
            raise NotInHistory(f"no draft {args.draft!r}")
        if args.language:
            languages = (await history.text_at(args.draft))["languages"]
            known = [languages["original"], *languages["translations"]]
            if args.language not in known:  # a usage error (exit 2), as the API's 422
                raise ValueError(f"--language must be one of {', '.join(known)} (got {args.language!r})")
        return await compare(history, args.draft, info.title, args.old, args.new, args.language)

    try:
        result = _run(args, question)
    except (NotInHistory, BadMoment) as exc:
        return _fail(str(exc))
    if args.format == "json":
        text = json.dumps(result.to_json(), ensure_ascii=False) + "\n"
    else:
        text = comparison.html(result) if args.format == "html" else comparison.markdown(result)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def run_sign_revision(args: Any) -> int:
    import os

    from server.exitcodes import EXIT_OK
    from server.record.audit import server_key

    secret = os.environ.get("PLENARY_SECRET")
    if not secret:
        raise ValueError("PLENARY_SECRET is not set; receipts are signed with a key derived from it")
    try:
        signed = _run(
            args,
            lambda db, history: sign_revision(server_key(secret), db, history, args.draft, args.revision),
        )
    except (NotInHistory, BadMoment) as exc:
        return _fail(str(exc))
    print(json.dumps(signed, ensure_ascii=False) if args.json else dumps(signed))
    return EXIT_OK


def run_check_revision(args: Any) -> int:
    import os
    import sys
    from pathlib import Path

    from server.exitcodes import EXIT_FAILED, EXIT_OK
    from server.record.audit import server_key

    secret = os.environ.get("PLENARY_SECRET")
    if not secret and not args.trust_key:
        raise ValueError(
            "PLENARY_SECRET is not set (needed to recognise the server's key); or pass --trust-key"
        )
    try:
        raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        data = json.loads(raw)
    except OSError as exc:
        raise ValueError(f"cannot read {args.file}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{args.file} is not JSON: {exc}") from exc
    key = server_key(secret) if secret else None
    report = _run(
        args, lambda db, history: check_revision(db, data, key, trusted_keys=args.trust_key, history=history)
    )
    if args.json:
        print(json.dumps(report.to_dict()))
    elif report.ok:
        print(
            f"revision receipt OK: {report.revision} is entry {report.seq} of the log, issued as signed, "
            f"its text as signed, signed by the {report.key} key"
        )
    else:
        problem = report.problem or {}
        print(f"revision receipt NOT OK: {problem.get('kind')}: {problem.get('detail')}")
    return EXIT_OK if report.ok else EXIT_FAILED
