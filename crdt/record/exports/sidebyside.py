"""Two language versions of a draft side by side, paragraph by paragraph (HTML and Markdown).

Each row is one paragraph (matched by id, with its number and status); each column one language, in its
own direction (Arabic right to left) and with what a reader must know beside a translation: that it does
not translate the original as it stands, or is not made yet. Pure, from a :class:`DraftView`.
"""

from __future__ import annotations

import html as _html

from crdt.procedure.languages import direction, language
from crdt.record.exports import STATUS_NAMES, DraftView

__all__ = ["html", "markdown"]


def _columns(view: DraftView, languages: list[str]) -> list[DraftView]:
    if len(languages) != 2 or languages[0] == languages[1]:
        raise ValueError("a side-by-side view shows two different languages, e.g. languages=en,fr")
    return [view.in_language(code) for code in languages]


def _label(view: DraftView, paragraph_id: str) -> str:
    p = view.by_id[paragraph_id]
    status = STATUS_NAMES.get(view.status(p.id), view.status(p.id))
    number = f"{p.number}{'.' if p.kind == 'operative' else ''} " if p.number else ""
    return f"{number}({status})"


def _intro(view: DraftView, languages: list[str]) -> str:
    names = " and ".join(language(code).name for code in languages)
    return (
        f"{view.title}{f' ({view.symbol})' if view.symbol else ''}: {names} side by side. {view.as_of} "
        f"The original is {language(view.original_language).name}."
    )


def html(view: DraftView, languages: list[str]) -> str:
    left, right = _columns(view, languages)
    esc = _html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        f"<title>{esc(view.title)}: {esc(' / '.join(languages))}</title>",
        "<style>",
        "body { font-family: 'Noto Sans', 'Noto Naskh Arabic', 'Noto Sans CJK SC', sans-serif; }",
        "table { border-collapse: collapse; width: 100%; table-layout: fixed; }",
        "th, td { border-top: 1px solid #ccc; padding: 0.5em; vertical-align: top; }",
        "td.number { width: 9em; color: #555; } .note { font-style: italic; color: #7a1010; }",
        "</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(view.title)}</h1>",
        f"<p>{esc(_intro(view, languages))}</p>",
        "<table>",
        '<thead><tr><th scope="col">Paragraph</th>'
        + "".join(f'<th scope="col" lang="{esc(code)}">{esc(language(code).name)}</th>' for code in languages)
        + "</tr></thead>",
        "<tbody>",
    ]
    for p in view.paragraphs:
        cells = [f'<td class="number">{esc(_label(view, p.id))}</td>']
        for column in (left, right):
            shown = column.by_id[p.id]
            code = column.text_language
            note = f'<p class="note" lang="en" dir="ltr">{esc(shown.note)}</p>' if shown.note else ""
            cells.append(
                f'<td lang="{esc(code)}" dir="{direction(code)}" data-paragraph="{esc(p.id)}">'
                f"{esc(shown.text)}{note}</td>"
            )
        out.append(f'<tr id="para-{esc(p.id)}">' + "".join(cells) + "</tr>")
    out += ["</tbody>", "</table>", "</body>", "</html>"]
    return "\n".join(out) + "\n"


_MD = str.maketrans({c: "\\" + c for c in "\\`*_[]<>&|"})


def _md(text: str) -> str:
    return " ".join(text.translate(_MD).splitlines())


def markdown(view: DraftView, languages: list[str]) -> str:
    left, right = _columns(view, languages)
    out = [
        f"# {_md(view.title)}",
        "",
        f"*{_md(_intro(view, languages))}*",
        "",
        "| Paragraph | " + " | ".join(language(code).name for code in languages) + " |",
        "|---|---|---|",
    ]
    for p in view.paragraphs:
        cells = [_md(_label(view, p.id))]
        for column in (left, right):
            shown = column.by_id[p.id]
            cells.append(_md(shown.text) + (f" *({_md(shown.note)})*" if shown.note else ""))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
