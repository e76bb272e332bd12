// Deadlines in two time zones: the viewer's own, and the meeting's (where the chair will call time).
// A delegation following from another continent reads "18:00 your time (America/New_York) ·
// 00:00 at the meeting (Africa/Tunis)" instead of guessing which clock a deadline is on.
import { draftPath } from './api.js'
import { h } from './dom.js'

export function viewerZone () {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
  } catch {
    return 'UTC'
  }
}

/** A time in a zone, with the zone's short name ("2 Dec 2026, 18:00 EST"). */
export function inZone (iso, zone) {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return String(iso || '')
  try {
    // dateStyle and timeStyle cannot be combined with timeZoneName: name the fields.
    return new Intl.DateTimeFormat(undefined, {
      year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: zone, timeZoneName: 'short'
    }).format(date)
  } catch {
    return date.toISOString()
  }
}

/** A deadline: the viewer's time and zone, and the meeting's where it differs. */
export function deadlineEl (iso, meetingZone = null) {
  const mine = viewerZone()
  const zones = meetingZone && meetingZone !== mine
    ? h('span', { class: 'deadline-zones', dataset: { test: 'meeting-zone' } }, ` · ${inZone(iso, meetingZone)} at the meeting (${meetingZone})`)
    : null
  return h('span', { class: 'deadline', dataset: { test: 'deadline' } },
    h('time', { datetime: iso }, `${inZone(iso, mine)} your time (${mine})`), zones)
}

const zones = new Map() // draft → Promise of the meeting's zone (or null)

/** The time zone of the draft's meeting: the one in session, else the next, else the last. */
export function meetingZone (api, draft) {
  if (!zones.has(draft)) {
    zones.set(draft, api.get(draftPath(draft, '/meetings')).then((meetings) => {
      const list = Array.isArray(meetings) ? meetings.filter((m) => m.timezone) : []
      const now = Date.now()
      const running = list.find((m) => m.status === 'open' || m.status === 'suspended')
      const next = list.find((m) => m.status === 'scheduled' && Date.parse(m.starts) >= now)
      return (running || next || list[list.length - 1])?.timezone || null
    }).catch(() => null))
    setTimeout(() => zones.delete(draft), 60_000) // meetings are added: look again now and then
  }
  return zones.get(draft)
}
