"""Revisions: Rev.1, Rev.2, … — named, fixed versions of a draft, issued by the chair or the secretariat.

A revision names one entry of the draft's log (``seq``): the text and the deliberation state just after
it. Issuing one is a procedure command (``revision.issue``) logged like any other, so the list of
revisions is a fold of the log, and what a revision shows can never change (the log is append-only).

Its symbol is the draft's symbol with ``/Rev.N`` appended (``WSIS-II/PC-3/DT/5/Rev.1``), as in UN
practice; a draft without a symbol gets ``Rev.N`` alone. Revisions are successive: each names a later
entry than the one before it.

Annotations, amendments and positions record the revision they were made against (the latest one
issued at the time), so that "am-4 (on Rev.2)" can be shown beside them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from crdt.procedure.commands import MAX_BODY, Actor, need, refuse

#: How a revision is addressed: ``rev1`` (in ``at=rev1``, ``{draft}@rev1``, ``plenary compare``).
REVISION_ID = re.compile(r"^rev([1-9][0-9]{0,5})$")
#: Commands whose record says which revision it was made against.
MADE_AGAINST = frozenset({"annotation.create", "amendment.propose", "position.state"})
MAX_SYMBOL = 100


class HasRevisions(Protocol):
    revisions: dict[str, dict[str, Any]]


def revision_id(number: int) -> str:
    return f"rev{number}"


def revision_number(identifier: str) -> int | None:
    """``3`` for ``"rev3"`` (any case), else ``None``."""
    match = REVISION_ID.fullmatch(identifier.strip().lower())
    return int(match.group(1)) if match else None


def revision_symbol(draft_symbol: str, number: int) -> str:
    base = draft_symbol.strip().rstrip("/")
    return f"{base}/Rev.{number}" if base else f"Rev.{number}"


def latest(state: HasRevisions) -> dict[str, Any] | None:
    if not state.revisions:
        return None
    return max(state.revisions.values(), key=lambda r: r["number"])


def _issue(state: HasRevisions, c: Mapping[str, Any], actor: Actor, _now_us: int, now: str) -> dict[str, Any]:
    seq = need(c, "seq", int)
    if seq < 1:
        raise refuse("a revision names an entry of the log (seq 1 or later)")
    note = c.get("note") or ""
    if not isinstance(note, str) or len(note) > MAX_BODY:
        raise refuse(f"the note must be text of at most {MAX_BODY} characters")
    draft_symbol = c.get("draft_symbol") or ""
    if not isinstance(draft_symbol, str) or len(draft_symbol) > MAX_SYMBOL:
        raise refuse("invalid draft symbol")
    previous = latest(state)
    if previous is not None and seq <= previous["seq"]:
        raise refuse(
            f"{previous['name']} shows the draft at entry {previous['seq']}: "
            f"a new revision must show a later entry (got {seq})",
            409,
        )
    number = 1 if previous is None else previous["number"] + 1
    record = {
        "id": revision_id(number),
        "number": number,
        "name": f"Rev.{number}",
        "symbol": revision_symbol(draft_symbol, number),
        "seq": seq,
        "note": note,
        "issued": now,
        "issued_by": actor.to_json(),
    }
    state.revisions[record["id"]] = record
    return record


def mark_made_against(state: HasRevisions, kind: str, result: Any) -> None:
    """Record on a new annotation, amendment or position the revision it was made against."""
    if kind in MADE_AGAINST and isinstance(result, dict):
        current = latest(state)
        if current is not None:  # none yet: made against the text as first tabled
            result.setdefault("revision", current["id"])


HANDLERS: dict[str, Any] = {"revision.issue": _issue}
