// One CodeMirror 6 editor per paragraph, bound to the paragraph's Y.Text by y-codemirror.next,
// with the other participants' cursors and selections (from awareness) in their colours, names
// shown, and the spans that annotations and amendments are anchored to underlined.
import * as Y from 'yjs'
import { Compartment, EditorState, Prec, StateEffect } from '@codemirror/state'
import { Decoration, EditorView, ViewPlugin, WidgetType, keymap } from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import { colourFor } from './dom.js'

// Remote cursors. The server sets every presence state's `user` from the participant's token
// ({id, name, delegation, group, role}); the colour is derived from the id, the same everywhere.

class CaretWidget extends WidgetType {
  constructor (colour, label, tag = colour) {
    super()
    this.colour = colour
    this.label = label
    this.tag = tag
  }

  toDOM () {
    const caret = document.createElement('span')
    caret.className = 'remote-caret'
    caret.style.borderColor = this.colour
    caret.setAttribute('aria-hidden', 'true')
    const name = document.createElement('span')
    name.className = 'remote-caret-name'
    name.style.backgroundColor = this.tag
    name.textContent = this.label
    caret.append('\u2060', name, '\u2060')
    return caret
  }

  eq (other) { return other.colour === this.colour && other.label === this.label && other.tag === this.tag }
  get estimatedHeight () { return -1 }
  ignoreEvent () { return true }
}

const refreshRemote = StateEffect.define()

function remoteSelections (ytext, awareness) {
  return ViewPlugin.fromClass(class {
    constructor (view) {
      this.view = view
      this.decorations = Decoration.none
      this.listener = ({ added, updated, removed }) => {
        const others = added.concat(updated, removed).some((id) => id !== awareness.clientID)
        if (others) queueMicrotask(() => { if (this.view) this.view.dispatch({ effects: refreshRemote.of(null) }) })
      }
      awareness.on('change', this.listener)
    }

    destroy () {
      awareness.off('change', this.listener)
      this.view = null
    }

    update (update) {
      const local = awareness.getLocalState()
      if (local != null && (update.selectionSet || update.focusChanged || update.docChanged)) {
        const focused = update.view.hasFocus && update.view.dom.ownerDocument.hasFocus()
        if (focused) {
          const sel = update.state.selection.main
          const anchor = Y.createRelativePositionFromTypeIndex(ytext, sel.anchor)
          const head = Y.createRelativePositionFromTypeIndex(ytext, sel.head)
          const current = local.cursor
          if (
            current == null ||
            !Y.compareRelativePositions(Y.createRelativePositionFromJSON(current.anchor), anchor) ||
            !Y.compareRelativePositions(Y.createRelativePositionFromJSON(current.head), head)
          ) {
            awareness.setLocalStateField('cursor', { anchor, head })
          }
        }
      }
      this.decorations = this.build(update.view)
    }

    build (view) {
      const ydoc = ytext.doc
      const ranges = []
      const length = view.state.doc.length
      awareness.getStates().forEach((state, client) => {
        if (client === awareness.clientID || !state?.cursor?.anchor || !state.cursor.head) return
        let anchor, head
        try {
          anchor = Y.createAbsolutePositionFromRelativePosition(state.cursor.anchor, ydoc)
          head = Y.createAbsolutePositionFromRelativePosition(state.cursor.head, ydoc)
        } catch { return }
        if (!anchor || !head || anchor.type !== ytext || head.type !== ytext) return
        if (anchor.index > length || head.index > length) return
        const user = state.user || {}
        const colour = colourFor(user.id || client)
        const label = user.delegation ? `${user.name || 'Someone'} (${user.delegation})` : (user.name || 'Someone')
        const from = Math.min(anchor.index, head.index)
        const to = Math.max(anchor.index, head.index)
        if (from < to) {
          ranges.push(Decoration.mark({
            class: 'remote-selection',
            attributes: { style: `background-color: ${colour.light}`, title: `Selected by ${label}` }
          }).range(from, to))
        }
        ranges.push(Decoration.widget({
          widget: new CaretWidget(colour.solid, label, colour.tag),
          side: head.index - anchor.index > 0 ? -1 : 1
        }).range(head.index))
      })
      return Decoration.set(ranges, true)
    }
  }, { decorations: (v) => v.decorations })
}

// Anchored spans: formatting marks `anchor:<id>` on the Y.Text (README: Anchors).

const refreshAnchors = StateEffect.define()

function anchoredSpans (ytext, describe) {
  return ViewPlugin.fromClass(class {
    constructor (view) {
      this.view = view
      this.decorations = this.build(view)
      this.observer = () => queueMicrotask(() => { if (this.view) this.view.dispatch({ effects: refreshAnchors.of(null) }) })
      ytext.observe(this.observer)
    }

    destroy () {
      ytext.unobserve(this.observer)
      this.view = null
    }

    update (update) {
      const refresh = update.transactions.some((tr) => tr.effects.some((e) => e.is(refreshAnchors)))
      if (refresh || (update.docChanged && ytext.length === update.state.doc.length)) {
        this.decorations = this.build(update.view)
      } else if (update.docChanged) {
        this.decorations = this.decorations.map(update.changes)
      }
    }

    build (view) {
      if (ytext.length !== view.state.doc.length) return this.decorations || Decoration.none
      const ranges = []
      let pos = 0
      for (const op of ytext.toDelta()) {
        const text = typeof op.insert === 'string' ? op.insert : ''
        const ids = Object.entries(op.attributes || {})
          .filter(([key, value]) => key.startsWith('anchor:') && value === true)
          .map(([key]) => key.slice('anchor:'.length))
        if (ids.length && text.length) {
          const title = ids.map(describe).join('; ')
          ranges.push(Decoration.mark({
            class: 'anchored' + (ids.some((id) => id.startsWith('am-')) ? ' anchored-amendment' : ''),
            attributes: { title, 'data-anchors': ids.join(' ') }
          }).range(pos, pos + text.length))
        }
        pos += text.length
      }
      return Decoration.set(ranges, true)
    }
  }, { decorations: (v) => v.decorations })
}

const theme = EditorView.theme({
  '&': { fontSize: '1.05rem' },
  // Lines wrap, so nothing scrolls sideways: let the other participants' name tags overflow.
  '.cm-scroller': { fontFamily: 'Georgia, "Times New Roman", "Noto Serif", "DejaVu Serif", serif', lineHeight: '1.6', overflow: 'visible' },
  '&.cm-focused': { outline: 'none' }
})

// Suggestions: where the participant may not type into the text itself (agreed text, a pen-holder's
// paragraph, amendments only, no negotiating rights), the editor is unbound from the Y.Text and typing
// changes a private copy, shown as a tracked change against the paragraph as it stands: insertions
// underlined, deletions struck through. Others' edits to the paragraph still arrive, outside the
// changed passage. Submitting turns the change into an amendment (draftpage.js).

/** The one changed passage between `base` and `text`: [start, end) in base, what replaces it. */
export function changeBetween (base, text) {
  let start = 0
  const shortest = Math.min(base.length, text.length)
  while (start < shortest && base.charCodeAt(start) === text.charCodeAt(start)) start += 1
  // Never split a surrogate pair: the server refuses offsets inside a character.
  if (start > 0 && start < base.length && isLowSurrogate(base.charCodeAt(start))) start -= 1
  let endBase = base.length
  let endText = text.length
  while (endBase > start && endText > start && base.charCodeAt(endBase - 1) === text.charCodeAt(endText - 1)) {
    endBase -= 1
    endText -= 1
  }
  if (endBase < base.length && isLowSurrogate(base.charCodeAt(endBase))) { endBase += 1; endText += 1 }
  return { start, end: endBase, textEnd: endText, original: base.slice(start, endBase), text: text.slice(start, endText) }
}

function isLowSurrogate (code) { return code >= 0xdc00 && code <= 0xdfff }

class DeletedWidget extends WidgetType {
  constructor (text) { super(); this.text = text }
  toDOM () {
    const del = document.createElement('del')
    del.className = 'suggest-del'
    del.textContent = this.text
    del.title = 'Suggested deletion'
    return del
  }

  eq (other) { return other.text === this.text }
  ignoreEvent () { return true }
}

const refreshSuggestion = StateEffect.define()

function suggestionMarks (getBase) {
  return ViewPlugin.fromClass(class {
    constructor (view) { this.decorations = this.build(view) }
    update (update) {
      if (update.docChanged || update.transactions.some((tr) => tr.effects.some((e) => e.is(refreshSuggestion)))) {
        this.decorations = this.build(update.view)
      }
    }

    build (view) {
      const base = getBase()
      if (base == null) return Decoration.none
      const change = changeBetween(base, view.state.doc.toString())
      const ranges = []
      if (change.original) ranges.push(Decoration.widget({ widget: new DeletedWidget(change.original), side: -1 }).range(change.start))
      if (change.textEnd > change.start) ranges.push(Decoration.mark({ class: 'suggest-ins', attributes: { title: 'Suggested insertion' } }).range(change.start, change.textEnd))
      return Decoration.set(ranges, true)
    }
  }, { decorations: (v) => v.decorations })
}

/**
 * Ctrl+Shift+Z (Cmd+Shift+Z) redoes. CodeMirror looks a character key up without Shift when the
 * browser reports it unshifted ("z" with shiftKey, as some keyboard layouts and input tools do), so
 * the key would find Mod-z and undo; decide on the modifiers themselves, before the keymaps.
 */
function redoWithShift (undoManager) {
  return Prec.highest(EditorView.domEventHandlers({
    keydown (event) {
      if (!(event.ctrlKey || event.metaKey) || !event.shiftKey || event.altKey) return false
      if (event.key.toLowerCase() !== 'z') return false
      event.preventDefault()
      undoManager.redo()
      return true
    }
  }))
}

/**
 * @param {object} o
 * @param {Y.Text} o.ytext
 * @param {any} o.awareness
 * @param {HTMLElement} o.parent
 * @param {string} o.label accessible name of the text box
 * @param {boolean} o.editable
 * @param {(view: EditorView) => void} [o.onSelection]
 * @param {(id: string) => string} [o.describeAnchor]
 * @param {(change: object|null) => void} [o.onSuggestion] the pending suggestion changed (null: none)
 */
export function paragraphEditor ({ ytext, awareness, parent, label, editable, onSelection, describeAnchor, onSuggestion }) {
  const editing = new Compartment()
  const labelling = new Compartment()
  const binding = new Compartment()
  const editability = (on) => [EditorView.editable.of(on), EditorState.readOnly.of(!on)]
  const undoManager = new Y.UndoManager(ytext)
  // Undo belongs to the live binding: while suggesting there is nothing of the Y.Text to undo.
  const live = () => [redoWithShift(undoManager), keymap.of(yUndoManagerKeymap), yCollab(ytext, null, { undoManager }), remoteSelections(ytext, awareness)]
  let base = null // the paragraph as it stands, while suggesting
  let mode = editable ? 'live' : 'readonly'
  let remote = false
  const pending = () => {
    if (base == null) return null
    const change = changeBetween(base, view.state.doc.toString())
    return change.original || change.text ? change : null
  }
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        // A paragraph is one block of text: Enter does not split it.
        keymap.of([{ key: 'Enter', run: () => true }, ...defaultKeymap]),
        EditorView.lineWrapping,
        theme,
        binding.of(live()),
        anchoredSpans(ytext, describeAnchor || ((id) => id)),
        suggestionMarks(() => base),
        editing.of(editability(editable)),
        labelling.of(EditorView.contentAttributes.of({ 'aria-label': label })),
        EditorView.updateListener.of((update) => {
          if (onSelection && (update.selectionSet || update.docChanged)) onSelection(update.view)
          if (base != null && update.docChanged && !remote) onSuggestion?.(pending())
        })
      ]
    })
  })
  // Others' edits while suggesting: applied to the paragraph as it stands, and to the suggestion
  // wherever they fall outside the passage it changes.
  const follow = (event) => {
    if (base == null) return
    let index = 0
    for (const op of event.delta) {
      const change = changeBetween(base, view.state.doc.toString())
      const shift = change.textEnd - change.end
      const at = (i) => (i <= change.start ? i : i >= change.end ? i + shift : null)
      if (op.retain) { index += op.retain; continue }
      remote = true
      try {
        if (typeof op.insert === 'string') {
          const to = at(index)
          base = base.slice(0, index) + op.insert + base.slice(index)
          if (to != null) view.dispatch({ changes: { from: to, insert: op.insert } })
          index += op.insert.length
        } else if (op.delete) {
          const from = at(index)
          const to = at(index + op.delete)
          base = base.slice(0, index) + base.slice(index + op.delete)
          if (from != null && to != null && !(index < change.start && index + op.delete > change.start)) {
            view.dispatch({ changes: { from, to } })
          }
        }
      } finally { remote = false }
    }
    view.dispatch({ effects: refreshSuggestion.of(null) })
    onSuggestion?.(pending())
  }
  ytext.observe(follow)
  const setMode = (next) => {
    if (next === mode) return
    if (mode === 'suggest' && pending()) return // keep a suggestion in progress until sent or discarded
    if (next === 'suggest') {
      base = ytext.toString()
      view.dispatch({ effects: [binding.reconfigure([]), editing.reconfigure(editability(true))] })
    } else {
      if (mode === 'suggest') {
        base = null
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: ytext.toString() } })
        view.dispatch({ effects: binding.reconfigure(live()) })
      }
      view.dispatch({ effects: [editing.reconfigure(editability(next === 'live')), refreshSuggestion.of(null)] })
    }
    mode = next
  }
  return {
    view,
    get mode () { return mode },
    setMode,
    setEditable (on) { setMode(on ? 'live' : 'readonly') },
    /** The pending suggestion against the paragraph as it stands (UTF-16 offsets), or null. */
    suggestion: pending,
    /** Drop the suggestion: the editor shows the paragraph as it stands again. */
    discard (next = 'suggest') {
      if (mode !== 'suggest') return
      base = null
      mode = 'readonly'
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: ytext.toString() } })
      view.dispatch({ effects: [binding.reconfigure(live()), editing.reconfigure(editability(false))] })
      onSuggestion?.(null)
      setMode(next)
    },
    /** Put text this participant had typed back: as an edit where they may type, else as a suggestion. */
    restore (text) {
      if (mode === 'suggest') {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } })
        view.focus()
        return true
      }
      if (mode !== 'live') return false
      const change = changeBetween(ytext.toString(), text)
      ytext.doc.transact(() => {
        if (change.end > change.start) ytext.delete(change.start, change.end - change.start)
        if (change.text) ytext.insert(change.start, change.text)
      })
      view.focus()
      return true
    },
    setLabel (text) {
      view.dispatch({ effects: labelling.reconfigure(EditorView.contentAttributes.of({ 'aria-label': text })) })
    },
    destroy () {
      ytext.unobserve(follow)
      undoManager.destroy()
      view.destroy()
    }
  }
}
