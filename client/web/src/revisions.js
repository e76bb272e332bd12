// Revisions: the list (Rev.1, Rev.2, … with their symbols), issuing the next one (chair, secretariat),
// and the comparison of any two versions (or a revision and the text now), word by word: deleted words
// struck through, inserted ones underlined, each marked in words for screen readers; paragraphs matched
// by identity, so "former paragraph 12 bis, now 13" is said rather than shown as a deletion and an insertion.
import './languages.css'
import { ApiError, draftPath } from './api.js'
import { announce, errorBox, field, fill, h, saveBlob, select, timeEl } from './dom.js'
import { dirOf, languageName } from './translations.js'

const NOW = 'now'

export class RevisionsPage {
  constructor ({ api, role, draft, container }) {
    this.api = api
    this.role = role
    this.draft = draft
    this.container = container
    this.revisions = []
    this.languages = { original: 'en', translations: [] }
  }

  async mount () {
    this.listEl = h('section', { class: 'panel', 'aria-labelledby': 'revisions-title' })
    this.compareEl = h('section', { class: 'panel', 'aria-labelledby': 'compare-title' })
    this.resultEl = h('div', { class: 'comparison', 'aria-live': 'polite' })
    this.error = errorBox()
    fill(this.container, h('section', { class: 'revisions-page' },
      h('div', { class: 'draft-title' }, h('h1', {}, 'Revisions')), this.error, this.listEl, this.compareEl, this.resultEl))
    document.title = `Revisions · ${this.draft} · Plenary`
    try {
      const state = await this.api.get(draftPath(this.draft, '/deliberation'))
      if (state.languages) this.languages = state.languages
    } catch {}
    await this.load()
  }

  async load () {
    try {
      this.revisions = (await this.api.get(draftPath(this.draft, '/revisions'))).revisions
    } catch (error) {
      this.error.show(error instanceof ApiError ? error.message : String(error))
      return
    }
    this.renderList()
    this.renderCompare()
  }

  renderList () {
    const issuing = this.role === 'chair' || this.role === 'secretariat'
    const note = h('input', { type: 'text', name: 'note', maxlength: 2000, placeholder: 'e.g. after the informal consultations' })
    const form = issuing
      ? h('form', {
        class: 'row',
        onsubmit: async (event) => {
          event.preventDefault()
          this.error.show('')
          try {
            const issued = (await this.api.post(draftPath(this.draft, '/revisions'), { note: note.value })).result
            announce(`${issued.name} issued: ${issued.symbol}`)
            await this.load()
          } catch (error) {
            this.error.show(error instanceof ApiError ? error.message : String(error))
          }
        }
      }, field('Note for the record', note), h('button', { type: 'submit', class: 'btn' }, 'Issue the next revision of the text now'))
      : null
    fill(this.listEl,
      h('h2', { id: 'revisions-title' }, 'Issued revisions'),
      this.revisions.length
        ? h('ul', { class: 'revision-list' }, this.revisions.map((r) => h('li', { dataset: { revision: r.id } },
          h('strong', {}, r.name), ' ', h('code', {}, r.symbol), ` — the text at entry ${r.seq}`,
          r.time ? [' (', timeEl(r.time), ')'] : null,
          r.note ? h('span', { class: 'muted' }, ` — ${r.note}`) : null, ' ',
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.download(r, 'akn') }, 'Akoma Ntoso'),
          ' ',
          h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.receipt(r) }, 'Signed receipt'))))
        : h('p', { class: 'muted' }, 'No revision issued yet.'),
      form)
  }

  renderCompare () {
    const versions = [...this.revisions.map((r) => [r.id, `${r.name} (${r.symbol})`]), [NOW, 'The text now']]
    const older = select(versions, { name: 'from' })
    const newer = select(versions, { name: 'to' })
    const codes = [this.languages.original, ...this.languages.translations]
    const language = select(codes.map((code) => [code, languageName(code)]), { name: 'language' })
    older.value = this.revisions.length >= 2 ? this.revisions[this.revisions.length - 2].id : (this.revisions[0]?.id || NOW)
    newer.value = this.revisions.length >= 2 ? this.revisions[this.revisions.length - 1].id : NOW
    fill(this.compareEl,
      h('h2', { id: 'compare-title' }, 'Compare two versions'),
      this.revisions.length
        ? h('form', {
          class: 'row',
          onsubmit: (event) => { event.preventDefault(); this.compare(older.value, newer.value, language.value) }
        }, field('Earlier version', older), field('Later version', newer), field('Language', language),
        h('button', { type: 'submit', class: 'btn' }, 'Compare'))
        : h('p', { class: 'muted' }, 'Once a revision is issued, it can be compared with later ones and with the text now.'))
  }

  async compare (from, to, language) {
    this.error.show('')
    const query = new URLSearchParams({ from, to, language })
    let result
    try {
      result = await this.api.get(draftPath(this.draft, `/compare?${query}`))
    } catch (error) {
      this.error.show(error instanceof ApiError ? error.message : String(error))
      return
    }
    const dir = dirOf(result.language)
    const counts = result.counts
    fill(this.resultEl,
      h('h2', {}, `${result.to.name} compared with ${result.from.name}`),
      h('p', { class: 'muted' },
        `Paragraphs: ${counts.modified} modified, ${counts.inserted} new, ${counts.deleted} deleted, ${counts.moved} moved, ` +
        `${counts.renumbered} renumbered, ${counts.unchanged} unchanged. Deleted words are struck through, inserted words underlined.`),
      result.paragraphs.map((p) => h('section', { class: `paragraph-change change-${p.change}`, dataset: { paragraph: p.id, change: p.change } },
        h('h3', {}, capitalise(p.after || p.before || p.id)),
        p.notes.length ? h('p', { class: 'change-notes' }, p.notes.join('; ')) : null,
        h('p', { lang: result.language, dir }, p.ops.map((op) => mark(op))))))
    announce(`Comparison shown: ${counts.modified} paragraphs modified.`)
  }

  async download (revision, format) {
    try {
      const response = await this.api.raw('GET', draftPath(this.draft, `/export?format=${format}&at=${revision.id}`))
      saveBlob(await response.blob(), `${this.draft}-${revision.id}.zip`)
    } catch (error) {
      this.error.show(error instanceof ApiError ? error.message : String(error))
    }
  }

  async receipt (revision) {
    try {
      const signed = await this.api.get(draftPath(this.draft, `/revisions/${revision.id}/receipt`))
      saveBlob(new Blob([JSON.stringify(signed, null, 2)], { type: 'application/json' }), `${this.draft}-${revision.id}-receipt.json`)
    } catch (error) {
      this.error.show(error instanceof ApiError ? error.message : String(error))
    }
  }

  destroy () {}
}

function capitalise (text) {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

function mark ({ op, text }) {
  if (op === 'equal') return text
  const word = op === 'delete' ? 'deleted' : 'inserted'
  return h(op === 'delete' ? 'del' : 'ins', {}, h('span', { class: 'sr-only' }, `[${word}: `), text, h('span', { class: 'sr-only' }, ']'))
}
