// Words and symbols for every state: nothing is told by colour alone.
import { h } from './dom.js'

export const GROUPS = [
  ['government', 'Governments', 'Gov.'],
  ['private_sector', 'Private sector', 'Private'],
  ['civil_society', 'Civil society', 'Civil soc.'],
  ['international_organization', 'International organisations', 'Int. org.'],
  ['technical_academic', 'Technical & academic', 'Tech./acad.']
]
export const groupName = (group) => (GROUPS.find(([g]) => g === group) || [group, group])[1]

export const STANCES = [
  ['support', 'Support', '✓'],
  ['no_objection', 'No objection', '○'],
  ['reservation', 'Reservation', '◐'],
  ['objection', 'Objection', '✗'],
  ['formal_objection', 'Formal objection', '⊗']
]
export const stanceName = (stance) => (STANCES.find(([s]) => s === stance) || [stance, stance])[1]
export const stanceSymbol = (stance) => (STANCES.find(([s]) => s === stance) || [stance, '', '?'])[2]

export function stanceBadge (stance) {
  return h('span', { class: `stance stance-${stance}` }, h('span', { 'aria-hidden': 'true' }, stanceSymbol(stance) + ' '), stanceName(stance))
}

export const INDICATORS = {
  consensus: ['Consensus', '●'],
  broad_support: ['Broad support', '◕'],
  divided: ['Divided', '◑'],
  blocked: ['Blocked', '⊗'],
  no_positions: ['No positions yet', '○']
}

export function indicatorBadge (indicator, { long = false } = {}) {
  if (!indicator) return h('span', { class: 'indicator indicator-none' }, 'No indicator')
  const [label, symbol] = INDICATORS[indicator.status] || [indicator.status, '?']
  const rule = indicator.rule_satisfied
    ? `${indicator.rule} rule satisfied`
    : `${indicator.rule} rule not satisfied`
  const parts = [h('span', { 'aria-hidden': 'true' }, symbol + ' '), label]
  if (long) parts.push(h('span', { class: 'rule' }, indicator.rule_satisfied ? `${indicator.rule}: met` : `${indicator.rule}: not met`))
  return h('span', {
    class: `indicator indicator-${indicator.status}`,
    title: `${label}; ${rule}`,
    dataset: { status: indicator.status }
  }, parts)
}

export const STATUSES = [
  ['pending', 'Pending', '…'],
  ['bracketed', 'Bracketed', '[ ]'],
  ['agreed_ad_ref', 'Agreed ad ref', '✓?'],
  ['agreed', 'Agreed', '✓']
]
export const statusName = (status) => (STATUSES.find(([s]) => s === status) || [status, status])[1]

export function statusBadge (record) {
  const status = record?.status || 'pending'
  const [, label, symbol] = STATUSES.find(([s]) => s === status) || [status, status, '']
  const reason = record?.reason ? `: ${record.reason}` : ''
  return h('span', {
    class: `status status-${status}`,
    title: `Status: ${label}${reason}`,
    dataset: { status }
  }, h('span', { 'aria-hidden': 'true' }, symbol + ' '), srOnly('Status: '), label)
}

function srOnly (text) {
  return h('span', { class: 'sr-only' }, text)
}

export const AMENDMENT_KINDS = [
  ['substitution', 'Substitution (replace the selected words)'],
  ['insertion', 'Insertion (add words at the cursor)'],
  ['deletion', 'Deletion (strike the selected words)']
]
export const kindName = (kind) => ({ substitution: 'Substitution', insertion: 'Insertion', deletion: 'Deletion' }[kind] || kind)

export const AMENDMENT_STATES = {
  proposed: 'Proposed',
  adopted: 'Adopted',
  adopted_modified: 'Adopted as modified',
  rejected: 'Rejected',
  withdrawn: 'Withdrawn',
  superseded: 'Superseded'
}

export const ROLES = {
  chair: 'Chair',
  secretariat: 'Secretariat',
  delegate: 'Delegate',
  observer: 'Observer',
  archivist: 'Archivist',
  translator: 'Translator'
}

export const MOTIVATIONS = [
  ['commenting', 'Comment'],
  ['questioning', 'Question'],
  ['editing', 'Editorial suggestion'],
  ['assessing', 'Assessment']
]

/** "1.", "(a)", "12 bis", or nothing for headings. */
export function numberLabel (number, kind) {
  if (!number) return kind === 'heading' ? '' : ''
  if (/^\(/.test(number)) return number
  return /^\d+$/.test(number) ? `${number}.` : number
}
