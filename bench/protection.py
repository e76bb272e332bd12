"""What the text guard costs per keystroke: a client update located (crdt/procedure/writes.py) and judged
(crdt/procedure/protection.py) on a 500-paragraph draft with one agreed paragraph.

Run: .venv/bin/python bench/protection.py
"""

import time

from pycrdt import Array, Doc

from crdt.procedure.commands import Actor
from crdt.procedure.deliberation import Deliberation
from crdt.procedure.draft import Paragraph, read_paragraphs, write_paragraphs
from crdt.procedure.protection import Editor, edit_refusal, locate, protections_apply
from crdt.procedure.writes import PartIndex
from crdt.wire.replica import decode_state_vector
from crdt.wire.updates import decode_update

doc = Doc()
write_paragraphs(
    doc,
    [
        Paragraph(f"p{i}", "operative", "Implementation must be carried out at the national level. " * 3)
        for i in range(500)
    ],
)
state = Deliberation()
chair = Actor("chair", "Chair", "Bureau", "", "chair")
state.apply({"type": "paragraph.status", "paragraph": "p7", "status": "agreed"}, chair, 0, "t")
index = PartIndex.of_state(doc.get_update())
client = Doc()
client.apply_update(doc.get_update())
editor = Editor("ch", "delegate", "Switzerland", "government")
n = 2000
total = 0.0
text = client.get("paragraphs", type=Array)[300]["text"]
for i in range(n):
    before = client.get_state()
    text.insert(i % 50, "x")
    upd = client.get_update(before)
    t0 = time.perf_counter()
    dec = decode_update(upd, values=False)
    if protections_apply(state, editor, 0):
        w = index.classify(dec, decode_state_vector(doc.get_state()))
        r = edit_refusal(
            state, editor, locate(index, w, dec, upd, lambda: {p.id for p in read_paragraphs(doc)}), 0
        )
    total += time.perf_counter() - t0
    doc.apply_update(upd)
    index.feed(decode_update(upd), classify=False)
print(f"guard per keystroke (500 paragraphs, one agreed): {total / n * 1e6:.0f} µs")
