"""Tests for crdt.offsets: UTF-16 / code point / UTF-8 conversions, checked against a brute-force reference,
against pycrdt's Text (UTF-8) and, when Node is available, against Yjs itself (UTF-16)."""

from __future__ import annotations

import base64
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pycrdt import Doc, Text

from crdt.errors import PlenaryError
from crdt.offsets import (
    OffsetError,
    Unit,
    codepoint_span_to_utf8,
    codepoint_span_to_utf16,
    codepoint_to_utf8,
    codepoint_to_utf16,
    convert_offset,
    convert_span,
    utf8_length,
    utf8_span_to_codepoint,
    utf8_span_to_utf16,
    utf8_to_codepoint,
    utf8_to_utf16,
    utf16_length,
    utf16_span_to_codepoint,
    utf16_span_to_utf8,
    utf16_to_codepoint,
    utf16_to_utf8,
)

GRINNING = "😀"  # U+1F600: 1 code point, 2 UTF-16 units, 4 bytes
FLAG_FR = "🇫🇷"  # two regional indicators: 2 code points, 4 units, 8 bytes
TECHNOLOGIST = "👩🏽‍💻"  # woman, skin tone, ZWJ, laptop: 4 code points, 7 units, 15 bytes
E_ACUTE = "\u00e9"  # é precomposed: 1 code point, 1 unit, 2 bytes
E_COMBINING = "e\u0301"  # e + combining acute: 2 code points, 2 units, 3 bytes
CJK = "中文"  # 2 code points, 2 units, 6 bytes

UNITS = list(Unit)


def reference_boundaries(text: str) -> list[tuple[int, int, int]]:
    """Every boundary of ``text`` as (code point, UTF-16, UTF-8), computed one character at a time."""
    u16 = u8 = 0
    out = [(0, 0, 0)]
    for i, ch in enumerate(text):
        u16 += 2 if ord(ch) > 0xFFFF else 1
        u8 += len(ch.encode("utf-8"))
        out.append((i + 1, u16, u8))
    return out


def as_units(triple: tuple[int, int, int]) -> dict[Unit, int]:
    cp, u16, u8 = triple
    return {Unit.CODEPOINT: cp, Unit.UTF16: u16, Unit.UTF8: u8}


def lengths(text: str) -> dict[Unit, int]:
    return as_units(reference_boundaries(text)[-1])


# Text drawn from everything UTF-8 can encode (so no lone surrogates), enriched with the characters that
# make the three units differ, so that most examples contain several of them.
_TRICKY = [
    GRINNING,
    FLAG_FR,
    TECHNOLOGIST,
    E_ACUTE,
    E_COMBINING,
    CJK,
    "\u0301",
    "\u200d",
    "\U0010ffff",
    "\x00",
]
texts = st.lists(
    st.one_of(st.characters(codec="utf-8"), st.sampled_from(_TRICKY)),
    max_size=40,
).map("".join)


# --- lengths -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cp", "u16", "u8"),
    [
        ("", 0, 0, 0),
        ("plenary", 7, 7, 7),
        (GRINNING, 1, 2, 4),
        (FLAG_FR, 2, 4, 8),
        (TECHNOLOGIST, 4, 7, 15),
        (E_ACUTE, 1, 1, 2),
        (E_COMBINING, 2, 2, 3),
        (CJK, 2, 2, 6),
        ("para 12 bis: é😀中", 16, 17, 22),
    ],
)
def test_lengths(text: str, cp: int, u16: int, u8: int) -> None:
    assert len(text) == cp
    assert utf16_length(text) == u16
    assert utf8_length(text) == u8


def test_utf8_length_matches_pycrdt() -> None:
    doc = Doc()
    ytext = doc.get("t", type=Text)
    sample = f"a{FLAG_FR}{TECHNOLOGIST}{E_COMBINING}{CJK}"
    ytext += sample
    assert len(ytext) == utf8_length(sample)


# --- hand-checked offsets ------------------------------------------------------------------------


def test_grinning_face_offsets() -> None:
    text = f"a{GRINNING}b"
    assert [utf16_to_utf8(text, u) for u in (0, 1, 3, 4)] == [0, 1, 5, 6]
    assert [utf8_to_utf16(text, b) for b in (0, 1, 5, 6)] == [0, 1, 3, 4]
    assert [utf16_to_codepoint(text, u) for u in (0, 1, 3, 4)] == [0, 1, 2, 3]
    assert [codepoint_to_utf16(text, c) for c in (0, 1, 2, 3)] == [0, 1, 3, 4]
    assert [codepoint_to_utf8(text, c) for c in (0, 1, 2, 3)] == [0, 1, 5, 6]
    assert [utf8_to_codepoint(text, b) for b in (0, 1, 5, 6)] == [0, 1, 2, 3]


def test_flag_can_be_split_between_its_regional_indicators() -> None:
    # Yjs accepts this boundary: it splits a grapheme, not a character, so it is converted like any other.
    assert utf16_to_codepoint(FLAG_FR, 2) == 1
    assert utf16_to_utf8(FLAG_FR, 2) == 4
    assert utf8_to_utf16(FLAG_FR, 4) == 2


def test_technologist_zwj_sequence() -> None:
    # 👩 (2 units, 4 bytes) 🏽 (2, 4) ZWJ (1, 3) 💻 (2, 4)
    assert [utf16_to_utf8(TECHNOLOGIST, u) for u in (0, 2, 4, 5, 7)] == [0, 4, 8, 11, 15]
    assert [utf16_to_codepoint(TECHNOLOGIST, u) for u in (0, 2, 4, 5, 7)] == [0, 1, 2, 3, 4]
    for inside in (1, 3, 6):
        with pytest.raises(OffsetError, match="surrogate pair"):
            utf16_to_utf8(TECHNOLOGIST, inside)


def test_accents_precomposed_and_combining() -> None:
    precomposed = f"caf{E_ACUTE}!"
    assert utf16_to_utf8(precomposed, 4) == 5
    assert utf8_to_codepoint(precomposed, 5) == 4
    with pytest.raises(OffsetError, match="multi-byte"):
        utf8_to_utf16(precomposed, 4)

    combining = f"caf{E_COMBINING}!"
    # Between "e" and its combining accent: a valid (if unwise) boundary in every unit.
    assert utf16_to_utf8(combining, 4) == 4
    assert utf16_to_utf8(combining, 5) == 6
    with pytest.raises(OffsetError, match="multi-byte"):
        utf8_to_utf16(combining, 5)


def test_cjk() -> None:
    text = f"x{CJK}y"
    assert [utf16_to_utf8(text, u) for u in range(5)] == [0, 1, 4, 7, 8]
    for inside in (2, 3, 5, 6):
        with pytest.raises(OffsetError):
            utf8_to_codepoint(text, inside)


def test_ascii_fast_path_is_identity() -> None:
    text = "operative paragraph 4"
    for offset in range(len(text) + 1):
        for src in UNITS:
            for dst in UNITS:
                assert convert_offset(text, offset, src=src, dst=dst) == offset


# --- refusals ------------------------------------------------------------------------------------


def test_offset_error_is_a_value_error_and_a_plenary_error() -> None:
    assert issubclass(OffsetError, ValueError)
    assert issubclass(OffsetError, PlenaryError)
    with pytest.raises(ValueError) as info:
        utf16_to_utf8(GRINNING, 1)
    assert isinstance(info.value, OffsetError)
    assert info.value.offset == 1
    assert info.value.unit is Unit.UTF16


@pytest.mark.parametrize("text", ["", "ascii", f"{GRINNING}{CJK}{E_COMBINING}"])
@pytest.mark.parametrize("unit", UNITS)
def test_out_of_range_offsets_raise(text: str, unit: Unit) -> None:
    length = lengths(text)[unit]
    for bad in (-1, length + 1, length + 100):
        for dst in UNITS:
            with pytest.raises(OffsetError, match="outside the text"):
                convert_offset(text, bad, src=unit, dst=dst)


def test_every_offset_inside_a_character_raises() -> None:
    text = f"a{GRINNING}{FLAG_FR}{TECHNOLOGIST}{E_ACUTE}{E_COMBINING}{CJK}\U0010ffffz"
    bounds = reference_boundaries(text)
    total = lengths(text)
    for unit, column in ((Unit.UTF16, 1), (Unit.UTF8, 2)):
        valid = {b[column] for b in bounds}
        for offset in range(total[unit] + 1):
            if offset in valid:
                convert_offset(text, offset, src=unit, dst=Unit.CODEPOINT)
            else:
                with pytest.raises(OffsetError, match="inside"):
                    convert_offset(text, offset, src=unit, dst=Unit.CODEPOINT)
                # Converting to the same unit still validates.
                with pytest.raises(OffsetError, match="inside"):
                    convert_offset(text, offset, src=unit, dst=unit)


@pytest.mark.parametrize("unit", UNITS)
def test_text_with_a_lone_surrogate_is_refused(unit: Unit) -> None:
    for text in ("a\ud83d", "\ude00b", "\ud83d\ude00"):  # the last is two surrogate code points, not 😀
        with pytest.raises(OffsetError, match="lone surrogate"):
            convert_offset(text, 0, src=unit, dst=Unit.UTF8)
    with pytest.raises(OffsetError, match="lone surrogate"):
        utf16_length("\ud800")
    with pytest.raises(OffsetError, match="lone surrogate"):
        utf8_length("\ud800")


# --- spans ---------------------------------------------------------------------------------------


def test_spans() -> None:
    text = f"[{FLAG_FR}] / [{CJK}]"
    # The bracketed flag: code points 0..4, UTF-16 0..6, UTF-8 0..10.
    assert utf16_span_to_utf8(text, 0, 6) == (0, 10)
    assert utf16_span_to_codepoint(text, 0, 6) == (0, 4)
    assert codepoint_span_to_utf16(text, 0, 4) == (0, 6)
    assert codepoint_span_to_utf8(text, 0, 4) == (0, 10)
    assert utf8_span_to_utf16(text, 0, 10) == (0, 6)
    assert utf8_span_to_codepoint(text, 0, 10) == (0, 4)
    # The CJK option, and an empty span.
    assert utf16_span_to_utf8(text, 10, 12) == (14, 20)
    assert utf16_span_to_utf8(text, 3, 3) == (5, 5)


def test_span_errors() -> None:
    text = f"a{GRINNING}b"
    with pytest.raises(OffsetError, match="after its end"):
        utf16_span_to_utf8(text, 3, 1)
    with pytest.raises(OffsetError, match="surrogate pair"):
        utf16_span_to_utf8(text, 0, 2)
    with pytest.raises(OffsetError, match="surrogate pair"):
        utf16_span_to_utf8(text, 2, 4)
    with pytest.raises(OffsetError, match="outside"):
        utf16_span_to_utf8(text, 0, 5)


# --- properties ----------------------------------------------------------------------------------


@given(texts)
def test_every_boundary_matches_the_reference_in_every_direction(text: str) -> None:
    total = lengths(text)
    assert utf16_length(text) == total[Unit.UTF16]
    assert utf8_length(text) == total[Unit.UTF8]
    for triple in reference_boundaries(text):
        expected = as_units(triple)
        for src in UNITS:
            for dst in UNITS:
                assert convert_offset(text, expected[src], src=src, dst=dst) == expected[dst]


@given(texts, st.data())
def test_only_reference_boundaries_are_accepted(text: str, data: st.DataObject) -> None:
    bounds = reference_boundaries(text)
    unit = data.draw(st.sampled_from(UNITS))
    column = {Unit.CODEPOINT: 0, Unit.UTF16: 1, Unit.UTF8: 2}[unit]
    offset = data.draw(st.integers(min_value=-2, max_value=lengths(text)[unit] + 2))
    valid = {b[column] for b in bounds}
    if offset in valid:
        assert convert_offset(text, offset, src=unit, dst=unit) == offset
    else:
        with pytest.raises(OffsetError):
            convert_offset(text, offset, src=unit, dst=Unit.UTF8)


@given(texts, st.data())
def test_spans_agree_with_single_offsets(text: str, data: st.DataObject) -> None:
    bounds = reference_boundaries(text)
    i = data.draw(st.integers(0, len(bounds) - 1))
    j = data.draw(st.integers(i, len(bounds) - 1))
    start, end = as_units(bounds[i]), as_units(bounds[j])
    for src in UNITS:
        for dst in UNITS:
            assert convert_span(text, start[src], end[src], src=src, dst=dst) == (start[dst], end[dst])


# --- against pycrdt (UTF-8) ----------------------------------------------------------------------


def _ytext(content: str) -> Text:
    doc = Doc()
    ytext = doc.get("t", type=Text)
    ytext += content
    return ytext


@given(texts, texts, st.data())
def test_pycrdt_insert_at_converted_offset_matches_python_slicing(
    text: str, inserted: str, data: st.DataObject
) -> None:
    cp = data.draw(st.integers(0, len(text)))
    ytext = _ytext(text)
    ytext.insert(codepoint_to_utf8(text, cp), inserted)
    assert str(ytext) == text[:cp] + inserted + text[cp:]

    # The same edit arriving from a JS client, in UTF-16 units.
    ytext = _ytext(text)
    ytext.insert(utf16_to_utf8(text, codepoint_to_utf16(text, cp)), inserted)
    assert str(ytext) == text[:cp] + inserted + text[cp:]


@given(texts, st.data())
def test_pycrdt_delete_and_format_at_converted_span_match_python_slicing(
    text: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    u16_start, u16_end = codepoint_span_to_utf16(text, start, end)

    ytext = _ytext(text)
    b_start, b_end = utf16_span_to_utf8(text, u16_start, u16_end)
    del ytext[b_start:b_end]
    assert str(ytext) == text[:start] + text[end:]

    if start < end:
        ytext = _ytext(text)
        ytext.format(b_start, b_end, {"bracketed": True})
        formatted = "".join(chunk for chunk, attrs in ytext.diff() if attrs == {"bracketed": True})
        assert formatted == text[start:end]


# --- against Yjs (UTF-16) ------------------------------------------------------------------------

_JS_DIR = Path(__file__).parent / "js"

_YJS_SCRIPT = """
import * as Y from 'yjs';
import fs from 'fs';
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = cases.map(({ text, offset, inserted, update }) => {
  // A JS client inserting at a UTF-16 offset...
  const local = new Y.Doc();
  local.getText('t').insert(0, text);
  local.getText('t').insert(offset, inserted);
  // ...and a pycrdt update, made at the converted UTF-8 offset, applied by Yjs.
  const remote = new Y.Doc();
  Y.applyUpdate(remote, Uint8Array.from(Buffer.from(update, 'base64')));
  return {
    local: local.getText('t').toString(),
    remote: remote.getText('t').toString(),
    pending: remote.store.pendingStructs !== null,
    length: text.length,
  };
});
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.node
@pytest.mark.skipif(
    shutil.which("node") is None or not (_JS_DIR / "node_modules" / "yjs").is_dir(),
    reason="needs Node.js and the npm packages in tests/js",
)
def test_yjs_counts_utf16_units_like_utf16_offsets_say() -> None:
    rng = random.Random(20240531)
    alphabet = [
        "a",
        " ",
        E_ACUTE,
        "\u0301",
        "中",
        GRINNING,
        "🇫",
        "🇷",
        "👩",
        "🏽",
        "\u200d",
        "💻",
        "\U0010ffff",
    ]
    cases, expected = [], []
    for n in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        inserted = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3)))
        cp = rng.randint(0, len(text))
        doc = Doc(client_id=n + 1)
        ytext = doc.get("t", type=Text)
        ytext += text
        ytext.insert(codepoint_to_utf8(text, cp), inserted)
        update = base64.b64encode(doc.get_update()).decode("ascii")
        cases.append(
            {"text": text, "offset": codepoint_to_utf16(text, cp), "inserted": inserted, "update": update}
        )
        expected.append((text, text[:cp] + inserted + text[cp:]))

    result = subprocess.run(
        ["node", "--input-type=module", "-e", _YJS_SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=_JS_DIR,
        check=True,
        timeout=60,
    )
    for (text, want), got in zip(expected, json.loads(result.stdout), strict=True):
        assert got["local"] == want
        assert got["remote"] == want
        assert not got["pending"]
        assert got["length"] == utf16_length(text)  # JS string.length counts UTF-16 units
