"""Locating an update's paragraphs without applying it (crdt/wire/structure.py, crdt/procedure/protection.py),
and the rules that judge the result: checked against what applying the update really changes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from crdt.procedure.commands import Actor
from crdt.procedure.deliberation import Deliberation
from crdt.procedure.draft import Paragraph, ParagraphKind, read_paragraphs, write_paragraphs
from crdt.procedure.protection import Editor, TextChanges, edit_refusal, locate, may_edit
from crdt.procedure.writes import PartIndex
from crdt.wire.replica import decode_state_vector
from crdt.wire.updates import decode_update

CHAIR = Actor("chair", "Chair", "Bureau", "", "chair")
DELEGATE = Editor("ch", "delegate", "Switzerland", "government")
NOW = 1_000_000


def draft(*texts: str) -> Doc:
    doc = Doc()
    write_paragraphs(doc, [Paragraph(f"p{i}", ParagraphKind.OPERATIVE, t) for i, t in enumerate(texts, 1)])
    return doc


def replica_of(doc: Doc) -> Doc:
    copy = Doc()
    copy.apply_update(doc.get_update())
    return copy


def edit(doc: Doc, change) -> bytes:
    """The update ``change`` makes on a client's copy of ``doc`` (not applied to ``doc``)."""
    client = replica_of(doc)
    before = client.get_state()
    change(client)
    return client.get_update(before)


def changes_of(doc: Doc, update: bytes, index: PartIndex | None = None) -> TextChanges:
    """What the server's guard sees: the update decoded without values, against the document's index,
    state and delete set (the deletions it already has change nothing)."""
    index = index or PartIndex.of_state(doc.get_update())
    decoded = decode_update(update, values=False)
    state = decode_state_vector(doc.get_state())
    deleted = decode_update(doc.get_update(), values=False).delete_set
    writes = index.classify(decoded, state, deleted)
    return locate(index, writes, decoded, update, lambda: {p.id for p in read_paragraphs(doc)})


def text_of(doc: Doc, i: int) -> Text:
    return doc.get("paragraphs", type=Array)[i]["text"]


def test_typing_into_a_paragraph_is_found_through_its_origin():
    doc = draft("Alpha beta.", "Gamma delta.")
    update = edit(doc, lambda d: text_of(d, 1).insert(5, " and"))
    assert changes_of(doc, update) == TextChanges(words=frozenset({"p2"}))
    # At the very start (no left origin: the right origin or the parent says where).
    update = edit(doc, lambda d: text_of(d, 0).insert(0, "New "))
    assert changes_of(doc, update).words == {"p1"}


def test_a_deletion_is_found_through_the_items_it_hits():
    doc = draft("Alpha beta.", "Gamma delta.")
    update = edit(doc, lambda d: text_of(d, 0).__delitem__(slice(0, 6)))
    assert changes_of(doc, update) == TextChanges(words=frozenset({"p1"}))


def test_paragraphs_added_removed_renamed_or_duplicated():
    doc = draft("Alpha.", "Beta.")
    added = edit(
        doc,
        lambda d: d.get("paragraphs", type=Array).append(
            Map({"id": "p9", "kind": "operative", "text": Text("New")})
        ),
    )
    assert changes_of(doc, added) == TextChanges(created=("p9",))
    removed = edit(doc, lambda d: d.get("paragraphs", type=Array).pop(1))
    assert changes_of(doc, removed) == TextChanges(deleted=frozenset({"p2"}))

    def rename(d: Doc) -> None:
        d.get("paragraphs", type=Array)[0]["id"] = "p7"

    assert changes_of(doc, edit(doc, rename)).renamed == {"p1"}
    duplicate = edit(
        doc,
        lambda d: d.get("paragraphs", type=Array).append(
            Map({"id": "p1", "kind": "operative", "text": Text("X")})
        ),
    )
    assert changes_of(doc, duplicate).duplicates == ("p1",)


def test_a_step_2_with_known_deletions_changes_nothing():
    doc = draft("Alpha beta gamma.")
    client = replica_of(doc)
    text_of(client, 0).__delitem__(slice(0, 6))
    doc.apply_update(client.get_update(doc.get_state()))
    # The client's full state (as in its step 2) carries the deletion again: nothing new.
    update = client.get_update()
    assert changes_of(doc, update) == TextChanges()


def test_the_index_follows_the_updates_it_is_fed():
    doc = draft("Alpha.", "Beta.")
    index = PartIndex.of_state(doc.get_update())
    for _ in range(3):
        update = edit(doc, lambda d: text_of(d, 1).insert(0, "x"))
        assert changes_of(doc, update, index).words == {"p2"}
        doc.apply_update(update)
        index.feed(decode_update(update), classify=False)
    added = edit(
        doc,
        lambda d: d.get("paragraphs", type=Array).append(
            Map({"id": "p3", "kind": "operative", "text": Text("C")})
        ),
    )
    doc.apply_update(added)
    index.feed(decode_update(added), classify=False)
    update = edit(doc, lambda d: text_of(d, 2).insert(1, "!"))
    assert changes_of(doc, update, index).words == {"p3"}


def state(**statuses: str) -> Deliberation:
    deliberation = Deliberation()
    for pid, status in statuses.items():
        deliberation.apply({"type": "paragraph.status", "paragraph": pid, "status": status}, CHAIR, 0, "t")
    return deliberation


def test_agreed_text_is_refused_naming_the_paragraph_and_its_status():
    deliberation = state(p2="agreed", p3="agreed_ad_ref")
    assert edit_refusal(deliberation, DELEGATE, TextChanges(words=frozenset({"p1"})), NOW) is None
    why = edit_refusal(deliberation, DELEGATE, TextChanges(words=frozenset({"p2"})), NOW)
    assert why is not None and "p2" in why and "agreed" in why
    why = edit_refusal(deliberation, CHAIR_EDITOR, TextChanges(deleted=frozenset({"p3"})), NOW)
    assert why is not None and "ad referendum" in why


CHAIR_EDITOR = Editor("chair", "chair", "Bureau", "")


def test_editing_modes_and_pen_holders():
    deliberation = Deliberation()
    deliberation.apply({"type": "editing.mode", "mode": "pen_holder", "pen_holders": ["fac"]}, CHAIR, 0, "t")
    facilitator = Editor("fac", "delegate", "Kenya", "government")
    secretariat = Editor("sec", "secretariat")
    assert may_edit(deliberation, facilitator, "p1", NOW) is None
    assert may_edit(deliberation, secretariat, "p1", NOW) is None
    assert "pen-holders" in (may_edit(deliberation, DELEGATE, "p1", NOW) or "")
    assert "pen-holders" in (may_edit(deliberation, CHAIR_EDITOR, "p1", NOW) or "")
    # One paragraph opened for drafting, another for amendments only.
    deliberation.apply({"type": "editing.mode", "paragraph": "p2", "mode": "open"}, CHAIR, 0, "t")
    deliberation.apply({"type": "editing.mode", "paragraph": "p3", "mode": "amendments_only"}, CHAIR, 0, "t")
    assert may_edit(deliberation, DELEGATE, "p2", NOW) is None
    assert "amendments only" in (may_edit(deliberation, facilitator, "p3", NOW) or "")
    # New paragraphs follow the draft's mode.
    assert edit_refusal(deliberation, DELEGATE, TextChanges(created=("p9",)), NOW) is not None
    assert edit_refusal(deliberation, facilitator, TextChanges(created=("p9",)), NOW) is None


def test_a_closed_comment_period_closes_its_paragraphs_to_edits():
    deliberation = Deliberation()
    deliberation.apply(
        {"type": "period.open", "id": "cp-1", "paragraphs": ["p1"], "deadline_us": 2_000}, CHAIR, 1_000, "t"
    )
    assert may_edit(deliberation, DELEGATE, "p1", 1_500) is None
    assert "closed" in (may_edit(deliberation, DELEGATE, "p1", 2_500) or "")
    assert may_edit(deliberation, DELEGATE, "p2", 2_500) is None


@st.composite
def client_edits(draw):
    """A few edits a client makes to a three-paragraph draft: typing, deleting, adding, removing."""
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["insert", "delete", "append", "remove", "format"]),
                st.integers(0, 10),
                st.integers(0, 20),
                st.text("aé😀 ", min_size=1, max_size=4),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return steps


def _apply_steps(doc: Doc, steps, touched: set[str] | None = None, prefix: str = "n") -> None:
    """Apply ``steps``; ``touched`` collects the ids of the paragraphs whose text a step edits."""
    touched = set() if touched is None else touched
    array = doc.get("paragraphs", type=Array)
    for number, (kind, which, at, chars) in enumerate(steps):
        if kind == "append":
            # Unique ids: the server refuses a second paragraph of an id (tested apart).
            array.append(Map({"id": f"{prefix}{number}", "kind": "operative", "text": Text(chars)}))
            continue
        if not len(array):
            continue
        i = which % len(array)
        if kind == "remove":
            array.pop(i)
            continue
        text = array[i]["text"]
        touched.add(array[i]["id"])
        content = str(text)
        offset = len(content[: at % (len(content) + 1)].encode())
        if kind == "insert":
            text.insert(offset, chars)
        elif kind == "delete" and content:
            end = len(content[: min(len(content), at % (len(content) + 1) + 2)].encode())
            if end > offset:
                del text[offset:end]
        elif kind == "format" and content:
            text.format(0, len(content.encode()), {"anchor:x": True})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=client_edits(), steps=client_edits(), stale=st.booleans())
def test_located_paragraphs_are_the_ones_applying_changes(history, steps, stale):
    """Property (150 examples): after any history of edits already integrated, the paragraphs located in
    a new update (from an up-to-date client, or a concurrent one that has not seen the history) are
    exactly those whose text, or presence, applying it changes."""
    doc = draft("Alpha beta gamma.", "Delta 🌍 epsilon.", "Zeta eta.")
    concurrent = replica_of(doc)
    index = PartIndex.of_state(doc.get_update())
    past = edit(doc, lambda d: _apply_steps(d, history, prefix="h"))
    doc.apply_update(past)
    index.feed(decode_update(past), classify=False)
    edited: set[str] = set()
    update = edit(concurrent if stale else doc, lambda d: _apply_steps(d, steps, edited))
    changes = changes_of(doc, update, index)
    before = {p.id: p.text for p in read_paragraphs(doc)}
    doc.apply_update(update)
    after = {p.id: p.text for p in read_paragraphs(doc)}
    changed_text = {pid for pid in before.keys() & after.keys() if before[pid] != after[pid]}
    changed_text -= set(changes.duplicates)  # two paragraphs of one id: refused anyway
    assert changed_text <= changes.words | changes.deleted
    # A paragraph removed and made again under its id (a move) is both deleted and created.
    assert set(changes.created) - set(changes.duplicates) - changes.deleted == after.keys() - before.keys()
    assert set(changes.duplicates) <= before.keys()
    assert changes.deleted - set(changes.created) == before.keys() - after.keys()
    # Nothing is located that the client did not edit (an edit may leave the same text: it still counts).
    assert changes.words <= edited


def test_regression_a_paragraph_added_by_an_update_that_also_removed_text_can_be_removed():
    """Found by the property above: an update typed into a paragraph, added another and removed the
    first; its typed character came as a garbage-collected range *before* the new paragraph's items, and
    the index dropped that range, then stopped reading the later deletion there: removing the added
    paragraph went unseen (so removing an agreed paragraph could have too)."""
    doc = draft("Alpha.", "Beta.", "Gamma.")
    index = PartIndex.of_state(doc.get_update())

    def history(d: Doc) -> None:
        array = d.get("paragraphs", type=Array)
        text_of(d, 0).insert(0, "a")
        array.append(Map({"id": "p9", "kind": "operative", "text": Text("New")}))
        array.pop(0)

    past = edit(doc, history)
    doc.apply_update(past)
    index.feed(decode_update(past), classify=False)
    update = edit(doc, lambda d: d.get("paragraphs", type=Array).pop(2))
    assert changes_of(doc, update, index) == TextChanges(deleted=frozenset({"p9"}))
