// The archive: the chain's verification, the signed head, exports, and a replay of the log:
// a slider over the entries showing the text at any point, coloured by delegation (blame).
import { ApiError, draftPath } from './api.js'
import { announce, debounce, errorBox, fill, formatClock, formatTime, h, saveBlob, timeEl } from './dom.js'
import { ROLES, numberLabel, statusBadge } from './labels.js'

const EXPORTS = [
  ['markdown', 'compilation', 'Markdown (compilation with amendments)'],
  ['markdown', 'clean', 'Markdown (clean text)'],
  ['html', 'compilation', 'HTML page'],
  ['akn', null, 'Akoma Ntoso XML (ZIP)'],
  ['annotations', null, 'Web Annotations (JSON-LD)'],
  ['summary', null, 'Meeting summary (text)']
]
const WINDOW = 40
const EDIT = /^text edit on (.+) \(\+(\d+) −(\d+) chars\)$/

/**
 * Consecutive keystrokes of one person in the same paragraphs, as one editing event: index ranges
 * {from, to} into `events`, with what they sum to.
 */
export function groupEdits (events) {
  const groups = []
  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    const edit = e.kind === 'update' ? EDIT.exec(e.summary || '') : null
    const last = groups[groups.length - 1]
    if (edit && last?.edit && last.participant === e.participant && last.where === edit[1]) {
      last.to = i
      last.plus += Number(edit[2])
      last.minus += Number(edit[3])
      last.chars = ` (+${last.plus} −${last.minus} chars)`
      continue
    }
    groups.push({
      from: i,
      to: i,
      edit: !!edit,
      participant: e.participant,
      where: edit?.[1],
      plus: edit ? Number(edit[2]) : 0,
      minus: edit ? Number(edit[3]) : 0,
      summary: edit ? `text edit on ${edit[1]}` : e.summary,
      chars: ''
    })
  }
  return groups
}

export class ArchivePage {
  constructor ({ api, me, role, draft, container }) {
    this.api = api
    this.me = me
    this.role = role
    this.draft = draft
    this.container = container
    this.window = []
    this.people = new Map() // participant id → "Name (Delegation)"
    this.palette = new Map() // delegation → its colours in the replay
    this.index = 0
    this.destroyed = false
  }

  async mount () {
    this.title = h('h1', {}, 'Archive')
    this.subtitle = h('p', { class: 'symbol' })
    this.verifyEl = h('section', { class: 'panel verify', 'aria-labelledby': 'verify-title', dataset: { test: 'verify' } })
    this.headEl = h('section', { class: 'panel head', 'aria-labelledby': 'head-title' })
    this.exportEl = h('section', { class: 'panel exports', 'aria-labelledby': 'export-title', hidden: true })
    this.timelineEl = h('section', { class: 'timeline', 'aria-labelledby': 'timeline-title' })
    fill(this.container,
      h('section', { class: 'archive-page' },
        h('div', { class: 'draft-title' }, this.title, this.subtitle),
        h('div', { class: 'archive-panels' }, this.verifyEl, this.headEl, this.exportEl),
        this.timelineEl))
    this.api.get(draftPath(this.draft)).then((draft) => {
      this.subtitle.textContent = `${draft.title}${draft.symbol ? ' · ' + draft.symbol : ''}`
      document.title = `Archive · ${draft.title} · Plenary`
    }).catch(() => {})
    this.verify()
    this.head()
    this.exports()
    this.timeline()
  }

  async verify () {
    fill(this.verifyEl, h('h2', { id: 'verify-title' }, 'Chain verification'), h('p', { class: 'muted' }, 'Verifying the hash chain…'))
    let report
    try {
      report = await this.api.get(draftPath(this.draft, '/audit/verify'))
    } catch (e) {
      fill(this.verifyEl, h('h2', { id: 'verify-title' }, 'Chain verification'), h('p', { class: 'error' }, e.message))
      return
    }
    const entries = report.rooms.reduce((n, r) => n + r.count, 0)
    fill(this.verifyEl,
      h('h2', { id: 'verify-title' }, 'Chain verification'),
      h('p', { class: `verdict ${report.ok ? 'verdict-ok' : 'verdict-bad'}`, dataset: { ok: String(report.ok) } },
        h('span', { 'aria-hidden': 'true' }, report.ok ? '✓ ' : '✗ '),
        report.ok
          ? `Intact: ${entries} entries verified in ${report.rooms.length} room${report.rooms.length === 1 ? '' : 's'}.`
          : 'Altered: the record does not verify.'),
      h('ul', { class: 'rooms' }, report.rooms.map((r) => h('li', {},
        h('code', {}, r.room), `: ${r.count} entries, head ${r.head_seq} `, h('code', { class: 'hash', title: r.head_hash }, r.head_hash.slice(0, 16) + '…'),
        r.problem ? h('span', { class: 'problem' }, ` — ${r.problem.kind} at ${r.problem.seq ?? '?'}: ${r.problem.detail}`) : null))),
      h('p', { class: 'muted' }, 'Checked ', timeEl(report.checked_at), ' ',
        h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.verify() }, 'Verify again')))
    announce(report.ok ? 'The record verifies.' : 'The record does not verify.')
  }

  async head () {
    const title = h('h2', { id: 'head-title' }, 'Signed head')
    let receipt
    try {
      receipt = await this.api.get(draftPath(this.draft, '/audit/head'))
    } catch (e) {
      fill(this.headEl, title, h('p', { class: 'error' }, e.message))
      return
    }
    const check = h('p', { class: 'receipt-check', role: 'status' })
    fill(this.headEl, title,
      h('dl', { class: 'receipt' },
        h('dt', {}, 'Entry'), h('dd', {}, `${receipt.seq} in room `, h('code', {}, receipt.room)),
        h('dt', {}, 'Hash'), h('dd', {}, h('code', { class: 'hash' }, receipt.hash)),
        h('dt', {}, 'Entry time'), h('dd', {}, timeEl(receipt.time)),
        h('dt', {}, 'Signed'), h('dd', {}, timeEl(receipt.signed_at)),
        h('dt', {}, 'Public key'), h('dd', {}, h('code', { class: 'hash' }, receipt.public_key))),
      h('div', { class: 'row' },
        h('button', {
          type: 'button',
          class: 'btn',
          onclick: () => saveBlob(new Blob([JSON.stringify(receipt, null, 2)], { type: 'application/json' }), `${this.draft}-receipt-${receipt.seq}.json`)
        }, 'Download receipt'),
        h('button', {
          type: 'button',
          class: 'btn',
          onclick: async () => {
            try {
              const r = await this.api.post(draftPath(this.draft, '/audit/receipts/verify'), receipt)
              check.textContent = r.ok ? '✓ The receipt checks: the log has only grown since.' : `✗ The receipt does not check: ${r.problem?.detail || r.signature}`
            } catch (e) { check.textContent = e.message }
          }
        }, 'Check this receipt')),
      check)
  }

  async exports () {
    if (!(await this.hasEndpoint(/^\/api\/drafts\/\{[^}]+\}\/export$/, '/export?format=summary'))) return
    const error = errorBox()
    this.exportEl.hidden = false
    fill(this.exportEl,
      h('h2', { id: 'export-title' }, 'Export'),
      h('div', { class: 'export-buttons' }, EXPORTS.map(([format, view, label]) =>
        h('button', { type: 'button', class: 'btn', dataset: { format }, onclick: () => this.download(format, view, error) }, label))),
      error)
  }

  async download (format, view, error) {
    const query = new URLSearchParams({ format })
    if (view) query.set('view', view)
    try {
      const response = await this.api.raw('GET', draftPath(this.draft, `/export?${query}`))
      const blob = await response.blob()
      const disposition = response.headers.get('content-disposition') || ''
      const name = /filename="([^"]+)"/.exec(disposition)?.[1] || `${this.draft}.${format}`
      saveBlob(blob, name)
      error.show('')
    } catch (e) { error.show(e.message) }
  }

  /** Whether the server has an optional endpoint: in its OpenAPI document, else by asking. */
  async hasEndpoint (pattern, probe) {
    const doc = await this.api.openapi()
    if (Object.keys(doc.paths || {}).some((p) => pattern.test(p))) return true
    try {
      await this.api.raw('GET', draftPath(this.draft, probe))
      return true
    } catch (e) {
      return !(e instanceof ApiError && (e.status === 404 || e.status === 405))
    }
  }

  async timeline () {
    const title = h('h2', { id: 'timeline-title' }, 'Replay')
    fill(this.timelineEl, title, h('p', { class: 'muted' }, 'Loading the record…'))
    const available = await Promise.all([
      this.hasEndpoint(/^\/api\/drafts\/\{[^}]+\}\/events$/, '/events?limit=1'),
      this.hasEndpoint(/^\/api\/drafts\/\{[^}]+\}\/text$/, '/text')
    ])
    if (!available.every(Boolean)) {
      fill(this.timelineEl, title, h('p', { class: 'banner banner-info', dataset: { test: 'no-history' } },
        'This server does not offer the history endpoints (events, text at a point): the replay is unavailable. The verification and the signed head above still cover the whole record.'))
      return
    }
    this.hasBlame = await this.hasEndpoint(/^\/api\/drafts\/\{[^}]+\}\/blame$/, '/blame')
    let first
    try {
      first = await this.api.get(draftPath(this.draft, '/events?limit=1'))
    } catch (e) {
      fill(this.timelineEl, title, h('p', { class: 'error' }, `Could not read the record: ${e.message}`))
      return
    }
    if (this.destroyed) return
    if (!first.events?.length) {
      fill(this.timelineEl, title, h('p', { class: 'muted' }, 'The record is empty.'))
      return
    }
    // The slider runs over the whole log by entry number; the events around the point shown are
    // read a page at a time (a long negotiation has hundreds of thousands of entries).
    this.firstSeq = first.events[0].seq
    this.head = first.head
    this.slider = h('input', {
      type: 'range',
      id: 'timeline-slider',
      min: String(this.firstSeq),
      max: String(this.head),
      step: '1',
      value: String(this.head),
      'aria-describedby': 'timeline-position'
    })
    this.position = h('p', { id: 'timeline-position', class: 'timeline-position', 'aria-live': 'polite' })
    this.textEl = h('div', { class: 'replay-text', 'aria-live': 'off', dataset: { test: 'replay-text' } })
    this.detailEl = h('p', { class: 'blame-detail', 'aria-live': 'polite', dataset: { test: 'blame-detail' } })
    const showDetail = (event) => {
      const span = event.target.closest?.('.blame')
      if (span) this.detailEl.textContent = span.dataset.detail
    }
    this.textEl.addEventListener('focusin', showDetail)
    this.textEl.addEventListener('mouseover', showDetail)
    this.legendEl = h('ul', { class: 'blame-legend', 'aria-label': 'Authors in this version' })
    this.eventsEl = h('ol', { class: 'events' })
    this.slider.addEventListener('input', () => {
      this.target = Number(this.slider.value)
      this.goSoon(this.target)
    })
    fill(this.timelineEl, title,
      h('div', { class: 'slider-row' },
        h('label', { for: 'timeline-slider' }, 'Point in the record'),
        this.slider,
        h('div', { class: 'row' },
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.go(this.firstSeq) }, '|◀ First'),
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.step(-1) }, '◀ Previous'),
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.step(1) }, 'Next ▶'),
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.go(this.head) }, 'Latest ▶|'))),
      this.position,
      h('div', { class: 'replay' },
        h('section', { class: 'replay-main', 'aria-label': 'The text at this point' }, this.legendEl, this.detailEl, this.textEl),
        h('section', { class: 'replay-events', 'aria-labelledby': 'events-title' }, h('h3', { id: 'events-title' }, 'Events'), this.eventsEl)))
    this.load = debounce(() => this.loadText(), 120)
    this.learnPeople()
    this.goSoon = debounce((seq) => this.go(seq, { fromSlider: true }), 80)
    this.go(this.head)
  }

  /** Names and delegations instead of participant ids, from the roll, the comments and the blame. */
  async learnPeople () {
    try {
      const state = await this.api.get(draftPath(this.draft, '/deliberation'))
      for (const [key, person] of Object.entries(state.roll || {})) {
        if (key.startsWith('person/') && person?.id) this.learn(person.id, person.name, person.delegation)
      }
      for (const note of Object.values(state.annotations || {})) {
        const c = note.creator || {}
        this.learn(c.participant, c.name, c.delegation)
      }
      if (this.window?.length) this.renderEvents()
    } catch {}
  }

  learn (participant, name, delegation) {
    if (!participant || !name || this.people.has(participant)) return
    this.people.set(participant, delegation && delegation !== name ? `${name} (${delegation})` : name)
  }

  who (event) {
    if (!event.participant) return 'the server'
    return this.people.get(event.participant) || event.participant
  }

  /** The events around entry `seq`: WINDOW before and after it, one request. */
  async around (seq) {
    const after = Math.max(0, seq - WINDOW - 1)
    const page = await this.api.get(draftPath(this.draft, `/events?after=${after}&limit=${2 * WINDOW + 1}`))
    if (page.head > this.head) {
      this.head = page.head
      this.slider.max = String(this.head)
    }
    return page.events || []
  }

  async go (seq, { fromSlider = false } = {}) {
    // A button or an event clicked after a slider move wins over that move, still waiting to be made.
    if (!fromSlider) this.goSoon?.cancel()
    seq = Math.max(this.firstSeq, Math.min(this.head, Math.round(seq)))
    this.target = seq
    const token = (this.going = {})
    let events
    try {
      events = await this.around(seq)
    } catch (e) {
      if (token === this.going) fill(this.position, h('span', { class: 'error' }, e.message))
      return
    }
    if (token !== this.going || this.destroyed) return
    // The entry shown: the last one at or before the point (the log may skip numbers).
    const index = events.reduce((found, e, i) => (e.seq <= seq ? i : found), 0)
    const event = events[index]
    if (!event) return
    this.window = events
    this.index = index
    this.seq = event.seq
    if (!fromSlider) this.slider.value = String(event.seq)
    this.slider.setAttribute('aria-valuetext', `Entry ${event.seq}, ${formatTime(event.time)}`)
    fill(this.position,
      h('strong', {}, `Entry ${event.seq}`), ` of ${this.head} · `, timeEl(event.time), ' · ',
      `${this.who(event)}${event.role ? ' · ' + (ROLES[event.role] || event.role) : ''} · ${event.summary || event.kind}`)
    this.renderEvents()
    this.load()
  }

  /** The entry before or after the one shown. */
  step (direction) {
    // While a move is on its way, step from where it is going.
    const settled = this.target === this.seq
    const next = settled ? this.window?.[this.index + direction] : null
    this.go(next ? next.seq : this.target + direction)
  }

  renderEvents () {
    const events = this.window
    const groups = groupEdits(events)
    const items = groups.map((group) => {
      const current = group.from <= this.index && this.index <= group.to
      const e = events[current ? this.index : group.to]
      const count = group.to - group.from + 1
      const summary = count > 1 ? `${group.summary} — ${count} edits${group.chars}` : e.summary || ''
      return h('li', { class: current ? 'current' : '', dataset: count > 1 ? { seq: String(e.seq), edits: String(count) } : { seq: String(e.seq) } },
        h('button', {
          type: 'button',
          class: 'event',
          'aria-current': current ? 'step' : null,
          onclick: () => this.go(e.seq)
        },
        h('span', { class: 'event-line' },
          h('span', { class: 'event-seq' }, current ? h('span', { 'aria-hidden': 'true' }, '▶ ') : null,
            count > 1 ? `#${events[group.from].seq}–${events[group.to].seq}` : `#${e.seq}`),
          h('span', { class: 'event-time' }, formatClock(e.time)),
          h('span', { class: 'event-who', title: e.participant || '' }, this.who(e))),
        h('span', { class: 'event-line' },
          h('code', { class: `event-kind kind-${String(e.kind).replace(/[^a-z]/gi, '-')}` }, e.kind),
          h('span', { class: 'event-summary' }, summary))))
    })
    const before = events.length ? events[0].seq - this.firstSeq : 0
    const after = events.length ? this.head - events[events.length - 1].seq : 0
    if (before > 0) items.unshift(h('li', { class: 'muted' }, `… ${before} earlier`))
    if (after > 0) items.push(h('li', { class: 'muted' }, `… ${after} later`))
    this.eventsEl.replaceChildren(...items)
    // Keep the current event in view, scrolling the list only (not the page).
    const current = this.eventsEl.querySelector('.current')
    if (current) {
      const list = this.eventsEl
      const top = current.offsetTop - list.offsetTop
      if (top < list.scrollTop || top + current.offsetHeight > list.scrollTop + list.clientHeight) {
        list.scrollTop = Math.max(0, top - list.clientHeight / 2)
      }
    }
  }

  async loadText () {
    const seq = this.seq
    const token = (this.loading = {})
    this.textEl.setAttribute('aria-busy', 'true')
    try {
      const [text, blame] = await Promise.all([
        this.api.get(draftPath(this.draft, `/text?at=${seq}`)),
        this.hasBlame ? this.api.get(draftPath(this.draft, `/blame?at=${seq}`)).catch(() => null) : null
      ])
      if (token !== this.loading || this.destroyed) return
      this.renderText(text, blame, seq)
    } catch (e) {
      if (token === this.loading) fill(this.textEl, h('p', { class: 'error' }, e.message))
    } finally {
      if (token === this.loading) this.textEl.removeAttribute('aria-busy')
    }
  }

  renderText (text, blame, seq) {
    const known = this.people.size
    const spansById = new Map((blame?.paragraphs || []).map((p) => [p.id, p.spans || []]))
    const statuses = text.deliberation?.statuses || {}
    const amendments = text.deliberation?.amendments || {}
    const authors = new Map()
    const paragraphs = (text.paragraphs || []).map((p) => {
      const spans = spansById.get(p.id)
      let body
      if (spans && spans.length) {
        body = spans.map((s) => {
          // Words that came in by adopting an amendment are the sponsoring delegation's.
          const sponsor = s.amendment ? amendments[s.amendment]?.sponsor : null
          const who = sponsor || s.delegation || s.name || s.participant || 'unknown'
          authors.set(who, (authors.get(who) || 0) + s.text.length)
          const colour = this.colourOf(who)
          this.learn(s.participant, s.name, s.delegation)
          const writer = `${s.name || s.participant}${s.delegation ? ' (' + s.delegation + ')' : ''}`
          const how = s.amendment ? `amendment ${s.amendment} by ${sponsor || '?'}, adopted by ${writer}` : `written by ${writer}`
          const detail = `${who}: ${how}, entry ${s.seq}${s.time ? ', ' + formatTime(s.time) : ''}`
          // Reachable with the keyboard: focusing a passage says who wrote it (blame-detail).
          return h('span', {
            class: 'blame',
            tabindex: '0',
            style: `background:${colour.light}; border-bottom-color:${colour.solid}; border-bottom-style:${colour.line}`,
            title: detail,
            'aria-label': `${s.text} — ${detail}`,
            dataset: { delegation: who, seq: String(s.seq), detail }
          }, s.text)
        })
      } else {
        body = p.text
      }
      const number = numberLabel(p.number, p.kind)
      return h('div', { class: `replay-para replay-${p.kind}`, dataset: { paragraph: p.id } },
        h('span', { class: 'para-number' }, number || (p.kind === 'heading' ? '§' : '·')),
        p.kind !== 'heading' ? statusBadge(statuses[p.id]) : null,
        h('p', { class: 'replay-body' }, body))
    })
    this.textEl.dataset.seq = String(seq)
    fill(this.textEl, paragraphs.length ? paragraphs : h('p', { class: 'muted' }, 'No text yet at this point.'))
    if (this.people.size !== known) this.renderEvents()
    const total = [...authors.values()].reduce((a, b) => a + b, 0) || 1
    fill(this.legendEl, [...authors.entries()].sort((a, b) => b[1] - a[1]).map(([who, n]) =>
      h('li', {},
        h('span', { class: 'swatch', style: `background:${this.colourOf(who).light}; border-color:${this.colourOf(who).solid}; border-style:${this.colourOf(who).line}`, 'aria-hidden': 'true' }),
        ` ${who}: ${Math.round((100 * n) / total)}% of the text`)))
    if (!authors.size && this.hasBlame) this.legendEl.append(h('li', { class: 'muted' }, 'No authorship information at this point.'))
    // A list holds list items only: the hint is an item of its own.
    this.legendEl.prepend(h('li', { class: 'sr-only' }, 'Hover or focus a passage to see who wrote it.'))
  }

  /**
   * A delegation's colour in the replay: the n-th delegation seen gets the n-th hue by the golden
   * angle (distinct neighbours for any number), at two lightnesses, and from the 13th on a dotted
   * or dashed underline too, so that 30 delegations stay apart even where two hues are close.
   */
  colourOf (who) {
    if (!this.palette.has(who)) {
      const n = this.palette.size
      const hue = Math.round((n * 137.508) % 360)
      const dark = n % 2 === 1
      this.palette.set(who, {
        solid: `hsl(${hue} 75% ${dark ? 28 : 38}%)`,
        light: `hsl(${hue} 85% ${dark ? 45 : 60}% / 0.24)`,
        line: ['solid', 'dashed', 'dotted'][Math.floor(n / 12) % 3]
      })
    }
    return this.palette.get(who)
  }

  destroy () {
    this.destroyed = true
    this.load?.cancel()
  }
}
