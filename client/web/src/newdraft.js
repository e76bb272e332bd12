// Creating a draft from the browser (the chair and the secretariat): a title, a short id, and the
// text pasted in, one paragraph per block; a block starting with "#" is a heading, one starting
// with "-" or "(a)" an item. The server checks everything again (POST /api/drafts).
import { errorBox, field, h } from './dom.js'

/** Paragraphs from pasted text: blocks separated by blank lines. */
export function paragraphsFrom (text) {
  const blocks = String(text || '').split(/\n\s*\n/).map((b) => b.replace(/\s*\n\s*/g, ' ').trim()).filter(Boolean)
  return blocks.map((block, i) => {
    const id = `p${i + 1}`
    if (block.startsWith('#')) return { id, kind: 'heading', text: block.replace(/^#+\s*/, '') }
    if (/^(-|\*|\([a-z]\))\s+/.test(block)) return { id, kind: 'item', text: block.replace(/^(-|\*|\([a-z]\))\s+/, '') }
    return { id, kind: 'operative', text: block }
  })
}

export function slugOf (title) {
  return String(title || '').toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64) || 'draft'
}

export function newDraftForm ({ api, onCreated }) {
  const title = h('input', { type: 'text', required: true, maxlength: 500, name: 'title' })
  const id = h('input', { type: 'text', required: true, maxlength: 64, name: 'id', pattern: '[a-z0-9][a-z0-9-]{0,63}' })
  const symbol = h('input', { type: 'text', maxlength: 100, name: 'symbol', placeholder: 'optional' })
  const text = h('textarea', { rows: 8, name: 'text', placeholder: '# A heading\n\nA paragraph.\n\n- an item' })
  let idEdited = false
  id.addEventListener('input', () => { idEdited = true })
  title.addEventListener('input', () => { if (!idEdited) id.value = slugOf(title.value) })
  const error = errorBox()
  const form = h('form', { class: 'new-draft inline-form', 'aria-label': 'New draft' },
    field('Title', title), field('Short id (in the address)', id), field('Document symbol', symbol),
    field('Text (blank lines between paragraphs; # heading, - item)', text),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create the draft')),
    error)
  form.addEventListener('submit', async (event) => {
    event.preventDefault()
    try {
      const body = { id: id.value.trim(), title: title.value.trim(), symbol: symbol.value.trim(), paragraphs: paragraphsFrom(text.value) }
      const created = await api.post('/api/drafts', body)
      onCreated(created.id || body.id)
    } catch (e) {
      error.show(e.message)
    }
  })
  return h('details', { class: 'new-draft-panel panel' }, h('summary', {}, 'Create a draft'), form)
}
