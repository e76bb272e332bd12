// Meetings: the list of a draft's meetings (#/drafts/ID/meetings) and one meeting's page
// (#/drafts/ID/meetings/MID): the agenda with the item before the meeting, the speaking list with the
// current speaker and the time left, the statements and documents of the item, and the summary.
// Everything live comes from the read-only deliberation room (maps meetings, speakers, statements,
// documents, summaries); every action is a REST command the server checks (README: Meetings).
import './meeting.css'
import * as Y from 'yjs'
import { WebsocketProvider } from 'y-websocket'
import { EditorState } from '@codemirror/state'
import { EditorView, keymap } from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import { draftPath } from './api.js'
import { wsBase } from './connection.js'
import { announce, debounce, errorBox, everySecond, field, fill, formatTime, h, saveBlob, select } from './dom.js'
import { groupName, indicatorBadge } from './labels.js'

const MAPS = ['meetings', 'speakers', 'statements', 'documents', 'summaries', 'friends']
// The README's permission table for meetings (the server enforces it).
const RIGHTS = {
  preside: ['chair'],
  convene: ['chair', 'secretariat'],
  floor: ['delegate', 'observer'],
  submit: ['chair', 'secretariat', 'delegate', 'observer']
}
const mayDo = (role, what) => (RIGHTS[what] || []).includes(role)

const PURPOSES = {
  speak: ['To speak', ''],
  point_of_order: ['Point of order', '⚑'],
  right_of_reply: ['Right of reply', '↩']
}
const STATUS = { scheduled: 'Scheduled', open: 'In session', suspended: 'Suspended', closed: 'Closed' }
const MODES = {
  precedence: 'Member States first, then observers',
  request_order: 'In the order asked',
  alternate: 'Alternating stakeholder groups'
}
const KINDS = {
  background: 'Background document',
  proposal: 'Proposal',
  contribution: 'Written contribution',
  non_paper: 'Non-paper',
  chair_text: 'Chair’s text'
}

/** A meeting's time in its own time zone ("2 May 2005, 10:00 (Europe/Zurich)"), else the reader's. */
export function meetingTime (iso, zone) {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return String(iso || '')
  try {
    const format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone: zone || undefined })
    return format.format(date) + (zone ? ` (${zone})` : '')
  } catch {
    return formatTime(iso)
  }
}

function meetingsPath (draft, rest = '') {
  return draftPath(draft, `/meetings${rest}`)
}

function purposeBadge (purpose) {
  const [label, symbol] = PURPOSES[purpose] || [purpose, '']
  return h('span', { class: `purpose purpose-${purpose}` }, symbol ? h('span', { 'aria-hidden': 'true' }, symbol + ' ') : null, label)
}

/** "2 min 05 s" left, or "Time is up" (from a deadline in server time). */
export function timeLeft (deadlineUs, nowMs = Date.now()) {
  if (deadlineUs == null) return { text: 'No time limit', over: false }
  const ms = deadlineUs / 1000 - nowMs
  if (ms <= 0) return { text: 'Time is up', over: true }
  const s = Math.ceil(ms / 1000)
  return { text: `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s left`, over: false }
}

export class MeetingPage {
  constructor ({ api, me, role, draft, conn, container, meeting }) {
    this.api = api
    this.me = me
    this.role = role
    this.draft = draft
    this.conn = conn
    this.container = container
    this.meetingId = meeting
    this.cleanups = []
  }

  live () {
    const out = {}
    for (const name of MAPS) out[name] = this.conn.delib.getMap(name).toJSON()
    return out
  }

  async mount () {
    this.error = errorBox()
    this.body = h('div', { class: 'meeting-body' })
    fill(this.container, h('section', { class: 'meeting-page' }, this.error, this.body))
    const render = debounce(() => this.render(), 30)
    for (const name of MAPS) {
      const map = this.conn.delib.getMap(name)
      map.observe(render)
      this.cleanups.push(() => map.unobserve(render))
    }
    const onSync = (synced) => { if (synced) render() }
    this.conn.delibProvider.on('sync', onSync)
    this.cleanups.push(() => { this.conn.delibProvider.off('sync', onSync); render.cancel() })
    this.cleanups.push(everySecond((now) => this.tick(now)))
    try {
      const draft = await this.api.get(draftPath(this.draft))
      this.title = draft.title
      this.paragraphs = Object.fromEntries(draft.paragraphs.map((p) => [p.id, p]))
    } catch (e) {
      this.error.show(`Could not load the draft: ${e.message}`)
      this.paragraphs = {}
    }
    this.render()
  }

  destroy () {
    for (const fn of this.cleanups) fn()
    this.summaryView?.destroy()
    this.summaryProvider?.destroy()
    this.summaryDoc?.destroy()
  }

  async act (method, path, body, done) {
    this.error.show('')
    try {
      const result = await this.api.json(method, path, body)
      if (done) announce(done)
      return result
    } catch (e) {
      this.error.show(e.detail || e.message)
      return null
    }
  }

  render () {
    const state = this.live()
    if (!this.meetingId) {
      this.renderIf('list', [state.meetings, this.title], () => this.renderList(state), this.body)
      return
    }
    const meeting = state.meetings[this.meetingId]
    if (!meeting) {
      fill(this.body, h('p', { class: 'muted' }, this.conn.delibProvider.synced ? `There is no meeting ${this.meetingId} in this draft.` : 'Loading the meeting…'))
      return
    }
    document.title = `${meeting.title} · Plenary`
    this.state = state
    this.meeting = meeting
    this.floor = state.speakers[this.meetingId] || null
    const keepFocus = document.activeElement && this.body.contains(document.activeElement) ? document.activeElement.dataset.focus : null
    if (!this.layout) this.buildLayout()
    const item = meeting.current_item
    this.renderIf('header', [meeting.status, meeting.title], () => this.renderHeader())
    this.renderIf('agenda', [meeting.agenda, item, meeting.status], () => this.renderAgenda())
    this.renderIf('floor', [this.floor, item, meeting.status], () => this.renderFloor())
    this.renderIf('statements', [state.statements, item], () => this.renderStatements(), this.statements)
    this.renderIf('documents', [state.documents, item, meeting.status], () => this.renderDocuments(), this.documentList)
    this.renderIf('summary', [state.summaries[meeting.id]], () => this.renderSummary())
    this.renderIf('outcomes', [meeting.decisions, state.friends, meeting.status, item], () => this.renderOutcomes(), this.outcomes)
    if (keepFocus) this.body.querySelector(`[data-focus="${keepFocus}"]`)?.focus()
  }

  /** Run ``draw`` when ``data`` changed since it last ran, and not while the user types in ``guard``. */
  renderIf (name, data, draw, guard) {
    const key = JSON.stringify(data)
    this.drawn = this.drawn || {}
    if (this.drawn[name] === key) return
    if (guard && guard.contains(document.activeElement) && document.activeElement.matches('input, textarea, select')) return
    this.drawn[name] = key
    draw()
  }

  buildLayout () {
    this.header = h('header', { class: 'meeting-head' })
    this.agenda = h('section', { class: 'panel agenda', 'aria-labelledby': 'agenda-title' })
    this.speaker = h('section', { class: 'panel current-speaker', 'aria-labelledby': 'speaker-title', 'aria-live': 'polite', dataset: { test: 'current-speaker' } })
    this.list = h('section', { class: 'panel speaking-list', 'aria-labelledby': 'list-title', dataset: { test: 'speaking-list' } })
    this.statements = h('section', { class: 'panel statements', 'aria-labelledby': 'statements-title' })
    this.documents = h('section', { class: 'panel documents', 'aria-labelledby': 'documents-title' })
    this.summary = h('section', { class: 'panel summary-panel', 'aria-labelledby': 'summary-title' })
    this.outcomes = h('section', { class: 'panel outcomes', 'aria-labelledby': 'outcomes-title' })
    this.layout = h('div', { class: 'meeting-layout' },
      h('div', { class: 'meeting-main' }, this.agenda, this.speaker, this.list),
      h('div', { class: 'meeting-side' }, this.statements, this.documents, this.outcomes))
    fill(this.body, this.header, this.layout, this.summary)
  }

  // Header: title, kind, status, when; the chair opens, suspends, resumes and closes.

  renderHeader () {
    const m = this.meeting
    const chair = mayDo(this.role, 'preside')
    const button = (verb, label, cls = 'btn') => h('button', {
      type: 'button', class: cls, dataset: { action: verb, focus: `meeting-${verb}` },
      onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/${verb}`), undefined, `${label}.`)
    }, label)
    fill(this.header,
      h('p', {}, h('a', { href: `#/drafts/${encodeURIComponent(this.draft)}/meetings` }, '← All meetings')),
      h('h1', {}, m.title),
      h('p', { class: 'meeting-meta' },
        h('span', { class: `meeting-kind meeting-kind-${m.kind}` }, m.kind === 'formal' ? 'Formal meeting: statements attributed' : 'Informal consultation: views recorded without attribution'),
        ' · ', h('span', { class: `meeting-status meeting-status-${m.status}`, dataset: { test: 'meeting-status' } }, STATUS[m.status] || m.status),
        ' · ', h('time', { datetime: m.starts }, meetingTime(m.starts, m.timezone)),
        m.convened_by ? ` · convened by ${m.convened_by}` : ''),
      chair
        ? h('p', { class: 'row' },
          m.status === 'scheduled' ? button('open', 'Open the meeting', 'btn btn-primary') : null,
          m.status === 'open' ? button('suspend', 'Suspend') : null,
          m.status === 'suspended' ? button('resume', 'Resume', 'btn btn-primary') : null,
          ['open', 'suspended'].includes(m.status) ? button('close', 'Close the meeting') : null)
        : null)
  }

  // The agenda: adopted or not, the item before the meeting, "take up" for the chair.

  renderAgenda () {
    const m = this.meeting
    const chair = mayDo(this.role, 'preside')
    const adopted = m.agenda.adopted
    const items = m.agenda.items.map((item) => {
      const current = item.id === m.current_item
      return h('li', { class: current ? 'agenda-item current' : 'agenda-item', 'aria-current': current ? 'step' : null, dataset: { item: item.id } },
        h('span', { class: 'agenda-title' }, item.title),
        current ? h('strong', { class: 'now' }, ' — before the meeting now') : null,
        chair && adopted && m.status === 'open' && !current
          ? h('button', {
            type: 'button', class: 'btn btn-small', dataset: { focus: `take-up-${item.id}` },
            onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/agenda/take-up`), { item: item.id }, `Item ${item.id} taken up.`)
          }, 'Take up')
          : null)
    })
    fill(this.agenda,
      h('h2', { id: 'agenda-title' }, 'Agenda'),
      h('p', { class: 'muted' }, adopted ? `Adopted${adopted.as_amended ? ' as amended' : ''} at ${formatTime(adopted.at)}.` : 'Provisional: not adopted yet.'),
      h('ol', { class: 'agenda-list' }, items),
      chair && !adopted && m.status === 'open'
        ? h('button', {
          type: 'button', class: 'btn btn-primary', dataset: { action: 'adopt-agenda', focus: 'adopt-agenda' },
          onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/agenda/adopt`), undefined, 'The agenda is adopted.')
        }, 'Adopt the agenda')
        : null)
  }

  // The floor: who speaks now and the time left; who waits, in order; the chair's controls.

  renderFloor () {
    const m = this.meeting
    const floor = this.floor
    const chair = mayDo(this.role, 'preside')
    const current = floor?.current
    this.countdown = h('p', { class: 'countdown time-left', dataset: { test: 'time-left' } })
    fill(this.speaker,
      h('h2', { id: 'speaker-title' }, 'The floor'),
      current
        ? [h('p', { class: 'speaker-name', dataset: { test: 'speaker' } }, ...(current.delegation ? [h('strong', {}, current.delegation), ` (${groupName(current.group)})`] : [h('strong', {}, `A speaker from ${groupName(current.group).toLowerCase()}`)]), ' ', purposeBadge(current.purpose)),
            h('p', { class: 'muted' }, `Since ${formatTime(current.started)}${current.limit_s ? ` · ${current.limit_s} s per turn` : ''}`),
            this.countdown]
        : h('p', { class: 'muted' }, m.current_item ? 'Nobody has the floor.' : 'No item is before the meeting.'),
      chair && m.status === 'open' && m.current_item
        ? h('p', { class: 'row' },
          h('button', {
            type: 'button', class: 'btn btn-primary', disabled: !floor?.order?.length, dataset: { action: 'next', focus: 'next' },
            onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/floor/next`), undefined, 'The floor is given to the next speaker.')
          }, 'Next speaker'),
          current ? h('button', { type: 'button', class: 'btn', dataset: { action: 'end', focus: 'end' }, onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/floor/end`), undefined, 'Turn ended.') }, 'End the turn') : null)
        : null)
    this.tick(Date.now())

    const order = floor?.order || []
    const mine = order.filter((e) => e.delegation === this.me.delegation)
    const entries = order.map((entry, index) => h('li', { class: 'entry', dataset: { entry: entry.id, delegation: entry.delegation } },
      h('span', { class: 'entry-who' }, h('strong', {}, entry.delegation), ` · ${groupName(entry.group)}`),
      ' ', purposeBadge(entry.purpose),
      floor.pinned?.includes(entry.id) ? h('span', { class: 'muted' }, ' (placed by the chair)') : null,
      h('span', { class: 'entry-actions' },
        chair ? h('button', { type: 'button', class: 'btn btn-small', dataset: { focus: `give-${entry.id}` }, onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/floor/give`), { entry: entry.id }, `Floor given to ${entry.delegation}.`) }, 'Give the floor') : null,
        chair && index > 0 && entry.purpose !== 'point_of_order'
          ? h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Move ${entry.delegation} up`, dataset: { action: 'up', focus: `up-${entry.id}` }, onclick: () => this.move(order, index, -1) }, '↑')
          : null,
        chair && index < order.length - 1 && entry.purpose !== 'point_of_order'
          ? h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Move ${entry.delegation} down`, dataset: { action: 'down', focus: `down-${entry.id}` }, onclick: () => this.move(order, index, 1) }, '↓')
          : null,
        entry.delegation === this.me.delegation || chair
          ? h('button', { type: 'button', class: 'btn btn-small', dataset: { focus: `withdraw-${entry.id}` }, onclick: () => this.act('DELETE', meetingsPath(this.draft, `/${m.id}/floor/requests/${entry.id}`), undefined, 'Request withdrawn.') }, chair && entry.delegation !== this.me.delegation ? 'Remove' : 'Withdraw')
          : null)))
    const ask = (purpose, label, cls = 'btn') => h('button', {
      type: 'button', class: cls, dataset: { action: `request-${purpose}`, focus: `request-${purpose}` },
      onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/floor/requests`), { purpose }, 'Your request is on the list.')
    }, label)
    const canAsk = mayDo(this.role, 'floor') && m.status === 'open' && m.current_item
    const spokenNote = Array.isArray(floor?.spoken) ? floor.spoken.length : floor?.spoken
    fill(this.list,
      h('h2', { id: 'list-title' }, 'Speaking list'),
      floor
        ? h('p', { class: 'muted' }, `${floor.open ? 'Open' : 'Closed to new requests'} · order: ${MODES[floor.mode] || floor.mode}${floor.time_limit_s ? ` · ${floor.time_limit_s} s per turn` : ''}${spokenNote ? ` · ${spokenNote} spoke on this item` : ''}`)
        : null,
      order.length ? h('ol', { class: 'entries' }, entries) : h('p', { class: 'muted' }, 'Nobody is waiting for the floor.'),
      canAsk
        ? h('p', { class: 'row' },
          mine.some((e) => e.purpose === 'speak') ? null : ask('speak', 'Request the floor', 'btn btn-primary'),
          ask('point_of_order', 'Point of order'),
          ask('right_of_reply', 'Right of reply'))
        : null,
      chair && m.status === 'open' && m.current_item ? this.chairFloorControls(floor) : null)
  }

  chairFloorControls (floor) {
    const m = this.meeting
    const limit = h('input', { type: 'number', min: '10', max: '3600', step: '10', class: 'minutes', value: floor?.time_limit_s ?? m.time_limit_s ?? '' })
    const mode = select(Object.entries(MODES), { dataset: { focus: 'mode' } })
    mode.value = floor?.mode || 'precedence'
    mode.addEventListener('change', () => this.act('PUT', meetingsPath(this.draft, `/${m.id}/floor/mode`), { mode: mode.value }, 'Speaking order changed.'))
    const open = floor ? floor.open : true
    return h('div', { class: 'floor-controls' },
      h('div', { class: 'row' },
        field('Seconds per turn', limit, 'Empty: no limit'),
        h('button', {
          type: 'button', class: 'btn', dataset: { action: 'set-limit' },
          onclick: () => this.act('PUT', meetingsPath(this.draft, `/${m.id}/floor/limit`), { seconds: limit.value ? Number(limit.value) : null }, 'Time limit set.')
        }, 'Set the time limit'),
        field('Speaking order', mode),
        h('button', {
          type: 'button', class: 'btn', dataset: { action: open ? 'close-list' : 'reopen-list' },
          onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/floor/${open ? 'close' : 'reopen'}`), undefined, open ? 'The list is closed.' : 'The list is open.')
        }, open ? 'Close the list' : 'Reopen the list')))
  }

  move (order, index, by) {
    const ids = order.filter((e) => e.purpose !== 'point_of_order').map((e) => e.id)
    const from = ids.indexOf(order[index].id)
    const to = Math.max(0, Math.min(ids.length - 1, from + by))
    ids.splice(to, 0, ids.splice(from, 1)[0])
    this.act('PUT', meetingsPath(this.draft, `/${this.meetingId}/floor/order`), { order: ids }, 'Speaking list reordered.')
  }

  tick (now) {
    const current = this.floor?.current
    if (!current || !this.countdown) return
    const left = timeLeft(current.deadline_us, now)
    this.countdown.textContent = left.text
    this.countdown.classList.toggle('over', left.over)
  }

  // Statements of the item before the meeting (all items once it closed).

  renderStatements () {
    const m = this.meeting
    const item = m.current_item
    const list = Object.values(this.state.statements)
      .filter((s) => s.meeting === m.id && (!item || s.item === item))
      .sort((a, b) => (a.started < b.started ? -1 : 1))
    const summarise = mayDo(this.role, 'convene')
    fill(this.statements,
      h('h2', { id: 'statements-title' }, item ? `Statements on item ${item}` : 'Statements'),
      m.kind === 'informal' ? h('p', { class: 'muted' }, 'An informal consultation records views without attribution.') : null,
      list.length
        ? h('ol', { class: 'statement-list' }, list.map((s) => h('li', { class: 'statement', dataset: { statement: s.id } },
          h('p', {}, h('strong', {}, s.delegation || `A speaker from ${groupName(s.group).toLowerCase()}`), ' ', purposeBadge(s.purpose), s.ended ? '' : h('span', { class: 'now' }, ' — speaking')),
          s.summary ? h('p', { class: 'statement-summary' }, s.summary) : h('p', { class: 'muted' }, 'Not summarised yet.'),
          summarise ? this.summariseForm(s) : null)))
        : h('p', { class: 'muted' }, 'No statement yet.'))
  }

  summariseForm (statement) {
    const text = h('input', { type: 'text', value: statement.summary || '', 'aria-label': `Summary of ${statement.id}`, dataset: { focus: `summary-${statement.id}` } })
    return h('form', {
      class: 'row summarise',
      onsubmit: (event) => {
        event.preventDefault()
        this.act('PUT', draftPath(this.draft, `/statements/${statement.id}/summary`), { summary: text.value, paragraphs: statement.paragraphs || [] }, 'Statement summarised.')
      }
    }, text, h('button', { type: 'submit', class: 'btn btn-small' }, 'Save summary'))
  }

  // Documents listed or introduced in this meeting.

  renderDocuments () {
    const m = this.meeting
    const here = Object.values(this.state.documents).filter((d) =>
      d.meeting === m.id || (d.introduced || []).some((i) => i.meeting === m.id))
    if (!this.documentList) {
      this.documentList = h('div')
      const canSubmit = mayDo(this.role, 'submit')
      fill(this.documents, h('h2', { id: 'documents-title' }, 'Documents'), this.documentList,
        canSubmit && m.status !== 'closed' ? this.documentForm() : null)
    }
    fill(this.documentList,
      here.length
        ? h('ul', { class: 'document-list' }, here.map((d) => h('li', { class: 'document', dataset: { document: d.id } },
          h('p', {}, d.symbol ? h('code', {}, d.symbol) : h('span', { class: 'muted' }, 'Non-paper'), ' ', h('strong', {}, d.title)),
          h('p', { class: 'muted' }, `${KINDS[d.kind] || d.kind} · ${d.author}${d.addressee ? ` → ${d.addressee}` : ''} · ${d.date} · ${d.language}`),
          d.indicator ? h('p', {}, 'Support: ', indicatorBadge(d.indicator)) : null,
          (d.introduced || []).filter((i) => i.meeting === m.id).map((i) => h('p', { class: 'muted' }, `Introduced by ${i.by}${i.item ? ` under item ${i.item}` : ''}`)),
          d.file ? h('p', {}, h('a', { href: '#', onclick: (event) => { event.preventDefault(); this.download(d) } }, `Download ${d.file.filename}`)) : null,
          this.mayIntroduce(d)
            ? h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'introduce' }, onclick: () => this.act('POST', draftPath(this.draft, `/documents/${d.id}/introduce`), { meeting: m.id }, 'Document introduced.') }, 'Introduce')
            : null)))
        : h('p', { class: 'muted' }, 'No document yet.'))
  }

  /** The chair and the secretariat introduce any document; a delegation its own, while it has the floor. */
  mayIntroduce (document_) {
    const m = this.meeting
    if (m.status !== 'open' || !m.current_item) return false
    if ((document_.introduced || []).some((i) => i.meeting === m.id && i.item === m.current_item)) return false
    if (['chair', 'secretariat'].includes(this.role)) return true
    // An informal meeting does not publish who has the floor: the server tells whether it is this delegation.
    const current = this.floor?.current
    return document_.author === this.me.delegation && !!current && (current.delegation ?? this.me.delegation) === this.me.delegation
  }

  // Decisions and conclusions; Groups of Friends of the Chair and their text.

  renderOutcomes () {
    const m = this.meeting
    const chair = mayDo(this.role, 'preside')
    const groups = Object.values(this.state.friends).filter((g) => g.id)
    const decision = h('textarea', { rows: 2, 'aria-label': 'Decision or conclusion', dataset: { focus: 'decision' } })
    fill(this.outcomes,
      h('h2', { id: 'outcomes-title' }, 'Decisions and groups'),
      m.decisions.length
        ? h('ul', { class: 'decision-list' }, m.decisions.map((d) => h('li', { dataset: { decision: d.id } }, d.text)))
        : h('p', { class: 'muted' }, 'No decision recorded.'),
      chair && ['open', 'suspended'].includes(m.status)
        ? h('form', {
          class: 'decision-form',
          onsubmit: (event) => {
            event.preventDefault()
            if (decision.value.trim()) this.act('POST', meetingsPath(this.draft, `/${m.id}/decisions`), { text: decision.value.trim() }, 'Decision recorded.')
          }
        }, decision, h('button', { type: 'submit', class: 'btn btn-small' }, 'Record the decision'))
        : null,
      groups.length
        ? h('ul', { class: 'group-list' }, groups.map((g) => h('li', { dataset: { group: g.id } },
          h('a', { href: `#/drafts/${encodeURIComponent(g.draft)}` }, g.title), ` on ${g.paragraphs.join(', ')} · ${g.members.join(', ')} · until ${formatTime(g.deadline)} · `,
          g.state === 'reported' ? `its text came back as ${g.amendments.join(', ')}` : 'working',
          chair && g.state === 'working'
            ? h('button', { type: 'button', class: 'btn btn-small', dataset: { action: 'report' }, onclick: () => this.act('POST', draftPath(this.draft, `/friends/${g.id}/report`), undefined, 'The group’s text is before the plenary.') }, 'Bring its text to the plenary')
            : null)))
        : null,
      chair && m.status === 'open' ? this.friendsForm() : null)
  }

  friendsForm () {
    const paragraphs = Object.values(this.paragraphs || {}).filter((p) => p.kind !== 'heading')
    const boxes = paragraphs.map((p) => h('label', { class: 'inline' }, h('input', { type: 'checkbox', value: p.id }), ` ${p.number || p.id}`))
    const members = h('input', { type: 'text', placeholder: 'Switzerland, Brazil, CCBI' })
    const deadline = h('input', { type: 'datetime-local', required: true })
    return h('details', { class: 'friends-form' },
      h('summary', {}, 'Establish a Group of Friends of the Chair'),
      h('form', {
        onsubmit: (event) => {
          event.preventDefault()
          this.act('POST', draftPath(this.draft, '/friends'), {
            paragraphs: boxes.map((b) => b.firstChild).filter((b) => b.checked).map((b) => b.value),
            members: members.value.split(',').map((x) => x.trim()).filter(Boolean),
            deadline: new Date(deadline.value).toISOString(),
            meeting: this.meeting.id
          }, 'The group is established.')
        }
      },
      h('fieldset', {}, h('legend', {}, 'Mandate: paragraphs'), boxes),
      field('Members (delegations, comma-separated)', members),
      field('Deadline', deadline),
      h('button', { type: 'submit', class: 'btn' }, 'Establish the group')))
  }

  async download (document_) {
    try {
      const response = await this.api.raw('GET', draftPath(this.draft, `/documents/${document_.id}/file`))
      saveBlob(await response.blob(), document_.file.filename)
    } catch (e) {
      this.error.show(e.detail || e.message)
    }
  }

  documentForm () {
    const officer = ['chair', 'secretariat'].includes(this.role)
    const kinds = Object.entries(KINDS).filter(([k]) => officer || ['proposal', 'contribution', 'non_paper'].includes(k))
    const kind = select(kinds)
    const title = h('input', { type: 'text', required: true })
    const text = h('textarea', { rows: 3 })
    return h('details', { class: 'document-form' },
      h('summary', {}, officer ? 'Register a document' : 'Submit a proposal or contribution'),
      h('form', {
        onsubmit: async (event) => {
          event.preventDefault()
          const done = await this.act('POST', draftPath(this.draft, '/documents'), {
            kind: kind.value, title: title.value, text: text.value, meeting: this.meeting.id, item: this.meeting.current_item || null
          }, 'Document submitted.')
          if (done) { title.value = ''; text.value = '' }
        }
      }, field('Kind', kind), field('Title', title), field('Text', text), h('button', { type: 'submit', class: 'btn' }, 'Submit')))
  }

  // The summary: drafted from the record, edited live by the chair and the secretariat, published.

  renderSummary () {
    const m = this.meeting
    const editor = mayDo(this.role, 'convene')
    const published = this.state.summaries[m.id]?.versions || []
    if (!this.summaryHead) {
      this.summaryHead = h('div')
      this.summaryBox = h('div', { class: 'summary-editor', dataset: { test: 'summary-editor' } })
      this.summaryVersions = h('div')
      fill(this.summary, h('h2', { id: 'summary-title' }, 'Meeting summary'), this.summaryHead, this.summaryBox, this.summaryVersions)
      this.openSummary(editor)
    }
    fill(this.summaryHead,
      h('p', { class: 'muted' }, editor
        ? 'The chair’s summary: draft it from the record, then edit it here (everyone sees it live) and publish it.'
        : 'The chair’s summary as it is being drafted. The published versions are below.'),
      editor
        ? h('p', { class: 'row' },
          h('button', {
            type: 'button', class: 'btn', dataset: { action: 'draft-summary' },
            onclick: () => {
              if (this.summaryText.length && !window.confirm('Replace the text with a new draft from the record?')) return
              this.act('POST', meetingsPath(this.draft, `/${m.id}/summary/draft`), {}, 'A draft summary was written from the record.')
            }
          }, 'Draft from the record'),
          mayDo(this.role, 'preside')
            ? h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'publish-summary' }, onclick: () => this.act('POST', meetingsPath(this.draft, `/${m.id}/summary/publish`), undefined, 'The summary is published.') }, 'Publish')
            : null)
        : null)
    fill(this.summaryVersions,
      published.length
        ? h('ul', { class: 'versions', dataset: { test: 'published' } }, published.map((v) => h('li', {},
          `Version ${v.version}, published ${formatTime(v.published)} by ${v.by} · `,
          ['markdown', 'html', 'akn'].map((fmt) => [h('a', { href: '#', onclick: (event) => { event.preventDefault(); this.export(v.version, fmt) } }, fmt === 'akn' ? 'Akoma Ntoso' : fmt.toUpperCase()), ' ']),
          h('span', { class: 'hash muted' }, ` SHA-256 ${v.sha256.slice(0, 16)}…`))))
        : h('p', { class: 'muted' }, 'Not published yet.'))
  }

  openSummary (editable) {
    this.summaryDoc = new Y.Doc()
    this.summaryText = this.summaryDoc.getText('summary')
    this.summaryProvider = new WebsocketProvider(wsBase(), `${this.draft}/summary/${this.meetingId}`, this.summaryDoc, { params: { token: this.conn.token } })
    this.summaryProvider.awareness.setLocalStateField('user', { name: this.me.name })
    const undoManager = new Y.UndoManager(this.summaryText)
    this.summaryView = new EditorView({
      parent: this.summaryBox,
      state: EditorState.create({
        doc: this.summaryText.toString(),
        extensions: [
          keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
          EditorView.lineWrapping,
          yCollab(this.summaryText, this.summaryProvider.awareness, { undoManager }),
          EditorView.editable.of(editable),
          EditorState.readOnly.of(!editable),
          EditorView.contentAttributes.of({ 'aria-label': 'Meeting summary' })
        ]
      })
    })
  }

  async export (version, fmt) {
    try {
      const response = await this.api.raw('GET', meetingsPath(this.draft, `/${this.meetingId}/summary/published/${version}?format=${fmt}`))
      const blob = await response.blob()
      const ext = { markdown: 'md', html: 'html', akn: 'akn.xml' }[fmt]
      saveBlob(blob, `${this.draft}-${this.meetingId}-summary-v${version}.${ext}`)
    } catch (e) {
      this.error.show(e.detail || e.message)
    }
  }

  // The list of meetings, and convening one.

  renderList (state) {
    document.title = `Meetings · ${this.title || this.draft} · Plenary`
    const meetings = Object.values(state.meetings).sort((a, b) => (a.starts_us - b.starts_us) || (a.id < b.id ? -1 : 1))
    const base = `#/drafts/${encodeURIComponent(this.draft)}/meetings`
    fill(this.body,
      h('h1', {}, 'Meetings'),
      this.title ? h('p', { class: 'symbol' }, this.title) : null,
      meetings.length
        ? h('ul', { class: 'meeting-list' }, meetings.map((m) => h('li', { class: 'panel', dataset: { meeting: m.id } },
          h('h2', {}, h('a', { href: `${base}/${encodeURIComponent(m.id)}` }, m.title)),
          h('p', { class: 'muted' }, `${m.kind === 'formal' ? 'Formal meeting' : 'Informal consultation'} · ${STATUS[m.status] || m.status} · ${meetingTime(m.starts, m.timezone)}`))))
        : h('p', { class: 'muted' }, 'No meeting has been convened for this draft.'),
      mayDo(this.role, 'convene') ? this.conveneForm() : null)
  }

  conveneForm () {
    const title = h('input', { type: 'text', required: true })
    const kind = select([['informal', 'Informal consultation'], ['formal', 'Formal meeting']])
    const starts = h('input', { type: 'datetime-local', required: true })
    const agenda = h('textarea', { rows: 4 })
    return h('form', {
      class: 'panel convene',
      onsubmit: async (event) => {
        event.preventDefault()
        const items = agenda.value.split('\n').map((t) => t.trim()).filter(Boolean).map((t) => ({ title: t }))
        const created = await this.act('POST', meetingsPath(this.draft), {
          title: title.value,
          kind: kind.value,
          starts: new Date(starts.value).toISOString(),
          timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || '',
          agenda: items
        }, 'Meeting convened.')
        if (created) window.location.hash = `#/drafts/${encodeURIComponent(this.draft)}/meetings/${created.result.id}`
      }
    },
    h('h2', {}, 'Convene a meeting'),
    field('Title', title), field('Kind', kind), field('Starts', starts),
    field('Provisional agenda', agenda, 'One item per line'),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Convene'))
  }
}
