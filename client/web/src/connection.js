// The two live rooms of a draft: its text (`{draft}`, co-edited) and its deliberation state
// (`{draft}/deliberation`, written by the server only). y-websocket reconnects by itself after
// transient closes; edits made while offline stay in the local document and merge on reconnect.
import * as Y from 'yjs'
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
  constructor (draft, token) {
    super()
    this.draft = draft
    this.token = token
    this.ended = null
    this.notice = ''
    this.pendingEdits = 0
    this._resets = []
    this._offlineListener = () => this._status()
    window.addEventListener('online', this._offlineListener)
    window.addEventListener('offline', this._offlineListener)

    this.delib = new Y.Doc()
    this.delibProvider = new WebsocketProvider(wsBase(), `${draft}/deliberation`, this.delib, {
      params: { token }
    })
    // Presence is shown from the text room only.
    this.delibProvider.awareness.setLocalState(null)
    this._watchProvider(this.delibProvider, 'deliberation')
    for (const name of DELIBERATION_MAPS) {
      this.delib.getMap(name).observe(() => this._delibChanged())
    }
    this._openText()
  }

  _openText () {
    this.doc = new Y.Doc()
    this.paragraphs = this.doc.getArray('paragraphs')
    this.provider = new WebsocketProvider(wsBase(), this.draft, this.doc, { params: { token: this.token } })
    this.awareness = this.provider.awareness
    this.doc.on('update', (_update, origin) => {
      if (origin !== this.provider && !(this.provider.wsconnected && this.provider.synced)) {
        this.pendingEdits += 1
        this._status()
      }
    })
    this._watchProvider(this.provider, 'text')
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
      if (synced && provider === this.provider) this.pendingEdits = 0
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
      this._reset('The text was locked while you were typing: your last change was not accepted, and the text was reloaded.')
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

  _reset (notice) {
    const now = Date.now()
    this._resets = this._resets.filter((t) => now - t < 60_000)
    if (this._resets.length >= 3) {
      return this._end(0, `${notice} This keeps happening: reload the page.`)
    }
    this._resets.push(now)
    this.notice = notice
    this.provider.destroy()
    this.doc.destroy()
    this._openText()
    this.emit('reset', notice)
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
    if (this.ended) return { state: 'ended', message: this.ended.message }
    const online = navigator.onLine !== false
    const text = this.provider
    const ready = text.wsconnected && text.synced && this.delibProvider.wsconnected && this.delibProvider.synced
    if (ready) return { state: 'connected', message: 'Connected: changes are shared live.' }
    const pending = this.pendingEdits
    const kept = pending
      ? ` ${pending} unsent change${pending === 1 ? '' : 's'} kept here: they will merge when the connection returns.`
      : ' Edits you make now are kept and will merge when the connection returns.'
    if (!online || this._everConnected || (!text.wsconnecting && !text.wsconnected)) {
      return { state: 'offline', message: 'Offline, reconnecting…' + kept }
    }
    if (text.wsconnected && !text.synced) return { state: 'connecting', message: 'Connected, synchronising…' + kept }
    return { state: 'connecting', message: (this._everConnected ? 'Reconnecting…' : 'Connecting…') + kept }
  }

  get synced () {
    return this.provider.synced && this.delibProvider.synced
  }

  _status () {
    if (this.provider.synced) this._everConnected = true
    this.emit('status', this.state)
  }

  destroy () {
    window.removeEventListener('online', this._offlineListener)
    window.removeEventListener('offline', this._offlineListener)
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
