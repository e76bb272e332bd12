// A language version of the draft, side by side with the original: translators edit their language
// live (each paragraph's `translations[language]` Y.Text, with the others' cursors), see which
// paragraphs are stale (the original changed since the version they translate) and confirm those the
// change did not affect. Arabic (and any right-to-left language) is edited right to left: the editor's
// direction comes from the paragraph's `dir`, so cursors and selections follow the script.
import './languages.css'
import * as Y from 'yjs'
import { ApiError, draftPath } from './api.js'
import { announce, debounce, errorBox, fill, h } from './dom.js'
import { paragraphEditor } from './editor.js'
import { numberLabel } from './labels.js'
import { decodeToken } from './session.js'

export const LANGUAGE_NAMES = { ar: 'Arabic', zh: 'Chinese', en: 'English', fr: 'French', ru: 'Russian', es: 'Spanish' }
const RTL = new Set(['ar', 'fa', 'he', 'ps', 'ur', 'yi', 'dv', 'ku', 'sd', 'ug'])
export const dirOf = (code) => (RTL.has(code) ? 'rtl' : 'ltr')
export const languageName = (code) => LANGUAGE_NAMES[code] || code

const STATUS = {
  current: ['Current', '✓', 'translates the original as it stands'],
  stale: ['Stale', '⚠', 'the original changed since this translation'],
  untranslated: ['Not translated', '○', 'no translation yet']
}

export function translationBadge (status) {
  const name = status?.status || 'untranslated'
  const [label, symbol, meaning] = STATUS[name] || [name, '?', '']
  let detail = meaning
  if (name === 'stale') detail = `the original changed at entry ${status.stale_since}; this translates entry ${status.basis}`
  else if (name === 'current' && status.via === 'confirm') detail = `confirmed by ${status.by} against entry ${status.basis}`
  return h('span', { class: `translation-status translation-${name}`, title: detail, dataset: { status: name } },
    h('span', { 'aria-hidden': 'true' }, symbol + ' '), label)
}

/** The languages this participant may edit, from the token (the server checks every update anyway). */
function translatable (token, role) {
  if (role === 'secretariat') return null // every language
  if (role !== 'translator') return []
  const claims = decodeToken(token) || {}
  return Array.isArray(claims.languages) ? claims.languages : []
}

export class TranslationPage {
  constructor ({ api, role, draft, conn, container, language }) {
    this.api = api
    this.role = role
    this.draft = draft
    this.conn = conn
    this.container = container
    this.language = language
    this.editors = new Map()
    this.cleanups = []
    this.numbers = {}
    this.loadNumbers = debounce(() => this.fetchNumbers(), 300)
  }

  async fetchNumbers () {
    try {
      const draft = await this.api.get(draftPath(this.draft))
      this.numbers = Object.fromEntries(draft.paragraphs.map((p) => [p.id, p.number]))
      for (const row of this.list.querySelectorAll('.translation-row')) {
        const p = draft.paragraphs.find((q) => q.id === row.dataset.paragraph)
        if (p) row.querySelector('.num').textContent = numberLabel(p.number, p.kind)
      }
    } catch {}
  }

  async mount () {
    this.title = h('h1', {}, 'Translation')
    this.picker = h('nav', { class: 'language-picker', 'aria-label': 'Language versions' })
    this.notice = errorBox()
    this.list = h('div', { class: 'translation-list' })
    fill(this.container, h('section', { class: 'translation-page' },
      h('div', { class: 'draft-title' }, this.title, this.picker), this.notice, this.list))
    const rerender = () => this.render()
    const languagesMap = this.conn.delib.getMap('languages')
    const statuses = this.conn.delib.getMap('translations')
    languagesMap.observe(rerender)
    statuses.observe(() => this.refreshStatuses())
    this.cleanups.push(() => languagesMap.unobserve(rerender))
    this.observeText()
    this.cleanups.push(this.conn.on('reset', () => { this.observeText(); this.render() }))
    this.render()
    this.fetchNumbers()
  }

  observeText () {
    const paragraphs = this.conn.paragraphs
    // Paragraphs added, removed or moved, and translation texts created by the server.
    // The original's words, as delegates type: shown in place (re-rendering would move the translators'
    // focus). Anything else (paragraphs, their maps) re-renders.
    const onChange = (events) => {
      let structure = false
      for (const e of events) {
        if (e.target instanceof Y.Text && e.path[1] === 'text') {
          const pid = String(e.target.parent?.get('id'))
          const row = this.list.querySelector(`.translation-row[data-paragraph="${CSS.escape(pid)}"]`)
          const shown = row?.querySelector('.original')
          if (shown) shown.textContent = e.target.toString()
        } else if (!(e.target instanceof Y.Text)) {
          structure = true
        }
      }
      if (structure) { this.render(); this.loadNumbers() }
    }
    paragraphs.observeDeep(onChange)
    this.unobserveText?.()
    this.unobserveText = () => paragraphs.unobserveDeep(onChange)
  }

  get languages () {
    const map = this.conn.delib.getMap('languages')
    return { original: map.get('original') || 'en', translations: map.get('translations') || [] }
  }

  mayEdit (code) {
    const allowed = translatable(this.conn.token, this.role)
    return allowed === null || allowed.includes(code)
  }

  render () {
    const { original, translations } = this.languages
    if (!translations.includes(this.language)) {
      this.language = translations.find((code) => this.mayEdit(code)) || translations[0]
    }
    document.title = `Translation · ${this.draft} · Plenary`
    fill(this.picker, translations.length
      ? translations.map((code) => h('a', {
        href: `#/drafts/${encodeURIComponent(this.draft)}/translate/${code}`,
        'aria-current': code === this.language ? 'page' : null,
        dataset: { language: code }
      }, languageName(code)))
      : h('span', { class: 'muted' }, 'This draft has no translation languages yet (the chair or the secretariat sets them).'))
    for (const editor of this.editors.values()) editor.destroy()
    this.editors.clear()
    if (!this.language) { fill(this.list); return }
    const code = this.language
    const editable = this.mayEdit(code)
    this.title.textContent = `${languageName(code)} version`
    const rows = []
    this.conn.paragraphs.forEach((p) => {
      const pid = p.get('id')
      const ytext = p.get('translations')?.get?.(code)
      const number = numberLabel(this.numbers[pid] || '', p.get('kind'))
      const originalText = h('div', { class: 'original', lang: original, dir: dirOf(original) }, p.get('text')?.toString() || '')
      const host = h('div', { class: 'translation-editor', lang: code, dir: dirOf(code) })
      const status = h('span', { class: 'translation-state' })
      const row = h('section', { class: 'translation-row', dataset: { paragraph: pid } },
        h('div', { class: 'translation-head' }, h('span', { class: 'num' }, number), status),
        h('div', { class: 'translation-columns' }, originalText, host))
      if (ytext) {
        this.editors.set(pid, paragraphEditor({
          ytext,
          awareness: this.conn.awareness,
          parent: host,
          label: `${languageName(code)} translation of paragraph ${number || pid}`,
          editable
        }))
      } else {
        host.append(h('p', { class: 'muted', lang: 'en', dir: 'ltr' }, 'The server is adding this paragraph’s translation text…'))
      }
      rows.push(row)
    })
    fill(this.list, rows.length ? rows : h('p', { class: 'muted' }, 'No paragraphs yet.'))
    this.refreshStatuses()
  }

  refreshStatuses () {
    const statuses = this.conn.delib.getMap('translations').toJSON()
    const code = this.language
    for (const row of this.list.querySelectorAll('.translation-row')) {
      const pid = row.dataset.paragraph
      const status = statuses[pid]?.[code]
      const holder = row.querySelector('.translation-state')
      const confirm = status?.status === 'stale' && this.mayEdit(code)
        ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.confirm(pid) }, 'Confirm: still correct')
        : null
      fill(holder, translationBadge(status), confirm)
      row.dataset.status = status?.status || 'untranslated'
    }
  }

  async confirm (pid) {
    this.notice.show('')
    try {
      await this.api.post(draftPath(this.draft, `/translations/${encodeURIComponent(pid)}/${this.language}/confirm`))
      announce(`The ${languageName(this.language)} translation is confirmed.`)
    } catch (error) {
      this.notice.show(error instanceof ApiError ? error.message : String(error))
    }
  }

  destroy () {
    this.loadNumbers.cancel()
    for (const editor of this.editors.values()) editor.destroy()
    this.editors.clear()
    this.unobserveText?.()
    for (const cleanup of this.cleanups) cleanup()
  }
}
