"""A session in the style of the seed meeting (informal consultation on WSIS implementation and follow-up,
2 May 2005), played on a real server, after which the text, the record and every export must agree.

The secretariat tables the draft; the chair freezes the numbering and opens a comment period; delegates of
four stakeholder groups (Switzerland and Kenya for governments, CCBI for the private sector, the Civil
Society Caucus, ITU for international organisations) propose competing amendments to the same words,
co-sponsor, state positions (Kenya with a reservation); the secretariat inserts an item after (a) while
numbers are frozen; the chair adopts Switzerland's amendment as modified (the competitor is superseded),
marks a paragraph agreed, puts another under silence procedure, which concludes by itself; the comment
period closes; the Civil Society Caucus explains its position after the decision.

Then: the text as served, ``text?at=``, ``plenary history``, the events, ``plenary audit verify`` and every
export (Markdown and HTML compilation and clean text, summary, annotations, Akoma Ntoso; over HTTP and with
``plenary export``) agree: the same numbers, the same adopted text, the same moment (entry, time, hash).
"""

from __future__ import annotations

import io
import json
import re
import zipfile

from lxml import etree
from pycrdt import Array, Map, Text

from client.session import RoomClient
from tests.conftest import eventually, plenary_command
from tests.test_deliberation import Table, create, iso_in

AKN = "{http://docs.oasis-open.org/legaldocml/ns/akn/3.0}"
D = "/api/drafts/tunis"
P3 = "Implementation must be carried out at the national, regional and international levels."
MODIFIED = "national level, as well as at the regional and international"


def _numbers_in_markdown(text: str) -> list[str]:
    return [n.rstrip(".") for n in re.findall(r"^\*\*(.+?)\*\* ", text, re.MULTILINE)]


async def test_a_seed_style_session_leaves_text_record_and_exports_in_agreement(server, tokens, tmp_path):
    table = Table(server, tokens)
    table.tokens["kenya"] = tokens("delegate", user="kenya", name="Delegate of Kenya", delegation="Kenya")
    create(table)
    table.ok("chair", "POST", f"{D}/numbering/freeze")
    table.ok("secretariat", "POST", f"{D}/periods", {"deadline": iso_in(3600)})

    # Competing amendments on "national, regional and international" (UTF-16 38–75 of p3, paragraph 2).
    start = P3.index("national")
    end = P3.index(" levels")
    span = {"paragraph": "p3", "start": start, "end": end}
    swiss = table.ok(
        "switzerland",
        "POST",
        f"{D}/amendments",
        {**span, "kind": "substitution", "text": "national and regional", "justification": "subsidiarity"},
    )["result"]
    civil = table.ok(
        "csc",
        "POST",
        f"{D}/amendments",
        {**span, "kind": "substitution", "text": "local, national and global", "justification": "reach"},
    )["result"]
    assert swiss["reference"] == civil["reference"] == "2"
    table.ok("ccbi", "POST", f"{D}/amendments/{swiss['id']}/cosponsor")
    for who, stance in [("itu", "support"), ("csc", "no_objection"), ("kenya", "support")]:
        table.ok(who, "PUT", f"{D}/positions/{swiss['id']}", {"stance": stance})
    table.ok(
        "itu", "PUT", f"{D}/positions/{civil['id']}", {"stance": "objection", "explanation": "too broad"}
    )
    # Positions on paragraph 1: broad support, and Kenya's reservation.
    for who in ("switzerland", "ccbi", "csc", "itu"):
        table.ok(who, "PUT", f"{D}/positions/p2", {"stance": "support"})
    table.ok("kenya", "PUT", f"{D}/positions/p2", {"stance": "reservation", "explanation": "pending capital"})
    table.ok("csc", "POST", f"{D}/annotations", {"paragraph": "p6", "body": "Who keeps the stocktaking? 🌍"})

    # While numbers are frozen, the secretariat inserts an item after (a) of paragraph 3.
    async with RoomClient(server.ws, "tunis", token=table.tokens["secretariat"]) as secretariat:
        await secretariat.wait_synced()
        paragraphs = secretariat.doc.get("paragraphs", type=Array)
        at = [p["id"] for p in paragraphs].index("p6") + 1
        paragraphs.insert(
            at, Map({"id": "p6-bis", "kind": "item", "text": Text("a roadmap for national dialogues;")})
        )
        await eventually(lambda: len(table.ok("chair", "GET", D)["paragraphs"]) == 8)

    # The chair adopts Switzerland's amendment as modified; the Civil Society Caucus' is superseded.
    adopted = table.ok("chair", "POST", f"{D}/amendments/{swiss['id']}/adopt", {"modified_text": MODIFIED})
    assert adopted["result"]["state"] == "adopted_modified"
    state = table.ok("chair", "GET", f"{D}/deliberation")
    assert state["amendments"][civil["id"]]["state"] == "superseded"
    table.ok("chair", "PUT", f"{D}/paragraphs/p2/status", {"status": "agreed"})
    # Silence procedure on paragraph 2 as amended: nobody objects, it is agreed at the deadline.
    table.ok("chair", "POST", f"{D}/silence", {"target": "p3", "deadline": iso_in(1.5)})
    await eventually(
        lambda: (
            table.ok("chair", "GET", f"{D}/deliberation")["statuses"].get("p3", {}).get("status") == "agreed"
        ),
        timeout=20,
    )
    period = next(iter(table.ok("chair", "GET", f"{D}/deliberation")["periods"]))
    table.ok("chair", "POST", f"{D}/periods/{period}/close")
    table.ok(
        "csc",
        "POST",
        f"{D}/explanations/{swiss['id']}",
        {"text": "We joined the consensus; local dialogues must not be forgotten."},
    )

    # The text.
    live = table.ok("archivist", "GET", D)["paragraphs"]
    text = {p["id"]: p for p in live}
    expected_p3 = P3[:start] + MODIFIED + P3[end:]
    assert text["p3"]["text"] == expected_p3
    assert (text["p6"]["number"], text["p6-bis"]["number"], text["p7"]["number"]) == ("(a)", "(a bis)", "(b)")
    shown = [p["number"] for p in live if p["number"]]
    head = table.ok("chair", "GET", f"{D}/events?limit=1")["head"]

    # The record: the chain is intact; the events tell the adoption; time travel at the head is the text.
    audit = plenary_command(
        "audit", "verify", "--draft", "tunis", "--json", "--database-url", server.database_url
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
    events = table.ok("chair", "GET", f"{D}/events?limit=1000")["events"]
    summaries = [e["summary"] for e in events]
    assert f"Chair adopted {swiss['id']} as modified, superseding {civil['id']}" in summaries
    assert any(s.startswith(f"adoption of {swiss['id']}: text edit on p3") for s in summaries)
    assert any(s.startswith("Chair put paragraph 2 under silence procedure until") for s in summaries)
    assert f"Switzerland proposed {swiss['id']} (substitution) on paragraph 2" in summaries
    at_head = table.ok("archivist", "GET", f"{D}/text?at={head}")
    assert [(p["id"], p["number"], p["text"]) for p in at_head["paragraphs"]] == [
        (p["id"], p["number"], p["text"]) for p in live
    ]
    history = plenary_command(
        "history", "tunis", "--at", str(head), "--json", "--database-url", server.database_url
    )
    assert json.loads(history.stdout)["paragraphs"] == at_head["paragraphs"]

    # Every export, live and at the head: the same numbers, the same adopted text, the same moment.
    moment = f"entry {head} of its log ({at_head['time']}, hash "
    exports: dict[str, str] = {}
    for fmt, view in [
        ("markdown", "compilation"),
        ("markdown", "clean"),
        ("html", "compilation"),
        ("html", "clean"),
        ("summary", "compilation"),
        ("annotations", "compilation"),
    ]:
        for at in ("", f"&at={head}"):
            response = table("archivist", "GET", f"{D}/export?format={fmt}&view={view}{at}")
            assert response.status_code == 200, response.text
            assert moment in response.text, (fmt, view, at)
            exports[f"{fmt}-{view}{at and '-at'}"] = response.text
    cli = plenary_command("export", "tunis", "--format", "markdown", "--database-url", server.database_url)
    assert cli.returncode == 0 and moment in cli.stdout
    for key in ("markdown-compilation", "markdown-compilation-at"):
        assert _numbers_in_markdown(exports[key]) == shown
    assert _numbers_in_markdown(exports["markdown-clean"]) == [text["p2"]["number"], text["p3"]["number"]]
    reservation = "The delegation of Kenya entered a reservation on paragraph 1: “pending capital”."
    for key in ("markdown-compilation", "markdown-clean", "summary-compilation"):
        assert reservation in exports[key], key
    assert expected_p3 in exports["markdown-clean"] and expected_p3 in exports["html-clean"]
    assert (
        f"Amendment {swiss['id']} by Switzerland, co-sponsored by CCBI, was adopted as modified"
        in exports["summary-compilation"]
    )
    assert f"replace “{P3[start:end]}” by “{MODIFIED}”" in exports["summary-compilation"]
    for key in ("markdown-compilation", "markdown-clean", "summary-compilation"):
        assert "The delegation of Civil Society Caucus explained its position on amendment" in exports[key]
    annotations = json.loads(exports["annotations-compilation"])
    assert annotations["total"] == 1

    archive = table("archivist", "GET", f"{D}/export?format=akn&at={head}").content
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        draft = etree.fromstring(zipped.read("tunis.xml"))
        amendment = etree.fromstring(zipped.read(f"amendments/{swiss['id']}.xml"))
        records = [
            etree.fromstring(zipped.read(n)).find(".//{urn:plenary:record}record") for n in zipped.namelist()
        ]
    assert [n.text.rstrip(".") for n in draft.iter(f"{AKN}num")] == shown
    assert expected_p3 in "".join(draft.find(f".//{AKN}paragraph[@eId='para_p3']").itertext())
    quoted = ["".join(q.itertext()) for q in amendment.iter(f"{AKN}quotedText")]
    assert quoted == [P3[start:end], "national and regional", P3[start:end], MODIFIED]
    assert {(r.get("seq"), r.get("time")) for r in records} == {(str(head), at_head["time"])}


async def test_an_explanation_given_through_the_endpoint_is_footnoted(server, tokens):
    table = Table(server, tokens)
    create(table)
    table.ok("chair", "PUT", f"{D}/paragraphs/p2/status", {"status": "agreed"})
    table.ok("itu", "POST", f"{D}/explanations/p2", {"text": "We joined, with a word on mandates."})
    clean = table("archivist", "GET", f"{D}/export?format=markdown&view=clean").text
    assert (
        "[^1]: The delegation of ITU explained its position on paragraph 1: “We joined, with a word on mandates.”."
        in clean
    )
