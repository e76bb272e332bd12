// "What changed since I was last here": on opening a draft, each paragraph whose words changed since
// this participant's last visit (kept in this browser) shows the change word by word, from the
// server's GET …/changes?since= (any reader may ask; it says what changed, not who changed it).
import { draftPath } from './api.js'
import { formatTime, h } from './dom.js'

const visitKey = (me, draft) => `plenary.visit:${me.id}:${draft}`

/** When this participant last had the draft open here (ISO), or ''. */
export function previousVisit (me, draft) {
  try { return window.localStorage.getItem(visitKey(me, draft)) || '' } catch { return '' }
}

export function recordVisit (me, draft, at = new Date().toISOString()) {
  try { window.localStorage.setItem(visitKey(me, draft), at) } catch {}
}

/** paragraph id → {status, before, after, words}, or null when the server cannot say. */
export async function changesSince (api, draft, since) {
  try {
    const answer = await api.get(draftPath(draft, `/changes?since=${encodeURIComponent(since)}`))
    return new Map(answer.paragraphs.map((p) => [p.id, p]))
  } catch {
    return null
  }
}

/** The change as a reader sees it: deleted words struck through, inserted words underlined. */
export function wordsView (words) {
  return h('span', { class: 'words-diff' }, words.map(([op, text]) =>
    op === 'insert'
      ? h('ins', { title: 'added since your last visit' }, text)
      : op === 'delete'
        ? h('del', { title: 'removed since your last visit' }, text)
        : text))
}

export function sinceNote (change, since, onDismiss) {
  const what = change.status === 'added' ? 'New since your last visit' : 'Changed since your last visit'
  return [
    h('p', { class: 'since-head' }, h('strong', {}, what), ` (${formatTime(since)}): `,
      h('button', { type: 'button', class: 'btn btn-small', onclick: onDismiss }, 'Dismiss')),
    h('p', { class: 'since-words' }, wordsView(change.words || []))
  ]
}
