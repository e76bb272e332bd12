"""The record is tamper-evident: every change to the stored log is found and named.

Pure tests of crdt/record/verification.py build chains in memory; the others write
through real websockets to a real server (on SQLite and on PostgreSQL), tamper
with the database directly in SQL, and expect the command line (a subprocess)
and the HTTP API to name the kind of tampering and the entry.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pycrdt import Array
from sqlalchemy import insert, text

from client.session import RoomClient
from crdt.record.chain import GENESIS, EntryFields, entry_hash
from crdt.record.verification import Anchor, ChainVerifier, ProblemKind, verify_chain
from crdt.times import iso_us
from server import cli
from server.record.audit import AuditKey, Head, MalformedReceipt, Receipt, sign_head
from server.storage.database import Database
from server.storage.schema import LOG
from tests.conftest import ROOT, TEST_SECRET, eventually

# --- pure: the chain -----------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    room: str
    seq: int
    time_us: int
    connection: str
    participant: str
    role: str
    kind: str
    clients: bytes
    payload: bytes
    prev_hash: bytes
    hash: bytes


def fields_of(row: Row) -> EntryFields:
    return EntryFields(
        row.room,
        row.seq,
        row.time_us,
        row.connection,
        row.participant,
        row.role,
        row.kind,
        row.clients,
        row.payload,
    )


def rehash(rows: list[Row], start: int = 0, prev: bytes | None = None) -> list[Row]:
    """Recompute hashes from index ``start`` on, as a careful forger would."""
    prev = (rows[start - 1].hash if start else GENESIS) if prev is None else prev
    out = rows[:start]
    for row in rows[start:]:
        row = dataclasses.replace(row, prev_hash=prev)
        row = dataclasses.replace(row, hash=entry_hash(prev, fields_of(row)))
        out.append(row)
        prev = row.hash
    return out


def make_chain(n: int = 8, room: str = "charter") -> list[Row]:
    rows = [
        Row(
            room=room,
            seq=seq,
            time_us=1_764_000_000_000_000 + seq * 1_000,
            connection=f"conn-{seq % 3}",
            participant=f"delegate-{seq % 2}",
            role="delegate",
            kind="update" if seq % 4 else "amendment.proposed",
            clients=bytes([1, seq, 7]),
            payload=f"payload {seq} 🌍".encode(),
            prev_hash=b"",
            hash=b"",
        )
        for seq in range(1, n + 1)
    ]
    return rehash(rows)


def flip(data: bytes, index: int = 0) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def test_intact_chain_is_ok():
    rows = make_chain()
    report = verify_chain(rows, room="charter")
    assert report.ok and report.problem is None
    assert (report.count, report.head_seq, report.head_hash) == (8, 8, rows[-1].hash)
    assert report.to_dict()["head_hash"] == rows[-1].hash.hex()
    empty = verify_chain([])
    assert empty.ok and (empty.count, empty.head_seq, empty.head_hash) == (0, 0, GENESIS)


TAMPERINGS: dict[str, Callable[[Row], Row]] = {
    "payload": lambda r: dataclasses.replace(r, payload=flip(r.payload, 3)),
    "participant": lambda r: dataclasses.replace(r, participant=r.participant + "x"),
    "time_us": lambda r: dataclasses.replace(r, time_us=r.time_us + 1),
    "role": lambda r: dataclasses.replace(r, role="chair"),
    "kind": lambda r: dataclasses.replace(r, kind="updatf"),
    "clients": lambda r: dataclasses.replace(r, clients=flip(r.clients, 1)),
    "connection": lambda r: dataclasses.replace(r, connection=r.connection.upper()),
    "prev_hash": lambda r: dataclasses.replace(r, prev_hash=flip(r.prev_hash, 31)),
    "hash": lambda r: dataclasses.replace(r, hash=flip(r.hash, 0)),
    "room": lambda r: dataclasses.replace(r, room="charter2"),
}


@pytest.mark.parametrize("field", sorted(TAMPERINGS))
@pytest.mark.parametrize("seq", [1, 4, 8])
def test_one_changed_field_is_altered(field, seq):
    rows = make_chain()
    rows[seq - 1] = TAMPERINGS[field](rows[seq - 1])
    report = verify_chain(rows)  # no room given: the hash alone shows it
    assert not report.ok
    assert (report.problem.kind, report.problem.seq) == (ProblemKind.ALTERED, seq)
    assert (report.count, report.head_seq) == (seq - 1, seq - 1)


def test_unreadable_values_are_altered_not_errors():
    rows = make_chain()
    rows[2] = dataclasses.replace(rows[2], payload=None)
    rows[5] = dataclasses.replace(rows[5], time_us=2**70)
    report = verify_chain(rows)
    assert (report.problem.kind, report.problem.seq) == ("altered", 3)
    report = verify_chain(rows[3:], expected_first_seq=4, prev_hash=rows[2].hash)
    assert (report.problem.kind, report.problem.seq) == ("altered", 6)


def test_deleted_rows_are_removed():
    rows = make_chain()
    report = verify_chain(rows[:3] + rows[4:])
    assert (report.problem.kind, report.problem.seq, report.head_seq) == ("removed", 4, 3)
    report = verify_chain(rows[:3] + rows[6:])
    assert (report.problem.kind, report.problem.seq) == ("removed", 4)
    assert "4..6" in report.problem.detail
    # The gap is the last thing fed: still removed (decided when the stream ends).
    report = verify_chain(rows[:3] + rows[5:6])
    assert (report.problem.kind, report.problem.seq) == ("removed", 4)


def test_deleting_and_renumbering_is_altered():
    rows = make_chain()
    renumbered = rows[:3] + [dataclasses.replace(r, seq=r.seq - 1) for r in rows[4:]]
    report = verify_chain(renumbered)
    assert (report.problem.kind, report.problem.seq) == ("altered", 4)


def test_deleted_last_row_needs_a_receipt():
    rows = make_chain()
    assert verify_chain(rows[:-1]).ok  # a chain alone cannot show its end was cut
    receipt = Anchor(8, rows[-1].hash)
    report = verify_chain(rows[:-1], anchor=receipt)
    assert (report.problem.kind, report.problem.seq) == (ProblemKind.TRUNCATED, 8)
    report = verify_chain(rows[:5], anchor=receipt)
    assert (report.problem.kind, report.problem.seq, report.head_seq) == ("truncated", 6, 5)
    report = verify_chain(rows[:5], min_head_seq=8)  # e.g. a snapshot was taken at seq 8
    assert (report.problem.kind, report.problem.seq) == ("truncated", 6)
    # A log that only grew past the receipt is fine.
    assert verify_chain(rows, anchor=Anchor(5, rows[4].hash)).ok
    assert verify_chain(rows, anchor=Anchor(0, GENESIS)).ok


def test_swapped_rows():
    rows = make_chain()
    # Stored in the wrong order (an export, say): reordered.
    swapped = [*rows[:2], rows[3], rows[2], *rows[4:]]
    report = verify_chain(swapped)
    assert (report.problem.kind, report.problem.seq) == (ProblemKind.REORDERED, 3)
    far = [*rows[:2], rows[6], *rows[3:6], rows[2], rows[7]]
    assert (verify_chain(far).problem.kind, verify_chain(far).problem.seq) == ("reordered", 3)
    # The contents of two rows swapped, the seq column left in place: the hash covers seq.
    contents = list(rows)
    for a, b in ((2, 5), (5, 2)):
        contents[a] = dataclasses.replace(rows[b], seq=rows[a].seq)
    report = verify_chain(contents)
    assert (report.problem.kind, report.problem.seq) == ("altered", 3)
    # Only payload and hash swapped.
    contents = list(rows)
    contents[2] = dataclasses.replace(rows[2], payload=rows[5].payload, hash=rows[5].hash)
    contents[5] = dataclasses.replace(rows[5], payload=rows[2].payload, hash=rows[2].hash)
    assert verify_chain(contents).problem.seq == 3
    # Going backwards without a gap first.
    report = verify_chain([*rows[:5], rows[1]])
    assert (report.problem.kind, report.problem.seq) == ("reordered", 2)


def test_inserted_rows():
    rows = make_chain()
    forged = dataclasses.replace(rows[3], payload=b"forged")
    forged = dataclasses.replace(forged, hash=entry_hash(forged.prev_hash, fields_of(forged)))
    # A second entry with the same seq.
    report = verify_chain([*rows[:4], forged, *rows[4:]])
    assert (report.problem.kind, report.problem.seq) == (ProblemKind.INSERTED, 4)
    # A self-consistent entry put in place of the real one: the next one no longer links.
    report = verify_chain([*rows[:3], forged, *rows[4:]])
    assert (report.problem.kind, report.problem.seq, report.head_seq) == ("inserted", 5, 4)
    # An entry added at the end that does not link to the head.
    extra = dataclasses.replace(rows[-1], seq=9, prev_hash=bytes(32))
    extra = dataclasses.replace(extra, hash=entry_hash(extra.prev_hash, fields_of(extra)))
    report = verify_chain([*rows, extra])
    assert (report.problem.kind, report.problem.seq) == ("inserted", 9)
    # An entry before the first one.
    zero = dataclasses.replace(rows[0], seq=0)
    report = verify_chain([zero, *rows])
    assert (report.problem.kind, report.problem.seq) == ("inserted", 0)
    # Inserted with renumbering, the rest left alone: the first moved entry is altered.
    renumbered = [*rows[:3], forged, *(dataclasses.replace(r, seq=r.seq + 1) for r in rows[3:])]
    assert (verify_chain(renumbered).problem.kind, verify_chain(renumbered).problem.seq) == ("altered", 5)


def test_rewritten_chain_needs_a_receipt():
    rows = make_chain()
    tampered = list(rows)
    tampered[2] = dataclasses.replace(rows[2], payload=b"history rewritten")
    tampered = rehash(tampered, 2)
    assert verify_chain(tampered).ok  # a careful forger re-hashes everything after
    report = verify_chain(tampered, anchor=Anchor(5, rows[4].hash))
    assert (report.problem.kind, report.problem.seq) == (ProblemKind.REWRITTEN, 5)
    assert verify_chain(tampered, anchor=Anchor(2, rows[1].hash)).ok  # before the rewrite


def test_another_rooms_entry_is_altered_when_the_room_is_known():
    rows = make_chain()
    other = make_chain(room="elsewhere")
    mixed = [*rows[:3], other[3], *rows[4:]]
    assert verify_chain(mixed, room="charter").problem.kind == "altered"
    assert verify_chain(mixed).problem.kind == "inserted"  # it does not link


@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_incremental_feeding_gives_the_same_verdict(size):
    rows = make_chain(20)
    cases = [
        rows,
        rows[:9] + rows[10:],
        [*rows[:9], rows[10], rows[9], *rows[11:]],
        [*rows[:12], TAMPERINGS["payload"](rows[12]), *rows[13:]],
    ]
    for case in cases:
        whole = verify_chain(case)
        verifier = ChainVerifier()
        for start in range(0, len(case), size):
            if not verifier.feed(case[start : start + size]):
                assert verifier.done  # the caller may stop reading
                break
        assert verifier.finish() == whole


def test_verifying_from_a_checkpoint():
    rows = make_chain()
    report = verify_chain(rows[4:], expected_first_seq=5, prev_hash=rows[3].hash)
    assert report.ok and report.count == 4 and report.head_seq == 8
    report = verify_chain(rows[4:], expected_first_seq=5, prev_hash=rows[2].hash)
    assert (report.problem.kind, report.problem.seq) == ("inserted", 5)


# --- pure: receipts ------------------------------------------------------------------------------


def test_the_signing_key_is_derived_from_the_secret():
    key = AuditKey.from_secret(TEST_SECRET)
    assert AuditKey.from_secret(TEST_SECRET).public_key == key.public_key  # survives restarts
    assert AuditKey.from_secret(TEST_SECRET + "!").public_key != key.public_key  # rotates with it
    raw = base64.urlsafe_b64decode(key.public_key + "=")
    assert len(raw) == 32 and "=" not in key.public_key
    assert load_pem_public_key(key.pem.encode()).public_bytes_raw() == raw
    with pytest.raises(ValueError):
        AuditKey.from_secret("")


def test_receipt_encoding_and_signature():
    key = AuditKey.from_secret(TEST_SECRET)
    head = Head("charter/notes", 42, bytes(range(32)), 1_764_000_000_123_456)
    receipt = sign_head(key, head, signed_at=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    data = receipt.to_dict()
    assert data == {
        "format": "plenary-receipt-v1",
        "draft": "charter",
        "room": "charter/notes",
        "seq": 42,
        "hash": bytes(range(32)).hex(),
        "time": iso_us(head.time_us),
        "signed_at": "2026-11-30T09:00:00.000000Z",
        "public_key": key.public_key,
        "signature": data["signature"],
    }
    assert data["time"] == "2025-11-24T16:00:00.123456Z"
    unsigned = {k: v for k, v in data.items() if k != "signature"}
    message = json.dumps(unsigned, sort_keys=True, separators=(",", ":")).encode()
    assert receipt.signed_message() == message
    public = load_pem_public_key(key.pem.encode())
    public.verify(base64.urlsafe_b64decode(data["signature"] + "=="), message)  # anyone can check
    assert Receipt.from_dict(json.loads(json.dumps(data))).signature_valid()
    assert not Receipt.from_dict({**data, "seq": 43}).signature_valid()
    assert not Receipt.from_dict({**data, "hash": "f" + data["hash"][1:]}).signature_valid()
    for bad in ({**data, "extra": 1}, {k: v for k, v in data.items() if k != "time"}, {**data, "seq": "42"}):
        with pytest.raises(MalformedReceipt):
            Receipt.from_dict(bad)
    with pytest.raises(MalformedReceipt):
        Receipt.from_dict({**data, "public_key": "%%%"})


# --- against real servers and databases ----------------------------------------------------------


def http(server, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.http, headers=headers, timeout=30)


def create_draft(server, tokens, draft: str) -> None:
    chair = http(server, tokens("chair", user="chair"))
    created = chair.post(
        "/api/drafts",
        json={"id": draft, "title": draft.title(), "paragraphs": [{"id": "p1", "text": "Text: "}]},
    )
    assert created.status_code == 201, created.text


async def write_edits(server, tokens, draft: str, words: list[str]) -> None:
    """One update of the draft's text, hence one log entry, per word; returns once all are in the log."""
    expected = len(await read_rows(server.database_url, draft)) + len(words)

    async def logged() -> bool:
        return len(await read_rows(server.database_url, draft)) >= expected

    async with RoomClient(server.ws, draft, token=tokens(user="writer")) as client:
        await client.wait_synced()
        paragraphs = client.doc.get("paragraphs", type=Array)
        await eventually(lambda: len(paragraphs) > 0)
        for word in words:
            paragraph = paragraphs[0]["text"]
            paragraph += word
            await asyncio.sleep(0.01)
        await eventually(logged)


async def read_rows(url: str, room: str) -> list[dict[str, Any]]:
    database = Database(url)
    try:
        async with database.engine.connect() as conn:
            rows = (await conn.execute(LOG.select().where(LOG.c.room == room).order_by(LOG.c.seq))).all()
        return [dict(row._mapping) for row in rows]
    finally:
        await database.close()


async def sql(url: str, statement: str, **params: Any) -> None:
    database = Database(url)
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text(statement), params)
    finally:
        await database.close()


async def restore(url: str, room: str, rows: list[dict[str, Any]]) -> None:
    database = Database(url)
    try:
        async with database.engine.begin() as conn:
            await conn.execute(LOG.delete().where(LOG.c.room == room))
            await conn.execute(insert(LOG), rows)
    finally:
        await database.close()


async def plenary(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    """Run ``python -m server.cli`` as a subprocess: exit code, JSON output, stderr."""
    environment = {k: v for k, v in os.environ.items() if k != "PLENARY_SECRET"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        cwd=ROOT,
        env={**environment, **(env or {})},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    try:
        data = json.loads(out) if out.strip() else None
    except ValueError:
        data = out.decode()
    return proc.returncode, data, err.decode()


def room_report(report: dict[str, Any], room: str) -> dict[str, Any]:
    return next(r for r in report["rooms"] if r["room"] == room)


Tamper = Callable[[str], Awaitable[None]]


def scenarios(rows: list[dict[str, Any]]) -> list[tuple[str, Tamper, str, int]]:
    """(name, tampering, expected kind, expected seq) on room "charter" (8 entries)."""
    r3, r6 = rows[2], rows[5]

    def update(statement: str, **params: Any) -> Tamper:
        return lambda url: sql(url, statement, **params)

    async def swap(url: str) -> None:
        for a, b in ((r3, r6), (r6, r3)):
            await sql(
                url,
                "UPDATE log_entry SET payload = :payload, hash = :hash WHERE room = 'charter' AND seq = :seq",
                payload=b["payload"],
                hash=b["hash"],
                seq=a["seq"],
            )

    where = "WHERE room = 'charter' AND seq = :seq"
    return [
        (
            "payload byte",
            update(f"UPDATE log_entry SET payload = :p {where}", p=flip(r3["payload"], 2), seq=3),
            "altered",
            3,
        ),
        (
            "participant",
            update(f"UPDATE log_entry SET participant = 'someone-else' {where}", seq=4),
            "altered",
            4,
        ),
        ("time", update(f"UPDATE log_entry SET time_us = time_us + 1 {where}", seq=5), "altered", 5),
        ("middle row deleted", update(f"DELETE FROM log_entry {where}", seq=4), "removed", 4),
        ("rows swapped", swap, "altered", 3),
        (
            "tail truncated",
            update("DELETE FROM log_entry WHERE room = 'charter' AND seq > 5"),
            "truncated",
            6,
        ),
    ]


async def test_tampering_is_found_by_the_cli_and_the_api(server_factory, database_url, tokens):
    server = server_factory(database_url)
    create_draft(server, tokens, "charter")  # seq 1 (draft.created) and 2 (its text)
    await write_edits(server, tokens, "charter", ["We ", "the ", "peoples ", "of ", "the ", "🌍"])
    # A command: logged in the draft's chain, published into room charter/deliberation (its own chain).
    annotated = http(server, tokens("delegate")).post(
        "/api/drafts/charter/annotations", json={"paragraph": "p1", "body": "Which peoples?"}
    )
    assert annotated.status_code < 300, annotated.text
    server.stop()  # snapshots the rooms: the tail's length is on record

    rows = await read_rows(database_url, "charter")
    assert [row["seq"] for row in rows] == list(range(1, len(rows) + 1)) and len(rows) >= 9
    assert {"draft.created", "update"} < {row["kind"] for row in rows}
    code, report, _ = await plenary("audit", "verify", "--database-url", database_url, "--json")
    assert code == cli.EXIT_OK, report
    assert report["ok"] and report["entries"] > len(rows)
    assert {r["room"] for r in report["rooms"]} == {"charter", "charter/deliberation"}
    assert room_report(report, "charter")["head_hash"] == rows[-1]["hash"].hex()

    cases = scenarios(rows)
    verify = ("audit", "verify", "--database-url", database_url)
    for name, tamper, kind, seq in cases:
        await tamper(database_url)
        if kind == "removed":  # the human-readable report names it too
            (code, report, err), (human_code, human, _) = await asyncio.gather(
                plenary(*verify, "--json"), plenary(*verify, "--draft", "charter")
            )
            assert human_code == cli.EXIT_FAILED
            assert f"charter: TAMPERED: {kind} at seq {seq}" in human
        else:
            code, report, err = await plenary(*verify, "--json")
        assert code == cli.EXIT_FAILED, (name, report, err)
        assert not report["ok"]
        found = room_report(report, "charter")
        assert (found["problem"]["kind"], found["problem"]["seq"]) == (kind, seq), (name, found)
        assert room_report(report, "charter/deliberation")["ok"]
        await restore(database_url, "charter", rows)

    server.start()
    archivist = http(server, tokens("archivist"))
    verified = archivist.get("/api/drafts/charter/audit/verify")
    assert verified.status_code == 200 and verified.json()["ok"], verified.text
    for name, tamper, kind, seq in cases:
        await tamper(database_url)
        response = archivist.get("/api/drafts/charter/audit/verify")
        assert response.status_code == 200, (name, response.text)
        body = response.json()
        assert body["ok"] is False
        found = room_report(body, "charter")
        assert (found["problem"]["kind"], found["problem"]["seq"]) == (kind, seq), (name, found)
        assert room_report(body, "charter/deliberation")["ok"]
        await restore(database_url, "charter", rows)
    assert archivist.get("/api/drafts/charter/audit/verify").json()["ok"]


async def test_receipts(server_factory, database_url, tokens, tmp_path: Path):
    server = server_factory(database_url)
    create_draft(server, tokens, "charter")
    await write_edits(server, tokens, "charter", ["three ", "four ", "five "])
    delegate = http(server, tokens("delegate"))
    response = delegate.get("/api/drafts/charter/audit/head")
    assert response.status_code == 200, response.text
    receipt = response.json()
    assert (receipt["room"], receipt["draft"], receipt["seq"]) == ("charter", "charter", 5)
    published = httpx.get(f"{server.http}/api/audit/public-key").json()  # no token needed
    assert published["algorithm"] == "Ed25519"
    assert receipt["public_key"] == published["public_key"] == AuditKey.from_secret(TEST_SECRET).public_key

    await write_edits(server, tokens, "charter", ["six ", "seven ", "eight "])  # the log only grows
    check = delegate.post("/api/drafts/charter/audit/receipts/verify", json=receipt)
    assert check.status_code == 200, check.text
    result = check.json()
    assert result["ok"] and result["signature"] == "valid" and result["key"] == "current", result
    assert result["chain"]["head_seq"] >= 8

    forged = {**receipt, "hash": ("1" if receipt["hash"][0] != "1" else "2") + receipt["hash"][1:]}
    result = delegate.post("/api/drafts/charter/audit/receipts/verify", json=forged).json()
    assert not result["ok"] and result["signature"] == "invalid"
    assert result["problem"]["kind"] == "bad_signature"
    assert delegate.post("/api/drafts/other/audit/receipts/verify", json=receipt).status_code == 422
    assert (
        delegate.post("/api/drafts/charter/audit/receipts/verify", json={**receipt, "x": 1}).status_code
        == 422
    )

    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    secret = {"PLENARY_SECRET": TEST_SECRET}
    # After a secret rotation the old key is no longer the server's: trust it explicitly.
    rotated = {"PLENARY_SECRET": TEST_SECRET + "-rotated"}
    args = ("audit", "check-receipt", str(path), "--database-url", database_url, "--json")
    current, other, trusted, signed = await asyncio.gather(
        plenary(*args, env=secret),
        plenary(*args, env=rotated),
        plenary(*args, "--trust-key", receipt["public_key"], env=rotated),
        # The CLI signs the same receipts as the server.
        plenary("audit", "head", "--draft", "charter", "--database-url", database_url, "--json", env=secret),
    )
    code, report, _ = current
    assert code == cli.EXIT_OK and report["ok"] and report["key"] == "current", report
    code, report, _ = other
    assert code == cli.EXIT_FAILED and report["key"] == "other" and report["signature"] == "valid"
    assert report["problem"]["kind"] == "unknown_key" and report["chain"]["ok"]
    code, report, _ = trusted
    assert code == cli.EXIT_OK and report["key"] == "trusted"
    code, head, _ = signed
    assert code == cli.EXIT_OK and head["seq"] >= 8 and head["public_key"] == receipt["public_key"]
    assert Receipt.from_dict(head).signature_valid()

    # Cut the tail below the receipt, snapshots too, as a careful forger would.
    server.stop()
    await sql(database_url, "DELETE FROM log_entry WHERE room = 'charter' AND seq >= 4")
    await sql(database_url, "DELETE FROM snapshot WHERE room = 'charter'")
    (code, _, _), (receipt_code, report, _) = await asyncio.gather(
        plenary("audit", "verify", "--database-url", database_url, "--json"), plenary(*args, env=secret)
    )
    assert code == cli.EXIT_OK  # the chain alone cannot tell...
    assert receipt_code == cli.EXIT_FAILED  # ...the receipt can
    assert (report["problem"]["kind"], report["problem"]["seq"]) == ("truncated", 4), report
    server.start()
    result = http(server, tokens("delegate")).post("/api/drafts/charter/audit/receipts/verify", json=receipt)
    assert result.status_code == 200
    assert not result.json()["ok"]
    assert (result.json()["problem"]["kind"], result.json()["problem"]["seq"]) == ("truncated", 4)
    assert result.json()["signature"] == "valid"  # the receipt is genuine: the log is not


async def test_who_may_verify(server, tokens):
    chair = http(server, tokens("chair"))
    created = chair.post(
        "/api/drafts", json={"id": "perm", "title": "Permissions", "paragraphs": [{"id": "p1", "text": "Hi"}]}
    )
    assert created.status_code == 201, created.text
    url = "/api/drafts/perm/audit/verify"
    for role in ("delegate", "observer"):
        response = http(server, tokens(role)).get(url)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert http(server, tokens("archivist", draft="other")).get(url).status_code == 403
    for role in ("archivist", "chair", "secretariat"):
        response = http(server, tokens(role)).get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ok"] and body["draft"] == "perm"
        assert room_report(body, "perm")["count"] >= 2  # draft.created and the first text
    assert http(server, tokens("archivist", draft="perm")).get(url).status_code == 200
    assert http(server).get(url).status_code == 401
    assert http(server, tokens("archivist")).get("/api/drafts/nothing-here/audit/verify").status_code == 404

    observer = http(server, tokens("observer"))
    assert observer.get("/api/drafts/perm/audit/head").status_code == 200
    assert observer.get("/api/drafts/perm/audit/head?room=other").status_code == 422
    assert observer.get("/api/drafts/perm/audit/head?room=perm/none").status_code == 404
    assert http(server).get("/api/drafts/perm/audit/head").status_code == 401
    assert (
        http(server, tokens("delegate", draft="other")).get("/api/drafts/perm/audit/head").status_code == 403
    )

    key = http(server).get("/api/audit/public-key").json()
    assert load_pem_public_key(key["pem"].encode()).public_bytes_raw() == base64.urlsafe_b64decode(
        key["public_key"] + "="
    )
    paths = http(server).get("/api/openapi.json").json()["paths"]
    assert {"/api/drafts/{draft}/audit/verify", "/api/audit/public-key"} <= set(paths)


def test_cli_usage_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("PLENARY_SECRET", raising=False)
    missing = f"sqlite:///{tmp_path / 'missing.sqlite3'}"
    assert cli.main(["audit", "verify", "--database-url", missing]) == cli.EXIT_USAGE
    assert not (tmp_path / "missing.sqlite3").exists()  # never created by a check
    assert cli.main(["audit"]) == cli.EXIT_USAGE
    assert cli.main(["audit", "head", "--draft", "x", "--database-url", missing]) == cli.EXIT_USAGE
    receipt = tmp_path / "r.json"
    receipt.write_text("{}")
    assert cli.main(["audit", "check-receipt", str(receipt), "--database-url", missing]) == cli.EXIT_USAGE
    monkeypatch.setenv("PLENARY_SECRET", TEST_SECRET)
    receipt.write_text("not json")
    assert cli.main(["audit", "check-receipt", str(receipt), "--database-url", missing]) == cli.EXIT_USAGE
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    assert cli.main(["audit", "verify", "--database-url", f"sqlite:///{empty}"]) == cli.EXIT_USAGE
    assert "no Plenary log" in capsys.readouterr().err
