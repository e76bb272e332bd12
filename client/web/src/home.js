// Sign-in (a pasted token) and the drafts the participant may read.
import { errorBox, field, fill, formatTime, h } from './dom.js'
import { ROLES, groupName } from './labels.js'
import { may, roleFor, setToken, whoIs } from './session.js'
import { newDraftForm } from './newdraft.js'

export function signInPage (container, { message, onSignedIn }) {
  const token = h('textarea', { rows: 4, spellcheck: 'false', autocomplete: 'off', required: true, class: 'token-input' })
  const error = errorBox()
  // Offered when the server signs people in through their organisation's identity provider (OIDC).
  const organisation = h('p', { class: 'sign-in-organisation', hidden: true })
  const form = h('form', { class: 'sign-in panel', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in to Plenary'),
    message ? h('p', { class: 'banner banner-warn', role: 'alert' }, message) : null,
    organisation,
    h('p', {}, 'Open the sign-in link you were given, or paste your access token here. The token stays in this tab only and is sent with every request.'),
    field('Access token', token),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in'),
    error)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const value = token.value.trim()
    const me = whoIs(value)
    if (!me) { error.show('That is not an access token (it should be three parts separated by dots).'); return }
    if (me.expires && me.expires < new Date()) { error.show(`That token expired on ${formatTime(me.expires.toISOString())}.`); return }
    setToken(value)
    onSignedIn()
  })
  fill(container, form)
  token.focus()
  showOrganisationSignIn(organisation)
}

async function showOrganisationSignIn (element) {
  let info
  try {
    const response = await fetch('/auth/oidc')
    info = response.ok ? await response.json() : null
  } catch {
    return
  }
  if (!info?.enabled) return
  // Signed in for the draft in the address (#/drafts/ID), else for every draft whose roll has you.
  const draft = window.location.hash.match(/^#\/drafts\/([^/]+)/)?.[1]
  const href = info.login + (draft ? `?draft=${draft}` : '')
  fill(element, h('a', { class: 'btn btn-primary', href, dataset: { test: 'sign-in-organisation' } }, 'Sign in through your organisation'))
  element.hidden = false
}

export async function draftsPage (container, { api, me }) {
  const list = h('ul', { class: 'draft-list', 'aria-busy': 'true' }, h('li', { class: 'muted' }, 'Loading drafts…'))
  const error = errorBox()
  fill(container,
    h('section', { class: 'drafts-page' },
      h('h1', {}, 'Drafts'),
      h('p', {}, `Signed in as ${me.name}${me.delegation ? ', ' + me.delegation : ''}${me.group ? ' (' + groupName(me.group) + ')' : ''}.`),
      // The roles that may create drafts (the server's create_draft).
      may(me.roles['*'], 'manage')
        ? newDraftForm({ api, onCreated: (id) => { window.location.hash = `#/drafts/${encodeURIComponent(id)}` } })
        : null,
      error, list))
  let drafts
  try {
    drafts = await api.get('/api/drafts')
  } catch (e) {
    list.replaceChildren()
    error.show(`Could not list the drafts: ${e.message}`)
    return
  }
  list.removeAttribute('aria-busy')
  if (!drafts.length) {
    fill(list, h('li', { class: 'muted' }, 'There is no draft you may read yet.'))
    return
  }
  fill(list, drafts.map((d) => {
    const role = roleFor(me, d.id)
    const base = `#/drafts/${encodeURIComponent(d.id)}`
    return h('li', { class: 'draft-item panel', dataset: { draft: d.id } },
      h('h2', {}, h('a', { href: base }, d.title)),
      h('p', { class: 'muted' }, [d.symbol, `created ${formatTime(new Date(d.created_us / 1000).toISOString())}`, `your role: ${ROLES[role] || role}`].filter(Boolean).join(' · ')),
      h('p', { class: 'row' },
        h('a', { class: 'btn', href: base }, 'Open the text'),
        may(role, 'manage') || may(role, 'decide') ? h('a', { class: 'btn', href: `${base}/chair` }, 'Chair’s dashboard') : null,
        may(role, 'history') ? h('a', { class: 'btn', href: `${base}/archive` }, 'Archive') : null))
  }))
}
