// Who stands where, and why: the chair opens a cell (one stakeholder group) or a row (everyone) of
// the dashboard's matrix and sees each delegation's stance, explanation and time, objections first.
// A position is stale when the paragraph's text changed after it was stated: the delegation spoke
// on words that are no longer there (the record's diff since that moment says so).
import { draftPath } from './api.js'
import { fill, formatTime, h, modal } from './dom.js'
import { STANCES, groupName, stanceBadge } from './labels.js'

const ORDER = STANCES.map(([s]) => s).reverse() // formal objection first, support last

/** Positions on a target, most severe first, then the latest first. */
export function ranked (positions) {
  return Object.values(positions || {}).sort((a, b) =>
    (ORDER.indexOf(a.stance) - ORDER.indexOf(b.stance)) || String(b.at || '').localeCompare(String(a.at || '')) || String(a.delegation).localeCompare(String(b.delegation)))
}

/** When a position was stated, as ISO 8601 (the state keeps an ISO time; older records µs). */
const isoOf = (at) => (typeof at === 'number' ? new Date(Math.floor(at / 1000)).toISOString() : (typeof at === 'string' ? at : null))

/** The last moment of the second a position was stated in: the state keeps whole seconds, so a
 * change in that same second after the position is not counted (nor one before it). */
function endOfSecond (iso) {
  const t = Date.parse(iso)
  return Number.isNaN(t) ? iso : new Date(Math.floor(t / 1000) * 1000 + 999).toISOString().replace('Z', '999Z')
}

/**
 * Which of these positions were stated before the paragraph's text last changed: one diff per
 * moment, from then to now (null where the record cannot be read: the stale mark is then left out).
 */
export async function staleness (api, draft, paragraph, positions) {
  const moments = [...new Set(positions.map((p) => isoOf(p.at)).filter(Boolean))]
  const changed = new Map()
  await Promise.all(moments.map(async (at) => {
    try {
      const diff = await api.get(draftPath(draft, `/diff?from=${encodeURIComponent(endOfSecond(at))}`))
      // The diff lists the paragraphs whose words changed in between, and only those.
      changed.set(at, (diff.paragraphs || []).some((p) => p.id === paragraph))
    } catch {
      changed.set(at, null)
    }
  }))
  return new Map(positions.map((p) => [p.delegation, changed.get(isoOf(p.at)) ?? null]))
}

/**
 * The drill-down: `target` a paragraph or amendment id, `label` how it is named, `group` to show
 * one stakeholder group only; `paragraph` the paragraph whose text a position may have outlived.
 */
export function openStances ({ api, draft, state, target, label, group = null, paragraph = null }) {
  const all = ranked(state.positions?.[target]).filter((p) => !group || p.group === group)
  const indicator = state.indicators?.[target]
  const silent = (indicator?.silent_delegations || []).filter((d) => {
    if (!group) return true
    const seat = state.roll?.[`delegation/${d}`]
    return !seat || seat.group === group
  })
  const title = `Positions on ${label}${group ? ` — ${groupName(group)}` : ''}`
  return modal(title, (close) => {
    const items = all.map((p) => {
      const staleEl = h('span', { class: 'stale', hidden: true, dataset: { test: 'stale' } }, ' · stale: the text changed since')
      const li = h('li', { class: `stance-item stance-${p.stance}`, dataset: { delegation: p.delegation, stance: p.stance } },
        h('div', { class: 'stance-head' },
          h('strong', { class: 'delegation' }, p.delegation),
          h('span', { class: 'group' }, ` (${groupName(p.group)})`), ' ',
          stanceBadge(p.stance)),
        p.explanation
          ? h('p', { class: 'explanation' }, p.explanation)
          : h('p', { class: 'explanation muted' }, 'No explanation given.'),
        h('p', { class: 'stance-meta' },
          'Stated ', isoOf(p.at) ? h('time', { datetime: isoOf(p.at) }, formatTime(isoOf(p.at))) : 'at an unknown time',
          staleEl))
      li.staleEl = staleEl
      return li
    })
    const list = all.length
      ? h('ol', { class: 'stance-list', dataset: { test: 'stances' } }, items)
      : h('p', { class: 'muted' }, 'No delegation has stated a position yet.')
    const silentEl = silent.length
      ? h('p', { class: 'silent-delegations' }, h('strong', {}, 'Silent: '), silent.join(', '))
      : null
    if (paragraph && all.length) {
      staleness(api, draft, paragraph, all).then((stale) => {
        for (const li of items) {
          const s = stale.get(li.dataset.delegation)
          li.staleEl.hidden = s !== true
          li.classList.toggle('is-stale', s === true)
        }
      })
    }
    const body = h('div', { class: 'stances' })
    fill(body, list, silentEl,
      h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => close() }, 'Close')))
    return body
  })
}
