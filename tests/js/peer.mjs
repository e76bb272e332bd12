// An unmodified Yjs client (yjs 13 + y-websocket 3 WebsocketProvider) driven by tests.
//
// Usage: node peer.mjs WS_BASE_URL ROOM [TOKEN]
// Reads one JSON command per line on stdin, answers one JSON line on stdout.
// Offsets are UTF-16 code units, as in any JS Yjs client.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'
import readline from 'node:readline'

const [, , base, room, token] = process.argv
const doc = new Y.Doc()
const text = doc.getText('text')
const closeEvents = []
const denied = []
const origWarn = console.warn
console.warn = (...args) => {
  const msg = args.join(' ')
  if (msg.startsWith('Permission denied')) denied.push(msg)
  else origWarn(...args)
}
const provider = new WebsocketProvider(base, room, doc, {
  WebSocketPolyfill: WebSocket,
  params: token ? { token } : {},
  maxBackoffTime: 500,
})
provider.on('connection-close', (event) => {
  if (event) closeEvents.push({ code: event.code, reason: String(event.reason || '') })
})

const waitFor = (predicate, timeoutMs = 10000) => new Promise((resolve, reject) => {
  const started = Date.now()
  const tick = () => {
    if (predicate()) return resolve()
    if (Date.now() - started > timeoutMs) return reject(new Error('timeout'))
    setTimeout(tick, 5)
  }
  tick()
})

const handlers = {
  insert: ({ index, text: t }) => { text.insert(index, t); return {} },
  delete: ({ index, length }) => { text.delete(index, length); return {} },
  text: () => ({ text: text.toString() }),
  // The draft schema: root array 'paragraphs' of maps { id, kind, text: Y.Text }.
  paragraphs: () => ({
    paragraphs: doc.getArray('paragraphs').toArray().map((p) => ({
      id: p.get('id'), kind: p.get('kind'), text: p.get('text').toString(),
    })),
  }),
  waitParagraph: async ({ index, text: expected, timeoutMs }) => {
    const current = () => {
      const p = doc.getArray('paragraphs').get(index)
      return p ? p.get('text').toString() : null
    }
    await waitFor(() => current() === expected, timeoutMs)
    return { text: current() }
  },
  insertInParagraph: ({ index, at, text: t }) => {
    doc.getArray('paragraphs').get(index).get('text').insert(at, t)
    return {}
  },
  // A translation: paragraphs[index].get('translations').get(language), a Y.Text like the original.
  insertInTranslation: ({ index, language, at, text: t }) => {
    doc.getArray('paragraphs').get(index).get('translations').get(language).insert(at, t)
    return {}
  },
  translation: ({ index, language }) => ({
    text: doc.getArray('paragraphs').get(index).get('translations')?.get(language)?.toString() ?? null,
  }),
  map: ({ name }) => ({ value: doc.getMap(name).toJSON() }),
  deltaOf: ({ index }) => ({ delta: doc.getArray('paragraphs').get(index).get('text').toDelta() }),
  synced: async () => { await waitFor(() => provider.synced); return { synced: true } },
  waitText: async ({ text: expected, timeoutMs }) => {
    await waitFor(() => text.toString() === expected, timeoutMs)
    return { text: text.toString() }
  },
  awareness: ({ state }) => {
    for (const [k, v] of Object.entries(state)) provider.awareness.setLocalStateField(k, v)
    return { clientID: doc.clientID }
  },
  states: () => ({ states: Object.fromEntries(provider.awareness.getStates()) }),
  clientID: () => ({ clientID: doc.clientID }),
  disconnect: () => { provider.disconnect(); return {} },
  connect: () => { provider.connect(); return {} },
  status: () => ({ wsconnected: provider.wsconnected, synced: provider.synced, closeEvents, denied }),
  update: () => ({ update: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('hex') }),
  quit: () => { provider.destroy(); setTimeout(() => process.exit(0), 10); return {} },
}

const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  let reply
  try {
    const cmd = JSON.parse(line)
    reply = await handlers[cmd.op](cmd)
  } catch (err) {
    reply = { error: String(err && err.message || err) }
  }
  process.stdout.write(JSON.stringify(reply) + '\n')
})
rl.on('close', () => { provider.destroy(); process.exit(0) })
