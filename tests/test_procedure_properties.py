"""Issue 14, "make the classes impossible": random sequences of every deliberation command by every role,
with concurrent text edits in, across and around anchored spans and paragraphs coming and going, against
the procedure's rules (``PureDeliberationMachine``) and against a real server (``ServerMachine``).

After every step: no command fails other than by a refusal (no 5xx); a refused command leaves state, text
and log unchanged; every adopted amendment changed exactly the span the record says into exactly the
recorded text, and nothing else; re-folding the log gives the live state and text; every running silence
can be broken by some delegation; numbers agree between the live text, the history and the exports;
every export renders and every Akoma Ntoso document validates (the pure machine checks the exports at the
end of each example and after each decision, to stay within its time budget). See tests/procedure_harness.py.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from crdt.offsets import utf16_length
from tests.procedure_harness import (
    DELEGATES,
    PLACES,
    ROLES,
    SECOND,
    PureTable,
    anchored_span,
    check_all,
    check_exports,
    edit_near,
)

#: Examples run in CI (stated in the README's testing section).
PURE_EXAMPLES = 200
PURE_STEPS = 30

roles = st.sampled_from(ROLES)
delegates = st.sampled_from(DELEGATES)
#: Mostly the people whose role allows the command, sometimes anyone (refusals are steps too).
managers = st.sampled_from(("chair", "chair", "secretariat", "secretariat", *ROLES))
words = st.sampled_from(("proceed swiftly", "move on", "", "🌍 global", "national", "all stakeholders", "x"))
stances = st.sampled_from(("support", "no_objection", "reservation", "objection", "formal_objection"))
statuses = st.sampled_from(("pending", "bracketed", "agreed_ad_ref", "agreed"))


def pick(data: st.DataObject, options: list[str]) -> str | None:
    return data.draw(st.sampled_from(options)) if options else None


ADOPTION = {
    "data": st.data(),
    "who": st.sampled_from(("chair", "chair", "chair", *ROLES)),
    "modified": st.one_of(st.none(), st.none(), words),
    "flags": st.tuples(st.booleans(), st.booleans()),
}


class PureDeliberationMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.table = PureTable()
        self.decisions = 0

    # Helpers.

    def paragraphs(self) -> list[str]:
        return self.table.paragraph_ids()

    def amendments(self, open_only: bool = False) -> list[str]:
        return [
            a for a, am in self.table.state.amendments.items() if not open_only or am["state"] == "proposed"
        ]

    def targets(self) -> list[str]:
        return self.paragraphs() + self.amendments()

    def span(self, data: st.DataObject, paragraph: str) -> tuple[int, int]:
        length = utf16_length(self.text(paragraph))
        start = data.draw(st.integers(0, length))
        end = data.draw(st.integers(start, length))
        return start, end

    def text(self, paragraph: str) -> str:
        return self.table.texts().get(paragraph, "")

    # Annotations and amendments.

    @rule(data=st.data(), who=roles, whole=st.booleans())
    def annotate(self, data: st.DataObject, who: str, whole: bool) -> None:
        paragraph = pick(data, self.paragraphs())
        command: dict[str, Any] = {"type": "annotation.create", "paragraph": paragraph, "body": "why?"}
        if not whole and paragraph is not None:
            command["start"], command["end"] = self.span(data, paragraph)
        self.table.command(who, command)

    @rule(
        data=st.data(),
        who=st.sampled_from((*DELEGATES, *DELEGATES, "chair", "observer")),
        kind=st.sampled_from(("insertion", "deletion", "substitution")),
        text=words,
        honest=st.booleans(),
    )
    def propose(self, data: st.DataObject, who: str, kind: str, text: str, honest: bool) -> None:
        self._propose(data, who, kind, text, honest)

    @rule(
        data=st.data(),
        who=delegates,
        kind=st.sampled_from(("insertion", "deletion", "substitution")),
        text=words,
        honest=st.just(True),
    )
    def propose_another(self, data: st.DataObject, who: str, kind: str, text: str, honest: bool) -> None:
        self._propose(data, who, kind, text, honest)

    def _propose(self, data: st.DataObject, who: str, kind: str, text: str, honest: bool) -> None:
        paragraph = pick(data, self.paragraphs())
        if paragraph is None:
            return
        start, end = self.span(data, paragraph)
        if honest:  # the kinds as meant; otherwise anything (issue 14, defect 4)
            if kind == "insertion":
                end = start
            if kind == "deletion":
                text = ""
        command = {
            "type": "amendment.propose",
            "paragraph": paragraph,
            "kind": kind,
            "start": start,
            "end": end,
            "text": text,
            "justification": "clearer",
        }
        self.table.command(who, command)

    @precondition(lambda self: self.amendments())
    @rule(data=st.data(), who=delegates, withdraw=st.booleans())
    def cosponsor_or_withdraw(self, data: st.DataObject, who: str, withdraw: bool) -> None:
        kind = "amendment.withdraw" if withdraw else "amendment.cosponsor"
        self.table.command(who, {"type": kind, "id": pick(data, self.amendments())})

    def _adopt(self, data: st.DataObject, who: str, modified: str | None, flags: tuple[bool, bool]) -> None:
        command: dict[str, Any] = {"type": "amendment.adopt", "id": pick(data, self.amendments(True))}
        if modified is not None:
            command["modified_text"] = modified
        if flags[0]:
            command["confirm"] = True
        if flags[1]:
            command["over_objection"] = True
        if self.table.command(who, command).ok:
            check_exports(self.table)

    @precondition(lambda self: self.amendments(True))
    @rule(**ADOPTION)
    def adopt(self, data: st.DataObject, who: str, modified: str | None, flags: tuple[bool, bool]) -> None:
        self._adopt(data, who, modified, flags)

    @precondition(lambda self: self.amendments(True))
    @rule(**ADOPTION)
    def adopt_later(
        self, data: st.DataObject, who: str, modified: str | None, flags: tuple[bool, bool]
    ) -> None:
        self._adopt(data, who, modified, flags)  # twice the chance: decisions are what can garble a text

    @precondition(lambda self: self.amendments())
    @rule(data=st.data(), who=st.sampled_from(("chair", *ROLES)))
    def reject(self, data: st.DataObject, who: str) -> None:
        command = {"type": "amendment.reject", "id": pick(data, self.amendments()), "reason": "no"}
        if self.table.command(who, command).ok:
            check_exports(self.table)

    @rule(data=st.data(), who=st.sampled_from((*DELEGATES, *DELEGATES, "chair", "observer")), stance=stances)
    def position(self, data: st.DataObject, who: str, stance: str) -> None:
        target = pick(data, self.targets())
        command = {"type": "position.state", "target": target, "stance": stance, "explanation": "e"}
        self.table.command(who, command)

    # The process.

    @rule(data=st.data(), who=managers, status=statuses, reopen=st.booleans())
    def status(self, data: st.DataObject, who: str, status: str, reopen: bool) -> None:
        paragraph = pick(data, self.paragraphs())
        if reopen:
            self.table.command(
                who, {"type": "paragraph.reopen", "paragraph": paragraph, "reason": "capitals"}
            )
        else:
            self.table.command(who, {"type": "paragraph.status", "paragraph": paragraph, "status": status})

    @rule(
        data=st.data(),
        who=managers,
        what=st.sampled_from(
            ("lock", "unlock", "unlock", "rule", "freeze", "unfreeze", "profile", "roll", "mode", "mode")
        ),
    )
    def process(self, data: st.DataObject, who: str, what: str) -> None:
        """One of the chair's and the secretariat's levers (each refused to everyone else)."""
        command: dict[str, Any]
        if what in ("lock", "unlock"):
            command = {"type": f"text.{what}"}
        elif what in ("freeze", "unfreeze"):
            command = {"type": f"numbering.{what}"}
        elif what == "rule":
            command = {
                "type": "rule.set",
                "rule": data.draw(st.sampled_from(("consensus", "unanimity", "majority"))),
            }
        elif what == "profile":
            command = {
                "type": "profile.set",
                "profile": data.draw(st.sampled_from(("intergovernmental", "multistakeholder"))),
            }
        elif what == "roll":
            name, group = data.draw(
                st.sampled_from(
                    (
                        ("CCBI", "private_sector"),
                        ("ISOC", "technical_academic"),
                        ("Civil Society Caucus", "civil_society"),
                        ("Switzerland", "government"),
                        ("Brazil", "government"),
                    )
                )
            )
            negotiating = data.draw(st.one_of(st.none(), st.booleans()))
            command = {
                "type": "roll.delegation.add",
                "delegation": {"name": name, "group": group, "negotiating": negotiating},
            }
        else:
            mode = data.draw(st.sampled_from(("open", "pen_holder", "amendments_only")))
            command = {"type": "editing.mode", "mode": mode}
            if mode == "pen_holder":
                command["pen_holders"] = ["ch"]
            if data.draw(st.booleans()):
                command["paragraph"] = pick(data, self.paragraphs())
        self.table.command(who, command)

    @rule(
        data=st.data(),
        who=managers,
        seconds=st.integers(1, 40),
        what=st.sampled_from(("open", "open", "extend", "close")),
    )
    def period(self, data: st.DataObject, who: str, seconds: int, what: str) -> None:
        deadline = self.table.now_us + seconds * SECOND
        if what == "open":
            command: dict[str, Any] = {"type": "period.open", "deadline_us": deadline}
            if data.draw(st.booleans()):
                paragraphs = st.lists(st.sampled_from(self.paragraphs()), min_size=1, max_size=3, unique=True)
                command["paragraphs"] = data.draw(paragraphs)
        else:
            period = pick(data, list(self.table.state.periods)) or "cp-9"
            command = {"type": f"period.{what}", "id": period}
            if what == "extend":
                command["deadline_us"] = deadline
        self.table.command(who, command)

    @rule(data=st.data(), who=managers, seconds=st.integers(2, 40))
    def silence(self, data: st.DataObject, who: str, seconds: int) -> None:
        target = pick(data, self.paragraphs() + self.amendments(True))
        deadline = self.table.now_us + seconds * SECOND
        self.table.command(who, {"type": "silence.start", "target": target, "deadline_us": deadline})

    @rule(seconds=st.integers(1, 30))
    def time_passes(self, seconds: int) -> None:
        self.table.wait(seconds)

    # Concurrent text edits: in, across and around anchored spans; paragraphs added and removed.

    @rule(
        data=st.data(),
        who=st.sampled_from((*DELEGATES, "chair", "secretariat")),
        place=st.sampled_from(PLACES),
        width=st.integers(1, 6),
        insert=st.sampled_from(("", "", "new ", "🌍", "é")),
    )
    def edit_near_anchor(self, data: st.DataObject, who: str, place: str, width: int, insert: str) -> None:
        anchored = [
            (record["paragraph"], record["id"])
            for records in (self.table.state.amendments, self.table.state.annotations)
            for record in records.values()
            if record.get("anchor")
        ]
        choice = pick(data, [f"{p}|{a}" for p, a in anchored])
        if choice is None:
            return
        paragraph, anchor = choice.split("|")
        span = anchored_span(self.table.doc, paragraph, anchor)
        if span is None:
            return
        start, end = edit_near(span, utf16_length(self.text(paragraph)), place, width)
        self.table.edit(who, paragraph, start, end, insert)

    @rule(
        data=st.data(), who=st.sampled_from((*DELEGATES, "chair")), insert=st.sampled_from(("", "so ", "🤝"))
    )
    def edit_anywhere(self, data: st.DataObject, who: str, insert: str) -> None:
        paragraph = pick(data, self.paragraphs())
        if paragraph is not None:
            start, end = self.span(data, paragraph)
            self.table.edit(who, paragraph, start, end, insert)

    @rule(
        who=st.sampled_from((*DELEGATES, "chair", "secretariat")),
        index=st.integers(0, 12),
        kind=st.sampled_from(("operative", "item", "preambular")),
    )
    def insert_paragraph(self, who: str, index: int, kind: str) -> None:
        self.table.insert_paragraph(who, index, kind, "A new paragraph.")

    @precondition(lambda self: len(self.paragraphs()) > 2)
    @rule(data=st.data(), who=st.sampled_from((*DELEGATES, "chair", "secretariat")))
    def delete_paragraph(self, data: st.DataObject, who: str) -> None:
        paragraph = pick(data, self.paragraphs())
        if paragraph is not None:
            self.table.delete_paragraph(who, paragraph)

    # After every step.

    @invariant()
    def procedure_holds(self) -> None:
        check_all(self.table, exports=False)

    def teardown(self) -> None:
        check_exports(self.table)


TestPureDeliberation = PureDeliberationMachine.TestCase
TestPureDeliberation.settings = settings(
    max_examples=PURE_EXAMPLES,
    stateful_step_count=PURE_STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
