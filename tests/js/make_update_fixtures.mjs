// Generates tests/fixtures/yjs_updates.json: Yjs v1 updates made by the real `yjs` package,
// each with the facts that Yjs' own decoder (Y.decodeUpdate) reads from it, so that
// tests/test_updates.py can check crdt/wire/updates.py without Node.
//
// Regenerate (from the repository root):
//     (cd tests/js && npm ci)            # once; installs yjs, lib0, ...
//     node tests/js/make_update_fixtures.mjs
// then commit tests/fixtures/yjs_updates.json. The output is deterministic: every Doc gets a
// fixed clientID.
//
// Values that JSON cannot carry are tagged: Uint8Array -> {"$bytes": hex},
// undefined -> {"$undefined": true}, BigInt -> {"$bigint": "digits"}.

import * as fs from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'

const here = path.dirname(fileURLToPath(import.meta.url))
const outFile = path.join(here, '..', 'fixtures', 'yjs_updates.json')

const toHex = (u8) => Buffer.from(u8).toString('hex')

const tag = (v) => {
  if (v === undefined) return { $undefined: true }
  if (v === null) return null
  if (typeof v === 'bigint') return { $bigint: v.toString() }
  if (v instanceof Uint8Array) return { $bytes: toHex(v) }
  if (Array.isArray(v)) return v.map(tag)
  if (typeof v === 'object') {
    const out = {}
    for (const [k, x] of Object.entries(v)) out[k] = tag(x)
    return out
  }
  return v
}

// Container nesting, as crdt/wire/updates.py defines it: scalar 0, [1] 1, {"a": [1]} 2.
const depth = (v) => {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return 0
  const children = Array.isArray(v) ? v : Object.values(v)
  return 1 + children.reduce((m, c) => Math.max(m, depth(c)), 0)
}

const CONTENT_KINDS = [null, 'deleted', 'json', 'binary', 'string', 'embed', 'format', 'type', 'any', 'doc']
const TYPE_NAMES = ['array', 'map', 'text', 'xml_element', 'xml_fragment', 'xml_hook', 'xml_text']

const idOrNull = (id) => (id ? [id.client, id.clock] : null)

// What Yjs itself decodes from `update`, in the shape of crdt.wire.updates.Update.
const facts = (update) => {
  const { structs, ds } = Y.decodeUpdate(update)
  const clients = []
  let nestingDepth = 0
  for (const s of structs) {
    let last = clients[clients.length - 1]
    if (!last || last.client !== s.id.client) {
      last = { client: s.id.client, clock: s.id.clock, end: s.id.clock, structs: [] }
      clients.push(last)
    }
    const out = { kind: 'item', clock: s.id.clock, length: s.length }
    if (s instanceof Y.GC) out.kind = 'gc'
    else if (s instanceof Y.Skip) out.kind = 'skip'
    else {
      out.origin = idOrNull(s.origin)
      out.right_origin = idOrNull(s.rightOrigin)
      out.parent_name = typeof s.parent === 'string' ? s.parent : null
      out.parent_id = s.parent && typeof s.parent !== 'string' ? [s.parent.client, s.parent.clock] : null
      out.parent_sub = s.parentSub
      const c = s.content
      out.content_kind = CONTENT_KINDS[c.getRef()]
      switch (out.content_kind) {
        case 'string': out.content = c.str; break
        case 'binary': out.content = tag(c.content); break
        case 'any':
        case 'json':
          out.content = tag(c.arr)
          nestingDepth = Math.max(nestingDepth, ...c.arr.map(depth))
          break
        case 'embed':
          out.content = tag(c.embed)
          nestingDepth = Math.max(nestingDepth, depth(c.embed))
          break
        case 'format':
          out.content = [c.key, tag(c.value)]
          nestingDepth = Math.max(nestingDepth, depth(c.value))
          break
        case 'doc':
          out.content = [c.doc.guid, tag(c.opts)]
          nestingDepth = Math.max(nestingDepth, depth(c.opts))
          break
        case 'type': {
          const enc = new Y.UpdateEncoderV1()
          c.type._write(enc)
          const ref = enc.toUint8Array()[0]
          const name = c.type.nodeName ?? c.type.hookName ?? null
          out.content = [TYPE_NAMES[ref], ref === 3 || ref === 5 ? name : null]
          break
        }
        default: out.content = null
      }
    }
    last.structs.push(out)
    last.end = s.id.clock + s.length
  }
  const deleteSet = {}
  for (const [client, items] of ds.clients) {
    deleteSet[client] = items.map((d) => [d.clock, d.len])
  }
  return { clients, delete_set: deleteSet, nesting_depth: nestingDepth }
}

const newDoc = (clientID, opts = {}) => {
  const doc = new Y.Doc(opts)
  doc.clientID = clientID
  return doc
}

const cases = []
const add = (name, description, update) => {
  // Every fixture must be an update Yjs accepts.
  Y.applyUpdate(new Y.Doc(), update)
  cases.push({ name, description, update: toHex(update), expected: facts(update) })
}

// --- strings: UTF-16 lengths, origins ---------------------------------------------------
{
  const doc = newDoc(1)
  const t = doc.getText('text')
  t.insert(0, 'Grüße, café — naïve')
  t.insert(7, '😀👍🏽 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ')
  t.insert(0, 'ascii ')
  add('text_unicode', 'string items with accents, emoji (surrogate pairs) and origins', Y.encodeStateAsUpdate(doc))
}
{
  const doc = newDoc(4294967295)
  const t = doc.getText('draft')
  const captured = []
  doc.on('update', (u) => captured.push(u))
  for (const ch of ['h', 'é', 'l', 'l', 'o', ' ', '😀', '!']) t.insert(t.length, ch)
  t.delete(t.length - 1, 1)
  t.insert(3, '漢字')
  captured.forEach((u, i) => add(`keystroke_${i}`, 'one y-websocket-sized update per keystroke', u))
}
{
  const doc = newDoc(77)
  const unit = 'Lorem ipsum dolor sit amet, ünïcödé 😀 漢字 — '
  doc.getText('paste').insert(0, unit.repeat(120))
  add('large_paste', 'one ~6 KB string item', Y.encodeStateAsUpdate(doc))
}

// --- formatting and embeds --------------------------------------------------------------
{
  const doc = newDoc(2)
  const t = doc.getText('rich')
  t.insert(0, 'bold and plain', { bold: true })
  t.format(9, 5, { italic: true, link: { href: 'https://example.org', meta: [1, [2, { x: null }]] } })
  t.format(0, 4, { bold: null })
  t.insertEmbed(4, { image: 'cat.png', size: { w: 10, h: [2, { d: 3 }] } })
  t.insertEmbed(0, 'plain-string-embed')
  add('text_format_embed', 'format marks (nested JSON values, null) and embeds', Y.encodeStateAsUpdate(doc))
}

// --- nested shared types ----------------------------------------------------------------
{
  const doc = newDoc(3)
  const root = doc.getMap('root')
  const m = new Y.Map()
  const a = new Y.Array()
  const t = new Y.Text()
  const x = new Y.XmlElement('paragraph')
  root.set('map', m)
  root.set('arr', a)
  root.set('text', t)
  root.set('xml', x)
  root.set('hook', new Y.XmlHook('mention'))
  root.set('fragment', new Y.XmlFragment())
  m.set('inner', 'value')
  a.insert(0, [1, 'two'])
  t.insert(0, 'nested text')
  const xt = new Y.XmlText()
  x.insert(0, [xt, new Y.XmlElement('em')])
  xt.insert(0, 'xml text')
  x.setAttribute('class', 'lead')
  const frag = doc.getXmlFragment('frag')
  frag.insert(0, [new Y.XmlElement('h1'), new Y.XmlText()])
  add('nested_types', 'ContentType for every shared type, items with parent ids and parent subs', Y.encodeStateAsUpdate(doc))
}

// --- Any values and binary --------------------------------------------------------------
{
  const doc = newDoc(5)
  const a = doc.getArray('values')
  a.insert(0, [0, 1, -1, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31 - 1), 2 ** 31, 2 ** 40, -(2 ** 45),
    1.5, 0.1, -2.5e300, true, false, null, 'str', '', 'ünï 😀',
    { a: { b: [1, { c: null }] } }, [[[]]], {}, []])
  a.push([new Uint8Array([0, 255, 7]), new Uint8Array()])
  const m = doc.getMap('obj')
  m.set('bin', new Uint8Array([1, 2, 3]))
  m.set('tagged', { bytes: new Uint8Array([9, 8]), undef: undefined, big: 12345678901234567n, neg: -5n, list: [new Uint8Array([1])] })
  m.set('vote', 'yes')
  m.set('deep', [[[[[[['seven']]]]]]])
  add('any_values', 'ContentAny with every lib0 Any type, and ContentBinary', Y.encodeStateAsUpdate(doc))
}

// --- legacy ContentJSON, written by hand: current Yjs no longer creates it ----------------
{
  const enc = encoding.createEncoder()
  encoding.writeVarUint(enc, 1) // clients
  encoding.writeVarUint(enc, 2) // structs
  encoding.writeVarUint(enc, 9) // client
  encoding.writeVarUint(enc, 0) // clock
  encoding.writeUint8(enc, 2) // info: ContentJSON, no origins
  encoding.writeVarUint(enc, 1) // parent is a root type
  encoding.writeVarString(enc, 'legacy')
  const values = ['1', '"two"', '{"three":[3,{"x":true}]}', 'undefined', 'null', '[[]]']
  encoding.writeVarUint(enc, values.length)
  values.forEach((v) => encoding.writeVarString(enc, v))
  encoding.writeUint8(enc, 2 | 0x80) // ContentJSON after the previous item
  encoding.writeVarUint(enc, 9)
  encoding.writeVarUint(enc, values.length - 1)
  encoding.writeVarUint(enc, 1)
  encoding.writeVarString(enc, '-0.5e3')
  encoding.writeVarUint(enc, 0) // empty delete set
  const update = encoding.toUint8Array(enc)
  const check = new Y.Doc()
  Y.applyUpdate(check, update)
  if (check.getArray('legacy').length !== 7) throw new Error('legacy JSON fixture not integrated')
  add('json_legacy', 'ContentJSON (legacy), including the bare word undefined', update)
}

// --- subdocuments -----------------------------------------------------------------------
{
  const doc = newDoc(6)
  doc.getMap('docs').set('sub', new Y.Doc({ guid: 'sub-guid-1', meta: { title: 'Motion 7', tags: ['a', ['b']] }, autoLoad: true }))
  doc.getArray('docs-list').insert(0, [new Y.Doc({ guid: 'sub-guid-2', gc: false })])
  add('subdoc', 'ContentDoc with options', Y.encodeStateAsUpdate(doc))
}

// --- deletions: ContentDeleted, GC, delete sets --------------------------------------------
{
  const doc = newDoc(7) // gc on (default)
  const t = doc.getText('text')
  t.insert(0, 'hello cruel world')
  t.delete(6, 6)
  const arr = doc.getArray('arr')
  const m = new Y.Map()
  arr.insert(0, [m, 'keep'])
  m.set('a', 1)
  m.set('b', new Y.Text('gone'))
  arr.delete(0, 1)
  const map = doc.getMap('kv')
  map.set('k', 1)
  map.set('k', 2)
  add('deleted_gc', 'gc on: deleted text becomes ContentDeleted, a deleted map\'s children become GC structs', Y.encodeStateAsUpdate(doc))

  const captured = []
  doc.on('update', (u) => captured.push(u))
  t.delete(0, 2)
  add('delete_only', 'an update that only deletes: no structs, one delete-set range', captured[0])
}
{
  const doc = newDoc(8, { gc: false })
  const t = doc.getText('text')
  t.insert(0, 'abcdefghij')
  t.delete(1, 2)
  t.delete(5, 1)
  doc.getArray('arr').insert(0, [1, 2, 3])
  doc.getArray('arr').delete(1, 1)
  add('deleted_no_gc', 'gc off: deleted items keep content; delete set with several ranges', Y.encodeStateAsUpdate(doc))
}

// --- skips: merging non-contiguous updates ------------------------------------------------
{
  const doc = newDoc(10)
  const captured = []
  doc.on('update', (u) => captured.push(u))
  const t = doc.getText('text')
  t.insert(0, 'one ')
  t.insert(4, 'two ')
  t.insert(8, 'three ')
  t.insert(14, 'four')
  const merged = Y.mergeUpdates([captured[0], captured[2]])
  cases.push({ name: 'skip', description: 'mergeUpdates of non-contiguous updates inserts a Skip struct', update: toHex(merged), expected: facts(merged) })
  const merged2 = Y.mergeUpdates([captured[1], captured[3]])
  cases.push({ name: 'skip_not_from_zero', description: 'merged non-contiguous updates starting at a clock above 0', update: toHex(merged2), expected: facts(merged2) })
}

// --- several clients --------------------------------------------------------------------
{
  const docs = [newDoc(11), newDoc(2 ** 52 + 7), newDoc(300000)]
  docs.forEach((d, i) => {
    d.getText('shared').insert(0, `client ${i} says hi ✓ `)
    d.getMap('meta').set(`k${i}`, { i, list: [i, i + 1] })
  })
  const sync = () => {
    for (const a of docs) for (const b of docs) if (a !== b) Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)))
  }
  sync()
  docs[1].getText('shared').delete(0, 5)
  docs[2].getText('shared').insert(3, '🎉')
  sync()
  add('multi_client', 'three clients (one with a 53-bit id), concurrent inserts and deletes', Y.encodeStateAsUpdate(docs[0]))
  add('diff_update', 'the part of a state that a peer lacks (encodeStateAsUpdate with a state vector)',
    Y.encodeStateAsUpdate(docs[2], Y.encodeStateVector(newDoc(99))))
}

// --- empty --------------------------------------------------------------------------------
add('empty', 'the update of an empty document', Y.encodeStateAsUpdate(new Y.Doc()))

fs.mkdirSync(path.dirname(outFile), { recursive: true })
fs.writeFileSync(outFile, JSON.stringify({ generator: 'tests/js/make_update_fixtures.mjs', yjs: '13.6', cases }, null, 1) + '\n')
console.log(`wrote ${cases.length} cases to ${path.relative(process.cwd(), outFile)}`)
