"""A negotiation in the style of the 2005 WSIS consultations, played over real
HTTP and websockets: a chair imports a draft, opens a comment period, delegates
from four stakeholder groups annotate, propose competing amendments, co-sponsor
and state positions; the chair watches indicators move, adopts an amendment
(the text changes for everyone, the competitor is superseded), marks principles
agreed or bracketed; the deadline passes and late comments are refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pycrdt import Array, Map

from client.session import RoomClient
from crdt.procedure.draft import parse_plain_text
from tests.conftest import eventually, plenary_command

DRAFT = """\
# Chapter one: principles

Any implementation mechanism must have a multi-stakeholder character 🌍.

Implementation must be carried out at the national, regional and international levels.

# Chapter four: the way ahead

There should be an implementation mechanism, decentralised and based around multi-stakeholder teams.

- a stocktaking implementation document;
- a stakeholder commitments document.
"""

DELEGATIONS = {
    "switzerland": ("Switzerland", "government"),
    "ccbi": ("CCBI", "private_sector"),
    "csc": ("Civil Society Caucus", "civil_society"),
    "itu": ("ITU", "international_organization"),
}


class Table:
    """HTTP clients for everyone at the table."""

    def __init__(self, server, tokens):
        self.server = server
        self.tokens = {
            "chair": tokens(
                "chair", user="chair", name="Chair", delegation="Bureau", group="international_organization"
            ),
            "secretariat": tokens(
                "secretariat", user="sec", delegation="Secretariat", group="international_organization"
            ),
            "observer": tokens("observer", user="obs", delegation="Academia", group="technical_academic"),
            "archivist": tokens(
                "archivist", user="arch", delegation="Records", group="international_organization"
            ),
        }
        for key, (delegation, group) in DELEGATIONS.items():
            self.tokens[key] = tokens(
                "delegate", user=key, name=f"Delegate of {delegation}", delegation=delegation, group=group
            )
        self.http = httpx.Client(base_url=server.http, timeout=10)

    def __call__(self, who: str, method: str, path: str, json=None) -> httpx.Response:
        return self.http.request(
            method, path, json=json, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )

    def ok(self, who, method, path, json=None, status=(200, 201)):
        response = self(who, method, path, json)
        assert response.status_code in status, response.text
        return response.json()


def create(table: Table, draft_id: str = "tunis") -> dict:
    paragraphs = [{"id": p.id, "kind": p.kind, "text": p.text} for p in parse_plain_text(DRAFT)]
    return table.ok(
        "chair", "POST", "/api/drafts", {"id": draft_id, "title": "Tunis follow-up", "paragraphs": paragraphs}
    )


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


async def test_scripted_session(server, tokens, js_peers):
    table = Table(server, tokens)
    create(table)
    text = table.ok("chair", "GET", "/api/drafts/tunis")
    numbers = {p["id"]: p["number"] for p in text["paragraphs"]}
    assert numbers == {"p1": "", "p2": "1", "p3": "2", "p4": "", "p5": "3", "p6": "(a)", "p7": "(b)"}

    # A JS client edits the text; the chair watches the deliberation room.
    editor = await js_peers(server.ws, "tunis", table.tokens["switzerland"])
    await editor.call("synced")
    # An unmodified JS client watches the deliberation room too.
    js_watch = await js_peers(server.ws, "tunis/deliberation", table.tokens["observer"])
    await js_watch.call("synced")
    async with RoomClient(server.ws, "tunis/deliberation", token=table.tokens["chair"]) as watch:
        await watch.wait_synced()
        indicators = watch.doc.get("indicators", type=Map)

        deadline = iso_in(4)
        period = table.ok(
            "chair", "POST", "/api/drafts/tunis/periods", {"paragraphs": ["p2", "p5"], "deadline": deadline}
        )
        period_id = period["result"]["id"]

        # Annotations on a span (UTF-16 offsets) and a reply.
        note = table.ok(
            "csc",
            "POST",
            "/api/drafts/tunis/annotations",
            {
                "paragraph": "p2",
                "start": 4,
                "end": 28,
                "body": "Which mechanism?",
                "motivation": "questioning",
            },
        )["result"]
        assert note["quote"] == "implementation mechanism"
        table.ok(
            "switzerland",
            "POST",
            "/api/drafts/tunis/annotations",
            {"paragraph": "p2", "body": "See WGIG.", "reply_to": note["id"]},
        )

        # Competing amendments on the same span, co-sponsored.
        span = {"paragraph": "p5", "start": 19, "end": 43}  # "implementation mechanism"
        a1 = table.ok(
            "switzerland",
            "POST",
            "/api/drafts/tunis/amendments",
            {**span, "kind": "substitution", "text": "implementation process", "justification": "lighter"},
        )["result"]
        a2 = table.ok(
            "csc",
            "POST",
            "/api/drafts/tunis/amendments",
            {
                **span,
                "kind": "substitution",
                "text": "multi-stakeholder dialogue",
                "justification": "inclusive",
            },
        )["result"]
        assert a1["original"] == "implementation mechanism"
        table.ok("ccbi", "POST", f"/api/drafts/tunis/amendments/{a1['id']}/cosponsor")

        # Positions move the indicator, live in the deliberation document.
        table.ok("switzerland", "PUT", f"/api/drafts/tunis/positions/{a1['id']}", {"stance": "support"})
        table.ok("ccbi", "PUT", f"/api/drafts/tunis/positions/{a1['id']}", {"stance": "support"})
        table.ok(
            "csc",
            "PUT",
            f"/api/drafts/tunis/positions/{a1['id']}",
            {"stance": "objection", "explanation": "too vague"},
        )
        await eventually(lambda: (indicators.get(a1["id"]) or {}).get("status") == "divided")
        table.ok("csc", "PUT", f"/api/drafts/tunis/positions/{a1['id']}", {"stance": "support"})
        table.ok("itu", "PUT", f"/api/drafts/tunis/positions/{a1['id']}", {"stance": "no_objection"})
        await eventually(lambda: (indicators.get(a1["id"]) or {}).get("status") == "consensus")
        consensus = table.ok("chair", "GET", "/api/drafts/tunis/consensus")["indicators"][a1["id"]]
        assert consensus["silent_groups"] == []
        assert consensus["counts"]["civil_society"]["support"] == 1  # latest wins

        # Principles: one agreed, one bracketed.
        table.ok("chair", "PUT", "/api/drafts/tunis/paragraphs/p3/status", {"status": "agreed"})
        table.ok(
            "secretariat",
            "PUT",
            "/api/drafts/tunis/paragraphs/p2/status",
            {"status": "bracketed", "reason": "mechanism"},
        )

        # Adoption changes the text for everyone; the competitor is superseded.
        adopted = table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{a1['id']}/adopt", {})["result"]
        assert adopted["state"] == "adopted"
        expected = "There should be an implementation process, decentralised and based around multi-stakeholder teams."
        assert (await editor.call("waitParagraph", index=4, text=expected))["text"] == expected
        paragraphs = table.ok("ccbi", "GET", "/api/drafts/tunis")["paragraphs"]
        assert paragraphs[4]["text"] == expected
        amendments = watch.doc.get("amendments", type=Map)
        await eventually(lambda: (amendments.get(a2["id"]) or {}).get("state") == "superseded")

        async def js_sees_decision():
            seen = (await js_watch.call("map", name="amendments"))["value"]
            return (
                seen.get(a1["id"], {}).get("state") == "adopted"
                and seen.get(a2["id"], {}).get("state") == "superseded"
            )

        await eventually(js_sees_decision)
        js_indicators = (await js_watch.call("map", name="indicators"))["value"]
        assert js_indicators["p5"]["rule"] == "consensus"

        # Agreed text is protected: an edit to it is refused before it is applied, and only the chair
        # reopens it, with a reason.
        statuses = watch.doc.get("statuses", type=Map)
        agreed_text = table.ok("ccbi", "GET", "/api/drafts/tunis")["paragraphs"][2]["text"]
        async with RoomClient(server.ws, "tunis", token=table.tokens["itu"], reconnect=False) as itu:
            await itu.wait_synced()
            p3 = itu.doc.get("paragraphs", type=Array)[2]
            p3["text"].insert(0, "All ")
            await eventually(lambda: itu.closed.is_set())
            assert itu.close_code == 4403
            assert any("p3" in reason and "agreed" in reason for reason in itu.denied)
        assert table.ok("ccbi", "GET", "/api/drafts/tunis")["paragraphs"][2]["text"] == agreed_text
        assert statuses.get("p3")["status"] == "agreed"
        assert (
            table(
                "secretariat", "POST", "/api/drafts/tunis/paragraphs/p3/reopen", {"reason": "x"}
            ).status_code
            == 403
        )
        table.ok("chair", "POST", "/api/drafts/tunis/paragraphs/p3/reopen", {"reason": "Capitals asked"})
        await eventually(lambda: (statuses.get("p3") or {}).get("status") == "pending")
        assert statuses.get("p3")["reason"] == "Capitals asked"

        # The deadline passes: late comments are refused, everything stays readable.
        await asyncio.sleep(
            max(0.0, (datetime.fromisoformat(deadline) - datetime.now(UTC)).total_seconds() + 0.2)
        )
        late = table(
            "ccbi", "POST", "/api/drafts/tunis/annotations", {"paragraph": "p5", "body": "Too late?"}
        )
        assert late.status_code == 409
        assert "comment period" in late.json()["detail"]
        assert table("observer", "GET", "/api/drafts/tunis/deliberation").status_code == 200
        # Paragraphs outside the period are still open for comment.
        table.ok("ccbi", "POST", "/api/drafts/tunis/annotations", {"paragraph": "p3", "body": "Fine."})
        # The chair extends the period: comments are accepted again.
        table.ok("chair", "POST", f"/api/drafts/tunis/periods/{period_id}/extend", {"deadline": iso_in(60)})
        table.ok("ccbi", "POST", "/api/drafts/tunis/annotations", {"paragraph": "p5", "body": "Thanks."})


async def test_state_survives_restart(server, tokens):
    table = Table(server, tokens)
    create(table)
    table.ok("chair", "POST", "/api/drafts/tunis/lock")
    a = table.ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "deletion"},
    )
    table.ok("ccbi", "PUT", f"/api/drafts/tunis/positions/{a['result']['id']}", {"stance": "support"})
    before = table.ok("chair", "GET", "/api/drafts/tunis/deliberation")
    server.restart()
    after = table.ok("chair", "GET", "/api/drafts/tunis/deliberation")
    assert after == before
    assert after["process"]["locked"] is True


async def test_locked_text_refuses_direct_edits(server, tokens, js_peers):
    table = Table(server, tokens)
    create(table)
    table.ok("chair", "POST", "/api/drafts/tunis/lock")
    async with RoomClient(server.ws, "tunis", token=table.tokens["switzerland"], reconnect=False) as delegate:
        await delegate.wait_synced()
        delegate.doc.get("paragraphs", type=Array)[1]["text"].insert(0, "X")
        await eventually(lambda: delegate.closed.is_set())
        assert delegate.close_code == 4403
        assert "locked" in delegate.close_reason
    # Adopted amendments still change it.
    a = table.ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Every"},
    )
    table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{a['result']['id']}/adopt", {})
    assert table.ok("ccbi", "GET", "/api/drafts/tunis")["paragraphs"][1]["text"].startswith(
        "Every implementation"
    )
    table.ok("chair", "POST", "/api/drafts/tunis/unlock")
    async with RoomClient(server.ws, "tunis", token=table.tokens["switzerland"], reconnect=False) as delegate:
        await delegate.wait_synced()
        delegate.doc.get("paragraphs", type=Array)[1]["text"].insert(0, "X")
        await eventually(
            lambda: table.ok("ccbi", "GET", "/api/drafts/tunis")["paragraphs"][1]["text"].startswith("XEvery")
        )


async def test_silence_procedure_concludes_by_itself_and_objection_breaks_it(server, tokens):
    table = Table(server, tokens)
    create(table)
    table.ok("chair", "POST", "/api/drafts/tunis/silence", {"target": "p3", "deadline": iso_in(1)})
    table.ok("chair", "POST", "/api/drafts/tunis/silence", {"target": "p2", "deadline": iso_in(1)})
    table.ok("csc", "PUT", "/api/drafts/tunis/positions/p2", {"stance": "objection"})

    def concluded():
        state = table.ok("chair", "GET", "/api/drafts/tunis/deliberation")
        return state if state["silences"]["p3"]["state"] == "concluded" else None

    state = await eventually(concluded, timeout=10)
    assert state["statuses"]["p3"]["status"] == "agreed"
    assert state["silences"]["p2"]["state"] == "broken"
    assert state["silences"]["p2"]["broken_by"]["delegation"] == "Civil Society Caucus"
    assert state["statuses"].get("p2", {}).get("status", "pending") == "pending"


async def test_silence_deadline_fires_after_a_restart(server, tokens):
    table = Table(server, tokens)
    create(table)
    a = table.ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Each"},
    )
    table.ok(
        "chair", "POST", "/api/drafts/tunis/silence", {"target": a["result"]["id"], "deadline": iso_in(1.5)}
    )
    server.stop()
    await asyncio.sleep(2)
    server.start()
    state = await eventually(
        lambda: (
            (s := table.ok("chair", "GET", "/api/drafts/tunis/deliberation"))["amendments"][
                a["result"]["id"]
            ]["state"]
            == "adopted"
            and s
        )
    )
    assert state["silences"][a["result"]["id"]]["state"] == "concluded"
    assert table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"][1]["text"].startswith(
        "Each implementation"
    )


@pytest.mark.parametrize(
    "who, method, path, body, status, detail",
    [
        (
            "observer",
            "POST",
            "/api/drafts/tunis/amendments",
            {"paragraph": "p2", "start": 0, "end": 3, "kind": "deletion"},
            403,
            "observer",
        ),
        ("chair", "PUT", "/api/drafts/tunis/positions/p2", {"stance": "support"}, 403, "chair"),
        ("secretariat", "POST", "/api/drafts/tunis/amendments/am-1/adopt", {}, 403, "secretariat"),
        (
            "archivist",
            "POST",
            "/api/drafts/tunis/annotations",
            {"paragraph": "p2", "body": "x"},
            403,
            "archivist",
        ),
        ("switzerland", "POST", "/api/drafts/tunis/lock", None, 403, "delegate"),
        ("csc", "POST", "/api/drafts/tunis/amendments/am-1/withdraw", None, 403, "only the sponsor"),
        ("switzerland", "PUT", "/api/drafts/tunis/positions/p99", {"stance": "support"}, 404, "no paragraph"),
        ("switzerland", "PUT", "/api/drafts/tunis/positions/p2", {"stance": "maybe"}, 422, "stance"),
        (
            "switzerland",
            "POST",
            "/api/drafts/tunis/amendments",
            {"paragraph": "p2", "start": 5, "end": 900, "kind": "deletion"},
            422,
            "bad span",
        ),
        (
            "switzerland",
            "POST",
            "/api/drafts/nope/amendments",
            {"paragraph": "p2", "start": 0, "end": 1, "kind": "deletion"},
            404,
            "no draft",
        ),
    ],
)
async def test_refusals(server, tokens, who, method, path, body, status, detail):
    table = Table(server, tokens)
    create(table)
    table.ok(
        "switzerland",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "deletion"},
    )
    response = table(who, method, path, body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


async def test_adopting_withdrawn_and_conflicting_amendments_is_refused(server, tokens):
    table = Table(server, tokens)
    create(table)
    a = table.ok(
        "switzerland",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Each"},
    )["result"]
    table.ok("switzerland", "POST", f"/api/drafts/tunis/amendments/{a['id']}/withdraw")
    refused = table("chair", "POST", f"/api/drafts/tunis/amendments/{a['id']}/adopt", {})
    assert refused.status_code == 409 and "withdrawn" in refused.json()["detail"]

    b = table.ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Each"},
    )["result"]
    async with RoomClient(server.ws, "tunis", token=table.tokens["csc"]) as editor:
        await editor.wait_synced()
        text = editor.doc.get("paragraphs", type=Array)[1]["text"]
        # Retyped over: typed at the span's end (it takes the anchor), then the old words deleted.
        text.insert(3, "One")
        del text[0:3]
        await eventually(
            lambda: table.ok("ccbi", "GET", "/api/drafts/tunis")["paragraphs"][1]["text"].startswith("One ")
        )
    conflict = table("chair", "POST", f"/api/drafts/tunis/amendments/{b['id']}/adopt", {})
    assert conflict.status_code == 409 and "changed" in conflict.json()["detail"]
    confirmed = table.ok(
        "chair",
        "POST",
        f"/api/drafts/tunis/amendments/{b['id']}/adopt",
        {"confirm": True, "modified_text": "Every"},
    )
    assert confirmed["result"]["state"] == "adopted_modified"
    assert table.ok("ccbi", "GET", "/api/drafts/tunis")["paragraphs"][1]["text"].startswith(
        "Every implementation"
    )


async def test_deliberation_room_is_read_only_for_everyone(server, tokens):
    table = Table(server, tokens)
    create(table)
    async with RoomClient(
        server.ws, "tunis/deliberation", token=table.tokens["chair"], reconnect=False
    ) as chair:
        await chair.wait_synced()
        chair.doc.get("process", type=Map)["locked"] = True
        await eventually(lambda: chair.closed.is_set())
        assert chair.close_code == 4403
    assert table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["process"]["locked"] is False


async def test_amendment_follows_its_span_through_concurrent_edits(server, tokens, js_peers):
    table = Table(server, tokens)
    create(table)
    # p2: "Any implementation mechanism must have a multi-stakeholder character 🌍."
    amendment = table.ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 19, "end": 28, "kind": "substitution", "text": "process"},
    )["result"]
    assert amendment["original"] == "mechanism"
    editor = await js_peers(server.ws, "tunis", table.tokens["csc"])
    await editor.call("synced")
    # The JS client sees the anchor as a formatting mark on exactly the span.
    delta = (await editor.call("deltaOf", index=1))["delta"]
    marked = [op["insert"] for op in delta if (op.get("attributes") or {}).get(amendment["anchor"])]
    assert marked == ["mechanism"]
    # Edits before the span (with an emoji: two UTF-16 units) and after it shift the offsets.
    await editor.call("insertInParagraph", index=1, at=0, text="🕊️ Indeed, ")
    # (Text typed right at the end of a span joins it, as in any editor's formatting;
    # this insert is after the next word.)
    await editor.call("insertInParagraph", index=1, at=45, text=" truly")
    expected_before = (
        "🕊️ Indeed, Any implementation mechanism must truly have a multi-stakeholder character 🌍."
    )
    await eventually(
        lambda: table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"][1]["text"] == expected_before
    )
    table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{amendment['id']}/adopt", {})
    expected = "🕊️ Indeed, Any implementation process must truly have a multi-stakeholder character 🌍."
    assert (await editor.call("waitParagraph", index=1, text=expected))["text"] == expected


async def test_frozen_numbering_shows_bis_for_inserted_paragraphs(server, tokens):
    table = Table(server, tokens)
    create(table)
    table.ok("chair", "POST", "/api/drafts/tunis/numbering/freeze")
    async with RoomClient(server.ws, "tunis", token=table.tokens["secretariat"]) as secretariat:
        await secretariat.wait_synced()
        from pycrdt import Text

        from crdt.procedure.draft import Paragraph, ParagraphKind

        paragraphs = secretariat.doc.get("paragraphs", type=Array)
        # Between operative paragraph 2 (p3, index 2) and the heading (index 3).
        for offset, pid in enumerate(["p3-bis", "p3-ter"]):
            paragraph = Paragraph(pid, ParagraphKind.OPERATIVE, f"Inserted {pid}.")
            paragraphs.insert(
                3 + offset,
                Map({"id": paragraph.id, "kind": str(paragraph.kind), "text": Text(paragraph.text)}),
            )

        def numbers():
            listed = table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"]
            return {p["id"]: p["number"] for p in listed} if len(listed) == 9 else None

        found = await eventually(numbers)
    assert (
        found["p3"] == "2"
        and found["p3-bis"] == "2 bis"
        and found["p3-ter"] == "2 ter"
        and found["p5"] == "3"
    )
    table.ok("chair", "POST", "/api/drafts/tunis/numbering/unfreeze")
    renumbered = {p["id"]: p["number"] for p in table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"]}
    assert renumbered["p3-bis"] == "3" and renumbered["p5"] == "5"


async def test_annotation_replies_resolve_and_reopen(server, tokens):
    table = Table(server, tokens)
    create(table)
    note = table.ok(
        "csc",
        "POST",
        "/api/drafts/tunis/annotations",
        {"paragraph": "p3", "body": "Which levels?", "motivation": "questioning"},
    )["result"]
    reply = table.ok(
        "itu",
        "POST",
        "/api/drafts/tunis/annotations",
        {"paragraph": "p3", "body": "All three.", "reply_to": note["id"]},
    )["result"]
    assert reply["reply_to"] == note["id"]
    # Only the author or the chair resolves.
    refused = table("itu", "POST", f"/api/drafts/tunis/annotations/{note['id']}/resolve")
    assert refused.status_code == 403 and "author or the chair" in refused.json()["detail"]
    assert (
        table.ok("csc", "POST", f"/api/drafts/tunis/annotations/{note['id']}/resolve")["result"]["resolved"]
        is True
    )
    assert (
        table.ok("chair", "POST", f"/api/drafts/tunis/annotations/{note['id']}/reopen")["result"]["resolved"]
        is False
    )
    state = table.ok("observer", "GET", "/api/drafts/tunis/deliberation")
    assert state["annotations"][note["id"]]["resolved"] is False
    assert (
        table(
            "csc",
            "POST",
            "/api/drafts/tunis/annotations",
            {"paragraph": "p3", "body": "x", "reply_to": "an-99"},
        ).status_code
        == 404
    )


async def test_an_edit_restarts_the_silence_procedure(server, tokens):
    table = Table(server, tokens)
    create(table)
    started = table.ok(
        "chair", "POST", "/api/drafts/tunis/silence", {"target": "p3", "deadline": iso_in(30)}
    )["result"]
    async with RoomClient(server.ws, "tunis", token=table.tokens["ccbi"]) as ccbi:
        await ccbi.wait_synced()
        ccbi.doc.get("paragraphs", type=Array)[2]["text"].insert(0, "Indeed, ")

        def restarted():
            silence = table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["silences"]["p3"]
            return silence if silence["restarts"] == 1 else None

        silence = await eventually(restarted)
    assert silence["state"] == "running"
    assert silence["deadline_us"] > started["deadline_us"]


def test_drafts_import_cli_creates_a_draft_the_server_serves(server_factory, tokens, tmp_path):

    source = tmp_path / "principles.md"
    source.write_text(DRAFT, encoding="utf-8")
    database = f"sqlite:///{tmp_path / 'imported.sqlite3'}"
    done = plenary_command(
        "drafts",
        "import",
        str(source),
        "--id",
        "tunis",
        "--title",
        "Tunis",
        "--database-url",
        database,
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert '"paragraphs": 7' in done.stdout
    again = plenary_command(
        "drafts", "import", str(source), "--id", "tunis", "--title", "Tunis", "--database-url", database
    )
    assert again.returncode == 1 and "already exists" in again.stderr
    server = server_factory(database)
    table = Table(server, tokens)
    paragraphs = table.ok("ccbi", "GET", "/api/drafts/tunis")["paragraphs"]
    assert [p["kind"] for p in paragraphs] == [
        "heading",
        "operative",
        "operative",
        "heading",
        "operative",
        "item",
        "item",
    ]
    assert paragraphs[1]["text"].endswith("🌍.")


async def test_deleting_an_agreed_paragraph_is_refused(server, tokens):
    table = Table(server, tokens)
    create(table)
    table.ok("chair", "PUT", "/api/drafts/tunis/paragraphs/p3/status", {"status": "agreed"})
    async with RoomClient(server.ws, "tunis", token=table.tokens["ccbi"], reconnect=False) as ccbi:
        await ccbi.wait_synced()
        del ccbi.doc.get("paragraphs", type=Array)[2]
        await eventually(lambda: ccbi.closed.is_set())
        assert ccbi.close_code == 4403
        assert any("p3" in reason and "agreed" in reason for reason in ccbi.denied)
    paragraphs = table.ok("chair", "GET", "/api/drafts/tunis")["paragraphs"]
    assert [p["id"] for p in paragraphs].count("p3") == 1
    assert table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["statuses"]["p3"]["status"] == "agreed"
