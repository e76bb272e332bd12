"""Word-level differences between two texts, as people read a comparison of two revisions.

Nobody reads a keystroke diff: the text is cut into *tokens* and the tokens are compared
(:class:`difflib.SequenceMatcher`, without its junk heuristic). A token is:

- a word: a run of letters, combining marks, digits and joiners (so Arabic words keep their vowel
  marks and the zero-width joiners of Persian, and "Member States’" is two words and a quote);
- one character of a script written without spaces between words (Chinese ideographs, Japanese kana,
  Thai, …): there a "word" is a character, which is how such comparisons are read;
- a run of whitespace;
- any other single character (punctuation, symbols).

The result is a list of operations ``(op, text)`` with ``op`` one of ``equal``, ``delete``, ``insert``:
the ``equal`` and ``delete`` texts, in order, spell the old text; the ``equal`` and ``insert`` texts spell the
new one (:func:`apply`). Whitespace alone between two changes is folded into them ("replace *quick brown*
by *slow red*" rather than two replacements around a kept space).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal

Op = Literal["equal", "delete", "insert"]
Operation = tuple[Op, str]

#: Scripts whose words are not separated by spaces: each character is a token.
_UNSPACED = (
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x20000, 0x323AF),  # CJK extensions B–H
)
_JOINERS = frozenset("\u200c\u200d\u2060")


def _unspaced(ch: str) -> bool:
    code = ord(ch)
    return any(low <= code <= high for low, high in _UNSPACED)


def _wordlike(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "LMN" or category == "Pc" or ch in _JOINERS


def tokens(text: str) -> list[str]:
    """``text`` cut into tokens (see the module docstring); ``"".join(tokens(t)) == t``."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        j = i + 1
        if ch.isspace():
            while j < n and text[j].isspace():
                j += 1
        elif _unspaced(ch):
            # A combining mark belongs to the character before it.
            while j < n and unicodedata.category(text[j])[0] == "M":
                j += 1
        elif _wordlike(ch):
            while j < n and _wordlike(text[j]) and not _unspaced(text[j]):
                j += 1
        out.append(text[i:j])
        i = j
    return out


def diff(old: str, new: str) -> list[Operation]:
    """The word-level operations that turn ``old`` into ``new``."""
    a, b = tokens(old), tokens(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    ops: list[Operation] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", "".join(a[i1:i2])))
        else:
            if i2 > i1:
                ops.append(("delete", "".join(a[i1:i2])))
            if j2 > j1:
                ops.append(("insert", "".join(b[j1:j2])))
    return _tidy(ops)


def _tidy(ops: list[Operation]) -> list[Operation]:
    """Fold whitespace kept between two changes into them, then merge neighbours of a kind."""
    folded: list[Operation] = []
    for index, (op, text) in enumerate(ops):
        between = 0 < index < len(ops) - 1 and ops[index - 1][0] != "equal" and ops[index + 1][0] != "equal"
        if op == "equal" and between and text.isspace():
            folded += [("delete", text), ("insert", text)]
        else:
            folded.append((op, text))
    # Within a run of changes, deletions first, then insertions; then one operation per kind.
    out: list[Operation] = []
    run: list[Operation] = []

    def flush() -> None:
        deleted = "".join(t for o, t in run if o == "delete")
        inserted = "".join(t for o, t in run if o == "insert")
        if deleted:
            out.append(("delete", deleted))
        if inserted:
            out.append(("insert", inserted))
        run.clear()

    for op, text in folded:
        if op == "equal":
            flush()
            if text:
                if out and out[-1][0] == "equal":
                    out[-1] = ("equal", out[-1][1] + text)
                else:
                    out.append(("equal", text))
        else:
            run.append((op, text))
    flush()
    return out


class NotTheOldText(ValueError):
    """The operations do not start from the text they are applied to."""


def apply(old: str, ops: Iterable[Operation]) -> str:
    """Apply operations to ``old``: the new text. Raises :class:`NotTheOldText` if they do not fit it."""
    at = 0
    out: list[str] = []
    for op, text in ops:
        if op == "insert":
            out.append(text)
            continue
        if old[at : at + len(text)] != text:
            raise NotTheOldText(f"expected {text!r} at {at}, found {old[at : at + len(text)]!r}")
        at += len(text)
        if op == "equal":
            out.append(text)
    if at != len(old):
        raise NotTheOldText(f"{len(old) - at} characters of the old text are left over")
    return "".join(out)


def words_changed(ops: Sequence[Operation]) -> tuple[int, int]:
    """How many words (non-space tokens) were deleted and inserted."""
    deleted = sum(len([t for t in tokens(text) if not t.isspace()]) for op, text in ops if op == "delete")
    inserted = sum(len([t for t in tokens(text) if not t.isspace()]) for op, text in ops if op == "insert")
    return deleted, inserted
