// One CodeMirror 6 editor per paragraph, bound to the paragraph's Y.Text by y-codemirror.next,
// with the other participants' cursors and selections (from awareness) in their colours, names
// shown, and the spans that annotations and amendments are anchored to underlined.
import * as Y from 'yjs'
import { Compartment, EditorState, StateEffect } from '@codemirror/state'
import { Decoration, EditorView, ViewPlugin, WidgetType, keymap } from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'
import { colourFor } from './dom.js'

// Remote cursors. The server sets every presence state's `user` from the participant's token
// ({id, name, delegation, group, role}); the colour is derived from the id, the same everywhere.

class CaretWidget extends WidgetType {
  constructor (colour, label) {
    super()
    this.colour = colour
    this.label = label
  }

  toDOM () {
    const caret = document.createElement('span')
    caret.className = 'remote-caret'
    caret.style.borderColor = this.colour
    caret.setAttribute('aria-hidden', 'true')
    const name = document.createElement('span')
    name.className = 'remote-caret-name'
    name.style.backgroundColor = this.colour
    name.textContent = this.label
    caret.append('\u2060', name, '\u2060')
    return caret
  }

  eq (other) { return other.colour === this.colour && other.label === this.label }
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
          widget: new CaretWidget(colour.solid, label),
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

/**
 * @param {object} o
 * @param {Y.Text} o.ytext
 * @param {any} o.awareness
 * @param {HTMLElement} o.parent
 * @param {string} o.label accessible name of the text box
 * @param {boolean} o.editable
 * @param {(view: EditorView) => void} [o.onSelection]
 * @param {(id: string) => string} [o.describeAnchor]
 */
export function paragraphEditor ({ ytext, awareness, parent, label, editable, onSelection, describeAnchor }) {
  const editing = new Compartment()
  const labelling = new Compartment()
  const editability = (on) => [EditorView.editable.of(on), EditorState.readOnly.of(!on)]
  const undoManager = new Y.UndoManager(ytext)
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: ytext.toString(),
      extensions: [
        // A paragraph is one block of text: Enter does not split it.
        keymap.of([{ key: 'Enter', run: () => true }, ...yUndoManagerKeymap, ...defaultKeymap]),
        EditorView.lineWrapping,
        theme,
        yCollab(ytext, null, { undoManager }),
        remoteSelections(ytext, awareness),
        anchoredSpans(ytext, describeAnchor || ((id) => id)),
        editing.of(editability(editable)),
        labelling.of(EditorView.contentAttributes.of({ 'aria-label': label })),
        EditorView.updateListener.of((update) => {
          if (onSelection && (update.selectionSet || update.docChanged)) onSelection(update.view)
        })
      ]
    })
  })
  return {
    view,
    setEditable (on) {
      view.dispatch({ effects: editing.reconfigure(editability(on)) })
    },
    setLabel (text) {
      view.dispatch({ effects: labelling.reconfigure(EditorView.contentAttributes.of({ 'aria-label': text })) })
    },
    destroy () {
      undoManager.destroy()
      view.destroy()
    }
  }
}
