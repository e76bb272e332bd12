// The two live rooms of a draft: its text (`{draft}`, co-edited) and its deliberation state
// (`{draft}/deliberation`, written by the server only). y-websocket reconnects by itself after
// transient closes; edits made while offline stay in the local document and merge on reconnect.
// The text document is also kept in the browser (y-indexeddb), per participant and draft, so edits
// made offline survive a closed tab or a browser restart and merge when the draft is opened again.
import * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'
import { WebsocketProvider, messageAuth } from 'y-websocket'
import * as authProtocol from 'y-protocols/auth'
import { formatTime } from './dom.js'

export function wsBase () {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${window.location.host}/ws`
}

export const DELIBERATION_MAPS = ['process', 'statuses', 'annotations', 'amendments', 'positions', 'periods', 'silences', 'indicators', 'roll', 'views']

class Emitter {
  constructor () { this._handlers = new Map() }
  on (name, fn) {
    if (!this._handlers.has(name)) this._handlers.set(name, new Set())
    this._handlers.get(name).add(fn)
    return () => this._handlers.get(name)?.delete(fn)
  }

  emit (name, ...args) {
    for (const fn of this._handlers.get(name) || []) fn(...args)
  }
}

/**
 * Events: 'status' (a summary, see `state`), 'reset' (the text document was replaced: re-render),
 * 'deliberation' (the deliberation state changed), 'ended' ({code, reason}: no more reconnects).
 */
export class DraftConnection extends Emitter {
  constructor (draft, token, who = '') {
    super()
    this.draft = draft
    this.token = token
    this.ended = null
    this.notice = ''
    this.pendingEdits = 0
    this.store = null
    this.storeName = `plenary:${who}:${draft}`
    this._resets = []
    // A socket on a network that went away stays "open" until y-websocket's 30 s silence timeout:
    // the browser's own events say so at once, so close and reopen the sockets on them.
    this._offlineListener = () => {
      this.provider.disconnect()
      this.delibProvider.disconnect()
      this._status()
    }
    this._onlineListener = () => {
      if (!this.ended) {
        this.provider.connect()
        this.delibProvider.connect()
      }
      this._status()
    }
    window.addEventListener('online', this._onlineListener)
    window.addEventListener('offline', this._offlineListener)

    this.delib = new Y.Doc()
    this.delibProvider = new WebsocketProvider(wsBase(), `${draft}/deliberation`, this.delib, {
      params: { token },
      connect: navigator.onLine !== false
    })
    // Presence is shown from the text room only.
    this.delibProvider.awareness.setLocalState(null)
    this._watchProvider(this.delibProvider, 'deliberation')
    for (const name of DELIBERATION_MAPS) {
      this.delib.getMap(name).observe(() => this._delibChanged())
    }
    this._openText()
  }

  _openText (cleared = Promise.resolve()) {
    this.doc = new Y.Doc()
    this.paragraphs = this.doc.getArray('paragraphs')
    this.provider = new WebsocketProvider(wsBase(), this.draft, this.doc, {
      params: { token: this.token },
      connect: navigator.onLine !== false
    })
    this.awareness = this.provider.awareness
    // Presence on connect: a fresh awareness state has clock 0, which other Yjs clients ignore for a
    // client they do not know yet, so a reader would appear only once they moved their cursor (or
    // at the 15 s renewal). The same state at clock 1 is taken at once.
    this.awareness.setLocalState({})
    this.doc.on('update', (_update, origin) => {
      if (origin === this.provider || (this.store && origin === this.store)) return
      if (!(this.provider.wsconnected && this.provider.synced)) {
        this.pendingEdits += 1
        this.store?.set('pending', this.pendingEdits)
        this._status()
      }
    })
    this._watchProvider(this.provider, 'text')
    const doc = this.doc
    cleared.then(() => this._keep(doc))
  }

  /** Keep the text document in the browser; count the changes an earlier tab left unsent. */
  _keep (doc) {
    if (doc !== this.doc || typeof indexedDB === 'undefined') return
    let store
    try {
      store = new IndexeddbPersistence(this.storeName, doc)
    } catch {
      return // private browsing may refuse IndexedDB: the live document still works
    }
    this.store = store
    store.whenSynced.then(async () => {
      if (this.store !== store) return
      const kept = Number(await store.get('pending')) || 0
      if (this.provider.wsconnected && this.provider.synced) {
        store.set('pending', 0)
      } else if (kept) {
        this.pendingEdits += kept
        this._status()
      }
      this.emit('restored', kept)
    }).catch(() => {})
  }

  _watchProvider (provider, which) {
    // y-websocket's own handler logs the URL, token included: say why without it.
    provider.messageHandlers[messageAuth] = (_encoder, decoder, p) => {
      authProtocol.readAuthMessage(decoder, p.doc, (_doc, reason) => {
        console.warn(`Plenary refused the ${which} connection: ${reason}`)
      })
    }
    provider.on('status', () => this._status())
    provider.on('sync', (synced) => {
      if (synced && provider === this.provider) {
        this.pendingEdits = 0
        this.store?.set('pending', 0)
      }
      this._status()
    })
    provider.on('closed', (event) => this._closed(which, event))
  }

  _closed (which, { code, reason }) {
    reason = reason || ''
    if (code === 4401) {
      return this._end(code, `Your access token is no longer accepted (${reason || 'expired or invalid'}). Sign in again.`)
    }
    if (code === 4403 && which === 'text' && /locked/i.test(reason)) {
      this._reset('The text was locked while you were typing: your last change was not accepted, and the text was reloaded.', 'locked')
      return
    }
    // A change the procedure refused (agreed text, a pen-holder's paragraph, a closed period…): the
    // server applied none of it; start again from the text as it stands.
    if (code === 4403 && which === 'text' && /paragraph|pen-holders|amendments only|negotiating rights|this draft takes/i.test(reason)) {
      this._reset(`Your last change was not accepted: ${reason}. The text was reloaded.`)
      return
    }
    if (code === 4403) {
      return this._end(code, `The server closed the connection: ${reason || 'no access to this draft'}.`)
    }
    if (which === 'text') {
      this._reset(`The server refused a change (${code}${reason ? ': ' + reason : ''}); the text was reloaded.`)
    } else {
      this._end(code, `The deliberation state is unavailable (${code}${reason ? ': ' + reason : ''}).`)
    }
  }

  _reset (notice, code = 0) {
    const now = Date.now()
    this._resets = this._resets.filter((t) => now - t < 60_000)
    if (this._resets.length >= 3) {
      return this._end(0, `${notice} This keeps happening: reload the page.`)
    }
    this._resets.push(now)
    this.notice = notice
    // What this participant had typed, paragraph by paragraph, to offer back once the text is reloaded.
    const refused = {}
    this.paragraphs.forEach((p) => {
      const text = p instanceof Y.Map ? p.get('text') : null
      if (p instanceof Y.Map && text instanceof Y.Text) refused[p.get('id')] = text.toString()
    })
    // The kept copy holds the refused change too: drop it, or it would be sent again.
    const store = this.store
    this.store = null
    const cleared = store ? store.clearData().catch(() => {}) : Promise.resolve()
    this.provider.destroy()
    this.doc.destroy()
    this.pendingEdits = 0
    this._openText(cleared)
    this.emit('reset', notice, refused, code)
    this._status()
  }

  _end (code, message) {
    this.ended = { code, message }
    this.provider.disconnect()
    this.delibProvider.disconnect()
    this.emit('ended', this.ended)
    this._status()
  }

  _delibChanged () {
    this.emit('deliberation')
  }

  /** The deliberation state as plain JSON (maps of plain values). */
  deliberation () {
    const out = {}
    for (const name of DELIBERATION_MAPS) out[name] = this.delib.getMap(name).toJSON()
    return out
  }

  /** 'connected', 'connecting', 'offline' or 'ended', with what the participant should know. */
  get state () {
    const pending = this.pendingEdits
    if (this.ended) return { state: 'ended', pending, message: this.ended.message }
    const online = navigator.onLine !== false
    const text = this.provider
    const ready = online && text.wsconnected && text.synced && this.delibProvider.wsconnected && this.delibProvider.synced
    if (ready) return { state: 'connected', pending, message: 'Connected: changes are shared live.' }
    const kept = pending
      ? ` ${pending} unsent change${pending === 1 ? '' : 's'} kept here: they will merge when the connection returns.`
      : ' Edits you make now are kept and will merge when the connection returns.'
    if (!online || this._everConnected || (!text.wsconnecting && !text.wsconnected)) {
      const why = online ? 'Offline, reconnecting…' : 'Offline: this browser has no network.'
      return { state: 'offline', pending, message: why + kept }
    }
    if (text.wsconnected && !text.synced) return { state: 'connecting', pending, message: 'Connected, synchronising…' + kept }
    return { state: 'connecting', pending, message: (this._everConnected ? 'Reconnecting…' : 'Connecting…') + kept }
  }

  get synced () {
    return this.provider.synced && this.delibProvider.synced
  }

  _status () {
    if (this.provider.synced) this._everConnected = true
    this.emit('status', this.state)
  }

  destroy () {
    window.removeEventListener('online', this._onlineListener)
    window.removeEventListener('offline', this._offlineListener)
    this.store?.destroy()
    this.provider.destroy()
    this.delibProvider.destroy()
    this.doc.destroy()
    this.delib.destroy()
    this._handlers.clear()
  }
}

/** Whether comments, amendments and positions on a paragraph are accepted now (the server's rule). */
export function periodOpenFor (periods, paragraph, nowMs = Date.now()) {
  const nowUs = nowMs * 1000
  const covering = Object.values(periods || {}).filter((p) => p.paragraphs == null || p.paragraphs.includes(paragraph))
  if (!covering.length) return { open: true, covered: false, reason: '' }
  const open = covering.find((p) => p.opens_us <= nowUs && nowUs < p.deadline_us && !p.closed)
  if (open) return { open: true, covered: true, period: open, reason: '' }
  const last = covering.reduce((a, b) => (b.deadline_us > a.deadline_us ? b : a))
  const why = last.closed ? 'was closed by the chair' : 'ended'
  return {
    open: false,
    covered: true,
    period: last,
    reason: `The comment period for this paragraph ${why} (${last.id}, deadline ${formatTime(new Date(last.deadline_us / 1000).toISOString())}): comments, amendments and positions are closed.`
  }
}
