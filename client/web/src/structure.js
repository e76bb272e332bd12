// Adding and removing paragraphs from the Text page (the chair and the secretariat): a change to the
// shared paragraph list, sent like any edit; the server's guard judges it (agreed text stays, a locked
// text refuses) and the record keeps it ("added paragraph", "removed paragraph").
import * as Y from 'yjs'
import { h, modal } from './dom.js'

const KINDS = [['operative', 'Operative paragraph'], ['preambular', 'Preambular paragraph'], ['item', 'Item'], ['heading', 'Heading']]

/** A new paragraph's id: unique in the draft, and unlikely to meet one a colleague adds at once. */
export function newParagraphId (paragraphs) {
  const taken = new Set()
  paragraphs.forEach((p) => { if (p instanceof Y.Map) taken.add(p.get('id')) })
  let id
  do { id = `p-${Math.random().toString(36).slice(2, 8)}` } while (taken.has(id))
  return id
}

export function indexOf (paragraphs, id) {
  let found = -1
  paragraphs.forEach((p, i) => { if (p instanceof Y.Map && p.get('id') === id) found = i })
  return found
}

/** Insert an empty paragraph `id` of `kind` after paragraph `after`. */
export function addParagraph (doc, paragraphs, after, id, kind = 'operative') {
  const map = new Y.Map()
  map.set('id', id)
  map.set('kind', kind)
  map.set('text', new Y.Text(''))
  doc.transact(() => paragraphs.insert(indexOf(paragraphs, after) + 1, [map]))
}

export function removeParagraph (doc, paragraphs, id) {
  const index = indexOf(paragraphs, id)
  if (index >= 0) doc.transact(() => paragraphs.delete(index, 1))
}

/** The paragraph's structure buttons. `page` is the draft page, `view` the paragraph's view. */
export function structureTools (page, view) {
  const kind = h('select', { 'aria-label': 'Kind of the new paragraph' }, KINDS.map(([value, label]) => h('option', { value }, label)))
  const add = h('button', {
    type: 'button',
    class: 'btn btn-small',
    onclick: () => {
      // Into the new paragraph at once: the page renders it while the change is made.
      const id = newParagraphId(page.conn.paragraphs)
      page.focusParagraph = id
      addParagraph(page.conn.doc, page.conn.paragraphs, view.id, id, kind.value)
    }
  }, 'Add paragraph after')
  const remove = h('button', {
    type: 'button',
    class: 'btn btn-small btn-danger',
    onclick: () => modal(`Remove ${page.paragraphName(view.id)}?`, (close) => h('form', {
      onsubmit: (event) => { event.preventDefault(); removeParagraph(page.conn.doc, page.conn.paragraphs, view.id); close(true) }
    },
    h('p', {}, 'The paragraph leaves the text for everyone; the record keeps it, and the archive shows it until now.'),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'btn btn-danger' }, 'Remove'),
      h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Cancel'))))
  }, 'Remove…')
  return h('div', { class: 'para-structure', role: 'group', 'aria-label': 'Paragraphs' }, kind, add, remove)
}
