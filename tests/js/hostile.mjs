// Scripted y-websocket scenarios that peer.mjs cannot time from the outside.
//
// Usage: node hostile.mjs SCENARIO WS_BASE_URL ROOM TOKEN
// Prints one JSON line with the outcome and exits.
//
// Scenarios:
//   reconnect-race  Connect, type, go offline, type, reconnect, and type again the moment the
//                   socket opens (before the server's sync step 1 has arrived), as a user typing
//                   through a network blip does. Reports the close events, permission-denied
//                   warnings, whether the provider ended connected and synced, and the text.
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import WebSocket from 'ws'

const [, , scenario, base, room, token] = process.argv
const denied = []
const origWarn = console.warn
console.warn = (...args) => {
  const msg = args.join(' ')
  if (msg.startsWith('Permission denied')) denied.push(msg)
  else origWarn(...args)
}

const waitFor = (predicate, timeoutMs = 10000) => new Promise((resolve, reject) => {
  const started = Date.now()
  const tick = () => {
    if (predicate()) return resolve()
    if (Date.now() - started > timeoutMs) return reject(new Error('timeout'))
    setTimeout(tick, 5)
  }
  tick()
})
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const reconnectRace = async () => {
  const doc = new Y.Doc()
  const text = doc.getText('text')
  const closeEvents = []
  const provider = new WebsocketProvider(base, room, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token },
    maxBackoffTime: 300,
  })
  provider.on('connection-close', (event) => {
    if (event) closeEvents.push({ code: event.code, reason: String(event.reason || '') })
  })
  await waitFor(() => provider.synced)
  text.insert(0, 'online ')
  await sleep(200)
  provider.disconnect()
  text.insert(text.length, 'offline ')
  let typed = false
  provider.on('status', ({ status }) => {
    if (status === 'connected' && !typed) {
      typed = true
      text.insert(text.length, 'typed-on-reconnect')
    }
  })
  provider.connect()
  // Give the server time to refuse, and the provider time to reconnect if it is going to.
  await sleep(1000)
  const result = {
    clientID: doc.clientID,
    closeEvents,
    denied,
    wsconnected: provider.wsconnected,
    synced: provider.synced,
    text: text.toString(),
  }
  provider.destroy()
  return result
}

const scenarios = { 'reconnect-race': reconnectRace }

try {
  const result = await scenarios[scenario]()
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(0)
} catch (err) {
  process.stdout.write(JSON.stringify({ error: String(err && err.message || err) }) + '\n')
  process.exit(1)
}
