// Concurrent edits on anchored text by real Yjs replicas, for tests/test_anchors.py.
//
// Reads one JSON object (a scenario) or an array of them from stdin:
//   {
//     "state": hex,                 // the document every replica starts from (a Yjs v1 update)
//     "paragraph": "p1",            // id of the paragraph whose Y.Text the edits address
//     "replicas": [{"client_id": 101, "edits": [edit, ...]}, ...],
//     "extra_updates": [hex, ...]   // concurrent updates from elsewhere (pycrdt), merged after the edits
//   }
// An edit is {"op": "insert", "index", "text", "attributes"?} | {"op": "delete", "index", "length"}
//           | {"op": "format", "index", "length", "attributes"} (offsets in UTF-16 units, as Yjs counts).
// In each scenario, every replica applies its own edits without seeing the others' (each edit in its own transaction), then
// all replicas exchange their updates (and receive extra_updates). Prints:
// for each scenario (an array for an array):
//   {
//     "replicas": [{"update": hex of its own edits, "state": hex of its final state, "pending": bool,
//                   "local": view after its own edits, "merged": view after the exchange}, ...],
//     "converged": bool                // every merged view is the same
//   }
// where view = {"text", "delta": text.toDelta(), "anchors": {id: {start, end, text, fragmented, pieces, point}}};
// anchors are read from the delta the way any Yjs client would (JS string lengths are UTF-16 units).

import * as Y from 'yjs'

// Yjs logs warnings with console.log: keep stdout for the result.
console.log = console.error

const fromHex = (hex) => new Uint8Array(Buffer.from(hex, 'hex'))
const toHex = (u8) => Buffer.from(u8).toString('hex')

const findText = (doc, id) => {
  for (const p of doc.getArray('paragraphs').toArray()) {
    if (p instanceof Y.Map && p.get('id') === id) return p.get('text')
  }
  throw new Error(`no paragraph ${id}`)
}

// The anchor id rule of crdt/procedure/anchors.py.
const ANCHOR_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

const anchorsOf = (delta) => {
  const found = {}
  let pos = 0
  const chunks = []
  for (const op of delta) {
    const s = typeof op.insert === 'string' ? op.insert : '\ufffc'
    const start = pos
    pos += s.length
    chunks.push(s)
    for (const [key, value] of Object.entries(op.attributes || {})) {
      if (!key.startsWith('anchor:')) continue
      if (value !== true && value !== 'after' && value !== 'before') continue
      const id = key.slice('anchor:'.length)
      if (!ANCHOR_ID.test(id)) continue
      const a = found[id]
      if (!a) {
        found[id] = { first: chunks.length - 1, last: chunks.length - 1, start, end: pos, pieces: [[start, pos]], point: value === true ? null : value }
      } else {
        const lastPiece = a.pieces[a.pieces.length - 1]
        if (lastPiece[1] === start) lastPiece[1] = pos
        else a.pieces.push([start, pos])
        a.last = chunks.length - 1
        a.end = pos
      }
    }
  }
  const out = {}
  for (const [id, a] of Object.entries(found)) {
    out[id] = {
      start: a.start,
      end: a.end,
      text: chunks.slice(a.first, a.last + 1).join(''),
      fragmented: a.pieces.length > 1,
      pieces: a.pieces,
      point: a.point
    }
  }
  return out
}

const view = (text) => {
  const delta = text.toDelta()
  return { text: text.toString(), delta, anchors: anchorsOf(delta) }
}

const run = (input) => {
  const state = fromHex(input.state)
  const replicas = input.replicas.map((spec) => {
    const doc = new Y.Doc()
    if (spec.client_id != null) doc.clientID = spec.client_id
    Y.applyUpdate(doc, state)
    const before = Y.encodeStateVector(doc)
    const text = findText(doc, input.paragraph)
    for (const edit of spec.edits) {
      if (edit.op === 'insert') {
        if (edit.attributes === undefined) text.insert(edit.index, edit.text)
        else text.insert(edit.index, edit.text, edit.attributes)
      } else if (edit.op === 'delete') text.delete(edit.index, edit.length)
      else if (edit.op === 'format') text.format(edit.index, edit.length, edit.attributes)
      else throw new Error(`unknown op ${edit.op}`)
    }
    return { doc, text, update: Y.encodeStateAsUpdate(doc, before), local: view(text) }
  })

  for (const r of replicas) {
    for (const other of replicas) if (other !== r) Y.applyUpdate(r.doc, other.update)
    for (const hex of input.extra_updates || []) Y.applyUpdate(r.doc, fromHex(hex))
  }
  // Integrating concurrent formatting can make a replica write more (Yjs deletes redundant format markers):
  // keep exchanging full states until every replica has everything.
  const svKey = (doc) => toHex(Y.encodeStateVector(doc))
  for (let round = 0; round < 5 && new Set(replicas.map((r) => svKey(r.doc))).size > 1; round++) {
    const states = replicas.map((r) => Y.encodeStateAsUpdate(r.doc))
    for (const r of replicas) for (const s of states) Y.applyUpdate(r.doc, s)
  }

  const out = replicas.map((r) => ({
    update: toHex(r.update),
    state: toHex(Y.encodeStateAsUpdate(r.doc)),
    pending: r.doc.store.pendingStructs !== null,
    local: r.local,
    merged: view(r.text)
  }))
  const first = JSON.stringify(out[0]?.merged)
  return { replicas: out, converged: out.every((r) => JSON.stringify(r.merged) === first) }
}

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
process.stdout.write(JSON.stringify(Array.isArray(input) ? input.map(run) : run(input)))
