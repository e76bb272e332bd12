"""A meeting's summary, drafted from the record in the shape of a secretariat's summary of consultations
(the 2 May 2005 WSIS informal consultation is the model): who convened the meeting and why, the agenda
adopted and the documents introduced, deadlines and decisions, contributions received, what was said —
paraphrased by stakeholder group in an informal meeting ("Civil society representatives urged…"), by
delegation in a formal one — proposals and the support they had, then the points on which there was
agreement and those with less consensus ("Some felt… Others expressed the view…"), and where the results
go next.

It is a draft for the chair, who edits it before publishing. It reads only what the deliberation
document publishes (:func:`crdt.procedure.conference.publish`), so an informal meeting's summary cannot
attribute a view even by mistake. The output is the Markdown subset :mod:`crdt.record.exports.meeting_report`
renders: a ``#`` title, a ``##`` subtitle, ``-`` bullets and two-space-indented sub-bullets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from crdt.record.exports import DraftView, excerpt, join_names

__all__ = ["GROUP_SPEAKERS", "long_date", "meeting_summary"]

#: How an informal meeting's summary names a stakeholder group's speakers.
GROUP_SPEAKERS = {
    "government": "Government representatives",
    "civil_society": "Civil society representatives",
    "private_sector": "Private sector representatives",
    "international_organization": "Representatives of international organisations",
    "technical_academic": "Representatives of the technical and academic community",
}
FAVOURABLE = ("support", "no_objection", "reservation")
AGREED = ("agreed", "agreed_ad_ref")
_ASIDES = ("while ", "whilst ", "although ", "though ", "despite ", "in welcoming ", "recalling ", "noting ")
_CHAPTER = re.compile(r"^\s*chapter\s+([\w-]+)", re.IGNORECASE)
_NUMBERS = ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def long_date(value: str | None) -> str:
    """ "2005-05-31…" → "31 May 2005" (the date as written, in its own time zone)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(value[:10]), datetime.min.time())
        except ValueError:
            return value
    return f"{moment.day} {moment.strftime('%B %Y')}"


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _said(subject: str, summary: str) -> str:
    """ "Switzerland" + "urged that…" → "Switzerland urged that…"; "while welcoming…, urged…" →
    "CCBI, while welcoming…, urged…"; a full sentence stays as written."""
    summary = " ".join(summary.split())
    if summary[:1].isupper():
        return _sentence(summary)
    aside = summary.startswith(_ASIDES) and "," in summary
    return _sentence(f"{subject}, {summary}" if aside else f"{subject} {summary}")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _symbol(document: Mapping[str, Any]) -> str:
    return f" ({document['symbol']})" if document.get("symbol") else ""


class _Meeting:
    def __init__(self, view: DraftView, meeting_id: str) -> None:
        state = view.deliberation
        self.view = view
        self.meeting = state["meetings"][meeting_id]
        self.id = meeting_id
        self.formal = self.meeting["kind"] == "formal"
        self.statements = sorted(
            (s for s in state.get("statements", {}).values() if s["meeting"] == meeting_id),
            key=lambda s: s["started"],
        )
        self.documents = list(state.get("documents", {}).values())
        opened = self.meeting.get("opened_us") or 0
        closed = self.meeting.get("closed_us") or (1 << 62)
        self.window = (opened, closed)

    def during(self, time_us: int | None) -> bool:
        return time_us is not None and self.window[0] <= time_us <= self.window[1]

    def introduced(self) -> list[tuple[Mapping[str, Any], Mapping[str, Any]]]:
        out = []
        for document in self.documents:
            for introduction in document.get("introduced", []):
                if introduction["meeting"] == self.id:
                    out.append((document, introduction))
        return sorted(out, key=lambda pair: pair[1]["at_us"])

    def speaker(self, statement: Mapping[str, Any]) -> str:
        if self.formal:
            return str(statement.get("delegation") or "A delegation")
        return GROUP_SPEAKERS.get(statement["group"], "Participants")


def meeting_summary(view: DraftView, meeting_id: str) -> str:
    """The draft summary of one meeting of ``view``'s draft, as Markdown (see the module's docstring)."""
    m = _Meeting(view, meeting_id)
    meeting = m.meeting
    title = meeting["title"]
    when = long_date(meeting.get("starts"))
    lines = [f"# {title}: {when}" if when else f"# {title}", "", "## Meeting summary", ""]
    bullets: list[tuple[str, list[str]]] = []

    def bullet(text: str, subs: Iterable[str] = ()) -> None:
        bullets.append((text, list(subs)))

    _convening(m, bullet)
    _agenda_and_documents(m, bullet)
    _deadlines_and_decisions(m, bullet)
    _contributions(m, bullet)
    _statements(m, bullet)
    _proposals(m, bullet)
    _principles(m, bullet)
    if meeting.get("report_to"):
        report = f"the results of this discussion shall be reported to {meeting['report_to']}"
        bullet(f"Following this meeting, {report}.")
    for text, subs in bullets:
        lines.append(f"- {text}")
        lines.extend(f"  - {sub}" for sub in subs)
    return "\n".join(lines).rstrip() + "\n"


def _convening(m: _Meeting, bullet: Any) -> None:
    meeting = m.meeting
    what = "The formal meeting" if m.formal else "The informal consultation"
    by = f" by {meeting['convened_by']}" if meeting.get("convened_by") else ""
    purpose = meeting.get("purpose", "").strip().rstrip(".")
    text = f"{what} was convened{by}"
    if purpose:
        text += f" {purpose}" if purpose.startswith(("to ", "on ", "in ", "for ")) else f": {purpose}"
    text += "."
    if meeting.get("open_to"):
        text += f" It was open to {meeting['open_to']}."
    if meeting.get("venue"):
        text += f" It met in {meeting['venue']}."
    bullet(text)


def _agenda_and_documents(m: _Meeting, bullet: Any) -> None:
    adopted = m.meeting["agenda"].get("adopted")
    background = [d for d, i in m.introduced() if d["kind"] == "background" and "secretariat" in i["by"]]
    parts = []
    if adopted:
        parts.append(
            "the agenda was adopted as amended" if adopted.get("as_amended") else "the agenda was adopted"
        )
    if background:
        symbols = [d["symbol"] for d in background if d.get("symbol")]
        listed = f" ({join_names(symbols)})" if symbols else ""
        parts.append(f"the background documents{listed} were introduced by the secretariat")
    if parts:
        bullet(_cap(" and ".join(parts)) + ".")
    others = [(d, i) for d, i in m.introduced() if d["kind"] in ("background", "chair_text", "non_paper")]
    for document, introduction in others:
        if document in background:
            continue
        kind = {"chair_text": "a chair's text", "non_paper": "a non-paper", "background": "a document"}[
            document["kind"]
        ]
        bullet(
            _sentence(
                f"{_cap(introduction['by'])} introduced {kind}{_symbol(document)}: “{document['title']}”"
            )
        )


def _deadlines_and_decisions(m: _Meeting, bullet: Any) -> None:
    view = m.view
    for period in sorted(view.deliberation.get("periods", {}).values(), key=lambda p: p["opens_us"]):
        if not m.during(period.get("opens_us")):
            continue
        scope = _scope(view, period.get("paragraphs"))
        bullet(f"The deadline for further comments on {scope} is {long_date(period.get('deadline'))}.")
    for decision in m.meeting.get("decisions", []):
        bullet(_sentence(decision["text"]))
    for group in view.deliberation.get("friends", {}).values():
        if group.get("id") is None or (
            group.get("meeting") != m.id and not m.during(group.get("established_us"))
        ):
            continue
        members = join_names(group["members"])
        paragraphs = join_names([view.label(p) for p in group["paragraphs"]])
        subs = []
        if group["state"] == "reported":
            subs.append(_group_outcome(view, group))
        bullet(
            f"A {group['title']} was established on {paragraphs}, with {members} as members, "
            f"to report by {long_date(group['deadline'])}.",
            subs,
        )
    for amendment in view.amendments:
        decision = amendment.get("decision") or {}
        if amendment.get("set") or not decision or not _during_iso(m, decision.get("at")):
            continue
        verb = {"adopted": "adopted", "adopted_modified": "adopted as modified", "rejected": "rejected"}.get(
            amendment["state"]
        )
        if verb:
            bullet(
                f"The amendment of {amendment['sponsor']} to {view.label(amendment['paragraph'])} was {verb}."
            )


def _during_iso(m: _Meeting, at: str | None) -> bool:
    opened, closed = m.meeting.get("opened"), m.meeting.get("closed")
    return bool(at and opened and opened <= at and (closed is None or at <= closed))


def _group_outcome(view: DraftView, group: Mapping[str, Any]) -> str:
    amendments = [a for a in view.amendments if a["id"] in group.get("amendments", [])]
    states = {a["state"] for a in amendments}
    where = join_names([view.label(a["paragraph"]) for a in amendments])
    if states <= {"adopted", "adopted_modified"} and states:
        fate = "was adopted" if states == {"adopted"} else "was adopted, as modified"
    elif states == {"rejected"}:
        fate = "was not adopted"
    elif "proposed" in states:
        fate = "is before the plenary"
    else:
        fate = "was considered"
    return f"The group's text on {where} came back to the plenary as a chair's proposal and {fate}."


def _scope(view: DraftView, paragraphs: list[str] | None) -> str:
    """ "chapters one and four" when the paragraphs are whole chapters, else their labels."""
    if not paragraphs:
        return "the whole text"
    chapters: list[tuple[str, list[str]]] = []  # (its name, its paragraphs)
    for p in view.paragraphs:
        if p.kind == "heading":
            named = _CHAPTER.match(p.text)
            number = len(chapters)
            name = (
                named.group(1).lower()
                if named
                else (_NUMBERS[number] if number < len(_NUMBERS) else str(number + 1))
            )
            chapters.append((name, []))
        elif chapters:
            chapters[-1][1].append(p.id)
    wanted = set(paragraphs)
    whole = [(name, members) for name, members in chapters if members and set(members) <= wanted]
    covered = {pid for _, members in whole for pid in members}
    if whole and covered == wanted:
        numbers = [name for name, _ in whole]
        noun = "chapter" if len(numbers) == 1 else "chapters"
        return f"{noun} {join_names(numbers)}"
    return join_names([view.label(p) for p in paragraphs])


def _contributions(m: _Meeting, bullet: Any) -> None:
    for document in m.documents:
        if document["kind"] != "contribution":
            continue
        here = document.get("meeting") == m.id or any(
            i["meeting"] == m.id for i in document.get("introduced", [])
        )
        if not here and not m.during(document.get("submitted_us")):
            continue
        to = f", addressed to {document['addressee']}" if document.get("addressee") else ""
        what = f"a written contribution{_symbol(document)}{to}"
        bullet(f"{_cap(document['author'])} submitted {what}: “{document['title']}”.")


def _statements(m: _Meeting, bullet: Any) -> None:
    """Statements that concern no paragraph: paraphrased by group (informal) or delegation (formal)."""
    last = None
    for statement in m.statements:
        if not statement.get("summary") or statement.get("paragraphs") or _about_proposal(m, statement):
            continue
        summary = statement["summary"]
        purpose = statement["purpose"]
        who = m.speaker(statement)
        if purpose == "point_of_order":
            by = statement.get("delegation") if m.formal else "a delegation"
            bullet(_sentence(f"On a point of order, {_said(by or 'a delegation', summary)[:-1]}"))
        elif purpose == "right_of_reply":
            by = statement.get("delegation") if m.formal else "a delegation"
            bullet(
                _sentence(f"In exercise of the right of reply, {_said(by or 'a delegation', summary)[:-1]}")
            )
        else:
            subject = f"{who} also" if who == last else who
            bullet(_said(subject, summary))
            last = who


def _about_proposal(m: _Meeting, statement: Mapping[str, Any]) -> bool:
    proposals = {d["id"] for d in m.documents if d["kind"] == "proposal"}
    return bool(proposals & set(statement.get("documents") or []))


def _proposals(m: _Meeting, bullet: Any) -> None:
    for document, introduction in m.introduced():
        if document["kind"] != "proposal":
            continue
        author = document["author"]
        subs = []
        indicator = document.get("indicator") or {}
        status = indicator.get("status")
        verdict = {
            "consensus": "The proposal met with general agreement.",
            "broad_support": "The proposal received broad support.",
            "divided": "Views on the proposal were divided.",
            "blocked": "The proposal met with a formal objection.",
        }.get(str(status))
        about = [s for s in m.statements if document["id"] in (s.get("documents") or []) and s.get("summary")]
        # The statement the proposal was introduced in is its presentation; the others are views on it.
        presenting = [s for s in about if _spans(s, introduction["at"])]
        views = [s for s in about if s not in presenting]
        tail = " ".join(x for x in (verdict, *_views(m, views)) if x)
        if tail:
            subs.append(tail)
        if presenting:
            said = _said(author, presenting[0]["summary"])[:-1]
            bullet(f"{said}{_symbol(document)}: “{document['title']}”.", subs)
        else:
            bullet(
                _sentence(f"{author} presented a proposal{_symbol(document)}: “{document['title']}”"), subs
            )


def _spans(statement: Mapping[str, Any], at: str) -> bool:
    ended = statement.get("ended")
    return bool(statement.get("started") and statement["started"] <= at and (ended is None or at <= ended))


def _views(m: _Meeting, statements: list[Mapping[str, Any]]) -> list[str]:
    """ "Some felt that… Others expressed the view that…" (informal) or attributed (formal)."""
    if m.formal:
        return [_said(m.speaker(s), s["summary"]) for s in statements]
    out = []
    first_side = None
    for statement in statements:
        side = statement.get("stance") in FAVOURABLE if statement.get("stance") else None
        if first_side is None:
            first_side = side
            subject = "Some"
        elif side is not None and side != first_side:
            subject = "Others"
        else:
            subject = "Some also" if out else "Some"
        out.append(_said(subject, statement["summary"]))
    return out


def _principles(m: _Meeting, bullet: Any) -> None:
    view = m.view
    concerned: dict[str, list[Mapping[str, Any]]] = {}
    for statement in m.statements:
        pids = statement.get("paragraphs") or []
        for pid in pids:
            concerned.setdefault(pid, [])
        if pids and statement.get("summary"):
            concerned[pids[0]].append(statement)  # a view is told once, under the first paragraph
    for item in m.meeting["agenda"]["items"]:
        for pid in item.get("paragraphs", []):
            concerned.setdefault(pid, [])
    agreed, contested = [], []
    for pid, statements in concerned.items():
        paragraph = view.by_id.get(pid)
        if paragraph is None or paragraph.kind == "heading":
            continue
        text = _sentence(excerpt(paragraph.text, 400))
        views = _views(m, statements)
        if _agreed(view, pid, statements):
            agreed.append(" ".join([text, *views]))
        else:
            contested.append(
                " ".join(views)
                or f"Views were divided on {view.label(pid)}: “{excerpt(paragraph.text, 120)}”"
            )
    if agreed:
        many = "many of these" if contested else "these"
        bullet(f"Several basic principles were discussed. On {many}, there was agreement:", agreed)
    if contested:
        bullet("On other questions, however, there was less consensus:", contested)


def _agreed(view: DraftView, pid: str, statements: list[Mapping[str, Any]]) -> bool:
    if view.status(pid) in AGREED:
        return True
    indicator = view.indicator(pid) or {}
    status = indicator.get("status")
    if status in ("consensus", "broad_support"):
        return True
    if status in ("divided", "blocked"):
        return False
    stances = [s.get("stance") for s in statements if s.get("stance")]
    return not any(stance not in FAVOURABLE for stance in stances)
