// A draft's activity and this participant's notices, folded from the live deliberation state: every
// amendment, period and silence keeps its own dated history there, so the feed is complete from the
// first load (not only from when the page opened) and follows each change as it arrives.
// What concerns me: amendments my delegation sponsors (adopted, rejected, superseded, withdrawn),
// comment periods opening and closing, silence procedures on what my delegation spoke on (started,
// broken), and the floor given to my delegation. Unread: after the last time I marked them read.
import { AMENDMENT_STATES } from './labels.js'

const isoUs = (us) => new Date(Math.floor(us / 1000)).toISOString()

/**
 * @param {object} state the deliberation state (maps of plain values)
 * @param {object} o
 * @param {object} o.me {id, delegation}
 * @param {(id: string) => string} o.name how a paragraph is called ("paragraph 3")
 * @param {object} [o.speakers] meeting id → the floor (who speaks now)
 * @param {number} [o.now] ms
 * @returns {{at: string, ms: number, kind: string, text: string, target: string|null, mine: boolean}[]} newest first
 */
export function activity (state, { me, name, speakers = {}, now = Date.now() }) {
  const out = []
  const delegation = me.delegation
  const push = (at, kind, text, target, mine = false) => { if (at) out.push({ at, kind, text, target, mine }) }
  const spokeOn = (target) => !!delegation && !!state.positions?.[target]?.[delegation]
  const where = (target) => {
    const am = state.amendments?.[target]
    return am ? `amendment ${target} (${name(am.paragraph)})` : name(target)
  }

  for (const am of Object.values(state.amendments || {})) {
    const sponsoring = !!delegation && (am.sponsor === delegation || (am.cosponsors || []).includes(delegation))
    for (const event of am.history || []) {
      const what = AMENDMENT_STATES[event.event]?.toLowerCase() || event.event
      const by = event.by ? ` by ${event.by}` : event.by_amendment ? ` by ${event.by_amendment}` : ''
      const decided = ['adopted', 'adopted_modified', 'rejected', 'superseded'].includes(event.event) ||
        (event.event === 'withdrawn' && event.by !== delegation)
      const reason = event.reason ? `: ${event.reason}` : ''
      push(event.at, `amendment.${event.event}`,
        `${sponsoring && decided ? 'Your amendment' : 'Amendment'} ${am.id} on ${name(am.paragraph)} ${what}${by}${reason}`,
        am.id, sponsoring && decided)
    }
  }
  for (const note of Object.values(state.annotations || {})) {
    push(note.created, 'comment', `${note.creator?.name || 'Someone'} commented on ${name(note.paragraph)}: “${String(note.body || '').slice(0, 80)}”`, note.id)
  }
  for (const [target, byDelegation] of Object.entries(state.positions || {})) {
    for (const p of Object.values(byDelegation || {})) {
      const label = String(p.stance || '').replace('_', ' ')
      push(p.at, 'position', `${p.delegation}: ${label} on ${where(target)}${p.explanation ? ` — ${p.explanation}` : ''}`, target)
    }
  }
  for (const period of Object.values(state.periods || {})) {
    const scope = period.paragraphs == null ? 'the whole draft' : period.paragraphs.map(name).join(', ')
    for (const event of period.history || []) {
      const verb = { opened: 'opens', closed: 'was closed by the chair', extended: 'was extended' }[event.event] || event.event
      push(event.at, `period.${event.event}`, `The comment period ${period.id} on ${scope} ${verb}`, period.paragraphs?.[0] || null, event.event !== 'extended')
    }
    if (!period.closed && period.deadline_us <= now * 1000) {
      push(isoUs(period.deadline_us), 'period.ended', `The comment period ${period.id} on ${scope} has closed (deadline passed)`, period.paragraphs?.[0] || null, true)
    }
  }
  for (const silence of Object.values(state.silences || {})) {
    const target = silence.target
    const concerns = spokeOn(target) || (state.amendments?.[target]?.sponsor === delegation && !!delegation)
    push(silence.started, 'silence.started', `A silence procedure started on ${where(target)}${silence.by ? ` (${silence.by})` : ''}`, target, concerns)
    if (silence.state === 'broken' && silence.broken_by) {
      push(silence.broken_by.at, 'silence.broken', `The silence on ${where(target)} was broken by ${silence.broken_by.delegation} (${String(silence.broken_by.stance).replace('_', ' ')})`, target, concerns)
    }
  }
  for (const floor of Object.values(speakers || {})) {
    const current = floor?.current
    if (current && delegation && current.delegation === delegation) {
      push(current.started, 'floor', `You have the floor${current.given_by ? ` (given by ${current.given_by})` : ''}`, null, true)
    }
  }
  // Times come at whole seconds and at microseconds: compare them as moments, not as strings.
  for (const item of out) item.ms = Date.parse(item.at) || 0
  return out.sort((a, b) => b.ms - a.ms)
}

const seenKey = (me, draft) => `plenary.seen:${me.id}:${draft}`

/**
 * What this participant has read: `at` (ms) and the keys of the notices of that last second. The
 * state dates many events to the whole second, so a notice in the second one marks them read is
 * unread unless it was among those shown then.
 */
export function lastSeen (me, draft) {
  try {
    const kept = JSON.parse(window.localStorage.getItem(seenKey(me, draft)) || 'null')
    if (kept && typeof kept.at === 'number') return { at: kept.at, keys: new Set(kept.keys || []) }
  } catch {}
  return { at: 0, keys: new Set() }
}

export function markSeen (me, draft, items, at = Date.now()) {
  const second = Math.floor(at / 1000) * 1000
  const keys = items.filter((item) => item.ms >= second).map(noticeKey)
  try { window.localStorage.setItem(seenKey(me, draft), JSON.stringify({ at, keys })) } catch {}
  return { at, keys: new Set(keys) }
}

export const noticeKey = (item) => `${item.kind}|${item.target}|${item.at}`

export function isUnread (item, seen) {
  return item.ms >= Math.floor(seen.at / 1000) * 1000 && !seen.keys.has(noticeKey(item))
}
