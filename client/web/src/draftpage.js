// The draft page: numbered paragraphs co-edited live, with statuses, indicators, presence,
// comments, amendments and positions.
import * as Y from 'yjs'
import { draftPath } from './api.js'
import { periodOpenFor } from './connection.js'
import { paragraphEditor } from './editor.js'
import { RefusedNotice } from './refused.js'
import { structureTools } from './structure.js'
import {
  announce, colourFor, debounce, duration, errorBox, everySecond, field, fill, h, nextId, select, srOnly, timeEl
} from './dom.js'
import {
  AMENDMENT_KINDS, AMENDMENT_STATES, MOTIVATIONS, ROLES, STANCES, groupName, indicatorBadge, kindName, numberLabel,
  stanceBadge, stanceName, statusBadge
} from './labels.js'
import { may } from './session.js'
import { deadlineEl, meetingZone } from './deadlines.js'
import { NoticesPanel } from './notices.js'
import { changesSince, previousVisit, recordVisit, sinceNote } from './sincelast.js'
import { amendmentLink, annotationLink, paragraphLink, reveal, targetElement } from './links.js'

export const NO_POSITIONS = { status: 'no_positions', rule: 'consensus', rule_satisfied: false, counts: {}, silent_groups: [], unrepresented_groups: [] }

const KIND_NAMES = { heading: 'Heading', preambular: 'Preambular paragraph', operative: 'Operative paragraph', item: 'Item' }

export class DraftPage {
  constructor ({ api, me, role, draft, conn, container, target }) {
    this.target = target || null // a deep link's paragraph, amendment or annotation
    this.api = api
    this.me = me
    this.role = role
    this.draft = draft
    this.conn = conn
    this.container = container
    this.views = new Map() // Y.Map → ParagraphView
    this.numbers = {}
    this.state = conn.deliberation()
    this.cleanups = []
  }

  async mount () {
    this.title = h('h1', {}, this.draft)
    this.symbol = h('p', { class: 'symbol' })
    this.roleBanner = h('p', { class: 'banner banner-info', hidden: true })
    this.lockBanner = h('p', { class: 'banner banner-lock', role: 'status', hidden: true, dataset: { test: 'lock-banner' } })
    this.noticeBanner = h('p', { class: 'banner banner-warn', role: 'alert', hidden: true })
    this.refusedNotice = new RefusedNotice(this, this.noticeBanner)
    this.periodBanner = h('div', { class: 'periods', role: 'group', 'aria-label': 'Comment periods' })
    this.presence = h('ul', { class: 'presence-list' })
    this.list = h('div', { class: 'paragraph-list', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading the text…'))
    this.notices = new NoticesPanel({ me: this.me, draft: this.draft, name: (id) => this.paragraphName(id) })
    this.notices.onRead = () => this.renderNotices()
    fill(this.container,
      h('section', { class: 'draft-page' },
        h('div', { class: 'draft-head' },
          h('div', { class: 'draft-title' }, this.title, this.symbol),
          h('section', { class: 'presence', 'aria-labelledby': 'presence-title' },
            h('h2', { id: 'presence-title' }, 'Present'), this.presence)
        ),
        this.roleBanner, this.lockBanner, this.noticeBanner, this.periodBanner,
        this.notices.el,
        this.list
      )
    )
    this.showRoleBanner()
    this.loadSinceLastVisit()
    meetingZone(this.api, this.draft).then((zone) => { this.zone = zone; this.renderPeriods(Date.now()) })
    this.refetch = debounce(() => this.fetchNumbers(), 120)
    this.fetchNumbers()
    // Where this participant may type, paragraph by paragraph, as the server judges it (GET …/me).
    this.refetchSeat = debounce(() => this.fetchSeat(), 150)
    this.fetchSeat()
    this.attachText()
    this.cleanups.push(this.conn.on('reset', (notice, refused, why) => {
      this.refusedNotice.show(notice, why, refused || {})
      for (const view of this.views.values()) view.destroy()
      this.views.clear()
      this.attachText()
    }))
    const renderDelib = debounce(() => this.onDeliberation(), 16)
    this.cleanups.push(() => { renderDelib.cancel(); this.refetch.cancel(); this.refetchSeat.cancel() })
    this.cleanups.push(this.conn.on('deliberation', renderDelib))
    // The floor (meetings) is published beside the deliberation maps.
    const speakers = this.conn.delib.getMap('speakers')
    const onSpeakers = () => this.renderNotices()
    speakers.observe(onSpeakers)
    this.cleanups.push(() => speakers.unobserve(onSpeakers))
    this.cleanups.push(this.conn.on('ended', () => this.refreshPermissions()))
    this.cleanups.push(everySecond((now) => this.tick(now)))
    this.onDeliberation()
  }

  attachText () {
    this.detachText?.()
    const paragraphs = this.conn.paragraphs
    const awareness = this.conn.awareness
    const provider = this.conn.provider
    const onArray = () => { this.syncParagraphs(); this.refetch() }
    const presence = () => this.renderPresence()
    const onSync = (synced) => { if (synced) { onArray(); this.refusedNotice.offer() } }
    paragraphs.observe(onArray)
    awareness.on('change', presence)
    provider.on('sync', onSync)
    this.detachText = () => {
      paragraphs.unobserve(onArray)
      awareness.off('change', presence)
      provider.off('sync', onSync)
    }
    this.renderPresence()
    if (provider.synced) this.syncParagraphs()
  }

  async fetchNumbers () {
    try {
      const draft = await this.api.get(draftPath(this.draft))
      this.title.textContent = draft.title
      this.symbol.textContent = draft.symbol || ''
      document.title = this.notices.titled(`${draft.title} · Plenary`)
      this.numbers = Object.fromEntries(draft.paragraphs.map((p) => [p.id, p.number]))
      for (const view of this.views.values()) view.renderHead()
    } catch (error) {
      this.refusedNotice.show(`Could not load the draft: ${error.message}`, 'load')
    }
  }

  async fetchSeat () {
    try {
      this.seat = await this.api.get(draftPath(this.draft, '/me'))
      this.refreshPermissions()
    } catch {
      // The read-only reasons then come from the role and the lock alone; the server still decides.
    }
  }

  syncParagraphs () {
    const seen = new Set()
    const ordered = []
    this.conn.paragraphs.forEach((ymap) => {
      if (!(ymap instanceof Y.Map)) return
      let view = this.views.get(ymap)
      if (!view) {
        view = new ParagraphView(this, ymap)
        this.views.set(ymap, view)
      }
      seen.add(ymap)
      ordered.push(view)
    })
    for (const [ymap, view] of this.views) {
      if (!seen.has(ymap)) {
        view.destroy()
        this.views.delete(ymap)
      }
    }
    if (this.conn.provider.synced || ordered.length) {
      this.list.removeAttribute('aria-busy')
      if (!ordered.length) fill(this.list, h('p', { class: 'empty' }, 'This draft has no paragraphs yet.'))
      else placeInOrder(this.list, ordered.map((v) => v.el))
    }
    for (const view of ordered) view.renderDeliberation()
    if (this.since) for (const view of ordered) view.showSince()
    const added = this.focusParagraph && this.viewFor(this.focusParagraph)
    if (added?.editor) { this.focusParagraph = null; added.editor.view.focus() }
    this.revealTarget()
  }

  /** The changes since this participant's last visit, shown on each paragraph they touched. */
  async loadSinceLastVisit () {
    const since = previousVisit(this.me, this.draft)
    recordVisit(this.me, this.draft)
    const leave = () => recordVisit(this.me, this.draft)
    window.addEventListener('pagehide', leave)
    this.cleanups.push(() => { window.removeEventListener('pagehide', leave); leave() })
    if (!since) return
    const changes = await changesSince(this.api, this.draft, since)
    if (changes?.size) this.since = { at: since, changes }
    for (const view of this.views.values()) view.showSince()
  }

  /** A deep link's target, once it is on the page (the text and the deliberation arrive apart). */
  revealTarget () {
    if (!this.target) return
    const element = targetElement(this.list, this.target)
    if (element) { this.target = null; reveal(element) }
  }

  viewFor (paragraphId) {
    for (const view of this.views.values()) if (view.id === paragraphId) return view
    return null
  }

  numberOf (paragraphId) {
    return this.numbers[paragraphId] ?? ''
  }

  /** "¶ 3", "item (a)", or the heading's first words. */
  paragraphName (paragraphId) {
    const number = this.numberOf(paragraphId)
    if (number) return `paragraph ${number}`
    const view = this.viewFor(paragraphId)
    return view ? `${KIND_NAMES[view.kind]?.toLowerCase() || 'paragraph'} ${paragraphId}` : `paragraph ${paragraphId}`
  }

  onDeliberation () {
    const before = this.state
    this.state = this.conn.deliberation()
    if (!!before.process?.locked !== !!this.state.process?.locked && this.conn.synced) {
      announce(this.state.process?.locked ? 'The text is now locked.' : 'The text is unlocked.')
    }
    if (before.process?.numbering_frozen !== this.state.process?.numbering_frozen) this.refetch()
    this.refetchSeat()
    this.refreshPermissions()
    for (const view of this.views.values()) view.renderDeliberation()
    this.renderPeriods(Date.now())
    this.renderNotices()
    this.revealTarget()
    if (this.refusedNotice.notice && !!before.process?.locked !== this.locked) this.refusedNotice.render()
  }

  // What this participant may do now, and why not.

  get locked () { return !!this.state.process?.locked }

  editReason (paragraphId) {
    if (this.conn.ended) return this.conn.ended.message
    if (!may(this.role, 'edit')) {
      return this.role === 'observer'
        ? 'Read-only: observers can read and comment, but not edit the text.'
        : `Read-only: the ${ROLES[this.role]?.toLowerCase() || this.role} role cannot edit the text.`
    }
    if (this.locked) return 'The text is locked: nobody types in it; only adopted amendments change it.'
    // Without a paragraph: what holds for the whole page (the role, the lock, the connection).
    const why = paragraphId != null ? this.seat?.paragraphs?.[paragraphId] : null
    return why ? why.charAt(0).toUpperCase() + why.slice(1) + '.' : ''
  }

  /** Whether typing into a paragraph this participant may not edit makes a suggestion instead. */
  suggests (paragraphId) {
    return this.role === 'delegate' && !this.conn.ended && periodOpenFor(this.state.periods, paragraphId).open
  }

  showRoleBanner () {
    const messages = {
      observer: 'You take part as an observer: you can read the text and comment on it; you cannot edit it, propose amendments or state positions.',
      archivist: 'You take part as an archivist: the text and the deliberation are read-only for you. The archive shows the full record.',
      chair: 'You take part as the chair: you can edit and comment here; the dashboard has the process and the decisions.',
      secretariat: 'You take part as the secretariat: you can edit and comment here; the dashboard has the process.'
    }
    const message = messages[this.role]
    this.roleBanner.textContent = message || ''
    this.roleBanner.hidden = !message
    this.roleBanner.dataset.test = 'role-banner'
  }

  refreshPermissions () {
    const reason = this.editReason()
    const lockedNow = this.locked
    this.lockBanner.hidden = !lockedNow
    if (lockedNow) {
      this.lockBanner.replaceChildren(
        h('span', { 'aria-hidden': 'true' }, '■ '),
        'The text is locked: nobody types in it; only adopted amendments change it.',
        may(this.role, 'propose') ? ' You can still propose amendments.' : ''
      )
    }
    for (const view of this.views.values()) {
      const why = reason || this.editReason(view.id)
      view.setEditable(!why, why)
    }
    // What a refused change can be put back as follows where one may type now.
    if (this.refusedNotice.offering) this.refusedNotice.render()
  }

  renderPresence () {
    const states = this.conn.awareness.getStates()
    const people = new Map()
    states.forEach((state, client) => {
      const user = state?.user
      if (client === this.conn.awareness.clientID) return
      if (!user?.id || user.id === this.me.id) return
      let where = ''
      const cursor = state.cursor
      if (cursor?.anchor) {
        try {
          const abs = Y.createAbsolutePositionFromRelativePosition(cursor.anchor, this.conn.doc)
          for (const view of this.views.values()) {
            if (abs && view.ytext === abs.type) where = this.numberOf(view.id) ? `¶ ${this.numberOf(view.id)}` : view.id
          }
        } catch {}
      }
      people.set(user.id, { ...user, where })
    })
    const self = h('li', { class: 'person' },
      h('span', { class: 'dot', style: `background:${colourFor(this.me.id).solid}`, 'aria-hidden': 'true' }),
      h('span', { class: 'person-name' }, `${this.me.name} (you)`))
    fill(this.presence, self, [...people.values()].map((user) =>
      h('li', { class: 'person', dataset: { user: user.id } },
        h('span', { class: 'dot', style: `background:${colourFor(user.id).solid}`, 'aria-hidden': 'true' }),
        h('span', {},
          h('span', { class: 'person-name' }, user.name),
          h('span', { class: 'person-meta' }, ` — ${[user.delegation, ROLES[user.role] || user.role].filter(Boolean).join(', ')}`),
          user.where ? h('span', { class: 'person-where' }, ` · in ${user.where}`) : null)
      )
    ))
  }

  renderPeriods (now) {
    const periods = Object.values(this.state.periods || {})
    if (!periods.length) { this.periodBanner.replaceChildren(); return }
    const items = periods.map((p) => {
      const open = !p.closed && p.opens_us <= now * 1000 && now * 1000 < p.deadline_us
      const scope = p.paragraphs == null
        ? 'the whole draft'
        : p.paragraphs.map((id) => (this.numberOf(id) ? `¶ ${this.numberOf(id)}` : id)).join(', ')
      const deadline = new Date(p.deadline_us / 1000).toISOString()
      return h('li', { class: `period ${open ? 'period-open' : 'period-closed'}`, dataset: { period: p.id } },
        h('strong', {}, open ? 'Comment period open' : 'Comment period closed'),
        ` (${p.id}) on ${scope}: `,
        open
          ? ['closes in ', h('span', { class: 'countdown' }, duration(p.deadline_us / 1000 - now)), ' — deadline ', deadlineEl(deadline, this.zone)]
          : [p.closed ? 'closed by the chair; deadline was ' : 'deadline passed ', deadlineEl(deadline, this.zone)]
      )
    })
    fill(this.periodBanner, h('ul', { class: 'period-list' }, items))
  }

  renderNotices () {
    this.noticesAt = Date.now()
    this.notices.update(this.state, this.conn.delib.getMap('speakers').toJSON())
  }

  tick (now) {
    if (Object.keys(this.state.periods || {}).length) this.renderPeriods(now)
    if (now - (this.noticesAt || 0) > 10_000) this.renderNotices() // deadlines pass without a change
    for (const view of this.views.values()) view.tick(now)
  }

  destroy () {
    this.detachText?.()
    for (const fn of this.cleanups) fn()
    for (const view of this.views.values()) view.destroy()
    this.views.clear()
  }
}

/** Put elements in order, moving only those out of place (an editor that is moved loses focus). */
function placeInOrder (parent, elements) {
  const wanted = new Set(elements)
  for (const child of [...parent.children]) if (!wanted.has(child)) child.remove()
  elements.forEach((el, i) => {
    if (parent.children[i] !== el) parent.insertBefore(el, parent.children[i] || null)
  })
}

class ParagraphView {
  constructor (page, ymap) {
    this.page = page
    this.ymap = ymap
    this.id = ymap.get('id')
    this.kind = ymap.get('kind') || 'operative'
    this.ytext = ymap.get('text')
    this.cards = new Map()
    this.lastAnnotations = ''
    this.selection = { from: 0, to: 0 }
    const headingId = nextId('ph')
    this.numberEl = h('span', { class: 'para-number', id: headingId })
    this.statusEl = h('span', { class: 'para-status' })
    this.indicatorEl = h('span', { class: 'para-indicator' })
    this.silenceEl = h('span', { class: 'para-silence' })
    this.editorHost = h('div', { class: 'para-editor' })
    this.readonlyNote = h('p', { class: 'readonly-note', hidden: true })
    this.selectionNote = h('p', { class: 'selection-note', 'aria-live': 'polite' })
    this.periodNote = h('p', { class: 'period-note', hidden: true, dataset: { test: 'period-note' } })
    this.tools = h('div', { class: 'para-tools', role: 'group', 'aria-label': 'Actions on this paragraph' })
    this.forms = h('div', { class: 'para-forms' })
    this.forms.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape' || !this.forms.firstChild) return
      event.preventDefault()
      this.closeForms()
    })
    this.annotationsEl = h('section', { class: 'annotations', 'aria-label': 'Comments' })
    this.amendmentsEl = h('section', { class: 'amendments', 'aria-label': 'Amendments' })
    this.positionsEl = h('section', { class: 'para-positions', 'aria-label': 'Positions on this paragraph' })
    this.el = h('article', {
      class: `para para-${this.kind}`,
      id: `para-${this.id}`,
      dataset: { paragraph: this.id },
      'aria-labelledby': headingId
    },
    h('div', { class: 'para-head' }, this.numberEl, this.statusEl, this.indicatorEl, this.silenceEl,
      h('a', { class: 'deep-link', href: paragraphLink(page.draft, this.id), title: 'Link to this paragraph', 'aria-label': `Link to ${this.id}` }, '#')),
    h('div', { class: 'para-body' },
      h('div', { class: 'para-main' }, this.editorHost, this.readonlyNote, this.selectionNote, this.tools, this.periodNote, this.forms),
      h('div', { class: 'para-side' }, this.positionsEl, this.amendmentsEl, this.annotationsEl)
    ))

    this.sinceEl = h('div', { class: 'since-last', hidden: true, dataset: { test: 'since-last' } })
    this.editorHost.before(this.sinceEl)
    this.suggestionEl = h('div', { class: 'suggestion', hidden: true, dataset: { test: 'suggestion' } })
    this.editorHost.after(this.suggestionEl)
    if (this.ytext instanceof Y.Text) {
      const reason = page.editReason(this.id)
      this.editor = paragraphEditor({
        ytext: this.ytext,
        awareness: page.conn.awareness,
        parent: this.editorHost,
        label: this.label(),
        editable: !reason,
        onSelection: (view) => this.onSelection(view),
        describeAnchor: (id) => this.describeAnchor(id),
        onSuggestion: (change) => this.renderSuggestion(change)
      })
      this.setEditable(!reason, reason)
    } else {
      this.editorHost.textContent = String(this.ytext ?? '')
    }
    this.buildTools()
    this.renderHead()
  }

  get number () { return this.page.numberOf(this.id) }

  showSince () {
    const since = this.page.since
    const change = since?.changes.get(this.id)
    if (!change || this.sinceShown) return
    this.sinceShown = true
    fill(this.sinceEl, sinceNote(change, since.at, () => { this.sinceEl.hidden = true }))
    this.sinceEl.hidden = false
  }

  label () {
    const n = this.number
    const what = this.kind === 'heading' ? 'Heading' : n ? `Paragraph ${n}` : (KIND_NAMES[this.kind] || 'Paragraph')
    return `${what} text`
  }

  renderHead () {
    const n = this.number
    const kindName = KIND_NAMES[this.kind] || this.kind
    fill(this.numberEl,
      srOnly(`${kindName} `),
      h('span', { 'aria-hidden': this.kind === 'heading' ? 'true' : null }, numberLabel(n, this.kind) || (this.kind === 'heading' ? '§' : '·'))
    )
    this.numberEl.title = `${kindName}${n ? ' ' + n : ''} (${this.id})`
    this.editor?.setLabel(this.editable ? this.label() : `${this.label()} (read-only)`)
  }

  setEditable (on, reason) {
    const suggesting = !on && this.page.suggests(this.id) && this.kind !== 'heading'
    this.editable = on
    this.editor?.setMode(on ? 'live' : suggesting ? 'suggest' : 'readonly')
    this.editor?.setLabel(on ? this.label() : suggesting ? `${this.label()} (your changes are suggestions)` : `${this.label()} (read-only)`)
    this.readonlyNote.hidden = on
    this.readonlyNote.textContent = on ? '' : suggesting ? `${reason} Typing here makes a suggestion, which you can propose as an amendment.` : reason
    this.el.classList.toggle('readonly', !on && !suggesting)
    this.el.classList.toggle('suggesting', suggesting)
  }

  /** The tracked change typed into a paragraph one may not edit, and sending it as an amendment. */
  renderSuggestion (change) {
    if (!change) { this.suggestionEl.hidden = true; this.suggestionEl.replaceChildren(); return }
    const kind = !change.original ? 'insertion' : !change.text ? 'deletion' : 'substitution'
    const asAmendment = may(this.page.role, 'propose') && this.page.seat?.negotiates !== false
    if (!this.suggestionForm) {
      this.suggestionJustification = h('input', { type: 'text', maxlength: 20000, name: 'justification', placeholder: 'optional' })
      this.suggestionError = errorBox()
      this.suggestionSend = h('button', { type: 'submit', class: 'btn btn-primary' })
      this.suggestionChange = h('div', { class: 'suggestion-change' })
      this.suggestionForm = h('form', { class: 'inline-form suggestion-form', 'aria-label': 'Your suggestion' },
        this.suggestionChange,
        field('Justification', this.suggestionJustification),
        h('div', { class: 'form-actions' }, this.suggestionSend,
          h('button', { type: 'button', class: 'btn', onclick: () => this.editor.discard() }, 'Discard')),
        this.suggestionError)
      this.suggestionForm.addEventListener('submit', (event) => this.sendSuggestion(event))
    }
    this.pendingSuggestion = { ...change, kind }
    fill(this.suggestionChange, h('p', { class: 'form-context' }, 'Your suggestion: '), changeView({ kind, original: change.original, text: change.text }))
    this.suggestionSend.textContent = asAmendment ? `Propose as amendment (${kindName(kind).toLowerCase()})` : 'Send as a suggestion (comment)'
    if (!this.suggestionEl.contains(this.suggestionForm)) fill(this.suggestionEl, this.suggestionForm)
    this.suggestionEl.hidden = false
  }

  async sendSuggestion (event) {
    event.preventDefault()
    const change = this.pendingSuggestion
    if (!change) return
    const justification = this.suggestionJustification.value
    const asAmendment = may(this.page.role, 'propose') && this.page.seat?.negotiates !== false
    this.suggestionSend.disabled = true
    try {
      if (asAmendment) {
        const { result } = await this.page.api.post(draftPath(this.page.draft, '/amendments'), {
          paragraph: this.id, kind: change.kind, start: change.start, end: change.end, text: change.text, justification
        })
        announce(`Amendment ${result.id} proposed.`)
      } else {
        // Without negotiating rights a suggestion is a written contribution: a comment that edits.
        const what = change.kind === 'insertion' ? `insert “${change.text}”` : change.kind === 'deletion' ? `delete “${change.original}”` : `replace “${change.original}” with “${change.text}”`
        const body = `Suggested change: ${what}.${justification ? ' ' + justification : ''}`
        const span = change.kind === 'insertion' ? { start: change.start, end: change.start } : { start: change.start, end: change.end }
        const { result } = await this.page.api.post(draftPath(this.page.draft, '/annotations'), { paragraph: this.id, motivation: 'editing', body, ...span })
        announce(`Suggestion ${result.id} posted as a comment.`)
      }
      this.suggestionJustification.value = ''
      this.suggestionError.show('')
      this.editor.discard()
    } catch (e) {
      this.suggestionError.show(e.message)
    } finally {
      this.suggestionSend.disabled = false
    }
  }

  describeAnchor (id) {
    const state = this.page.state
    const am = state.amendments?.[id]
    if (am) return `Amendment ${id} by ${am.sponsor}: ${kindName(am.kind)}`
    const an = state.annotations?.[id]
    if (an) return `Comment ${id} by ${an.creator?.name || ''}: ${an.body.slice(0, 80)}`
    return id
  }

  /** Close the inline form and go back to where the participant was in the text. */
  closeForms () {
    this.forms.replaceChildren()
    this.editor?.view.focus()
  }

  /** After a comment or amendment on a passage is sent, the passage is no longer "selected". */
  clearSelection () {
    this.selectionNote.textContent = ''
    const view = this.editor?.view
    if (view) {
      const head = view.state.selection.main.head
      view.dispatch({ selection: { anchor: head } })
    }
  }

  onSelection (view) {
    const { from, to } = view.state.selection.main
    this.selection = { from, to }
    if (from === to) {
      this.selectionNote.textContent = ''
      return
    }
    const text = view.state.sliceDoc(from, to)
    const short = text.length > 80 ? text.slice(0, 77) + '…' : text
    this.selectionNote.textContent = `Selected: “${short}” (characters ${from}–${to}). Comment on it or propose an amendment below.`
  }

  // Tools: comment, amendment, position.

  buildTools () {
    const role = this.page.role
    this.commentButton = may(role, 'annotate')
      ? h('button', { type: 'button', class: 'btn', onclick: () => this.openCommentForm() }, h('span', { 'aria-hidden': 'true' }, '✚ '), 'Comment')
      : null
    this.amendButton = may(role, 'propose')
      ? h('button', { type: 'button', class: 'btn', onclick: () => this.openAmendmentForm() }, h('span', { 'aria-hidden': 'true' }, '✎ '), 'Propose amendment')
      : null
    const structure = may(role, 'manage') ? structureTools(this.page, this) : null
    fill(this.tools, this.commentButton, this.amendButton, structure)
    this.tools.hidden = !this.commentButton && !this.amendButton && !structure
    if (may(role, 'position') && this.kind !== 'heading') {
      this.positionForm = new PositionForm(this.page, this.id, 'Your delegation’s position on this paragraph')
    }
  }

  periodState (now = Date.now()) {
    return periodOpenFor(this.page.state.periods, this.id, now)
  }

  refreshOpen (now = Date.now()) {
    const period = this.periodState(now)
    const ended = this.page.conn.ended
    const why = ended ? ended.message : period.reason
    for (const button of [this.commentButton, this.amendButton]) {
      if (!button) continue
      button.disabled = !!why
      if (why) button.setAttribute('aria-describedby', this.periodNoteId())
      else button.removeAttribute('aria-describedby')
    }
    this.periodNote.hidden = !period.reason
    this.periodNote.textContent = period.reason
    if (!period.open) this.forms.replaceChildren()
    const short = ended ? ended.message : 'Closed: the comment period for this paragraph is over.'
    this.positionForm?.setOpen(!why, why ? short : '')
    for (const card of this.cards.values()) card.setOpen(!why, why ? short : '')
    const wasOpen = this.isOpen
    this.isOpen = !why
    if (wasOpen !== undefined && wasOpen !== this.isOpen) this.renderAnnotations()
  }

  periodNoteId () {
    if (!this.periodNote.id) this.periodNote.id = nextId('pn')
    return this.periodNote.id
  }

  /** The current selection as Yjs relative positions: they follow the text until the form is sent. */
  captureSelection () {
    const { from, to } = this.selection
    const quote = this.editor ? this.editor.view.state.sliceDoc(from, to) : ''
    return {
      quote,
      empty: from === to,
      from: Y.createRelativePositionFromTypeIndex(this.ytext, from, 0),
      to: Y.createRelativePositionFromTypeIndex(this.ytext, to, -1)
    }
  }

  spanOf (captured) {
    const doc = this.ytext.doc
    const start = Y.createAbsolutePositionFromRelativePosition(captured.from, doc)
    const end = Y.createAbsolutePositionFromRelativePosition(captured.to, doc)
    const s = start ? start.index : this.selection.from
    const e = end ? Math.max(end.index, s) : this.selection.to
    return { start: s, end: captured.empty ? s : e }
  }

  openCommentForm (replyTo = null) {
    const captured = replyTo ? null : this.captureSelection()
    const body = h('textarea', { rows: 3, required: true, maxlength: 20000 })
    const motivation = select(MOTIVATIONS)
    const error = errorBox()
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, replyTo ? 'Post reply' : 'Post comment')
    const on = replyTo
      ? `Reply to ${replyTo.creator?.name || 'a comment'}: “${replyTo.body.slice(0, 60)}”`
      : captured.empty ? 'On the whole paragraph' : `On: “${captured.quote}”`
    const form = h('form', { class: 'inline-form comment-form', 'aria-label': replyTo ? 'Reply' : 'New comment' },
      h('p', { class: 'form-context' }, on),
      field('Kind of comment', motivation),
      field(replyTo ? 'Your reply' : 'Your comment', body),
      h('div', { class: 'form-actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => this.closeForms() }, 'Cancel')),
      error)
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      if (!body.value.trim()) { error.show('Write the comment first.'); body.focus(); return }
      const payload = { paragraph: this.id, body: body.value.trim(), motivation: motivation.value }
      if (replyTo) payload.reply_to = replyTo.id
      else if (!captured.empty) Object.assign(payload, this.spanOf(captured))
      submit.disabled = true
      try {
        const { result } = await this.page.api.post(draftPath(this.page.draft, '/annotations'), payload)
        form.remove()
        this.clearSelection()
        announce(`Comment ${result.id} posted.`)
      } catch (e) {
        error.show(e.message)
        submit.disabled = false
      }
    })
    this.forms.replaceChildren(form)
    body.focus()
  }

  openAmendmentForm () {
    const captured = this.captureSelection()
    const kind = select(AMENDMENT_KINDS, { name: 'kind' })
    kind.value = captured.empty ? 'insertion' : 'substitution'
    const text = h('textarea', { rows: 2, maxlength: 20000, name: 'text' })
    const justification = h('textarea', { rows: 2, maxlength: 20000, name: 'justification' })
    const textField = field('Proposed text', text)
    const error = errorBox()
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Propose amendment')
    const original = captured.empty
      ? h('p', { class: 'form-context' }, `At the cursor (character ${this.selection.from}). Select words first to replace or delete them.`)
      : h('p', { class: 'form-context' }, 'Original: ', h('q', { class: 'original' }, captured.quote))
    const sync = () => { textField.hidden = kind.value === 'deletion' }
    kind.addEventListener('change', sync)
    sync()
    const form = h('form', { class: 'inline-form amendment-form', 'aria-label': 'New amendment' },
      original,
      field('Kind of amendment', kind),
      textField,
      field('Justification', justification),
      h('div', { class: 'form-actions' }, submit,
        h('button', { type: 'button', class: 'btn', onclick: () => this.closeForms() }, 'Cancel')),
      error)
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      const k = kind.value
      let { start, end } = this.spanOf(captured)
      if (k !== 'insertion' && start === end) { error.show('Select the words to replace or delete in the paragraph first.'); return }
      if (k === 'insertion') start = end
      if (k !== 'deletion' && !text.value.trim()) { error.show('Write the proposed text.'); text.focus(); return }
      submit.disabled = true
      try {
        const { result } = await this.page.api.post(draftPath(this.page.draft, '/amendments'), {
          paragraph: this.id,
          kind: k,
          start,
          end,
          text: k === 'deletion' ? '' : text.value,
          justification: justification.value
        })
        form.remove()
        this.clearSelection()
        announce(`Amendment ${result.id} proposed.`)
      } catch (e) {
        error.show(e.message)
        submit.disabled = false
      }
    })
    this.forms.replaceChildren(form)
    kind.focus()
  }

  // The deliberation around this paragraph.

  renderDeliberation () {
    const state = this.page.state
    fill(this.statusEl, this.kind === 'heading' ? null : statusBadge(state.statuses?.[this.id]))
    const reason = state.statuses?.[this.id]?.reason
    if (reason && this.kind !== 'heading') this.statusEl.append(h('span', { class: 'status-reason' }, ` ${reason}`))
    fill(this.indicatorEl, this.kind === 'heading' ? null : indicatorBadge(state.indicators?.[this.id] || NO_POSITIONS))
    this.renderSilence(Date.now())
    this.renderPositions()
    this.renderAmendments()
    this.renderAnnotations()
    this.refreshOpen()
  }

  renderSilence (now) {
    const silence = this.page.state.silences?.[this.id]
    if (!silence) { this.silenceEl.replaceChildren(); return }
    fill(this.silenceEl, silenceBadge(silence, now))
  }

  renderPositions () {
    const positions = this.page.state.positions?.[this.id] || {}
    const any = Object.keys(positions).length > 0
    if (!any && !this.positionForm) { this.positionsEl.replaceChildren(); this.positionsEl.hidden = true; return }
    this.positionsEl.hidden = false
    fill(this.positionsEl, h('h3', {}, 'Positions'), positionList(positions), this.positionForm?.el)
  }

  renderAmendments () {
    const state = this.page.state
    const mine = Object.values(state.amendments || {}).filter((a) => a.paragraph === this.id)
    const open = mine.filter((a) => a.state === 'proposed')
    const decided = mine.filter((a) => a.state !== 'proposed')
    for (const [id, card] of this.cards) {
      if (!mine.some((a) => a.id === id)) { card.el.remove(); this.cards.delete(id) }
    }
    const cardFor = (am) => {
      let card = this.cards.get(am.id)
      if (!card) { card = new AmendmentCard(this.page, am.id); this.cards.set(am.id, card) }
      card.update(am)
      card.setOpen(this.isOpen !== false, this.isOpen === false ? 'Closed: the comment period for this paragraph is over.' : '')
      return card.el
    }
    if (!mine.length) { this.amendmentsEl.replaceChildren(); this.amendmentsEl.hidden = true; return }
    this.amendmentsEl.hidden = false
    const openEls = open.map(cardFor)
    const decidedEls = decided.map(cardFor)
    if (!this.decidedDetails) {
      this.decidedSummary = h('summary')
      this.decidedList = h('div')
      this.decidedDetails = h('details', { class: 'decided' }, this.decidedSummary, this.decidedList)
    }
    this.decidedSummary.textContent = `Decided amendments (${decided.length})`
    this.decidedList.replaceChildren(...decidedEls)
    fill(this.amendmentsEl,
      h('h3', {}, `Amendments (${open.length} open)`),
      openEls,
      decided.length ? this.decidedDetails : null)
  }

  renderAnnotations () {
    const all = Object.values(this.page.state.annotations || {}).filter((a) => a.paragraph === this.id)
    const key = JSON.stringify(all) + (this.isOpen !== false)
    if (key === this.lastAnnotations) return
    this.lastAnnotations = key
    if (!all.length) { this.annotationsEl.replaceChildren(); this.annotationsEl.hidden = true; return }
    this.annotationsEl.hidden = false
    const byParent = new Map()
    for (const a of all) {
      const parent = a.reply_to && all.some((b) => b.id === a.reply_to) ? a.reply_to : null
      if (!byParent.has(parent)) byParent.set(parent, [])
      byParent.get(parent).push(a)
    }
    const thread = (parent) => {
      const items = (byParent.get(parent) || []).sort((a, b) => String(a.created).localeCompare(String(b.created)))
      if (!items.length) return null
      return h('ul', { class: parent ? 'replies' : 'thread' }, items.map((a) => this.annotationItem(a, thread(a.id))))
    }
    fill(this.annotationsEl, h('h3', {}, `Comments (${all.length})`), thread(null))
  }

  annotationItem (a, replies) {
    const me = this.page.me
    const canResolve = a.creator?.participant === me.id || this.page.role === 'chair'
    const motivation = (MOTIVATIONS.find(([m]) => m === a.motivation) || [a.motivation, a.motivation])[1]
    const resolve = async () => {
      try {
        await this.page.api.post(draftPath(this.page.draft, `/annotations/${a.id}/${a.resolved ? 'reopen' : 'resolve'}`))
        announce(a.resolved ? 'Comment reopened.' : 'Comment resolved.')
      } catch (e) { announce(e.message) }
    }
    return h('li', { class: `annotation${a.resolved ? ' resolved' : ''}`, dataset: { annotation: a.id } },
      a.quote ? h('blockquote', {}, a.quote) : null,
      h('p', { class: 'annotation-body' }, a.body),
      h('p', { class: 'annotation-meta' },
        h('span', { class: 'motivation' }, motivation), ' · ',
        h('span', { class: 'by' }, `${a.creator?.name || '?'}${a.creator?.delegation ? ' (' + a.creator.delegation + ')' : ''}`), ' · ',
        timeEl(a.created), ' · ',
        h('a', { class: 'deep-link', href: annotationLink(this.page.draft, a.id), title: 'Link to this comment' }, a.id),
        a.resolved ? h('span', { class: 'resolved-label' }, ' · Resolved') : null),
      h('div', { class: 'annotation-actions' },
        this.commentButton && this.isOpen !== false
          ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.openCommentForm(a) }, 'Reply')
          : null,
        canResolve ? h('button', { type: 'button', class: 'btn btn-small', onclick: resolve }, a.resolved ? 'Reopen' : 'Resolve') : null),
      replies)
  }

  tick (now) {
    this.renderSilence(now)
    for (const card of this.cards.values()) card.tick(now)
    const state = this.periodState(now)
    const key = `${state.open}|${state.reason}`
    if (key !== this.lastPeriodKey) {
      this.lastPeriodKey = key
      this.refreshOpen(now)
    }
  }

  destroy () {
    this.editor?.destroy()
    this.el.remove()
  }
}

export function silenceBadge (silence, now = Date.now()) {
  if (silence.state === 'running') {
    return h('span', { class: 'silence silence-running', dataset: { state: 'running' } },
      h('span', { 'aria-hidden': 'true' }, '◷ '), 'Silence procedure: ',
      h('span', { class: 'countdown' }, duration(silence.deadline_us / 1000 - now)), ' left')
  }
  if (silence.state === 'broken') {
    return h('span', { class: 'silence silence-broken', dataset: { state: 'broken' } },
      h('span', { 'aria-hidden': 'true' }, '✗ '), `Silence broken by ${silence.broken_by?.delegation || 'an objection'}`)
  }
  return h('span', { class: 'silence silence-concluded', dataset: { state: 'concluded' } },
    h('span', { 'aria-hidden': 'true' }, '✓ '), 'Silence procedure concluded')
}

export function positionList (positions) {
  const entries = Object.values(positions || {})
  if (!entries.length) return h('p', { class: 'muted' }, 'No positions stated yet.')
  return h('ul', { class: 'position-list' }, entries.map((p) =>
    h('li', { dataset: { delegation: p.delegation, stance: p.stance } },
      h('span', { class: 'delegation' }, p.delegation),
      h('span', { class: 'group' }, ` (${groupName(p.group)})`), ': ',
      stanceBadge(p.stance),
      p.explanation ? h('span', { class: 'explanation' }, ` — ${p.explanation}`) : null)))
}

/** Stating the delegation's position on a paragraph or an amendment. */
class PositionForm {
  constructor (page, target, label) {
    this.page = page
    this.target = target
    this.stance = select([['', 'Choose…'], ...STANCES.map(([s, name, symbol]) => [s, `${symbol} ${name}`])], { name: 'stance' })
    this.explanation = h('input', { type: 'text', maxlength: 20000, name: 'explanation', placeholder: 'optional' })
    this.submit = h('button', { type: 'submit', class: 'btn' }, 'State position')
    this.why = h('p', { class: 'why', hidden: true })
    this.error = errorBox()
    this.el = h('form', { class: 'position-form', 'aria-label': label },
      h('div', { class: 'row' },
        field(`${page.me.delegation || 'Your delegation'}’s position`, this.stance),
        field('Explanation', this.explanation),
        this.submit),
      this.why, this.error)
    this.el.addEventListener('submit', (event) => this.send(event))
  }

  setOpen (open, why) {
    this.submit.disabled = !open
    this.stance.disabled = !open
    this.explanation.disabled = !open
    this.why.hidden = open
    this.why.textContent = open ? '' : why
  }

  async send (event) {
    event.preventDefault()
    if (!this.stance.value) { this.error.show('Choose a position first.'); this.stance.focus(); return }
    this.submit.disabled = true
    try {
      await this.page.api.put(draftPath(this.page.draft, `/positions/${encodeURIComponent(this.target)}`), {
        stance: this.stance.value,
        explanation: this.explanation.value
      })
      this.error.show('')
      announce(`Position stated: ${stanceName(this.stance.value)}.`)
      this.explanation.value = ''
    } catch (e) {
      this.error.show(e.message)
    } finally {
      this.submit.disabled = false
    }
  }
}

/** One amendment: what changes, who sponsors it, where opinion stands, and what you can do. */
class AmendmentCard {
  constructor (page, id) {
    this.page = page
    this.id = id
    this.info = h('div', { class: 'amendment-info' })
    this.silence = h('p', { class: 'amendment-silence' })
    const role = page.role
    this.cosponsor = may(role, 'propose')
      ? h('button', { type: 'button', class: 'btn', onclick: () => this.act('cosponsor', 'Co-sponsored.') }, 'Co-sponsor')
      : null
    this.withdraw = may(role, 'propose')
      ? h('button', { type: 'button', class: 'btn', onclick: () => this.act('withdraw', 'Amendment withdrawn.') }, 'Withdraw')
      : null
    this.error = errorBox()
    this.positionForm = may(role, 'position') ? new PositionForm(page, id, `Your delegation’s position on ${id}`) : null
    this.actions = h('div', { class: 'amendment-actions' }, h('div', { class: 'row' }, this.cosponsor, this.withdraw), this.positionForm?.el, this.error)
    this.el = h('article', { class: 'amendment', dataset: { amendment: id }, 'aria-label': `Amendment ${id}` }, this.info, this.silence, this.actions)
  }

  async act (what, done) {
    try {
      await this.page.api.post(draftPath(this.page.draft, `/amendments/${this.id}/${what}`))
      this.error.show('')
      announce(done)
    } catch (e) {
      this.error.show(e.message)
    }
  }

  update (am) {
    this.am = am
    const state = this.page.state
    const positions = state.positions?.[am.id] || {}
    const indicator = state.indicators?.[am.id]
    const stateName = AMENDMENT_STATES[am.state] || am.state
    this.el.className = `amendment amendment-${am.state}`
    const change = changeView(am)
    fill(this.info,
      h('h4', {},
        `${kindName(am.kind)} `, h('a', { class: 'deep-link', href: amendmentLink(this.page.draft, am.id), title: 'Link to this amendment' }, am.id), ' ',
        h('span', { class: `am-state am-state-${am.state}`, dataset: { state: am.state } }, stateName),
        indicator ? [' ', indicatorBadge(indicator)] : null),
      change,
      am.justification ? h('p', { class: 'justification' }, h('span', { class: 'label' }, 'Justification: '), am.justification) : null,
      h('p', { class: 'sponsors' },
        h('span', { class: 'label' }, 'Sponsor: '), h('span', { class: 'sponsor' }, am.sponsor),
        am.cosponsors?.length ? ['; ', h('span', { class: 'label' }, 'co-sponsors: '), h('span', { class: 'cosponsors' }, am.cosponsors.join(', '))] : null),
      am.decision?.reason ? h('p', { class: 'decision' }, h('span', { class: 'label' }, 'Reason: '), am.decision.reason) : null,
      h('details', { class: 'am-positions', open: Object.keys(positions).length > 0 && Object.keys(positions).length <= 6 },
        h('summary', {}, `Positions (${Object.keys(positions).length})`),
        positionList(positions)))
    const mine = this.page.me.delegation
    const proposed = am.state === 'proposed'
    const sponsoring = am.sponsor === mine || (am.cosponsors || []).includes(mine)
    if (this.cosponsor) {
      this.cosponsor.hidden = !proposed || sponsoring
    }
    if (this.withdraw) this.withdraw.hidden = !proposed || am.sponsor !== mine
    if (this.positionForm) {
      this.positionForm.el.hidden = !proposed
    }
    this.actions.hidden = !proposed
    this.tick(Date.now())
  }

  setOpen (open, why) {
    if (this.cosponsor) this.cosponsor.disabled = !open
    this.positionForm?.setOpen(open, why)
  }

  tick (now) {
    const silence = this.page.state.silences?.[this.id]
    if (silence) fill(this.silence, silenceBadge(silence, now))
    else this.silence.replaceChildren()
  }
}

/** Original → proposed, in words and with <del>/<ins>, not by colour alone. */
export function changeView (am) {
  const proposed = am.adopted_text ?? am.text
  if (am.kind === 'insertion') {
    return h('p', { class: 'change' }, h('span', { class: 'label' }, 'Insert: '), h('ins', {}, proposed))
  }
  if (am.kind === 'deletion') {
    return h('p', { class: 'change' }, h('span', { class: 'label' }, 'Delete: '), h('del', {}, am.original))
  }
  return h('p', { class: 'change' },
    h('span', { class: 'label' }, 'Replace '), h('del', {}, am.original),
    h('span', { class: 'label' }, ' with '), h('ins', {}, proposed))
}

