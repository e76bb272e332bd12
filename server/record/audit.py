"""The record: verifying the log's hash chains, and signed receipts of their heads.

Verification
    :func:`verify_room` streams a room's log in ``seq`` order, in batches, through
    :class:`crdt.record.verification.ChainVerifier` (constant memory, however long the
    log). It also reads the room's newest snapshot: a snapshot taken at a seq the
    log no longer reaches shows that the tail was cut off.

Receipts
    A receipt is the server's signed statement "room R's log had entry ``seq``
    with hash H (written at ``time``), as of ``signed_at``". Whoever keeps one can
    later show that the log still contains that entry and has only grown since
    (:func:`check_receipt`): removing or rewriting anything up to it is caught,
    including cutting the tail, which the chain alone cannot show.

The signing key
    Ed25519, derived from the server secret (``PLENARY_SECRET``) with HKDF-SHA256
    (no salt, info ``b"plenary audit signing key v1"``, 32 bytes used as the
    Ed25519 seed). Every process with the same secret has the same key, across
    restarts, and no private key is stored anywhere. Rotating the secret rotates
    the key: receipts signed before stay verifiable with the old public key,
    which each receipt carries (``public_key``), and which ``GET
    /api/audit/public-key`` published at the time; check them with ``plenary
    audit check-receipt --trust-key OLD_KEY``.

The receipt encoding (version ``plenary-receipt-v1``)
    A JSON object with exactly these members::

        format      "plenary-receipt-v1"
        draft       the draft the room belongs to
        room        the room whose chain it covers
        seq         the entry's sequence number (integer)
        hash        the entry's chain hash, 64 lowercase hex digits
        time        when the entry was written, ISO 8601 UTC with microseconds
                    ("2026-11-29T22:19:45.123456Z")
        signed_at   when the receipt was signed, same format
        public_key  the raw 32-byte Ed25519 public key, base64url without padding
        signature   the 64-byte Ed25519 signature, base64url without padding

    The signature is over the canonical encoding of every member but
    ``signature``: JSON with keys sorted, no whitespace (separators ``,`` and
    ``:``), non-ASCII characters written as themselves, encoded in UTF-8; in
    Python ``json.dumps(fields, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode()``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import functools
import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, or_, select, union

from crdt.procedure.deliberation import Deliberation, fold_entry
from crdt.record.verification import Anchor, ChainReport, ChainVerifier
from crdt.times import iso_us
from server.config import add_database_option, existing_database_url
from server.exitcodes import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from server.procedure.deliberation import COMMAND_PREFIX
from server.storage.database import Database, head_query
from server.storage.schema import LOG, SNAPSHOTS
from server.sync.roomnames import draft_of

__all__ = [
    "RECEIPT_FORMAT",
    "SIGNING_KEY_INFO",
    "AuditKey",
    "Head",
    "MalformedReceipt",
    "Receipt",
    "ReceiptReport",
    "add_commands",
    "check_receipt",
    "list_rooms",
    "read_head",
    "server_key",
    "sign_head",
    "verify_room",
]

SIGNING_KEY_INFO = b"plenary audit signing key v1"
RECEIPT_FORMAT = "plenary-receipt-v1"

#: Rows read per round trip while verifying.
VERIFY_BATCH = 5_000
#: The command line reports progress every this many entries.
PROGRESS_EVERY = 50_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*={0,2}", text):
        raise ValueError("not base64url")
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- verification --------------------------------------------------------------------------------


def _room_filter(column: Any, draft: str) -> Any:
    escaped = draft.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return or_(column == draft, column.like(escaped + "/%", escape="\\"))


async def list_rooms(database: Database, draft: str | None = None) -> list[str]:
    """Rooms with a log (or a snapshot: a room whose every entry was deleted still
    has one): every room, or the draft's (``draft`` and ``draft/…``)."""
    logged = select(LOG.c.room).distinct()
    snapped = select(SNAPSHOTS.c.room).distinct()
    if draft is not None:
        logged = logged.where(_room_filter(LOG.c.room, draft))
        snapped = snapped.where(_room_filter(SNAPSHOTS.c.room, draft))
    async with database.engine.connect() as conn:
        rooms = (await conn.execute(union(logged, snapped))).scalars().all()
    return sorted(set(rooms))


async def _latest_snapshot_seq(database: Database, room: str) -> int | None:
    async with database.engine.connect() as conn:
        return (
            await conn.execute(select(func.max(SNAPSHOTS.c.seq)).where(SNAPSHOTS.c.room == room))
        ).scalar()


async def skipped_entries(database: Database, room: str) -> list[dict[str, Any]]:
    """A draft's logged commands that cannot apply when its log is folded (skipped, as the server skips
    them on load): intact entries of the chain, listed so that nobody mistakes the state for the log."""
    if "/" in room or "@" in room:
        return []
    state = Deliberation()
    async for row in database.commands(room, COMMAND_PREFIX):
        fold_entry(state, row.seq, row.payload, row.time_us)
    return sorted(state.skipped.values(), key=lambda entry: entry["seq"])


async def verify_room(
    database: Database,
    room: str,
    progress: Callable[[str, int], None] | None = None,
    *,
    anchor: Anchor | None = None,
    batch_size: int = VERIFY_BATCH,
) -> ChainReport:
    """Verify a room's whole chain, streaming it in batches (constant memory).

    ``progress(room, entries_verified)`` is called after each batch. ``anchor``
    (from a receipt) must lie on the chain. Tampering is reported in the
    returned report, never raised.
    """
    # Read the snapshot before the log: a snapshot is committed with or after
    # the entries it covers, so any seen here is covered by the log read next.
    snapshot_seq = await _latest_snapshot_seq(database, room)
    verifier = ChainVerifier(
        room=room,
        anchor=anchor,
        min_head_seq=snapshot_seq,
        min_head_evidence=f"a snapshot of the room was taken at seq {snapshot_seq}",
    )
    after: int | None = None
    while True:
        query = select(LOG).where(LOG.c.room == room)
        if after is not None:
            query = query.where(LOG.c.seq > after)
        async with database.engine.connect() as conn:
            rows = (await conn.execute(query.order_by(LOG.c.seq).limit(batch_size))).all()
        if not rows:
            break
        # Hashing a batch is CPU work: off the event loop, so a server stays responsive.
        wants_more = await asyncio.to_thread(verifier.feed, rows)
        if progress is not None:
            progress(room, verifier.count)
        if not wants_more or len(rows) < batch_size:
            break
        after = rows[-1].seq
    return verifier.finish()


# --- the signing key -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditKey:
    """The server's receipt-signing key pair."""

    private: Ed25519PrivateKey

    @classmethod
    def from_secret(cls, secret: str) -> AuditKey:
        if not secret:
            raise ValueError("no secret: the audit signing key is derived from PLENARY_SECRET")
        seed = HKDF(algorithm=SHA256(), length=32, salt=None, info=SIGNING_KEY_INFO).derive(
            secret.encode("utf-8")
        )
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @functools.cached_property
    def public_bytes(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def public_key(self) -> str:
        """The raw public key, base64url without padding (as receipts carry it)."""
        return _b64url(self.public_bytes)

    @property
    def pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def describe(self) -> dict[str, str]:
        return {"algorithm": "Ed25519", "public_key": self.public_key, "pem": self.pem}

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


@functools.lru_cache(maxsize=4)
def server_key(secret: str) -> AuditKey:
    """The signing key of a server with this secret (derived once per process)."""
    return AuditKey.from_secret(secret)


# --- receipts ------------------------------------------------------------------------------------


class MalformedReceipt(ValueError):
    """Not a receipt: missing or extra members, wrong types, bad encodings."""


@dataclass(frozen=True, slots=True)
class Head:
    """A room's last log entry."""

    room: str
    seq: int
    hash: bytes
    time_us: int


async def read_head(database: Database, room: str) -> Head | None:
    """The room's last stored entry (durable by definition), or None when it has none."""
    async with database.engine.connect() as conn:
        row = (await conn.execute(head_query(room))).first()
    return None if row is None else Head(room, row.seq, bytes(row.hash), row.time_us)


_RECEIPT_FIELDS = ("format", "draft", "room", "seq", "hash", "time", "signed_at", "public_key", "signature")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Receipt:
    draft: str
    room: str
    seq: int
    hash: str
    time: str
    signed_at: str
    public_key: str
    signature: str
    format: str = RECEIPT_FORMAT

    def signed_fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _RECEIPT_FIELDS if name != "signature"}

    def signed_message(self) -> bytes:
        """The canonical encoding the signature covers (see the module docstring)."""
        return canonical_json(self.signed_fields())

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _RECEIPT_FIELDS}

    @classmethod
    def from_dict(cls, data: Any) -> Receipt:
        """Parse a receipt, refusing anything but exactly the members of the format."""
        if not isinstance(data, dict):
            raise MalformedReceipt("a receipt is a JSON object")
        missing = [name for name in _RECEIPT_FIELDS if name not in data]
        extra = sorted(str(name) for name in data if name not in _RECEIPT_FIELDS)
        if missing:
            raise MalformedReceipt(f"missing members: {', '.join(missing)}")
        if extra:
            raise MalformedReceipt(f"unknown members (they would not be signed): {', '.join(extra)}")
        for name in _RECEIPT_FIELDS:
            value = data[name]
            if name == "seq":
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise MalformedReceipt("seq must be a positive integer")
            elif not isinstance(value, str):
                raise MalformedReceipt(f"{name} must be a string")
        if data["format"] != RECEIPT_FORMAT:
            raise MalformedReceipt(f"unknown format {data['format']!r} (expected {RECEIPT_FORMAT!r})")
        if not _HEX64.fullmatch(data["hash"]):
            raise MalformedReceipt("hash must be 64 lowercase hex digits")
        try:
            if len(_unb64url(data["public_key"])) != 32:
                raise MalformedReceipt("public_key must be 32 bytes")
            if len(_unb64url(data["signature"])) != 64:
                raise MalformedReceipt("signature must be 64 bytes")
        except (ValueError, binascii.Error) as exc:
            if isinstance(exc, MalformedReceipt):
                raise
            raise MalformedReceipt("public_key and signature must be base64url") from exc
        return cls(**{name: data[name] for name in _RECEIPT_FIELDS})

    def signature_valid(self) -> bool:
        """Whether ``signature`` is valid for ``public_key`` (which may not be ours)."""
        try:
            key = Ed25519PublicKey.from_public_bytes(_unb64url(self.public_key))
            key.verify(_unb64url(self.signature), self.signed_message())
        except (InvalidSignature, ValueError, binascii.Error):
            return False
        return True


def canonical_json(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_head(key: AuditKey, head: Head, *, signed_at: datetime | None = None) -> Receipt:
    """A signed receipt of ``head`` (a room's current last entry)."""
    moment = signed_at or datetime.now(UTC)
    unsigned = {
        "format": RECEIPT_FORMAT,
        "draft": draft_of(head.room),
        "room": head.room,
        "seq": head.seq,
        "hash": head.hash.hex(),
        "time": iso_us(head.time_us),
        "signed_at": moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "public_key": key.public_key,
    }
    signature = _b64url(key.sign(canonical_json(unsigned)))
    return Receipt(**unsigned, signature=signature)


@dataclass(frozen=True)
class ReceiptReport:
    """The verdict on a receipt.

    ``ok`` means: the signature is valid, by this server's key (or one trusted
    explicitly), and the log still holds the entry the receipt names, with the
    chain intact from its start to its current head (so it has only grown).
    """

    ok: bool
    #: "valid", "invalid" or "not checked" (a malformed receipt).
    signature: str
    #: "current" (this server's key), "trusted" (a key passed as trusted) or "other".
    key: str
    room: str | None = None
    seq: int | None = None
    chain: ChainReport | None = None
    #: The first problem: kind ("malformed", "bad_signature", "unknown_key", or a
    #: chain problem kind), detail, and the seq concerned when there is one.
    problem: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "room": self.room,
            "seq": self.seq,
            "signature": self.signature,
            "key": self.key,
            "chain": None if self.chain is None else self.chain.to_dict(),
            "problem": self.problem,
        }


async def check_receipt(
    database: Database,
    receipt: Receipt | dict[str, Any],
    key: AuditKey | None,
    *,
    trusted_keys: Iterable[str] = (),
    progress: Callable[[str, int], None] | None = None,
) -> ReceiptReport:
    """Check a receipt against the signature, the key and the log (see ReceiptReport)."""
    if not isinstance(receipt, Receipt):
        try:
            receipt = Receipt.from_dict(receipt)
        except MalformedReceipt as exc:
            return ReceiptReport(
                ok=False,
                signature="not checked",
                key="other",
                problem={"kind": "malformed", "seq": None, "detail": str(exc)},
            )
    trusted = set(trusted_keys)
    if key is not None and receipt.public_key == key.public_key:
        key_status = "current"
    elif receipt.public_key in trusted:
        key_status = "trusted"
    else:
        key_status = "other"
    if not receipt.signature_valid():
        return ReceiptReport(
            ok=False,
            signature="invalid",
            key=key_status,
            room=receipt.room,
            seq=receipt.seq,
            problem={
                "kind": "bad_signature",
                "seq": receipt.seq,
                "detail": "the signature does not match the receipt: it was altered or forged",
            },
        )
    chain = await verify_room(
        database, receipt.room, progress, anchor=Anchor(receipt.seq, bytes.fromhex(receipt.hash))
    )
    problem: dict[str, Any] | None = None
    if chain.problem is not None:
        problem = chain.problem.to_dict()
    elif key_status == "other":
        problem = {
            "kind": "unknown_key",
            "seq": None,
            "detail": "the log honours the receipt, but it was signed with a key that is not this "
            "server's current one: a key from before a secret rotation, or not this server's at all",
        }
    return ReceiptReport(
        ok=problem is None,
        signature="valid",
        key=key_status,
        room=receipt.room,
        seq=receipt.seq,
        chain=chain,
        problem=problem,
    )


# --- the command line: `plenary audit …` ---------------------------------------------------------


def add_commands(commands: Any) -> Any:
    """Add ``audit verify | head | check-receipt`` to the ``plenary`` command's subparsers; returns the
    ``audit`` subparsers (server/record/revisions.py adds its own there)."""
    audit = commands.add_parser(
        "audit",
        help="check the tamper-evident record",
        description="Verify the log's hash chains and signed receipts of their heads.",
    )
    audit.set_defaults(run=lambda _args: _usage(audit))
    sub = audit.add_subparsers(title="audit commands", metavar="COMMAND")

    verify = sub.add_parser(
        "verify",
        help="verify hash chains",
        description="Verify the hash chain of every room (or of one draft's rooms). "
        "Exit status 0: intact; 1: tampering found; 2: usage error.",
    )
    verify.add_argument("--draft", help="only this draft's rooms (DRAFT and DRAFT/…)")
    add_database_option(verify)
    verify.add_argument("--json", action="store_true", help="print a JSON report")
    verify.set_defaults(run=run_verify)

    head = sub.add_parser(
        "head",
        help="print a signed receipt of a room's head",
        description="Print a signed receipt of the current last entry (needs PLENARY_SECRET).",
    )
    head.add_argument("--draft", required=True)
    head.add_argument("--room", help="a room of the draft (default: the draft's text room)")
    add_database_option(head)
    head.add_argument("--json", action="store_true", help="print the receipt on one line")
    head.set_defaults(run=run_head)

    check = sub.add_parser(
        "check-receipt",
        help="check a receipt against the log",
        description="Check a receipt's signature and that the log still holds its entry, intact "
        "(needs PLENARY_SECRET to recognise the server's key, or --trust-key). Exit status 0: OK; "
        "1: not OK; 2: usage error.",
    )
    check.add_argument("file", metavar="FILE", help="the receipt (JSON), or - for standard input")
    check.add_argument(
        "--trust-key",
        action="append",
        default=[],
        metavar="KEY",
        help="also accept this public key (base64url), e.g. the key from before a secret rotation",
    )
    add_database_option(check)
    check.add_argument("--json", action="store_true", help="print a JSON report")
    check.set_defaults(run=run_check_receipt)
    return sub


def _usage(parser: argparse.ArgumentParser) -> int:

    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _fail(message: str) -> int:

    print(f"plenary: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _open_database(url: str) -> Database:
    """Open an existing Plenary database (ValueError when it holds no log)."""
    from sqlalchemy import inspect

    database = Database(url)
    try:
        async with database.engine.connect() as conn:
            present = await conn.run_sync(lambda sync: inspect(sync).has_table(LOG.name))
    except Exception as exc:
        await database.close()
        raise ValueError(f"cannot open the database: {str(exc)[:300]}") from exc
    if not present:
        await database.close()
        raise ValueError("no Plenary log in this database (table log_entry is missing)")
    return database


def _progress_printer() -> Callable[[str, int], None]:
    reported: dict[str, int] = {}

    def progress(room: str, count: int) -> None:
        step = count // PROGRESS_EVERY
        if step > reported.get(room, 0):
            reported[room] = step
            print(f"plenary: {room}: {count:,} entries verified", file=sys.stderr, flush=True)

    return progress


def run_verify(args: argparse.Namespace) -> int:

    url = existing_database_url(args.database_url)

    skipped: dict[str, list[dict[str, Any]]] = {}

    async def go() -> list[ChainReport] | None:
        database = await _open_database(url)
        try:
            rooms = await list_rooms(database, args.draft)
            if args.draft is not None and not rooms:
                return None
            progress = _progress_printer()
            reports = [await verify_room(database, room, progress) for room in rooms]
            for room in rooms:
                found = await skipped_entries(database, room)
                if found:
                    skipped[room] = found
            return reports
        finally:
            await database.close()

    reports = asyncio.run(go())
    if reports is None:
        return _fail(f"no log entries for draft {args.draft!r}")
    ok = all(report.ok for report in reports)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": ok,
                    "draft": args.draft,
                    "entries": sum(report.count for report in reports),
                    "rooms": [report.to_dict() for report in reports],
                    # Intact entries that cannot apply: not tampering, but the state leaves them out.
                    "skipped": [
                        {"room": room, **entry} for room, found in skipped.items() for entry in found
                    ],
                }
            )
        )
    else:
        for report in reports:
            print(_describe(report))
        for room, found in skipped.items():
            for entry in found:
                what = f"entry {entry['seq']} ({entry['type']})"
                print(f"{room}: {what} skipped when folded: {entry['reason']}")
        total = sum(report.count for report in reports)
        verdict = "intact" if ok else "TAMPERED"
        print(f"{len(reports)} room(s), {total:,} entries verified: {verdict}")
    return EXIT_OK if ok else EXIT_FAILED


def _describe(report: ChainReport) -> str:
    if report.problem is None:
        head = f"head seq {report.head_seq} ({report.head_hash.hex()})"
        return f"{report.room}: OK, {report.count:,} entries, {head}"
    problem = report.problem
    return f"{report.room}: TAMPERED: {problem.kind} at seq {problem.seq}: {problem.detail}"


def run_head(args: argparse.Namespace) -> int:
    import os

    secret = os.environ.get("PLENARY_SECRET")
    if not secret:
        return _fail("PLENARY_SECRET is not set; receipts are signed with a key derived from it")
    room = args.room or args.draft
    if draft_of(room) != args.draft:
        return _fail(f"room {room!r} is not a room of draft {args.draft!r}")

    url = existing_database_url(args.database_url)

    async def go() -> Head | None:
        database = await _open_database(url)
        try:
            return await read_head(database, room)
        finally:
            await database.close()

    head = asyncio.run(go())
    if head is None:
        print(f"plenary: room {room!r} has no log entries", file=sys.stderr)
        return EXIT_FAILED
    receipt = sign_head(server_key(secret), head)
    if args.json:
        print(json.dumps(receipt.to_dict()))
    else:
        print(json.dumps(receipt.to_dict(), indent=2))
    return EXIT_OK


def run_check_receipt(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    secret = os.environ.get("PLENARY_SECRET")
    if not secret and not args.trust_key:
        return _fail("PLENARY_SECRET is not set (needed to recognise the server's key); or pass --trust-key")
    try:
        raw = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8")
        data = json.loads(raw)
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    except ValueError as exc:
        return _fail(f"{args.file} is not JSON: {exc}")
    key = server_key(secret) if secret else None

    url = existing_database_url(args.database_url)

    async def go() -> ReceiptReport:
        database = await _open_database(url)
        try:
            return await check_receipt(
                database, data, key, trusted_keys=args.trust_key, progress=_progress_printer()
            )
        finally:
            await database.close()

    report = asyncio.run(go())
    if args.json:
        print(json.dumps(report.to_dict()))
    elif report.ok:
        print(
            f"receipt OK: {report.room} seq {report.seq} is in the log, signed by the {report.key} key; "
            f"the chain is intact up to seq {report.chain.head_seq if report.chain else '?'}"
        )
    else:
        problem = report.problem or {}
        where = f" at seq {problem['seq']}" if problem.get("seq") is not None else ""
        print(f"receipt NOT OK: {problem.get('kind')}{where}: {problem.get('detail')}")
    return EXIT_OK if report.ok else EXIT_FAILED
