"""Statements: each turn at the floor is one (made when the chair gives the floor, see
:mod:`crdt.procedure.speakers`); the secretariat writes its short summary, linked to the paragraphs it
concerns, and the delegation may hand in its text.

The summary is written as what the speaker did, without the subject — "urged that a formal
multi-stakeholder dialogue be established" — so that the meeting summary can say it of a delegation in
a formal meeting ("Switzerland urged that…"), of a stakeholder group ("Civil society representatives
urged that…") or of nobody in particular ("Some felt that…") in an informal one.

Publication (:func:`published`): a formal meeting's statements are attributed; an informal meeting's
carry the speaker's stakeholder group only, without the delegation, the speaker or the text handed in.
The log, and so the archive (restricted to the Bureau and the archivists), still knows who spoke.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crdt.procedure.commands import Actor, need, refuse
from crdt.procedure.consensus import Stance
from crdt.procedure.proceedings import Procedure, id_list, text_field

MAX_SUMMARY = 5_000
MAX_TEXT = 100_000

#: What an informal meeting publishes of a statement.
_UNATTRIBUTED = (
    "id",
    "meeting",
    "item",
    "purpose",
    "group",
    "formal",
    "started",
    "ended",
    "summary",
    "stance",
    "paragraphs",
    "documents",
)


def _statement(state: Procedure, c: Mapping[str, Any]) -> dict[str, Any]:
    statement = state.proceedings.statements.get(need(c, "statement"))
    if statement is None:
        raise refuse("no such statement", 404)
    return statement


def _summarise(state: Procedure, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    statement = _statement(state, c)
    stance = c.get("stance")
    if stance is not None and stance not in Stance.__members__.values():
        raise refuse(f"stance must be one of {', '.join(Stance)}, or null")
    documents = id_list(c, "documents", 50)
    for document in documents:
        if document not in state.proceedings.documents:
            raise refuse(f"no document {document!r}", 404)
    summary = text_field(c, "summary", MAX_SUMMARY, required=True)
    paragraphs = id_list(c, "paragraphs", 500)
    statement["summary"] = summary
    statement["stance"] = stance
    statement["paragraphs"] = paragraphs
    statement["documents"] = documents
    statement["summarised"] = {"at": now, "by": actor.name}
    return statement


def _hand_in(state: Procedure, c: Mapping[str, Any], actor: Actor, _n: int, now: str) -> dict[str, Any]:
    statement = _statement(state, c)
    if actor.delegation != statement["delegation"]:
        raise refuse("only the delegation that made a statement hands in its text", 403)
    statement["text"] = text_field(c, "text", MAX_TEXT, required=True)
    statement["handed_in"] = {"at": now, "by": actor.name}
    return statement


def published(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A statement as everyone may read it (see the module's docstring)."""
    if statement["formal"]:
        public = {key: value for key, value in statement.items() if key != "speaker"}
        public["speaker"] = statement["speaker"]["name"]
        return public
    public = {key: statement[key] for key in _UNATTRIBUTED}
    public["handed_in"] = bool(statement.get("text"))
    return public


HANDLERS = {
    "statement.summarise": _summarise,
    "statement.hand_in": _hand_in,
}
