// The chair's dashboard: paragraphs and open amendments × stakeholder groups, live from the
// deliberation room, with the process (periods, lock, rule, numbering) and the decisions.
import * as Y from 'yjs'
import { draftPath } from './api.js'
import {
  announce, debounce, duration, errorBox, everySecond, field, fill, h, modal, select, srOnly
} from './dom.js'
import {
  GROUPS, INDICATORS, STANCES, STATUSES, groupName, indicatorBadge, kindName, stanceName, statusBadge
} from './labels.js'
import { NO_POSITIONS, changeView, silenceBadge } from './draftpage.js'
import { may } from './session.js'
import { openStances } from './stances.js'
import { deadlineEl, meetingZone } from './deadlines.js'
import { paragraphLink } from './links.js'

const SEVERITY = ['support', 'no_objection', 'reservation', 'objection', 'formal_objection']

export class ChairPage {
  constructor ({ api, me, role, draft, conn, container }) {
    this.api = api
    this.me = me
    this.role = role
    this.draft = draft
    this.conn = conn
    this.container = container
    this.numbers = {}
    this.rows = new Map()
    this.cleanups = []
    this.state = conn.deliberation()
  }

  async mount () {
    this.title = h('h1', {}, `Chair’s dashboard`)
    this.subtitle = h('p', { class: 'symbol' })
    this.summary = h('p', { class: 'summary', dataset: { test: 'summary' } })
    this.process = h('section', { class: 'process panel', 'aria-labelledby': 'process-title' })
    this.periods = h('section', { class: 'periods-panel panel', 'aria-labelledby': 'periods-title' })
    this.tbody = h('tbody')
    this.table = h('table', { class: 'matrix', dataset: { test: 'matrix' } },
      h('caption', {}, 'Positions by stakeholder group, updated live. Each cell counts the delegations of that group by stance.'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Paragraph / amendment'),
        h('th', { scope: 'col' }, 'Status'),
        GROUPS.map(([g, , short]) => h('th', { scope: 'col', title: groupName(g) }, h('abbr', { title: groupName(g) }, short))),
        h('th', { scope: 'col' }, 'Indicator'),
        h('th', { scope: 'col' }, 'Silent groups'),
        h('th', { scope: 'col' }, 'Silence'),
        h('th', { scope: 'col' }, 'Actions'))),
      this.tbody)
    this.message = errorBox()
    fill(this.container,
      h('section', { class: 'chair-page' },
        h('div', { class: 'draft-title' }, this.title, this.subtitle),
        this.summary,
        this.message,
        h('div', { class: 'chair-panels' }, this.process, this.periods),
        h('div', { class: 'matrix-wrap', tabindex: '0', role: 'region', 'aria-label': 'Consensus matrix' }, this.table),
        legend()))
    this.refetch = debounce(() => this.fetchNumbers(), 120)
    meetingZone(this.api, this.draft).then((zone) => { this.zone = zone; this.renderPeriods(Date.now()) })
    await this.fetchNumbers()
    const render = debounce(() => this.render(), 16)
    this.cleanups.push(() => { render.cancel(); this.refetch.cancel() })
    this.cleanups.push(this.conn.on('deliberation', render))
    this.cleanups.push(this.conn.on('reset', () => this.attachText(render)))
    this.attachText(render)
    this.cleanups.push(everySecond((now) => this.tick(now)))
    this.render()
  }

  attachText (render) {
    this.detachText?.()
    const paragraphs = this.conn.paragraphs
    const provider = this.conn.provider
    const onText = debounce(render, 150)
    const onArray = () => this.refetch()
    const onSync = (synced) => { if (synced) { this.refetch(); render() } }
    paragraphs.observeDeep(onText)
    paragraphs.observe(onArray)
    provider.on('sync', onSync)
    this.detachText = () => {
      onText.cancel()
      paragraphs.unobserveDeep(onText)
      paragraphs.unobserve(onArray)
      provider.off('sync', onSync)
    }
  }

  async fetchNumbers () {
    try {
      const draft = await this.api.get(draftPath(this.draft))
      this.subtitle.textContent = `${draft.title}${draft.symbol ? ' · ' + draft.symbol : ''}`
      document.title = `Dashboard · ${draft.title} · Plenary`
      this.numbers = Object.fromEntries(draft.paragraphs.map((p) => [p.id, p.number]))
      this.fallback = draft.paragraphs
      this.render()
    } catch (error) {
      this.message.show(`Could not load the draft: ${error.message}`)
    }
  }

  /** Paragraphs in order: from the live document, else from the REST answer. */
  paragraphs () {
    const out = []
    this.conn.paragraphs.forEach((ymap) => {
      if (!(ymap instanceof Y.Map)) return
      const text = ymap.get('text')
      out.push({ id: ymap.get('id'), kind: ymap.get('kind'), ytext: text instanceof Y.Text ? text : null, text: String(text ?? '') })
    })
    if (!out.length && this.fallback) return this.fallback.map((p) => ({ ...p, ytext: null }))
    return out
  }

  paragraphLabel (p) {
    const n = this.numbers[p.id]
    if (p.kind === 'heading') return `Heading: ${p.text.slice(0, 40)}`
    return n ? `¶ ${n}` : p.id
  }

  render () {
    this.state = this.conn.deliberation()
    const paragraphs = this.paragraphs()
    this.renderProcess()
    this.renderPeriods(Date.now())
    const amendments = Object.values(this.state.amendments || {})
    const wanted = []
    for (const p of paragraphs) {
      wanted.push({ key: p.id, kind: p.kind === 'heading' ? 'heading' : 'paragraph', paragraph: p })
      for (const am of amendments.filter((a) => a.paragraph === p.id && a.state === 'proposed')) {
        wanted.push({ key: am.id, kind: 'amendment', paragraph: p, amendment: am })
      }
    }
    const keys = new Set(wanted.map((w) => w.key))
    for (const [key, row] of this.rows) if (!keys.has(key)) { row.el.remove(); this.rows.delete(key) }
    const els = wanted.map((w) => {
      let row = this.rows.get(w.key)
      if (!row || row.kind !== w.kind) {
        row = w.kind === 'heading' ? new HeadingRow(w.key) : new Row(this, w.kind, w.key)
        this.rows.set(w.key, row)
      }
      row.update(w)
      return row.el
    })
    this.tbody.replaceChildren(...els)
    const statuses = paragraphs.filter((p) => p.kind !== 'heading').map((p) => this.state.statuses?.[p.id]?.status || 'pending')
    const count = (s) => statuses.filter((x) => x === s).length
    const open = amendments.filter((a) => a.state === 'proposed').length
    this.summary.textContent = `Decision rule: ${this.state.process?.rule || 'consensus'}. ` +
      `${statuses.length} paragraphs: ${count('agreed')} agreed, ${count('agreed_ad_ref')} agreed ad ref, ` +
      `${count('bracketed')} bracketed, ${count('pending')} pending. ${open} open amendment${open === 1 ? '' : 's'}.`
  }

  async command (method, path, body, done) {
    try {
      const result = await this.api.json(method, draftPath(this.draft, path), body)
      this.message.show('')
      if (done) announce(done)
      return result
    } catch (error) {
      this.message.show(error.message)
      throw error
    }
  }

  renderProcess () {
    const process = this.state.process || {}
    const locked = !!process.locked
    const manage = may(this.role, 'manage')
    if (!this.processBuilt) {
      this.processBuilt = true
      this.lockState = h('span', { class: 'lock-state', dataset: { test: 'lock-state' } })
      this.lockButton = h('button', { type: 'button', class: 'btn', disabled: !manage, onclick: () => this.toggleLock() })
      this.rule = select([['consensus', 'Consensus'], ['unanimity', 'Unanimity'], ['majority', 'Majority']])
      const ruleSet = h('button', {
        type: 'button',
        class: 'btn',
        disabled: !manage,
        onclick: () => this.command('PUT', '/rule', { rule: this.rule.value }, `Decision rule set to ${this.rule.value}.`).catch(() => {})
      }, 'Set rule')
      this.numberingState = h('span')
      this.numberingButton = h('button', { type: 'button', class: 'btn', disabled: !manage, onclick: () => this.toggleNumbering() })
      fill(this.process,
        h('h2', { id: 'process-title' }, 'Process'),
        h('div', { class: 'row' }, h('span', { class: 'label' }, 'Text: '), this.lockState, this.lockButton),
        h('div', { class: 'row' }, field('Decision rule', this.rule), ruleSet),
        h('div', { class: 'row' }, h('span', { class: 'label' }, 'Numbering: '), this.numberingState, this.numberingButton))
    }
    fill(this.lockState, h('span', { 'aria-hidden': 'true' }, locked ? '■ ' : '✎ '), locked ? 'Locked: only adopted amendments change it' : 'Open for editing')
    this.lockButton.textContent = locked ? 'Unlock the text' : 'Lock the text'
    if (document.activeElement !== this.rule) this.rule.value = process.rule || 'consensus'
    this.numberingState.textContent = process.numbering_frozen ? 'frozen (insertions show as “bis”) ' : 'by order '
    this.numberingButton.textContent = process.numbering_frozen ? 'Unfreeze numbers' : 'Freeze numbers'
  }

  toggleLock () {
    const locked = !!this.state.process?.locked
    this.command('POST', locked ? '/unlock' : '/lock', undefined, locked ? 'Text unlocked.' : 'Text locked.').catch(() => {})
  }

  toggleNumbering () {
    const frozen = !!this.state.process?.numbering_frozen
    this.command('POST', frozen ? '/numbering/unfreeze' : '/numbering/freeze', undefined, frozen ? 'Numbering unfrozen.' : 'Numbering frozen.').catch(() => {})
  }

  renderPeriods (now) {
    const manage = may(this.role, 'manage')
    if (!this.periodsBuilt) {
      this.periodsBuilt = true
      this.periodRows = h('tbody')
      this.openForm = this.buildOpenPeriodForm(manage)
      fill(this.periods,
        h('h2', { id: 'periods-title' }, 'Comment periods'),
        h('table', { class: 'periods-table' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, 'Period'), h('th', { scope: 'col' }, 'Covers'), h('th', { scope: 'col' }, 'State'),
            h('th', { scope: 'col' }, 'Deadline'), h('th', { scope: 'col' }, 'Actions'))),
          this.periodRows),
        this.openForm)
    }
    const periods = Object.values(this.state.periods || {})
    const key = JSON.stringify(periods.map((p) => [p.id, p.closed, p.deadline_us, p.paragraphs])) + Object.keys(this.numbers).length + (this.zone || '')
    if (key !== this.periodsKey) {
      this.periodsKey = key
      this.countdowns = []
      const rows = periods.map((p) => {
        const countdown = h('span', { class: 'countdown' })
        const stateEl = h('span', { class: 'period-state' })
        this.countdowns.push({ p, countdown, stateEl })
        const minutes = h('input', { type: 'number', min: '0.1', step: 'any', value: '30', class: 'minutes', 'aria-label': `Extend ${p.id} to … minutes from now` })
        return h('tr', { dataset: { period: p.id } },
          h('th', { scope: 'row' }, p.id),
          h('td', {}, p.paragraphs == null ? 'Whole draft' : p.paragraphs.map((id) => this.numbers[id] ? `¶ ${this.numbers[id]}` : id).join(', ')),
          h('td', {}, stateEl),
          h('td', {}, deadlineEl(new Date(p.deadline_us / 1000).toISOString(), this.zone), ' ', countdown),
          h('td', { class: 'period-actions' },
            h('span', { class: 'inline' }, minutes, ' min '),
            h('button', {
              type: 'button',
              class: 'btn btn-small',
              disabled: !manage,
              onclick: () => this.command('POST', `/periods/${p.id}/extend`, { deadline: inMinutes(minutes.value) }, `Period ${p.id} extended.`).catch(() => {})
            }, 'Extend'),
            h('button', {
              type: 'button',
              class: 'btn btn-small',
              disabled: !manage || p.closed,
              onclick: () => this.command('POST', `/periods/${p.id}/close`, undefined, `Period ${p.id} closed.`).catch(() => {})
            }, 'Close')))
      })
      this.periodRows.replaceChildren(...(rows.length ? rows : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No comment period yet: every paragraph is open for comment.'))]))
      this.refreshPeriodChoices()
    }
    for (const { p, countdown, stateEl } of this.countdowns || []) {
      const open = !p.closed && now * 1000 < p.deadline_us
      stateEl.textContent = p.closed ? '■ Closed' : open ? '▶ Open' : '■ Ended'
      stateEl.dataset.state = p.closed ? 'closed' : open ? 'open' : 'ended'
      countdown.textContent = open ? `(${duration(p.deadline_us / 1000 - now)} left)` : ''
    }
  }

  buildOpenPeriodForm (manage) {
    this.scopeAll = h('input', { type: 'radio', name: 'period-scope', value: 'all', checked: true, id: 'scope-all' })
    this.scopeSome = h('input', { type: 'radio', name: 'period-scope', value: 'some', id: 'scope-some' })
    this.choices = h('div', { class: 'choices' })
    const minutes = h('input', { type: 'number', min: '0.1', step: 'any', value: '60', class: 'minutes' })
    const error = errorBox()
    const form = h('form', { class: 'open-period', 'aria-label': 'Open a comment period' },
      h('fieldset', {},
        h('legend', {}, 'Open a comment period on'),
        h('label', { for: 'scope-all' }, this.scopeAll, ' the whole draft'),
        h('label', { for: 'scope-some' }, this.scopeSome, ' these paragraphs:'),
        this.choices),
      h('div', { class: 'row' }, field('Duration (minutes)', minutes),
        h('button', { type: 'submit', class: 'btn btn-primary', disabled: !manage }, 'Open period')),
      error)
    form.addEventListener('submit', async (event) => {
      event.preventDefault()
      const body = { deadline: inMinutes(minutes.value) }
      if (this.scopeSome.checked) {
        body.paragraphs = [...this.choices.querySelectorAll('input:checked')].map((i) => i.value)
        if (!body.paragraphs.length) { error.show('Choose at least one paragraph.'); return }
      }
      try {
        await this.command('POST', '/periods', body, 'Comment period opened.')
        error.show('')
      } catch (e) { error.show(e.message) }
    })
    return form
  }

  refreshPeriodChoices () {
    const paragraphs = this.paragraphs().filter((p) => p.kind !== 'heading')
    const checked = new Set([...this.choices.querySelectorAll('input:checked')].map((i) => i.value))
    fill(this.choices, paragraphs.map((p) => {
      const box = h('input', { type: 'checkbox', value: p.id, checked: checked.has(p.id), onchange: () => { this.scopeSome.checked = true } })
      return h('label', { class: 'choice' }, box, ` ${this.paragraphLabel(p)}`)
    }))
  }

  tick (now) {
    this.renderPeriods(now)
    for (const row of this.rows.values()) row.tick(now)
  }

  // Decisions.

  async setStatus (paragraph) {
    const current = this.state.statuses?.[paragraph.id]?.status || 'pending'
    await modal(`Status of ${this.paragraphLabel(paragraph)}`, (close) => {
      const status = select(STATUSES.map(([s, name]) => [s, name]))
      status.value = current
      const reason = h('input', { type: 'text', maxlength: 20000 })
      const error = errorBox()
      const form = h('form', {},
        field('Status', status), field('Reason (optional)', reason),
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary' }, 'Set status'),
          h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel')),
        error)
      form.addEventListener('submit', async (event) => {
        event.preventDefault()
        try {
          await this.api.put(draftPath(this.draft, `/paragraphs/${paragraph.id}/status`), { status: status.value, reason: reason.value })
          announce('Status set.')
          close(true)
        } catch (e) { error.show(e.message) }
      })
      return form
    })
  }

  async startSilence (target, label) {
    await modal(`Silence procedure on ${label}`, (close) => {
      const minutes = h('input', { type: 'number', min: '0.1', step: 'any', value: '60' })
      const error = errorBox()
      const form = h('form', {},
        h('p', {}, 'If no delegation objects before the deadline, the paragraph is agreed (or the amendment adopted) by the server. Any objection breaks the silence; any edit to the text restarts it.'),
        field('Duration (minutes)', minutes),
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary' }, 'Start silence procedure'),
          h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel')),
        error)
      form.addEventListener('submit', async (event) => {
        event.preventDefault()
        try {
          await this.api.post(draftPath(this.draft, '/silence'), { target, deadline: inMinutes(minutes.value) })
          announce('Silence procedure started.')
          close(true)
        } catch (e) { error.show(e.message) }
      })
      return form
    })
  }

  /** Show the exact change first (original → proposed, in the paragraph), then adopt. */
  async adopt (am, paragraph) {
    const span = paragraph.ytext ? anchoredSpan(paragraph.ytext, am.id) : null
    const current = paragraph.ytext ? paragraph.ytext.toString() : paragraph.text
    const changed = span && am.kind !== 'insertion' && current.slice(span.start, span.end) !== am.original
    await modal(`Adopt amendment ${am.id}?`, (close) => {
      const modify = h('input', { type: 'checkbox', id: 'adopt-modify' })
      const modified = h('textarea', { rows: 2, disabled: true }, am.text)
      modified.value = am.text
      modify.addEventListener('change', () => { modified.disabled = !modify.checked; if (modify.checked) modified.focus(); preview() })
      modified.addEventListener('input', () => preview())
      const confirm = h('input', { type: 'checkbox', id: 'adopt-confirm' })
      const confirmRow = h('p', { class: 'confirm-row', hidden: !changed },
        h('label', { for: 'adopt-confirm' }, confirm, ' Adopt anyway: the span’s text changed since the proposal'))
      const result = h('div', { class: 'adopt-preview', dataset: { test: 'adopt-preview' } })
      const preview = () => {
        const proposed = modify.checked ? modified.value : am.text
        fill(result,
          h('h3', {}, 'The change'),
          changeView({ ...am, adopted_text: proposed, text: proposed }),
          span
            ? [h('h3', {}, `${this.paragraphLabel(paragraph)} after adoption`),
                h('p', { class: 'paragraph-preview' },
                  current.slice(0, span.start),
                  am.kind !== 'insertion' ? h('del', {}, current.slice(span.start, span.end)) : null,
                  am.kind !== 'deletion' ? h('ins', {}, proposed) : null,
                  current.slice(span.end))]
            : h('p', { class: 'muted' }, 'The span is not in the text any more: the server will refuse the adoption.'))
      }
      preview()
      const error = errorBox()
      const form = h('form', {},
        changed ? h('p', { class: 'warning', role: 'alert' }, `The text of the span is now “${current.slice(span.start, span.end)}”, not “${am.original}”.`) : null,
        result,
        am.kind !== 'deletion' ? h('p', {}, h('label', { for: 'adopt-modify' }, modify, ' Adopt as modified:'), modified) : null,
        confirmRow,
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'btn btn-primary' }, 'Adopt'),
          h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel')),
        error)
      form.addEventListener('submit', async (event) => {
        event.preventDefault()
        const body = {}
        if (modify.checked) body.modified_text = modified.value
        if (confirm.checked) body.confirm = true
        try {
          await this.api.post(draftPath(this.draft, `/amendments/${am.id}/adopt`), body)
          announce(`Amendment ${am.id} adopted.`)
          close(true)
        } catch (e) {
          error.show(e.message)
          if (e.status === 409) confirmRow.hidden = false
        }
      })
      return form
    })
  }

  async reject (am) {
    await modal(`Reject amendment ${am.id}?`, (close) => {
      const reason = h('textarea', { rows: 3, required: true, maxlength: 20000 })
      const error = errorBox()
      const form = h('form', {},
        changeView(am),
        field('Reason (required, shown to everyone)', reason),
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit', class: 'btn btn-danger' }, 'Reject'),
          h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel')),
        error)
      form.addEventListener('submit', async (event) => {
        event.preventDefault()
        if (!reason.value.trim()) { error.show('Give the reason.'); reason.focus(); return }
        try {
          await this.api.post(draftPath(this.draft, `/amendments/${am.id}/reject`), { reason: reason.value.trim() })
          announce(`Amendment ${am.id} rejected.`)
          close(true)
        } catch (e) { error.show(e.message) }
      })
      return form
    })
  }

  destroy () {
    this.detachText?.()
    for (const fn of this.cleanups) fn()
  }
}

/** A heading: a section row across the matrix. */
class HeadingRow {
  constructor (key) {
    this.kind = 'heading'
    this.key = key
    this.cell = h('th', { scope: 'colgroup', colspan: String(GROUPS.length + 6), class: 'section' })
    this.el = h('tr', { class: 'row-heading', dataset: { target: key } }, this.cell)
  }

  update ({ paragraph }) {
    const text = paragraph.ytext ? paragraph.ytext.toString() : paragraph.text
    this.cell.textContent = text
  }

  tick () {}
}

/** One row of the matrix: a paragraph, or an open amendment under it. */
class Row {
  constructor (page, kind, key) {
    this.page = page
    this.kind = kind
    this.key = key
    this.label = h('th', { scope: 'row', class: 'row-label' })
    // data-label: on a phone each row is a card, and each cell says which column it is.
    this.status = h('td', { class: 'row-status', dataset: { label: 'Status' } })
    this.cells = GROUPS.map(([g]) => h('td', { class: 'cell', dataset: { target: key, group: g, label: groupName(g) } }))
    this.indicator = h('td', { class: 'row-indicator', dataset: { indicator: key, label: 'Indicator' } })
    this.silent = h('td', { class: 'row-silent', dataset: { label: 'Silent groups' } })
    this.silence = h('td', { class: 'row-silence' })
    this.actions = h('td', { class: 'row-actions' })
    this.el = h('tr', { class: `row-${kind}`, dataset: { target: key } },
      this.label, this.status, this.cells, this.indicator, this.silent, this.silence, this.actions)
    this.built = false
  }

  update ({ paragraph, amendment }) {
    const page = this.page
    const state = page.state
    this.paragraph = paragraph
    this.amendment = amendment
    const indicator = state.indicators?.[this.key] || NO_POSITIONS
    if (this.kind === 'paragraph') {
      const text = paragraph.ytext ? paragraph.ytext.toString() : paragraph.text
      fill(this.label,
        h('a', { href: paragraphLink(page.draft, paragraph.id), class: 'row-name' }, page.paragraphLabel(paragraph)),
        h('span', { class: 'row-text' }, ' ' + (text.length > 56 ? text.slice(0, 54) + '…' : text)))
      fill(this.status, statusBadge(state.statuses?.[paragraph.id]))
    } else {
      fill(this.label,
        h('span', { class: 'row-name' }, h('span', { 'aria-hidden': 'true' }, '↳ '), `${kindName(amendment.kind)} ${amendment.id}`),
        h('span', { class: 'row-text' }, ` by ${amendment.sponsor}${amendment.cosponsors?.length ? ' + ' + amendment.cosponsors.join(', ') : ''}: `),
        changeView(amendment))
      fill(this.status, h('span', { class: 'am-state' }, 'Proposed'))
    }
    // A cell opens who in that group stands where, and why.
    GROUPS.forEach(([group], i) => {
      const content = cellContent(this.cells[i], group, indicator)
      const any = indicator?.counts?.[group] && Object.keys(indicator.counts[group]).length
      fill(this.cells[i], any || (indicator?.silent_groups || []).includes(group)
        ? h('button', {
          type: 'button',
          class: 'cell-open',
          title: `${this.cells[i].title} — who and why`,
          onclick: () => this.openStances(group)
        }, ...content)
        : content)
    })
    fill(this.indicator, indicator ? indicatorBadge(indicator, { long: true }) : '—')
    const silentGroups = indicator?.silent_groups || []
    fill(this.silent, silentGroups.length ? silentGroups.map(groupName).join(', ') : indicator ? 'none' : '—')
    if (indicator?.silent_delegations?.length) this.silent.title = `Silent delegations: ${indicator.silent_delegations.join(', ')}`
    else this.silent.removeAttribute('title')
    this.tick(Date.now())
    if (!this.built) this.buildActions()
  }

  buildActions () {
    this.built = true
    const page = this.page
    const manage = may(page.role, 'manage')
    const decide = may(page.role, 'decide')
    const label = () => (this.kind === 'paragraph' ? page.paragraphLabel(this.paragraph) : `amendment ${this.key}`)
    const buttons = []
    if (this.kind === 'paragraph' && manage) {
      buttons.push(h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Set the status of ${label()}`, onclick: () => page.setStatus(this.paragraph) }, 'Status…'))
    }
    if (this.kind === 'amendment' && decide) {
      buttons.push(h('button', { type: 'button', class: 'btn btn-small btn-primary', 'aria-label': `Adopt amendment ${this.key}…`, onclick: () => page.adopt(this.amendment, this.paragraph) }, 'Adopt…'))
      buttons.push(h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Reject amendment ${this.key}…`, onclick: () => page.reject(this.amendment) }, 'Reject…'))
    }
    buttons.push(h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Who stands where on ${label()}, and why`, onclick: () => this.openStances(null) }, 'Who & why…'))
    if (manage) {
      buttons.push(h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Start a silence procedure on ${label()}`, onclick: () => page.startSilence(this.key, label()) }, 'Silence…'))
    }
    fill(this.actions, h('div', { class: 'row-buttons' }, buttons))
  }

  openStances (group) {
    const page = this.page
    const label = this.kind === 'paragraph' ? page.paragraphLabel(this.paragraph) : `amendment ${this.key}`
    return openStances({
      api: page.api,
      draft: page.draft,
      state: page.state,
      target: this.key,
      label,
      group,
      // Only the chair's roles read the record's diff: the stale marks need it.
      paragraph: this.kind === 'paragraph' && may(page.role, 'history') ? this.paragraph.id : null
    })
  }

  tick (now) {
    const silence = this.page.state.silences?.[this.key]
    if (silence) fill(this.silence, silenceBadge(silence, now))
    else if (this.silence.firstChild) this.silence.replaceChildren()
  }
}

/** A cell: counts by stance in symbols and words; its class says the most severe stance. */
function cellContent (td, group, indicator) {
  const counts = indicator?.counts?.[group] || {}
  const present = SEVERITY.filter((s) => counts[s] > 0)
  const worst = present.length ? present[present.length - 1] : null
  const silent = (indicator?.silent_groups || []).includes(group)
  const absent = (indicator?.unrepresented_groups || []).includes(group)
  td.className = `cell ${worst ? 'cell-' + worst : silent ? 'cell-silent' : 'cell-empty'}`
  td.dataset.stances = present.map((s) => `${s}:${counts[s]}`).join(' ')
  if (!indicator) return ['—']
  if (!present.length) {
    if (absent) {
      td.title = `${groupName(group)}: no delegation in this draft`
      return [h('span', { class: 'cell-none', 'aria-hidden': 'true' }, '–'), srOnly('no delegation')]
    }
    const words = silent ? 'silent' : 'no position'
    td.title = `${groupName(group)}: ${words}`
    return [h('span', { class: 'cell-none' }, silent ? h('span', { 'aria-hidden': 'true' }, '… ') : null, words)]
  }
  const words = present.map((s) => `${counts[s]} ${stanceName(s).toLowerCase()}`).join(', ')
  td.title = `${groupName(group)}: ${words}`
  return [
    h('span', { 'aria-hidden': 'true', class: 'cell-symbols' },
      present.map((s) => h('span', { class: `sym sym-${s}` }, `${STANCES.find(([x]) => x === s)[2]}${counts[s]}`))),
    srOnly(words),
    h('span', { class: 'cell-word', 'aria-hidden': 'true' }, stanceName(worst).toLowerCase())
  ]
}

function legend () {
  return h('section', { class: 'legend', 'aria-label': 'Legend' },
    h('h2', {}, 'Legend'),
    h('ul', {},
      STANCES.map(([s, name, symbol]) => h('li', {}, h('span', { class: `swatch cell-${s}`, 'aria-hidden': 'true' }, symbol), ` ${name}`)),
      h('li', {}, h('span', { class: 'swatch cell-silent', 'aria-hidden': 'true' }, '…'), ' silent: the group has delegations, none has spoken')),
    h('ul', {}, Object.entries(INDICATORS).map(([, [label, symbol]]) => h('li', {}, h('span', { 'aria-hidden': 'true' }, symbol), ` ${label}`))))
}

/** Where an anchor's span is now: {start, end} in UTF-16 code units, or null. */
export function anchoredSpan (ytext, id) {
  const key = `anchor:${id}`
  let pos = 0
  let start = null
  let end = null
  for (const op of ytext.toDelta()) {
    const text = typeof op.insert === 'string' ? op.insert : ''
    const value = op.attributes?.[key]
    if (value === true) {
      if (start == null) start = pos
      end = pos + text.length
    } else if (value === 'after' && start == null) {
      start = end = pos + text.length
    } else if (value === 'before' && start == null) {
      start = end = pos
    }
    pos += text.length
  }
  return start == null ? null : { start, end }
}

function inMinutes (minutes) {
  const m = Math.max(0.05, Number(minutes) || 0)
  return new Date(Date.now() + m * 60_000).toISOString()
}
