"""Tests for crdt.procedure.anchors: range marks (Y.Text formatting attributes) as anchors.

Single-replica placement and resolution on ASCII, emoji and accented text; edits around and inside spans;
overlaps, fragmentation, zero-width anchors, hostile attribute values; a property test against a simple
model of marked characters; and concurrency with real Yjs replicas (tests/js/anchors.mjs), whose own
``toDelta()`` must show the spans pycrdt resolves.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Text

from crdt.errors import PlenaryError
from crdt.offsets import (
    OffsetError,
    codepoint_to_utf16,
    utf16_length,
    utf16_span_to_utf8,
    utf16_to_utf8,
)
from crdt.procedure.anchors import (
    ANCHOR_PREFIX,
    AnchorIdError,
    Point,
    Span,
    anchor_key,
    place_anchor,
    place_point,
    remove_anchor,
    resolve_all,
    resolve_anchor,
)
from crdt.procedure.draft import Paragraph, ParagraphKind, find_text, write_paragraphs
from tests.conftest import JS_DIR, need, node_available

FLAG_FR = "🇫🇷"  # 2 code points, 4 UTF-16 units, 8 bytes
TECHNOLOGIST = "👩🏽‍💻"  # 4 code points, 7 units, 15 bytes
E_ACUTE = "\u00e9"
E_COMBINING = "e\u0301"

PARA = f"Le délégué de la {FLAG_FR} propose {TECHNOLOGIST} une r{E_COMBINING}forme ambitieuse."
TARGET = f"{FLAG_FR} propose {TECHNOLOGIST}"


# Helpers.


def u16(s: str) -> int:
    return utf16_length(s)


def at(s: str, sub: str, occurrence: int = 0) -> int:
    """UTF-16 offset of ``sub`` in ``s``."""
    index = -1
    for _ in range(occurrence + 1):
        index = s.index(sub, index + 1)
    return u16(s[:index])


def span_of(s: str, sub: str) -> tuple[int, int]:
    start = at(s, sub)
    return start, start + u16(sub)


def make(text: str, client_id: int = 1, paragraph: str = "p1") -> tuple[Doc, Text]:
    doc = Doc(client_id=client_id)
    write_paragraphs(doc, [Paragraph(paragraph, ParagraphKind.OPERATIVE, text)])
    ytext = find_text(doc, paragraph)
    assert ytext is not None
    return doc, ytext


def insert16(text: Text, index: int, value: str, attrs: dict[str, Any] | None = None) -> None:
    text.insert(utf16_to_utf8(str(text), index), value, attrs)


def delete16(text: Text, start: int, end: int) -> None:
    start8, end8 = utf16_span_to_utf8(str(text), start, end)
    del text[start8:end8]


def span(start: int, end: int, text: str, **kw: Any) -> Span:
    return Span(start, end, text, pieces=kw.pop("pieces", ((start, end),)), **kw)


def expect(s: str, sub: str, **kw: Any) -> Span:
    """The span covering ``sub`` in ``s`` (one piece)."""
    start, end = span_of(s, sub)
    return span(start, end, sub, **kw)


# Keys and ids.


def test_anchor_key_and_ids() -> None:
    assert anchor_key("a1") == "anchor:a1"
    assert anchor_key("amend-12.3_b") == "anchor:amend-12.3_b"
    assert anchor_key("x" * 64) == ANCHOR_PREFIX + "x" * 64
    for bad in ["", "x" * 65, "a b", "a:b", "-a", "é", "a\n", "a/b"]:
        with pytest.raises(AnchorIdError):
            anchor_key(bad)
    with pytest.raises(AnchorIdError):
        anchor_key(12)  # type: ignore[arg-type]
    assert issubclass(AnchorIdError, ValueError) and issubclass(AnchorIdError, PlenaryError)


# Placement and resolution on one replica.


def test_ascii_place_and_resolve() -> None:
    _, text = make("The quick brown fox")
    place_anchor(text, "a", 4, 9)
    assert resolve_anchor(text, "a") == span(4, 9, "quick")
    assert resolve_all(text) == {"a": span(4, 9, "quick")}
    assert resolve_anchor(text, "other") is None
    # The mark is an ordinary formatting attribute in the delta.
    assert text.diff() == [("The ", None), ("quick", {"anchor:a": True}), (" brown fox", None)]


@pytest.mark.parametrize(
    "sub",
    [
        FLAG_FR,
        TECHNOLOGIST,
        TARGET,
        "délégué",
        f"r{E_COMBINING}forme",
        E_COMBINING,
        "\u0301",  # the combining accent alone: a valid Yjs offset pair
        "🇷",  # the second regional indicator of the flag alone
        PARA,
        "L",
        ".",
    ],
)
def test_non_ascii_place_and_resolve(sub: str) -> None:
    _, text = make(PARA)
    start, end = span_of(PARA, sub)
    place_anchor(text, "a", start, end)
    assert resolve_anchor(text, "a") == span(start, end, sub)
    # The UTF-16 offsets are JS's: the prefix's length in UTF-16 units.
    assert start == len(PARA[: PARA.index(sub)].encode("utf-16-le")) // 2


def test_offsets_are_checked() -> None:
    _, text = make(f"a{FLAG_FR}b")  # a=0, 🇫=1..3, 🇷=3..5, b=5, length 6
    with pytest.raises(OffsetError, match="surrogate pair"):
        place_anchor(text, "a", 2, 5)
    with pytest.raises(OffsetError, match="surrogate pair"):
        place_anchor(text, "a", 0, 4)
    with pytest.raises(OffsetError, match="outside"):
        place_anchor(text, "a", 0, 7)
    with pytest.raises(OffsetError, match="negative"):
        place_anchor(text, "a", -1, 2)
    with pytest.raises(OffsetError, match="empty"):
        place_anchor(text, "a", 3, 3)
    with pytest.raises(OffsetError, match="empty or reversed"):
        place_anchor(text, "a", 5, 1)
    with pytest.raises(OffsetError):
        place_anchor(text, "a", True, 2)  # type: ignore[arg-type]
    with pytest.raises(OffsetError):
        place_anchor(text, "a", 0.0, 2)  # type: ignore[arg-type]
    with pytest.raises(AnchorIdError):
        place_anchor(text, "bad id", 0, 1)
    assert issubclass(OffsetError, ValueError)
    # Nothing was written by the refused calls.
    assert text.diff() == [(f"a{FLAG_FR}b", None)]
    place_anchor(text, "a", 1, 5)
    assert resolve_anchor(text, "a") == span(1, 5, FLAG_FR)
    place_anchor(text, "b", 3, 6)  # between the two regional indicators: valid for Yjs
    assert resolve_anchor(text, "b") == span(3, 6, "🇷b")


def test_empty_text_cannot_hold_an_anchor() -> None:
    _, text = make("")
    with pytest.raises(OffsetError):
        place_anchor(text, "a", 0, 1)
    with pytest.raises(OffsetError, match="no character"):
        place_point(text, "a", 0)
    assert resolve_all(text) == {}


def test_replacing_an_anchor_moves_it() -> None:
    _, text = make("one two three")
    place_anchor(text, "a", 0, 3)
    place_anchor(text, "a", 8, 13)
    assert resolve_all(text) == {"a": span(8, 13, "three")}
    place_point(text, "a", 3)
    assert resolve_all(text) == {"a": span(2, 3, "e", point=Point.AFTER)}


# Edits on one replica.

EDIT_CASES = [
    # (description, edit on PARA in UTF-16 via a lambda of the paragraph, expected covered text or None)
    ("insert before", lambda s: ("ins", at(s, "de la"), "XX "), TARGET),
    ("insert at start (not inherited)", lambda s: ("ins", at(s, FLAG_FR), "«"), TARGET),
    ("insert inside", lambda s: ("ins", at(s, "propose"), "très "), f"{FLAG_FR} très propose {TECHNOLOGIST}"),
    ("insert inside emoji", lambda s: ("ins", at(s, "🇷"), "x"), f"🇫x🇷 propose {TECHNOLOGIST}"),
    ("insert at end (inherited)", lambda s: ("ins", span_of(s, TARGET)[1], " ✨"), f"{TARGET} ✨"),
    ("insert after", lambda s: ("ins", span_of(s, TARGET)[1] + 1, "!"), TARGET),
    ("delete before", lambda s: ("del", *span_of(s, "délégué ")), TARGET),
    ("delete overlapping start", lambda s: ("del", *span_of(s, f"la {FLAG_FR} pro")), f"pose {TECHNOLOGIST}"),
    ("delete inside", lambda s: ("del", *span_of(s, " propose")), f"{FLAG_FR} {TECHNOLOGIST}"),
    ("delete overlapping end", lambda s: ("del", *span_of(s, f"{TECHNOLOGIST} une")), f"{FLAG_FR} propose "),
    ("delete exactly", lambda s: ("del", *span_of(s, TARGET)), None),
    ("delete around", lambda s: ("del", *span_of(s, f"la {TARGET} une")), None),
    ("delete after", lambda s: ("del", *span_of(s, "ambitieuse")), TARGET),
]


@pytest.mark.parametrize(("name", "edit", "covered"), EDIT_CASES, ids=[case[0] for case in EDIT_CASES])
def test_edits_move_grow_and_shrink_the_span(name: str, edit: Any, covered: str | None) -> None:
    _, text = make(PARA)
    place_anchor(text, "a", *span_of(PARA, TARGET))
    op, *args = edit(PARA)
    if op == "ins":
        insert16(text, *args)
    else:
        delete16(text, *args)
    now = str(text)
    got = resolve_anchor(text, "a")
    if covered is None:
        assert got is None
        assert resolve_all(text) == {}
    else:
        assert got == expect(now, covered)


def test_detached_anchor_is_not_revived_by_typing_where_it_was() -> None:
    _, text = make("abcdefgh")
    place_anchor(text, "a", 2, 5)
    delete16(text, 2, 5)
    assert resolve_anchor(text, "a") is None
    insert16(text, 2, "Z")
    assert resolve_anchor(text, "a") is None
    assert str(text) == "abZfgh"


def test_replacing_the_whole_span_detaches_replacing_inside_keeps_it() -> None:
    _, text = make("the red car")
    place_anchor(text, "a", 4, 7)
    start8, end8 = 4, 7
    text[start8:end8] = "blue"  # pycrdt's slice assignment: delete, then insert at the start
    # The insert at the (now empty) span's start follows 'the ', which is not marked: detached.
    assert resolve_anchor(text, "a") is None
    _, text = make("the red car")
    place_anchor(text, "a", 4, 7)
    insert16(text, 5, "ose-")  # r|ed: inside
    delete16(text, 4, 5)
    assert resolve_anchor(text, "a") == span(4, 10, "ose-ed")


def test_appending_to_an_anchor_at_the_end_of_the_text() -> None:
    _, text = make("last word")
    place_anchor(text, "a", 5, 9)
    text += "s"  # pycrdt's += is an insert at the end: inherited
    assert resolve_anchor(text, "a") == span(5, 10, "words")


# Overlaps, fragmentation, removal.


def test_two_overlapping_anchors() -> None:
    _, text = make(PARA)
    place_anchor(text, "a", *span_of(PARA, f"{FLAG_FR} propose"))
    place_anchor(text, "b", *span_of(PARA, f"propose {TECHNOLOGIST} une"))
    assert resolve_all(text) == {
        "a": expect(PARA, f"{FLAG_FR} propose"),
        "b": expect(PARA, f"propose {TECHNOLOGIST} une"),
    }
    insert16(text, at(PARA, "pose"), "-")  # inside both
    now = str(text)
    assert resolve_all(text) == {
        "a": expect(now, f"{FLAG_FR} pro-pose"),
        "b": expect(now, f"pro-pose {TECHNOLOGIST} une"),
    }
    assert remove_anchor(text, "a") is True
    assert remove_anchor(text, "a") is False
    assert resolve_all(text) == {"b": expect(now, f"pro-pose {TECHNOLOGIST} une")}
    assert str(text) == now


def test_other_formatting_does_not_split_an_anchor() -> None:
    _, text = make("a bold move")
    place_anchor(text, "a", 0, 11)
    text.format(2, 6, {"bold": True})
    assert len(text.diff()) == 3
    assert resolve_anchor(text, "a") == span(0, 11, "a bold move")


def test_explicit_attributes_split_the_mark_into_a_hull() -> None:
    _, text = make(f"x {FLAG_FR}abc{TECHNOLOGIST} y")
    start, end = span_of(str(text), f"{FLAG_FR}abc{TECHNOLOGIST}")
    place_anchor(text, "a", start, end)
    insert16(text, start + 5, "12", {})  # explicit (empty) attributes: not inherited
    now = str(text)
    got = resolve_anchor(text, "a")
    assert got is not None
    assert got.fragmented
    assert (got.start, got.end, got.text) == (start, end + 2, f"{FLAG_FR}a12bc{TECHNOLOGIST}")
    assert got.pieces == ((start, start + 5), (start + 7, end + 2))
    # Removing the format in the middle also fragments.
    text.format(*utf16_span_to_utf8(now, start + 8, start + 9), {"anchor:a": None})
    got = resolve_anchor(text, "a")
    assert got is not None and got.fragmented and len(got.pieces) == 3
    assert resolve_all(text)["a"] == got
    # remove_anchor clears every piece.
    assert remove_anchor(text, "a")
    assert resolve_all(text) == {}
    assert text.diff() == [(now, None)]


def test_only_our_values_mark() -> None:
    _, text = make("abcdefghij")
    text.format(0, 2, {"anchor:f": False})
    text.format(2, 4, {"anchor:s": "yes"})
    text.format(4, 6, {"anchor:n": 1})
    text.format(6, 8, {"anchor:bad id": True})
    text.format(8, 10, {"anchors": True, "anchor:": True})
    assert resolve_all(text) == {}
    assert resolve_anchor(text, "f") is None
    # remove_anchor clears whatever value the key holds.
    assert remove_anchor(text, "s") is True
    assert all("anchor:s" not in (attrs or {}) for _, attrs in text.diff())


def test_embeds_count_one_unit() -> None:
    _, text = make("ab€cd")
    place_anchor(text, "a", 1, 4)
    text.insert_embed(utf16_to_utf8("ab€cd", 2), {"img": 1})
    got = resolve_anchor(text, "a")
    assert got == span(1, 5, "b\ufffc€c")
    place_anchor(text, "e", 2, 3)  # the embed alone
    assert resolve_anchor(text, "e") == span(2, 3, "\ufffc")
    place_anchor(text, "c", 4, 6)  # offsets after an embed are converted right
    assert resolve_anchor(text, "c") == span(4, 6, "cd")


# Zero-width anchors.


def test_point_after_marks_the_previous_code_point() -> None:
    s = f"vote {TECHNOLOGIST} now"
    _, text = make(s)
    offset = span_of(s, TECHNOLOGIST)[1]  # after the laptop 💻 (a surrogate pair)
    assert place_point(text, "p", offset) is Point.AFTER
    got = resolve_anchor(text, "p")
    assert got == span(offset - 2, offset, "💻", point=Point.AFTER)
    assert got is not None and got.position == offset
    # Text typed at the point inherits the mark: the point moves past it.
    insert16(text, offset, "!!")
    got = resolve_anchor(text, "p")
    assert got is not None and got.text == "💻!!" and got.position == offset + 2
    # Text typed before the marked character moves the point.
    insert16(text, 0, "Do ")
    assert resolve_anchor(text, "p").position == offset + 5  # type: ignore[union-attr]


def test_point_before_marks_the_next_code_point() -> None:
    s = f"{FLAG_FR} oui"
    _, text = make(s)
    assert place_point(text, "p", 0) is Point.BEFORE  # nothing before 0: automatic BEFORE
    got = resolve_anchor(text, "p")
    assert got == span(0, 2, "🇫", point=Point.BEFORE) and got.position == 0
    insert16(text, 0, "«")  # typed at the point: not inherited, the point stays before the mark
    got = resolve_anchor(text, "p")
    assert got is not None and got.position == 1 and got.text == "🇫"
    assert place_point(text, "q", 3, Point.BEFORE) is Point.BEFORE
    assert resolve_anchor(text, "q") == span(3, 5, "🇷", point=Point.BEFORE)
    assert place_point(text, "r", 3, "after") is Point.AFTER
    assert resolve_anchor(text, "r") == span(1, 3, "🇫", point=Point.AFTER)
    # Deleting the marked character detaches a BEFORE point.
    delete16(text, 1, 3)
    assert resolve_anchor(text, "p") is None


def test_point_errors() -> None:
    s = f"a{FLAG_FR}"
    _, text = make(s)
    with pytest.raises(OffsetError, match="no character before"):
        place_point(text, "p", 0, Point.AFTER)
    with pytest.raises(OffsetError, match="no character after"):
        place_point(text, "p", u16(s), Point.BEFORE)
    with pytest.raises(OffsetError, match="surrogate"):
        place_point(text, "p", 2)
    with pytest.raises(OffsetError, match="outside"):
        place_point(text, "p", 6)
    with pytest.raises(OffsetError, match="negative"):
        place_point(text, "p", -1)
    with pytest.raises(ValueError):
        place_point(text, "p", 1, "middle")
    assert resolve_all(text) == {}


# A model of marked characters, for the property test and the random JS scenarios.


class Model:
    """Code points with the set of anchors marking each; inserted text takes the marks of the code point
    before it (Yjs and pycrdt's rule for an insert without attributes)."""

    def __init__(self, text: str) -> None:
        self.chars: list[tuple[str, frozenset[str]]] = [(c, frozenset()) for c in text]

    def __str__(self) -> str:
        return "".join(c for c, _ in self.chars)

    def mark(self, anchor: str, start: int, end: int) -> None:
        """Mark code points [start, end)."""
        for i in range(start, end):
            c, marks = self.chars[i]
            self.chars[i] = (c, marks | {anchor})

    def insert(self, cp: int, value: str) -> None:
        marks = self.chars[cp - 1][1] if cp > 0 else frozenset()
        self.chars[cp:cp] = [(c, marks) for c in value]

    def delete(self, start: int, end: int) -> None:
        del self.chars[start:end]

    def spans(self) -> dict[str, tuple[int, int, str]]:
        """Expected (start, end, text) in UTF-16 by anchor, asserting each mark is contiguous."""
        out = {}
        anchors = set().union(*(marks for _, marks in self.chars)) if self.chars else set()
        s = str(self)
        for anchor in anchors:
            marked = [i for i, (_, marks) in enumerate(self.chars) if anchor in marks]
            first, last = marked[0], marked[-1]
            assert marked == list(range(first, last + 1)), "a mark got split without explicit attributes"
            out[anchor] = (codepoint_to_utf16(s, first), codepoint_to_utf16(s, last + 1), s[first : last + 1])
        return out


ALPHABET = ["a", "b", " ", E_ACUTE, "\u0301", "中", "😀", "🇫", "🇷", "👩", "🏽", "\u200d", "💻"]
chars = st.sampled_from(ALPHABET)
small_text = st.lists(chars, min_size=1, max_size=4).map("".join)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, list[tuple[str, int, int]], list[tuple[str, float, float, str]]]:
    text = "".join(draw(st.lists(chars, min_size=2, max_size=25)))
    anchors = []
    for name in draw(st.sampled_from([["a"], ["a", "b"]])):
        i = draw(st.integers(0, len(text) - 1))
        j = draw(st.integers(i + 1, len(text)))
        anchors.append((name, i, j))
    edits = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["ins", "del"]),
                st.floats(0, 1),
                st.floats(0, 1),
                small_text,
            ),
            max_size=12,
        )
    )
    return text, anchors, edits


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_property_span_follows_a_model_of_marked_characters(
    scenario: tuple[str, list[tuple[str, int, int]], list[tuple[str, float, float, str]]],
) -> None:
    initial, anchors, edits = scenario
    _, text = make(initial)
    model = Model(initial)
    for name, i, j in anchors:
        place_anchor(text, name, codepoint_to_utf16(initial, i), codepoint_to_utf16(initial, j))
        model.mark(name, i, j)
    for op, x, y, value in edits:
        s = str(model)
        n = len(s)
        if op == "ins":
            cp = round(x * n)
            insert16(text, codepoint_to_utf16(s, cp), value)
            model.insert(cp, value)
        elif n:
            a, b = sorted((round(x * n), round(y * n)))
            if a == b:
                continue
            delete16(text, codepoint_to_utf16(s, a), codepoint_to_utf16(s, b))
            model.delete(a, b)
        assert str(text) == str(model)
        want = {name: span(*triple) for name, triple in model.spans().items()}
        assert resolve_all(text) == want
        for name, _, _ in anchors:
            assert resolve_anchor(text, name) == want.get(name)


# Timing.


def test_resolve_all_is_fast_on_a_long_paragraph() -> None:
    rng = random.Random(7)
    words = ["délégation", "propose", FLAG_FR, "réforme", "😀", "le", "la", TECHNOLOGIST, "e\u0301tat"]
    s = ""
    while len(s) < 2000:
        s += rng.choice(words) + " "
    s = s[:2000]
    _, text = make(s)
    n16 = u16(s)
    cps = [codepoint_to_utf16(s, i) for i in range(len(s) + 1)]
    for k in range(20):
        i = rng.randrange(0, len(s) - 50)
        place_anchor(text, f"a{k}", cps[i], cps[i + rng.randint(1, 50)])
    spans = resolve_all(text)
    assert len(spans) == 20
    for k in range(20):
        assert resolve_anchor(text, f"a{k}") == spans[f"a{k}"]
        got = spans[f"a{k}"]
        assert 0 <= got.start < got.end <= n16 and not got.fragmented
    rounds = 200
    t0 = time.perf_counter()
    for _ in range(rounds):
        resolve_all(text)
    per_call = (time.perf_counter() - t0) / rounds
    assert per_call < 0.005, f"resolve_all took {per_call * 1e6:.0f} µs"


# Concurrency with real Yjs replicas.


def run_js(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    need(
        node_available() and (JS_DIR / "node_modules" / "yjs").is_dir(),
        "Node.js with tests/js/node_modules is needed (run the README's test command)",
    )
    result = subprocess.run(
        ["node", str(JS_DIR / "anchors.mjs")],
        input=json.dumps(scenarios),
        capture_output=True,
        text=True,
        cwd=JS_DIR,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def scenario(
    state: bytes,
    replicas: list[list[dict[str, Any]]],
    extra: list[bytes] | None = None,
    first_client: int = 1000,
) -> dict[str, Any]:
    """JS replicas starting from ``state``, each with its edits; ``extra``: concurrent pycrdt updates."""
    return {
        "state": state.hex(),
        "paragraph": "p1",
        "replicas": [{"client_id": first_client + i, "edits": edits} for i, edits in enumerate(replicas)],
        "extra_updates": [u.hex() for u in extra or []],
    }


def ins(index: int, value: str, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    edit: dict[str, Any] = {"op": "insert", "index": index, "text": value}
    if attributes is not None:
        edit["attributes"] = attributes
    return edit


def dele(start: int, end: int) -> dict[str, Any]:
    return {"op": "delete", "index": start, "length": end - start}


def fmt(start: int, end: int, attributes: dict[str, Any]) -> dict[str, Any]:
    return {"op": "format", "index": start, "length": end - start, "attributes": attributes}


def normalized_delta(chunks: list[tuple[Any, dict[str, Any] | None]]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for value, attrs in chunks:
        attrs = attrs or {}
        if out and out[-1][1] == attrs:
            out[-1] = (out[-1][0] + value, attrs)
        else:
            out.append((value, attrs))
    return out


def js_delta(delta: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return normalized_delta([(op["insert"], op.get("attributes")) for op in delta])


def as_js(spans: dict[str, Span]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "start": s.start,
            "end": s.end,
            "text": s.text,
            "fragmented": s.fragmented,
            "pieces": [list(p) for p in s.pieces],
            "point": None if s.point is None else s.point.value,
        }
        for name, s in spans.items()
    }


def merge_into(doc: Doc, result: dict[str, Any]) -> Text:
    """Apply every JS replica's final state to the pycrdt doc and check that pycrdt now shows what the JS
    replicas show: same text, same delta, and resolve_all gives the spans JS reads from its delta."""
    assert result["converged"], "JS replicas diverged"
    for replica in result["replicas"]:
        assert not replica["pending"]
        doc.apply_update(bytes.fromhex(replica["state"]))
    text = find_text(doc, "p1")
    assert text is not None
    merged = result["replicas"][0]["merged"]
    assert str(text) == merged["text"]
    assert normalized_delta(text.diff()) == js_delta(merged["delta"])
    assert as_js(resolve_all(text)) == merged["anchors"]
    for name, want in merged["anchors"].items():
        assert as_js({name: resolve_anchor(text, name)})[name] == want  # type: ignore[dict-item]
    return text


def anchored_doc() -> tuple[Doc, Text, bytes, bytes]:
    """PARA with anchor "a" on TARGET: the doc, its text, its full state and its state vector."""
    doc, text = make(PARA)
    place_anchor(text, "a", *span_of(PARA, TARGET))
    return doc, text, doc.get_update(), doc.get_state()


START, END = span_of(PARA, TARGET)


@pytest.mark.node
def test_js_concurrent_inserts_before_inside_and_at_both_boundaries() -> None:
    doc, text, state, sv = anchored_doc()
    insert16(text, at(PARA, "propose"), "très ")  # pycrdt, concurrently: inside
    replicas = [
        [ins(at(PARA, "de la"), "AVANT ")],  # before
        [ins(START, "«")],  # at the start: not inherited
        [ins(at(PARA, f" {TECHNOLOGIST}"), "✨")],  # inside, after "propose"
        [ins(END, " 🎉")],  # at the end: inherited
        [ins(END + 1, "!")],  # after
    ]
    (result,) = run_js([scenario(state, replicas, [doc.get_update(sv)])])
    # Each replica's own view after its own edit: the inheritance rule as Yjs applies it.
    local = [r["local"]["anchors"]["a"]["text"] for r in result["replicas"]]
    assert local == [TARGET, TARGET, f"{FLAG_FR} propose✨ {TECHNOLOGIST}", f"{TARGET} 🎉", TARGET]
    text = merge_into(doc, result)
    now = str(text)
    covered = f"{FLAG_FR} très propose✨ {TECHNOLOGIST} 🎉"
    assert now == f"Le délégué AVANT de la «{covered} !une r{E_COMBINING}forme ambitieuse."
    assert resolve_anchor(text, "a") == expect(now, covered)


@pytest.mark.node
def test_js_concurrent_deletes_shrink_the_span() -> None:
    doc, text, state, sv = anchored_doc()
    delete16(text, *span_of(PARA, "pose"))  # pycrdt, concurrently: inside
    replicas = [
        [dele(*span_of(PARA, f"la {FLAG_FR}"))],  # overlapping the start
        [dele(*span_of(PARA, TECHNOLOGIST))],  # the last characters of the span
        [ins(at(PARA, "pose"), "X")],  # inside the part pycrdt deletes
        [dele(*span_of(PARA, "délégué"))],  # before
    ]
    (result,) = run_js([scenario(state, replicas, [doc.get_update(sv)])])
    text = merge_into(doc, result)
    now = str(text)
    assert now == f"Le  de  proX  une r{E_COMBINING}forme ambitieuse."
    assert resolve_anchor(text, "a") == span(at(now, " proX "), at(now, " proX ") + 6, " proX ")


@pytest.mark.node
@pytest.mark.parametrize("deleter", ["js", "pycrdt"])
def test_whole_span_deleted_while_someone_types_inside(deleter: str) -> None:
    doc, text, state, sv = anchored_doc()
    inside = at(PARA, "propose")
    if deleter == "pycrdt":
        delete16(text, START, END)
        replicas = [[ins(inside, "Z")]]
    else:
        insert16(text, inside, "Z")
        replicas = [[dele(START, END)]]
    (result,) = run_js([scenario(state, replicas, [doc.get_update(sv)])])
    text = merge_into(doc, result)
    assert str(text) == PARA.replace(TARGET, "Z")
    got = resolve_anchor(text, "a")
    if deleter == "js":
        # Yjs deletes the format markers that the deletion made useless: the typed text is not marked.
        assert got is None
    else:
        # pycrdt leaves them: the typed text, between the markers, carries the anchor.
        assert got == expect(str(text), "Z")


@pytest.mark.node
def test_js_explicit_attributes_fragment_the_span() -> None:
    doc, text, state, _ = anchored_doc()
    replicas = [
        [ins(at(PARA, "propose"), "(1)", {})],  # explicit attributes: not inherited
        [ins(at(PARA, "pose"), "B", {"bold": True})],
    ]
    (result,) = run_js([scenario(state, replicas)])
    text = merge_into(doc, result)
    got = resolve_anchor(text, "a")
    now = str(text)
    covered = f"{FLAG_FR} (1)proBpose {TECHNOLOGIST}"
    assert got is not None and got.fragmented
    assert (got.start, got.end, got.text) == (*span_of(now, covered), covered)
    assert [now.encode("utf-16-le")[2 * a : 2 * b].decode("utf-16-le") for a, b in got.pieces] == [
        f"{FLAG_FR} ",
        "pro",
        f"pose {TECHNOLOGIST}",
    ]


@pytest.mark.node
def test_anchors_placed_by_js_clients_resolve_in_pycrdt() -> None:
    doc, text = make(PARA)
    state = doc.get_update()
    replicas = [
        [fmt(*span_of(PARA, "délégué"), {"anchor:js1": True})],
        [fmt(*span_of(PARA, "💻"), {"anchor:js2": "after"})],  # a point after the laptop
        [fmt(0, 2, {"anchor:js3": 1}), fmt(3, 5, {"anchor:bad id": True}), fmt(6, 8, {"anchor:js4": False})],
        [
            fmt(*span_of(PARA, TARGET), {"anchor:js5": True}),
            fmt(*span_of(PARA, "propose"), {"anchor:js5": None}),
        ],
    ]
    (result,) = run_js([scenario(state, replicas)])
    text = merge_into(doc, result)
    spans = resolve_all(text)
    assert sorted(spans) == ["js1", "js2", "js5"]
    assert spans["js1"] == expect(PARA, "délégué")
    assert spans["js2"].position == span_of(PARA, TECHNOLOGIST)[1]
    assert spans["js5"].fragmented and spans["js5"].text == TARGET
    # And back: pycrdt removes one, a JS client sees it gone.
    assert remove_anchor(text, "js1")
    (again,) = run_js([scenario(doc.get_update(), [[]], first_client=2000)])
    assert "js1" not in again["replicas"][0]["merged"]["anchors"]
    assert as_js(resolve_all(text)) == again["replicas"][0]["merged"]["anchors"]


@pytest.mark.node
@pytest.mark.parametrize("py_client", [5, 5000])  # below and above the JS replicas' client ids
def test_anchor_placed_concurrently_with_js_edits_at_its_boundaries(py_client: int) -> None:
    doc, text = make(PARA, client_id=py_client)
    state, sv = doc.get_update(), doc.get_state()
    place_anchor(text, "a", START, END)
    place_point(text, "p", at(PARA, "une"), Point.BEFORE)
    replicas = [
        [ins(START, "<")],
        [ins(END, ">")],
        [ins(at(PARA, "propose"), "~")],
        [ins(at(PARA, "une"), "^")],
    ]
    (result,) = run_js([scenario(state, replicas, [doc.get_update(sv)])])
    text = merge_into(doc, result)
    now = str(text)
    assert now == PARA.replace(TARGET, f"<{FLAG_FR} ~propose {TECHNOLOGIST}>").replace("une", "^une")
    # At a boundary, Yjs orders concurrent items with the same neighbours by client id, the same way on
    # every replica: which of "<" and ">" the span takes depends on the placer's client id.
    inner = f"{FLAG_FR} ~propose {TECHNOLOGIST}"
    covered = f"<{inner}" if py_client < 1000 else f"{inner}>"
    assert resolve_anchor(text, "a") == expect(now, covered)
    point = resolve_anchor(text, "p")
    assert point is not None and point.point is Point.BEFORE
    assert point.position == at(now, "^une" if py_client < 1000 else "une")


@pytest.mark.node
@pytest.mark.parametrize("py_client", [5, 5000])  # below and above the JS replica's client id
def test_js_removes_an_anchor_while_pycrdt_types_in_it(py_client: int) -> None:
    doc, text = make(PARA, client_id=py_client)
    place_anchor(text, "a", START, END)
    state, sv = doc.get_update(), doc.get_state()
    insert16(text, at(PARA, "propose"), "très ")  # inside
    insert16(text, at(str(text), TECHNOLOGIST) + u16(TECHNOLOGIST), "!")  # at the end: inherited
    assert resolve_anchor(text, "a") == expect(str(text), f"{FLAG_FR} très propose {TECHNOLOGIST}!")
    (result,) = run_js([scenario(state, [[fmt(START, END, {"anchor:a": None})]], [doc.get_update(sv)])])
    text = merge_into(doc, result)
    # The removal deletes the mark's opening marker: text typed into the span concurrently goes with it.
    assert resolve_all(text) == {}


def random_edits(rng: random.Random, text: str, count: int) -> tuple[list[tuple[str, int, Any]], str]:
    """``count`` random edits in code points on ``text``; returns them and the text after them."""
    edits = []
    for _ in range(count):
        n = len(text)
        if n and rng.random() < 0.4:
            a = rng.randrange(n)
            b = min(n, a + rng.randint(1, 4))
            edits.append(("del", a, b))
            text = text[:a] + text[b:]
        else:
            cp = rng.randint(0, n)
            value = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 3)))
            edits.append(("ins", cp, value))
            text = text[:cp] + value + text[cp:]
    return edits, text


def js_edit(text: str, edit: tuple[str, int, Any]) -> dict[str, Any]:
    op, a, b = edit
    if op == "ins":
        return ins(codepoint_to_utf16(text, a), b)
    return dele(codepoint_to_utf16(text, a), codepoint_to_utf16(text, b))


@pytest.mark.node
def test_random_concurrent_edits_agree_between_pycrdt_and_yjs() -> None:
    rng = random.Random(20250601)
    cases = []
    for _ in range(60):
        initial = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(3, 20)))
        doc, text = make(initial, client_id=rng.randint(1, 999))
        model = Model(initial)
        for name in ["a", "b"][: rng.randint(1, 2)]:
            i = rng.randrange(len(initial))
            j = rng.randint(i + 1, len(initial))
            place_anchor(text, name, codepoint_to_utf16(initial, i), codepoint_to_utf16(initial, j))
            model.mark(name, i, j)
        state, sv = doc.get_update(), doc.get_state()
        replicas, local_expected = [], []
        for _ in range(rng.randint(2, 3)):
            edits, _ = random_edits(rng, initial, rng.randint(1, 3))
            local = Model("")
            local.chars = list(model.chars)
            js = []
            for edit in edits:
                js.append(js_edit(str(local), edit))
                if edit[0] == "ins":
                    local.insert(edit[1], edit[2])
                else:
                    local.delete(edit[1], edit[2])
            replicas.append(js)
            local_expected.append(local.spans())
        # pycrdt edits concurrently too.
        py_edits, _ = random_edits(rng, initial, rng.randint(0, 2))
        for op, a, b in py_edits:
            s = str(text)
            if op == "ins":
                insert16(text, codepoint_to_utf16(s, a), b)
            else:
                delete16(text, codepoint_to_utf16(s, a), codepoint_to_utf16(s, b))
        cases.append((doc, scenario(state, replicas, [doc.get_update(sv)]), local_expected))
    results = run_js([case[1] for case in cases])
    for (doc, _, local_expected), result in zip(cases, results, strict=True):
        for replica, want in zip(result["replicas"], local_expected, strict=True):
            got = {k: (v["start"], v["end"], v["text"]) for k, v in replica["local"]["anchors"].items()}
            assert got == want  # Yjs follows the same inheritance rule as the model
        merge_into(doc, result)
