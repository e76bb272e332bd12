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

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from crdt.offsets import utf16_length
from tests import procedure_harness
from tests.procedure_harness import (
    DELEGATES,
    DRAFT,
    PENDING,
    PEOPLE,
    PLACES,
    ROLES,
    SECOND,
    Adoption,
    PureTable,
    ServerTable,
    anchored_span,
    check_adoption,
    check_all,
    check_exports,
    check_refold,
    check_server,
    check_silences_breakable,
    edit_near,
)

#: Examples run in CI (stated in the README's testing section).
PURE_EXAMPLES = 200
PURE_STEPS = 30
#: The explain phase traces every line of a failing example again: minutes on Python 3.11, for a hint.
NO_EXPLAIN = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink)

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

    @precondition(lambda self: self.table.state.annotations)
    @rule(data=st.data(), who=roles, resolve=st.booleans())
    def resolve(self, data: st.DataObject, who: str, resolve: bool) -> None:
        annotation = pick(data, list(self.table.state.annotations))
        kind = "annotation.resolve" if resolve else "annotation.reopen"
        self.table.command(who, {"type": kind, "id": annotation})

    @rule(who=managers, back=st.integers(0, 3))
    def revision(self, who: str, back: int) -> None:
        """Issue the next revision at the head or a little before it (the server fills ``seq`` in)."""
        seq = max(1, len(self.table.entries) - back)
        command = {"type": "revision.issue", "seq": seq, "note": "after informals", "draft_symbol": "DT/5"}
        self.table.command(who, command)

    @rule(
        data=st.data(),
        who=st.sampled_from((*DELEGATES, *DELEGATES, "chair", "observer")),
        kind=st.sampled_from(("insertion", "deletion", "substitution")),
        text=words,
        honest=st.sampled_from((True, True, False)),
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

    @rule(data=st.data(), who=st.sampled_from((*DELEGATES, "observer")))
    def explain(self, data: st.DataObject, who: str) -> None:
        """An explanation of position after a decision (refused before one)."""
        target = pick(data, self.targets())
        self.table.command(who, {"type": "explanation.give", "target": target, "text": "we joined, but"})

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
    phases=NO_EXPLAIN,
)


# The same, against a real server: REST commands, websocket edits from the delegates' own clients.

#: Examples run in CI against the server (stated in the README's testing section).
SERVER_EXAMPLES = 20
SERVER_STEPS = 10


class ServerMachine(RuleBasedStateMachine):
    #: Set by the test below: the server's addresses, everyone's tokens, the event loop's runner.
    context: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        super().__init__()
        context = ServerMachine.context
        context["drafts"] += 1
        self.table = ServerTable(
            context["http"], context["ws"], context["tokens"], f"prop-{context['drafts']}", context["run"]
        )
        self.made = 0

    def paragraphs(self) -> list[str]:
        return list(self.table.texts())

    def amendments(self, open_only: bool = False) -> list[str]:
        found = self.table.live()["amendments"]
        return [a for a, am in found.items() if not open_only or am["state"] == "proposed"]

    @rule(
        data=st.data(),
        who=st.sampled_from((*DELEGATES, *DELEGATES, "observer")),
        kind=st.sampled_from(("insertion", "deletion", "substitution")),
        text=words,
        honest=st.sampled_from((True, True, False)),
    )
    def propose(self, data: st.DataObject, who: str, kind: str, text: str, honest: bool) -> None:
        paragraph = data.draw(st.sampled_from(self.paragraphs()))
        length = utf16_length(self.table.texts()[paragraph])
        start = data.draw(st.integers(0, length))
        end = data.draw(st.integers(start, length))
        if honest:
            end = start if kind == "insertion" else end
            text = "" if kind == "deletion" else text
        body = {"paragraph": paragraph, "kind": kind, "start": start, "end": end, "text": text}
        outcome = self.table.command(who, "POST", "/amendments", {**body, "justification": "clearer"})
        if outcome.ok:
            result = outcome.body["result"]
            self.table.references[result["id"]] = result.get("reference") or ""

    @precondition(lambda self: self.amendments())
    @rule(
        data=st.data(),
        who=delegates,
        stance=stances,
        what=st.sampled_from(("position", "cosponsor", "withdraw", "explain")),
    )
    def on_amendment(self, data: st.DataObject, who: str, stance: str, what: str) -> None:
        target = data.draw(st.sampled_from(self.amendments()))
        if what == "position":
            self.table.command(who, "PUT", f"/positions/{target}", {"stance": stance, "explanation": "e"})
        elif what == "explain":
            self.table.command(who, "POST", f"/explanations/{target}", {"text": "we joined, but"})
        else:
            self.table.command(who, "POST", f"/amendments/{target}/{what}")

    @rule(data=st.data(), who=delegates, stance=stances)
    def position(self, data: st.DataObject, who: str, stance: str) -> None:
        target = data.draw(st.sampled_from(self.paragraphs()))
        self.table.command(who, "PUT", f"/positions/{target}", {"stance": stance})

    @precondition(lambda self: self.amendments(True))
    @rule(data=st.data(), modified=st.one_of(st.none(), words), flags=st.tuples(st.booleans(), st.booleans()))
    def adopt(self, data: st.DataObject, modified: str | None, flags: tuple[bool, bool]) -> None:
        target = data.draw(st.sampled_from(self.amendments(True)))
        body: dict[str, Any] = {"confirm": flags[0], "over_objection": flags[1]}
        if modified is not None:
            body["modified_text"] = modified
        if self.table.adopt(target, body).ok:
            check_server(self.table, exports=True)

    @precondition(lambda self: self.amendments(True))
    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(self.amendments(True)))
        self.table.command("chair", "POST", f"/amendments/{target}/reject", {"reason": "no consensus"})

    @rule(data=st.data(), who=managers, status=statuses)
    def status(self, data: st.DataObject, who: str, status: str) -> None:
        paragraph = data.draw(st.sampled_from(self.paragraphs()))
        if status == "pending" and data.draw(st.booleans()):
            self.table.command(who, "POST", f"/paragraphs/{paragraph}/reopen", {"reason": "capitals"})
        else:
            self.table.command(who, "PUT", f"/paragraphs/{paragraph}/status", {"status": status})

    @rule(
        data=st.data(),
        who=managers,
        what=st.sampled_from(
            ("lock", "unlock", "unlock", "freeze", "unfreeze", "rule", "profile", "period", "close")
        ),
    )
    def process(self, data: st.DataObject, who: str, what: str) -> None:
        deadline = iso_in(3600)
        if what in ("lock", "unlock"):
            self.table.command(who, "POST", f"/{what}")
        elif what in ("freeze", "unfreeze"):
            if self.table.command(who, "POST", f"/numbering/{what}").ok:
                self.table.frozen = (
                    {p["id"]: p["number"] for p in self.table.get(self.table.path("")).json()["paragraphs"]}
                    if what == "freeze"
                    else None
                )
        elif what == "rule":
            self.table.command(
                who, "PUT", "/rule", {"rule": data.draw(st.sampled_from(("consensus", "majority")))}
            )
        elif what == "profile":
            profile = data.draw(st.sampled_from(("intergovernmental", "multistakeholder")))
            self.table.command(who, "PUT", "/profile", {"profile": profile})
        elif what == "period":
            paragraphs = data.draw(
                st.lists(st.sampled_from(self.paragraphs()), min_size=1, max_size=2, unique=True)
            )
            self.table.command(who, "POST", "/periods", {"paragraphs": paragraphs, "deadline": deadline})
        else:
            periods = list(self.table.live()["periods"])
            if periods:
                self.table.command(who, "POST", f"/periods/{data.draw(st.sampled_from(periods))}/close")

    @rule(data=st.data(), who=managers)
    def silence(self, data: st.DataObject, who: str) -> None:
        target = data.draw(st.sampled_from(self.paragraphs() + self.amendments(True)))
        self.table.command(who, "POST", "/silence", {"target": target, "deadline": iso_in(3600)})

    @rule(
        data=st.data(),
        who=st.sampled_from((*DELEGATES, "chair", "secretariat")),
        place=st.sampled_from(PLACES),
        width=st.integers(1, 5),
        insert=st.sampled_from(("", "new ", "🌍")),
        near=st.booleans(),
    )
    def edit(self, data: st.DataObject, who: str, place: str, width: int, insert: str, near: bool) -> None:
        amendments = self.table.live()["amendments"]
        anchored = [(am["paragraph"], a) for a, am in amendments.items() if am["state"] == "proposed"]
        if near and anchored:
            paragraph, anchor = data.draw(st.sampled_from(anchored))
        else:
            paragraph, anchor = data.draw(st.sampled_from(self.paragraphs())), None
        self.table.edit(who, paragraph, place, width, insert, anchor)

    @rule(data=st.data(), who=st.sampled_from(("switzerland", "chair", "secretariat")), insert=st.booleans())
    def structure(self, data: st.DataObject, who: str, insert: bool) -> None:
        silences = self.table.live()["silences"]
        if insert:
            self.made += 1
            index = data.draw(st.integers(0, len(self.paragraphs())))
            changed = self.table.insert_paragraph(who, index, f"n{self.made}")
            untouched = set(silences)
        elif len(self.paragraphs()) > 2:
            paragraph = data.draw(st.sampled_from(self.paragraphs()))
            changed = self.table.delete_paragraph(who, paragraph)
            live = self.table.live()["amendments"]
            untouched = {t for t in silences if live.get(t, {}).get("paragraph", t) != paragraph}
        else:
            return
        if changed and "structure" not in PENDING:
            after = self.table.settle()["deliberation"]["silences"]
            for target in untouched:
                assert after[target].get("restarts") == silences[target].get("restarts"), (
                    f"a paragraph added or removed elsewhere restarted the silence on {target}"
                )

    @rule()
    def break_silence(self) -> None:
        """Some delegation can always break a running silence (and one does, here)."""
        running = [t for t, s in self.table.live()["silences"].items() if s["state"] == "running"]
        if running:
            self._break(running[0])

    def _break(self, target: str) -> None:
        for who in DELEGATES:
            outcome = self.table.command(who, "PUT", f"/positions/{target}", {"stance": "objection"})
            if outcome.ok and self.table.live()["silences"][target]["state"] == "broken":
                return
        assert "silence" in PENDING, f"nobody could break the silence on {target}"

    @invariant()
    def server_holds(self) -> None:
        check_server(self.table, exports=False)

    def teardown(self) -> None:
        try:
            check_server(self.table, exports=True)
            for target, silence in self.table.live()["silences"].items():
                if silence["state"] == "running":
                    self._break(target)
        finally:
            self.table.close()


def iso_in(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def event_loop_thread() -> Iterator[Callable[[Any], Any]]:
    """An event loop in its own thread: the machine's steps are synchronous, the clients are not."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)

    yield run
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)


# About 15 s of CPU (this process and the server's); the 2-core machine shared with the rest of the suite
# can stretch that past the default two minutes.
@pytest.mark.timeout(400)
def test_procedure_against_the_server(
    server: Any, tokens: Any, event_loop_thread: Callable[[Any], Any]
) -> None:
    everyone = {
        who: tokens(
            str(p.role_for(DRAFT)), user=p.id, name=p.name, delegation=p.delegation, group=str(p.group or "")
        )
        for who, p in PEOPLE.items()
    }
    ServerMachine.context.update(
        http=server.http, ws=server.ws, tokens=everyone, run=event_loop_thread, drafts=0
    )
    run_state_machine_as_test(
        ServerMachine,
        settings=settings(
            max_examples=SERVER_EXAMPLES,
            stateful_step_count=SERVER_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=NO_EXPLAIN,
        ),
    )


# The invariants can fail: each catches the defect it is there for.


def test_the_adoption_check_catches_issue_14s_garbled_text() -> None:
    """Defect 1 of issue 14 as it was: "press ahead" replaced at its old offsets after a delegate retyped it."""
    sentence = "Member States should press ahead with dialogues."
    retyped = "Member States should move on with dialogues."
    record = {"kind": "substitution", "state": "adopted"}
    garbled = Adoption(
        "am-1",
        "p3",
        {"p3": retyped},
        {"p3": "Member States should proceed swiftlyh dialogues."},
        (21, 32),
        None,
        "proceed swiftly",
        record,
    )
    with pytest.raises(AssertionError, match="nothing of its anchored span"):
        check_adoption(garbled)
    elsewhere = Adoption(
        "am-1",
        "p3",
        {"p3": sentence, "p4": "x"},
        {"p3": "Member States should proceed swiftly with dialogues.", "p4": ""},
        (21, 32),
        (21, 32),
        "proceed swiftly",
        record,
    )
    with pytest.raises(AssertionError, match="other paragraphs"):
        check_adoption(elsewhere)
    smuggled = Adoption(
        "am-1",
        "p3",
        {"p3": sentence},
        {"p3": "Member States should  with dialogues."},
        (21, 32),
        (21, 32),
        "SMUGGLED TEXT",
        {"kind": "deletion", "state": "adopted"},
    )
    with pytest.raises(AssertionError, match="a deletion adopted"):
        check_adoption(smuggled)
    check_adoption(
        Adoption(
            "am-1",
            "p3",
            {"p3": sentence},
            {"p3": "Member States should proceed swiftly with dialogues."},
            (21, 32),
            (21, 32),
            "proceed swiftly",
            record,
        )
    )


def test_the_fold_check_catches_state_the_log_does_not_hold() -> None:
    table = PureTable()
    check_refold(table)
    table.state.locked = True  # a change that no logged command made
    with pytest.raises(AssertionError, match="folded from the log differs"):
        check_refold(table)


def test_the_silence_check_catches_a_silence_nobody_can_break(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 14's defect 3 in its general form: a running silence that no delegation's objection breaks."""
    table = PureTable()
    table.command(
        "chair", {"type": "period.open", "paragraphs": ["p3"], "deadline_us": table.now_us + 5 * SECOND}
    )
    table.wait(10)
    table.command(
        "chair", {"type": "silence.start", "target": "p3", "deadline_us": table.now_us + 60 * SECOND}
    )
    check_silences_breakable(table)  # the comment period closed, and an objection still breaks it
    monkeypatch.setattr(procedure_harness, "DELEGATES", ())  # nobody left who could object
    with pytest.raises(AssertionError, match="nobody can break the silence on p3"):
        check_silences_breakable(table)
