// A change the server refused (the text was locked while typing, a paragraph one may not edit…):
// the banner says why and, once the reloaded text is in, offers back what was typed, paragraph by
// paragraph: copy it, put it back where one may type again, or file it as a suggestion. The lock
// warning goes when the text is unlocked; the offers stay until used or dismissed.
import { changeBetween } from './editor.js'
import { fill, h } from './dom.js'

export class RefusedNotice {
  /** @param {object} page the draft page: viewFor(id), paragraphName(id), locked */
  constructor (page, banner) {
    this.page = page
    this.banner = banner
    this.notice = null
  }

  /** A new notice; `refused` is each paragraph's text as this participant had it. */
  show (message, why, refused = {}) {
    this.notice = { message, why, refused, offers: why === 'load' ? [] : null }
    this.render()
  }

  get offering () { return !!this.notice?.offers?.length }

  /** Once the reloaded text is in: what each paragraph had that it lacks now. */
  offer () {
    const notice = this.notice
    if (!notice || notice.offers) return
    notice.offers = []
    for (const [id, mine] of Object.entries(notice.refused)) {
      const view = this.page.viewFor(id)
      if (!view?.ytext || typeof view.ytext.toString !== 'function') continue
      const change = changeBetween(view.ytext.toString(), mine)
      if (change.text.trim() || change.original.trim()) notice.offers.push({ id, text: mine, change })
    }
    this.render()
  }

  render () {
    const notice = this.notice
    if (!notice) { this.banner.hidden = true; this.banner.replaceChildren(); return }
    // The lock that refused the change is gone: the warning is no longer true. (The refusal can
    // arrive before the deliberation state says the text is locked: wait until it has said so.)
    if (this.page.locked) notice.lockSeen = true
    const unlocked = notice.why === 'locked' && notice.lockSeen && !this.page.locked
    const offers = notice.offers || []
    if (unlocked && !offers.length) { this.dismiss(); return }
    const message = unlocked ? 'The text is unlocked again. What you had typed while it was locked:' : notice.message
    const offerEl = (offer) => {
      const view = this.page.viewFor(offer.id)
      const what = offer.change.text || `(deleted) ${offer.change.original}`
      const canRestore = view?.editor && (view.editor.mode === 'live' || view.editor.mode === 'suggest')
      return h('li', { class: 'refused', dataset: { paragraph: offer.id, test: 'refused' } },
        h('span', {}, `${this.page.paragraphName(offer.id)}: `), h('q', { class: 'refused-text' }, what), ' ',
        h('button', {
          type: 'button',
          class: 'btn btn-small',
          onclick: async (event) => {
            try {
              await navigator.clipboard.writeText(offer.change.text || offer.change.original)
              event.target.textContent = 'Copied'
            } catch {
              window.getSelection()?.selectAllChildren(event.target.parentElement.querySelector('.refused-text'))
              event.target.textContent = 'Selected: copy it with Ctrl+C'
            }
          }
        }, 'Copy'), ' ',
        canRestore
          ? h('button', {
            type: 'button',
            class: 'btn btn-small',
            onclick: () => {
              if (view.editor.restore(offer.text)) {
                notice.offers = notice.offers.filter((o) => o !== offer)
                this.render()
              }
            }
          }, view.editor.mode === 'suggest' ? 'File it as a suggestion' : 'Put it back')
          : null)
    }
    fill(this.banner,
      h('span', {}, message),
      offers.length ? h('ul', { class: 'refused-list' }, offers.map(offerEl)) : null,
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => this.dismiss() }, 'Dismiss'))
    this.banner.hidden = false
  }

  dismiss () {
    this.notice = null
    this.banner.hidden = true
    this.banner.replaceChildren()
  }
}
