"""Deliberation commands: permission, validation, the log, then the published state.

A command takes the road an update takes (../shared/docs/architecture.md):
permission → validation (``crdt.procedure.deliberation``) → appended to the draft's log
(kind ``cmd.<type>``, in the same hash chain as the text) → folded into the
state → published, once durable, into the read-only ``{draft}/deliberation``
document that every client syncs like any other room.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from pycrdt import Array, Doc, Map

from crdt.offsets import utf16_to_utf8
from crdt.procedure import conference
from crdt.procedure.anchors import anchor_key, place_anchor, place_point, remove_anchor, resolve_all
from crdt.procedure.commands import Actor, CommandRefused, refuse
from crdt.procedure.deliberation import Deliberation, fold_entry, snapshot
from crdt.procedure.documents import is_proposal
from crdt.procedure.draft import find_text, read_paragraphs
from crdt.procedure.numbering import numbering, stamp_reference
from crdt.procedure.roll import ROLL_COMMANDS
from crdt.times import iso_seconds
from server.identity import Action, Participant
from server.procedure import meetings
from server.procedure.protection import TextGuard
from server.procedure.roll import reseat
from server.storage.database import now_us

if TYPE_CHECKING:
    from server.broker import Broker
    from server.storage.database import Database
    from server.sync.rooms import Room, Rooms

log = logging.getLogger("plenary.deliberation")

COMMAND_PREFIX = "cmd."
#: Marks a change to the list of paragraphs itself (not to one paragraph's text): never an index.
STRUCTURE = -1
SYSTEM = Actor("plenary", "Plenary (server)", "", "", "system")
#: With several processes, how often each lists the drafts (to watch the deadlines of new ones).
DRAFTS_LISTED_SECONDS = 5.0

#: Which permission each command needs. Commands not listed are the server's own.
REQUIRED: Mapping[str, Action] = {
    "annotation.create": Action.ANNOTATE,
    "annotation.resolve": Action.ANNOTATE,
    "annotation.reopen": Action.ANNOTATE,
    "amendment.propose": Action.PROPOSE_AMENDMENT,
    "amendment.withdraw": Action.PROPOSE_AMENDMENT,
    "amendment.cosponsor": Action.PROPOSE_AMENDMENT,
    "position.state": Action.STATE_POSITION,
    "explanation.give": Action.STATE_POSITION,
    "amendment.adopt": Action.DECIDE_AMENDMENT,
    "amendment.reject": Action.DECIDE_AMENDMENT,
    "paragraph.status": Action.MANAGE_PROCESS,
    "text.lock": Action.MANAGE_PROCESS,
    "text.unlock": Action.MANAGE_PROCESS,
    "period.open": Action.MANAGE_PROCESS,
    "period.extend": Action.MANAGE_PROCESS,
    "period.close": Action.MANAGE_PROCESS,
    "silence.start": Action.MANAGE_PROCESS,
    "rule.set": Action.MANAGE_PROCESS,
    "numbering.freeze": Action.MANAGE_PROCESS,
    "numbering.unfreeze": Action.MANAGE_PROCESS,
    **{kind: Action.MANAGE_PARTICIPANTS for kind in ROLL_COMMANDS if kind.startswith("roll.")},
    "profile.set": Action.SET_PROCEDURE,
    "editing.mode": Action.SET_PROCEDURE,
    "paragraph.reopen": Action.SET_PROCEDURE,
    "revision.issue": Action.MANAGE_PROCESS,
    "languages.set": Action.MANAGE_PROCESS,
    "translation.confirm": Action.TRANSLATE,
    # Who may (the sponsor, a translator, the secretariat) is the rule's to say: see languages.py.
    "amendment.translate": Action.READ,
    **meetings.REQUIRED,
}

DELIBERATION_MAPS = (
    "process",
    "statuses",
    "annotations",
    "amendments",
    "positions",
    "periods",
    "silences",
    "indicators",
    "roll",
    "views",
    "revisions",
    "languages",
    "explanations",
    "skipped",
    *conference.MAPS,
)


def actor_of(participant: Participant, draft: str) -> Actor:
    return Actor(
        participant.id,
        participant.name,
        participant.delegation,
        str(participant.group or ""),
        str(participant.role_for(draft)),
    )


class DraftDeliberation:
    def __init__(self, draft: str, state: Deliberation, seq: int) -> None:
        self.draft = draft
        self.state = state
        #: The state holds every command of the draft's log up to this entry.
        self.seq = seq
        #: Commands executed here (already in the state) that ``seq`` has not reached yet.
        self.executed_here: set[int] = set()
        self.lock = asyncio.Lock()
        self.published: dict[str, dict[str, Any]] = {}
        #: Comment periods whose expiry has been published.
        self.expired_published: set[str] = set()
        #: Silence procedures whose conclusion failed (logged once, not retried every second).
        self.failed_conclusions: set[str] = set()


class Deliberations:
    """The deliberation state of every draft this process has touched."""

    def __init__(self, database: Database, rooms: Rooms, broker: Broker) -> None:
        self.database = database
        self.rooms = rooms
        self.broker = broker
        self._drafts: dict[str, DraftDeliberation] = {}
        self._loading: dict[str, asyncio.Future[DraftDeliberation]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._loads: set[asyncio.Task[Any]] = set()
        self._wake = asyncio.Event()
        self._drafts_listed = 0.0

    # Loading: a fold of the draft's log.

    async def get(self, draft: str) -> DraftDeliberation:
        found = self._drafts.get(draft)
        if found is not None:
            return found
        pending = self._loading.get(draft)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[DraftDeliberation] = asyncio.get_running_loop().create_future()
        self._loading[draft] = future
        try:
            head = (await self.database.head(draft)).seq
            found = DraftDeliberation(draft, Deliberation(), 0)
            await self._fold(found, head)
            self._drafts[draft] = found
            future.set_result(found)
            self._wake.set()
            return found
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()
            raise
        finally:
            del self._loading[draft]

    def loaded(self, draft: str) -> DraftDeliberation | None:
        """A draft's state if this process holds it already (no database read)."""
        return self._drafts.get(draft)

    async def current(self, draft: str) -> DraftDeliberation:
        """A draft's deliberation state with every command in the log, for reading."""
        deliberation = await self.get(draft)
        if self.broker.shared:
            async with deliberation.lock:
                await self.refresh(deliberation)
        return deliberation

    async def _fold(self, deliberation: DraftDeliberation, upto: int) -> None:
        """Fold the draft's logged commands after ``deliberation.seq`` up to entry ``upto``."""
        draft, state = deliberation.draft, deliberation.state
        async for row in self.database.commands(draft, COMMAND_PREFIX, deliberation.seq, upto):
            # Entries relayed while this query ran were folded already (take_entry moved seq on).
            if (
                row.seq <= deliberation.seq
                or row.seq in deliberation.executed_here
                or (draft, row.seq) in self.database.inflight  # ours; its callback takes it
            ):
                continue
            deliberation.seq = row.seq
            skipped = fold_entry(state, row.seq, row.payload, row.time_us)
            if skipped is not None:  # the log is the truth: keep going, but say so
                log.error("draft %r: entry %d skipped: %s", draft, row.seq, skipped["reason"])
        deliberation.seq = max(deliberation.seq, upto)
        # In place: a command's on_logged callback holds this very set.
        deliberation.executed_here.difference_update(
            [seq for seq in deliberation.executed_here if seq <= deliberation.seq]
        )
        room = self.rooms.get(draft)
        if room is not None:
            room.locked = state.locked

    def take_entry(self, room: Room, seq: int, kind: str, payload: bytes, time_us: int, local: bool) -> None:
        """Every entry a draft's room takes, in log order: fold the commands other processes logged."""
        deliberation = self._drafts.get(room.name)
        if deliberation is None or seq <= deliberation.seq:
            return
        is_command = kind.startswith(COMMAND_PREFIX)
        if local and is_command:
            deliberation.executed_here.add(seq)
        if seq != deliberation.seq + 1:
            return  # it missed entries (the room was not loaded here): refreshed from the log before use
        deliberation.seq = seq
        deliberation.executed_here.discard(seq)
        if is_command and not local:
            skipped = fold_entry(deliberation.state, seq, payload, time_us)
            if skipped is not None:
                log.error("draft %r: relayed entry %d skipped: %s", room.name, seq, skipped["reason"])
            room.locked = deliberation.state.locked
            if kind.startswith(COMMAND_PREFIX + "roll."):
                reseat(self.rooms, room.name, deliberation.state.roll)

    async def refresh(self, deliberation: DraftDeliberation) -> None:
        """Take the commands other processes logged since this one last looked."""
        head = (await self.database.head(deliberation.draft)).seq
        if head > deliberation.seq:
            await self._fold(deliberation, head)

    @contextlib.asynccontextmanager
    async def exclusive(self, deliberation: DraftDeliberation) -> AsyncIterator[None]:
        """Run a command alone: in this process, and, when processes share the
        database, across all of them (the draft's lock), on state caught up with the log."""
        async with deliberation.lock:
            if not self.broker.shared:
                yield
                return
            async with self.database.draft_lock(deliberation.draft):
                rooms = self.rooms
                # Fresh reads, started now that the lock is held: everything committed before is in.
                await rooms.catch_up(await rooms.open(deliberation.draft), fresh=True)
                await rooms.catch_up(await rooms.open(f"{deliberation.draft}/deliberation"), fresh=True)
                await self.refresh(deliberation)
                yield

    # Commands.

    async def execute(self, draft: str, command: dict[str, Any], participant: Participant) -> dict[str, Any]:
        kind = command.get("type")
        action = REQUIRED.get(kind) if isinstance(kind, str) else None
        if action is None:
            raise refuse(f"unknown command {kind!r}", 400)
        if not participant.may(action, draft):
            role = participant.role_for(draft)
            raise refuse(
                f"the {role} role may not {kind.replace('.', ': ')}" if role else "no access to this draft",
                403,
            )
        deliberation = await self.get(draft)
        try:
            async with self.exclusive(deliberation):
                return await self._run_guarded(deliberation, command, actor_of(participant, draft))
        except CommandRefused:
            raise
        except Exception as exc:
            # Taking the draft's lock or catching up with the log failed (another process
            # held it past the timeout, the database went away): nothing was logged.
            log.warning("draft %r: command %s not run: %s", draft, kind, exc)
            raise CommandRefused(503, "the draft is busy or the database unreachable; try again") from exc

    async def execute_on_behalf(self, draft: str, command: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """A command the server sends for someone who acted elsewhere (a Friends of the Chair's mandate
        on its working draft, given by the parent's chair): no permission check here, the caller did."""
        if command.get("type") not in meetings.ON_BEHALF:
            raise refuse(f"not a command sent on someone's behalf: {command.get('type')!r}", 400)
        deliberation = await self.get(draft)
        async with self.exclusive(deliberation):
            return await self._run_guarded(deliberation, command, actor)

    async def _run_guarded(
        self, deliberation: DraftDeliberation, command: dict[str, Any], actor: Actor
    ) -> dict[str, Any]:
        try:
            return await self._run(deliberation, command, actor)
        except CommandRefused:
            raise
        except Exception as exc:
            # The state may hold a command the log does not: forget it; the next
            # use folds the state from the log again.
            if self._drafts.get(deliberation.draft) is deliberation:
                del self._drafts[deliberation.draft]
            log.exception(
                "draft %r: command %s failed after validation", deliberation.draft, command.get("type")
            )
            raise CommandRefused(503, "the command could not be recorded; try again") from exc

    async def _run(
        self, deliberation: DraftDeliberation, command: dict[str, Any], actor: Actor
    ) -> dict[str, Any]:
        state = deliberation.state
        text_room = await self.rooms.open(deliberation.draft)
        await text_room.until_logged()
        doc = text_room.replica.doc
        now = now_us()
        command = self._prepare(state, doc, command, actor, now)
        text_edits = command.pop("_text_edits", None) or []
        if "_text_edit" in command:
            text_edits.append(command.pop("_text_edit"))
        # Nothing is logged if refused, and handlers validate before they change anything: the
        # property tests (tests/test_meetings_refusals.py, tests/test_procedure_properties.py) check
        # that any refused command leaves the state as it was. Folding the whole log again after
        # every refusal (as a safety net) cost time in proportion to the log under the draft's lock,
        # which any delegate could repeat at their command rate.
        result = state.apply(command, actor, now, iso_seconds(now))
        payload = json.dumps(
            {"command": command, "actor": actor.to_json()}, sort_keys=True, ensure_ascii=False
        )
        text_room.append(
            payload.encode(),
            kind=COMMAND_PREFIX + command["type"],
            connection="api",
            participant=actor.participant,
            role=actor.role,
            # In the state already: a refresh from the log must not fold it again.
            on_logged=deliberation.executed_here.add if self.broker.shared else None,
            # The time the command was judged at: folding the log applies it at the entry's time.
            time_us=now,
        )
        for edit, connection in text_edits:
            # The text changes a command makes (anchors placed, an adoption),
            # logged right after it and tied to it through the connection field.
            text_room.edit(edit, participant=actor.participant, role=actor.role, connection=connection)
        text_room.locked = state.locked
        await text_room.until_logged()
        await self.publish(deliberation)
        if command["type"].startswith("roll."):
            reseat(self.rooms, deliberation.draft, state.roll)
        self._wake.set()
        return result

    def _prepare(
        self, state: Deliberation, doc: Doc, command: dict[str, Any], actor: Actor, now: int
    ) -> dict[str, Any]:
        """Complete a command with what the server knows: ids, the original text, text edits."""
        kind = command["type"]
        command = dict(command)
        paragraphs = {p.id: p for p in read_paragraphs(doc)}

        def paragraph(pid: Any) -> Any:
            if not isinstance(pid, str) or pid not in paragraphs:
                raise refuse(f"no paragraph {pid!r} in this draft", 404)
            return paragraphs[pid]

        if kind in meetings.COMMANDS:
            return meetings.prepare(state, doc, command, actor, paragraph)
        if kind == "annotation.create":
            command["id"] = f"an-{len(state.annotations) + 1}"
            text = paragraph(command.get("paragraph")).text
            command["quote"] = _span_text(text, command.get("start"), command.get("end"))
            if command["quote"] is not None:
                command["anchor"] = anchor_key(command["id"])
                command["_text_edit"] = _placing(command)
        elif kind == "amendment.propose":
            command["id"] = f"am-{len(state.amendments) + 1}"
            text = paragraph(command.get("paragraph")).text
            command["original"] = _span_text(text, command.get("start"), command.get("end"), required=True)
            command["anchor"] = anchor_key(command["id"])
            command["_text_edit"] = _placing(command)
        elif kind == "period.open":
            command["id"] = f"cp-{len(state.periods) + 1}"
            for pid in command.get("paragraphs") or []:
                paragraph(pid)
        elif kind == "numbering.freeze":
            # Freezing again keeps the numbers already frozen.
            command["numbers"] = numbering(list(paragraphs.values()), state.numbering).frozen()
        elif kind in ("paragraph.status", "paragraph.reopen") or (
            kind == "editing.mode" and command.get("paragraph") is not None
        ):
            paragraph(command.get("paragraph"))
        elif kind in ("position.state", "silence.start", "explanation.give"):
            target = command.get("target")
            proposal = kind == "position.state" and is_proposal(state, target)
            # A silence on a paragraph since removed can still be broken.
            silenced = kind == "position.state" and isinstance(target, str) and target in state.silences
            if target not in state.amendments and not proposal and not silenced:
                paragraph(target)
        elif kind == "amendment.adopt":
            amendment = state.amendments.get(command.get("id", ""))
            if amendment is not None and amendment["state"] == "proposed":
                command.update(self._adoption(state, doc, amendment, command))
                objections = state.objections(amendment["id"])
                if objections and command.get("over_objection") is True:
                    command["over_objection_of"] = objections  # for the record's events
        elif kind == "silence.conclude":
            amendment = state.amendments.get(command["target"])
            if amendment is not None and amendment["state"] == "proposed":
                # Nobody objected: the server adopts it, the span as it stands now; with nothing of the span
                # left the silence concludes adopting nothing, and says why (never at stale offsets).
                try:
                    command.update(self._adoption(state, doc, amendment, {"confirm": True}))
                except CommandRefused as exc:
                    command["not_adopted"] = exc.detail
        return stamp_reference(command, list(paragraphs.values()), state.numbering)

    def _adoption(
        self, state: Deliberation, doc: Doc, amendment: dict[str, Any], command: dict[str, Any]
    ) -> dict[str, Any]:
        """The text edit that adopting ``amendment`` makes, and the amendments it supersedes.

        The span is found through the amendment's anchor (a formatting mark that
        followed every concurrent edit), not through the offsets recorded when it
        was proposed.
        """
        text = find_text(doc, amendment["paragraph"])
        if text is None:
            raise refuse("the amendment's paragraph no longer exists", 409)
        spans = resolve_all(text)
        span = spans.get(amendment["id"])
        current = str(text)
        if span is None:
            # Every character of the span was deleted: its old offsets now point at other words, and
            # replacing those would garble the text. Nothing to adopt, even with confirm.
            what = (
                "the insertion point"
                if amendment["kind"] == "insertion"
                else f"the span {amendment['original']!r}"
            )
            raise refuse(
                f"nothing is left of {what} that {amendment['id']} amends; "
                f"the paragraph now reads {current!r}: propose the amendment again",
                409,
            )
        if span.point is not None:
            where = (span.position or 0, span.position or 0)
            now_original = ""
        else:
            # The span as it stands now, wherever concurrent edits moved it (the anchor followed them).
            where = (span.start, span.end)
            now_original = span.text
        if now_original != amendment["original"] and not command.get("confirm"):
            raise CommandRefused(
                409,
                f"the span's text changed since the amendment was proposed (was {amendment['original']!r}, "
                f"now {now_original!r}); adopt with confirm=true to replace {now_original!r}",
            )
        replacement = command.get("modified_text")
        if replacement is None:
            replacement = "" if amendment["kind"] == "deletion" else amendment["text"]
        start8, end8 = utf16_to_utf8(current, where[0]), utf16_to_utf8(current, where[1])
        amendment_id = amendment["id"]

        def edit(_doc: Doc) -> None:
            remove_anchor(text, amendment_id)
            if end8 > start8:
                del text[start8:end8]
            if replacement:
                text.insert(start8, replacement)

        superseded = []
        for other in state.amendments.values():
            if other["id"] == amendment_id or other["state"] != "proposed":
                continue
            if other["paragraph"] != amendment["paragraph"]:
                continue
            theirs = spans.get(other["id"])
            if theirs is None:
                continue
            other_where = (
                (theirs.position, theirs.position) if theirs.point is not None else (theirs.start, theirs.end)
            )
            if _overlaps(other_where, where):  # type: ignore[arg-type]
                superseded.append(other["id"])
        return {
            "_text_edit": (edit, f"amendment/{amendment_id}"),
            "superseded": superseded,
            "span": list(where),
            "replaced": now_original,
        }

    # Publishing into the read-only deliberation document.

    async def publish(self, deliberation: DraftDeliberation) -> None:
        text_room = await self.rooms.open(deliberation.draft)
        paragraph_ids = [p.id for p in read_paragraphs(text_room.replica.doc)]
        current = _as_json(snapshot(deliberation.state, paragraph_ids))
        # With other processes publishing too, what was published is what the document holds.
        previous = {} if self.broker.shared else deliberation.published
        room = await self.rooms.open(f"{deliberation.draft}/deliberation")
        changes: list[tuple[str, str, Any]] = []
        for name in DELIBERATION_MAPS:
            now, before = current.get(name, {}), previous.get(name)
            if before is None:
                before = _read_map(room.replica.doc, name)
            for key, value in now.items():
                if before.get(key) != value:
                    changes.append((name, key, value))
            for key in before:
                if key not in now:
                    changes.append((name, key, None))
        if changes:

            def write(doc: Doc) -> None:
                for name, key, value in changes:
                    target = doc.get(name, type=Map)
                    if value is None:
                        del target[key]
                    else:
                        target[key] = value

            room.edit(write, participant="plenary", role="system", connection="deliberation")
            await room.until_logged()
        deliberation.published = current

    # Room hooks: lock, and text changes that reopen paragraphs or restart silence.

    def attach(self, room: Room) -> None:
        if "/" in room.name or "@" in room.name:
            return
        deliberation = self._drafts.get(room.name)
        if deliberation is not None:
            room.locked = deliberation.state.locked
        else:
            # Known before the first edit comes in: what is agreed, who holds the pen.
            task = asyncio.get_running_loop().create_task(self._load_for(room.name))
            self._loads.add(task)
            task.add_done_callback(self._loads.discard)
        name = room.name
        room.guard = TextGuard(lambda: found.state if (found := self._drafts.get(name)) else None)
        array = room.replica.doc.get("paragraphs", type=Array)

        def on_change(events: list[Any]) -> None:
            for event in events:
                path = event.path
                # Inserts and deletes in the original's words count; formatting (anchors) and the
                # translations (``[index, "translations", lang]``) do not change the paragraph.
                if path and isinstance(path[0], int) and _changes_original(path, event):
                    room.touched.add(path[0])
                elif not path:
                    # Paragraphs added, removed or moved: those it inserts (a move inserts) are touched,
                    # and STRUCTURE has the removed ones looked for; no other paragraph is.
                    room.touched.update(_inserted(event))
                    room.touched.add(STRUCTURE)

        room.subscriptions.append((array, array.observe_deep(on_change)))
        room.on_touched = self._touched

    def _touched(self, room: Room, indices: set[int]) -> None:
        deliberation = self._drafts.get(room.name)
        if deliberation is None:
            return
        state = deliberation.state
        array = room.replica.doc.get("paragraphs", type=Array)
        touched = []
        for index in indices:
            if 0 <= index < len(array):  # STRUCTURE is not an index (array[-1] is the last paragraph)
                element = array[index]
                if isinstance(element, Map) and isinstance(element.get("id"), str):
                    touched.append(element.get("id"))
        if STRUCTURE in indices:
            # A removed paragraph counts as touched (a silence on it restarts).
            present = {element.get("id") for element in array if isinstance(element, Map)}
            silenced = {state.paragraph_of(target) for target in state.silences}
            touched += [pid for pid in silenced if pid not in present]
        # Agreed text is protected (server/procedure/protection.py refuses edits to it before they are
        # applied); what still follows an edit here is the restart of a silence procedure on it.
        commands = []
        for pid in touched:
            for target, silence in state.silences.items():
                if silence["state"] == "running" and state.paragraph_of(target) == pid:
                    commands.append({"type": "silence.restart", "target": target})
        if commands:
            asyncio.get_running_loop().create_task(self._system(deliberation, commands))

    async def _system(self, deliberation: DraftDeliberation, commands: list[dict[str, Any]]) -> None:
        async with self.exclusive(deliberation):
            for command in commands:
                try:
                    await self._run_system(deliberation, command)
                except CommandRefused as exc:
                    log.info("system command %s not needed: %s", command["type"], exc.detail)

    async def _run_system(self, deliberation: DraftDeliberation, command: dict[str, Any]) -> None:
        if command["type"] == "silence.restart":
            silence = deliberation.state.silences.get(command["target"])
            if silence is not None:
                command["deadline"] = iso_seconds(now_us() + silence["duration_us"])
        await self._run_guarded(deliberation, command, SYSTEM)

    # Deadlines: silence procedures fire once, here, from the server's clock.

    def start(self) -> None:
        self._timer = asyncio.create_task(self._deadlines(), name="plenary-deadlines")

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    async def _load_for(self, draft: str) -> None:
        from server.procedure.drafts import get_draft

        try:
            if await get_draft(self.database, draft) is not None:
                await self.get(draft)
        except Exception as exc:
            log.warning("draft %r: loading its procedure for a room failed: %s", draft, exc)

    async def load_all(self) -> None:
        from server.procedure.drafts import list_drafts

        for draft in await list_drafts(self.database):
            await self.get(draft.id)

    async def _refresh_all(self) -> None:
        """With several processes, any of them may conclude a silence procedure or close
        a period: each one keeps every draft's state near the log (drafts created
        elsewhere included), and re-checks under the draft's lock before acting."""
        loop = asyncio.get_running_loop()
        try:
            if loop.time() - self._drafts_listed > DRAFTS_LISTED_SECONDS:
                self._drafts_listed = loop.time()
                await self.load_all()
            heads = await self.database.heads(list(self._drafts))
            for draft, head in heads.items():
                deliberation = self._drafts.get(draft)
                if deliberation is not None and head > deliberation.seq:
                    async with deliberation.lock:
                        await self.refresh(deliberation)
        except Exception as exc:
            log.warning("refreshing the deliberation states from the log failed: %s", exc)

    async def _deadlines(self) -> None:
        while True:
            if self.broker.shared:
                await self._refresh_all()
            next_due: int | None = None
            now = now_us()
            for deliberation in list(self._drafts.values()):
                for target, silence in list(deliberation.state.silences.items()):
                    if silence["state"] != "running":
                        continue
                    if silence["deadline_us"] <= now:
                        if target in deliberation.failed_conclusions:
                            continue
                        try:
                            async with self.exclusive(deliberation):
                                # Another process may have concluded it (the state is caught up here).
                                current = deliberation.state.silences.get(target)
                                if (
                                    current is not None
                                    and current["state"] == "running"
                                    and current["deadline_us"] <= now_us()
                                ):
                                    await self._run_system(
                                        deliberation, {"type": "silence.conclude", "target": target}
                                    )
                        except Exception:
                            deliberation.failed_conclusions.add(target)
                            log.exception("concluding the silence procedure on %s failed", target)
                    else:
                        next_due = (
                            silence["deadline_us"]
                            if next_due is None
                            else min(next_due, silence["deadline_us"])
                        )
                for period in deliberation.state.periods.values():
                    if not period["closed"] and period["deadline_us"] > now:
                        next_due = (
                            period["deadline_us"]
                            if next_due is None
                            else min(next_due, period["deadline_us"])
                        )
            wait = 1.0 if next_due is None else max(0.01, min(1.0, (next_due - now_us()) / 1e6))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            # A period whose deadline passed changes what is open: republish, once.
            moment = now_us()
            for deliberation in list(self._drafts.values()):
                expired = {
                    p["id"]
                    for p in deliberation.state.periods.values()
                    if p["deadline_us"] <= moment and not p["closed"]
                }
                if expired - deliberation.expired_published:
                    try:
                        async with self.exclusive(deliberation):
                            await self.publish(deliberation)
                        deliberation.expired_published |= expired
                    except Exception:
                        log.exception("republishing %r after a deadline failed", deliberation.draft)


def _inserted(event: Any) -> list[int]:
    """The indices of the paragraphs an array event inserted (after the event, as paths count)."""
    out: list[int] = []
    index = 0
    delta = getattr(event, "delta", None)
    for op in delta if isinstance(delta, list) else []:
        if not isinstance(op, dict):
            continue
        if "retain" in op:
            index += int(op["retain"])
        elif "insert" in op:
            count = len(op["insert"]) if isinstance(op["insert"], list) else 1
            out.extend(range(index, index + count))
            index += count
    return out


def _changes_original(path: list[Any], event: Any) -> bool:
    if len(path) == 1:  # the paragraph's map itself: only a new ``text`` is a new original
        keys = getattr(event, "keys", None)
        return not isinstance(keys, Mapping) or "text" in keys
    return path[1] == "text" and _changes_words(event)


def _changes_words(event: Any) -> bool:
    delta = getattr(event, "delta", None)
    if not isinstance(delta, list):
        return True
    return any("insert" in op or "delete" in op for op in delta if isinstance(op, dict))


def _placing(command: dict[str, Any]) -> tuple[Callable[[Doc], None], str]:
    """The text edit that anchors an annotation or amendment to its span."""
    paragraph, anchor_id, start, end = command["paragraph"], command["id"], command["start"], command["end"]

    def edit(doc: Doc) -> None:
        text = find_text(doc, paragraph)
        if text is None:
            return
        if start == end:
            place_point(text, anchor_id, start)
        else:
            place_anchor(text, anchor_id, start, end)

    return edit, f"anchor/{anchor_id}"


def _span_text(text: str, start: Any, end: Any, *, required: bool = False) -> str | None:
    """The text of [start, end) in UTF-16 code units, checked."""
    from crdt.offsets import OffsetError, utf16_span_to_codepoint

    if start is None and end is None and not required:
        return None
    if not isinstance(start, int) or not isinstance(end, int):
        raise refuse("start and end (UTF-16 code units) are required", 422)
    try:
        a, b = utf16_span_to_codepoint(text, start, end)
    except OffsetError as exc:
        raise refuse(f"bad span: {exc}", 422) from exc
    return text[a:b]


def _read_map(doc: Doc, name: str) -> dict[str, Any]:
    return {key: value for key, value in doc.get(name, type=Map).items()}


def _as_json(value: Any) -> Any:
    # Round-trip through JSON so that comparisons with what the Yjs maps hold
    # (floats for numbers) are like for like.
    return json.loads(json.dumps(value), parse_int=float)


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Spans compete when they share text, or are the same insertion point."""
    return a == b or (a[0] < b[1] and b[0] < a[1])
