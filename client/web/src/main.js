// Plenary in the browser: sign in, the drafts, a draft's text, the chair's dashboard, the archive.
// Routes live in the URL's fragment, so the server serves one page: #/, #/drafts/ID,
// #/drafts/ID/chair, #/drafts/ID/archive, #/drafts/ID/meetings[/MID].
import './styles.css'
import { Api } from './api.js'
import { ArchivePage } from './archive.js'
import { ChairPage } from './chair.js'
import { DraftConnection } from './connection.js'
import { DraftPage } from './draftpage.js'
import { RevisionsPage } from './revisions.js'
import { TranslationPage } from './translations.js'
import { colourFor, fill, h } from './dom.js'
import { draftsPage, signInPage } from './home.js'
import { MeetingPage } from './meeting.js'
import { ROLES, groupName } from './labels.js'
import { clearToken, getToken, may, roleFor, takeTokenFromUrl, whoIs } from './session.js'

takeTokenFromUrl()

const main = document.getElementById('main')
const nav = document.getElementById('nav')
const identity = document.getElementById('identity')
const connectionEl = document.getElementById('connection')

let current = null // the mounted page: {destroy()}
let conn = null // the live connection of the current draft, kept across its views
let signInMessage = ''

const api = new Api(getToken, (error) => {
  signInMessage = `The server refused your token: ${error.detail || error.title}. Sign in again.`
  clearToken()
  setTimeout(render, 0)
})

function route () {
  const hash = window.location.hash.replace(/^#/, '') || '/'
  const parts = hash.split('/').filter(Boolean).map(decodeURIComponent)
  // The fourth part names what the page is about: a meeting (meetings) or a language (translations).
  // On the Text page it is a deep link's paragraph, amendment or annotation.
  if (parts[0] === 'drafts' && parts[1]) return { page: parts[2] || 'text', draft: parts[1], meeting: parts[3], language: parts[3], target: parts[3] }
  return { page: 'home' }
}

function renderIdentity (me) {
  if (!me) { identity.replaceChildren(); return }
  const { page, draft } = route()
  const role = page === 'home' ? (me.roles['*'] || Object.values(me.roles)[0]) : roleFor(me, draft)
  fill(identity,
    h('span', { class: 'dot', style: `background:${colourFor(me.id).solid}`, 'aria-hidden': 'true' }),
    h('span', { class: 'who', dataset: { test: 'who' } },
      h('strong', {}, me.name),
      h('span', { class: 'who-meta' }, [me.delegation, groupName(me.group), ROLES[role] || role].filter(Boolean).join(' · '))),
    h('button', {
      type: 'button',
      class: 'btn btn-small',
      onclick: () => { clearToken(); signInMessage = 'You signed out.'; window.location.hash = '#/'; render() }
    }, 'Sign out'))
}

function renderNav (me, r) {
  if (!me) { nav.replaceChildren(); return }
  if (r.page === 'home') {
    fill(nav, h('a', { href: '#/', 'aria-current': 'page' }, 'Drafts'))
    return
  }
  const role = roleFor(me, r.draft)
  const base = `#/drafts/${encodeURIComponent(r.draft)}`
  const link = (page, href, text) => h('a', { href, 'aria-current': r.page === page ? 'page' : null }, text)
  fill(nav,
    h('a', { href: '#/' }, 'Drafts'),
    link('text', base, 'Text'),
    may(role, 'manage') || may(role, 'decide') ? link('chair', `${base}/chair`, 'Dashboard') : null,
    link('meetings', `${base}/meetings`, 'Meetings'),
    may(role, 'history') ? link('archive', `${base}/archive`, 'Archive') : null,
    link('revisions', `${base}/revisions`, 'Revisions'),
    link('translate', `${base}/translate`, 'Translations'))
}

function showConnection (state) {
  if (!state) { connectionEl.replaceChildren(); connectionEl.className = 'connection'; return }
  connectionEl.className = `connection connection-${state.state}`
  connectionEl.dataset.state = state.state
  const symbol = { connected: '●', connecting: '◌', offline: '○', ended: '■' }[state.state]
  const short = { connected: 'Live', connecting: 'Connecting', offline: 'Offline', ended: 'Disconnected' }[state.state]
  connectionEl.dataset.pending = String(state.pending || 0)
  const waiting = state.pending && state.state !== 'connected'
    ? h('span', { class: 'connection-pending', dataset: { test: 'pending' } }, ` · ${state.pending} waiting`)
    : null
  fill(connectionEl, h('span', { 'aria-hidden': 'true' }, symbol + ' '), h('strong', {}, short), waiting, h('span', { class: 'connection-detail' }, ' ' + state.message))
}

// Closing a tab that holds changes the server has not confirmed: they are kept in this browser and
// merge when the draft is opened again, but the participant should know before leaving.
window.addEventListener('beforeunload', (event) => {
  if (conn && !conn.ended && conn.pendingEdits > 0) {
    event.preventDefault()
    event.returnValue = ''
  }
})

async function render () {
  current?.destroy?.()
  current = null
  const token = getToken()
  const me = whoIs(token)
  const r = route()
  if (!me || (me.expires && me.expires < new Date())) {
    conn?.destroy()
    conn = null
    showConnection(null)
    renderIdentity(null)
    renderNav(null, r)
    const message = signInMessage || (me ? 'Your access token expired. Sign in again.' : '')
    signInMessage = ''
    signInPage(main, { message, onSignedIn: () => render() })
    return
  }
  renderIdentity(me)
  renderNav(me, r)
  if (r.page === 'home') {
    conn?.destroy()
    conn = null
    showConnection(null)
    document.title = 'Drafts · Plenary'
    await draftsPage(main, { api, me })
    return
  }
  const role = roleFor(me, r.draft)
  if (r.page === 'archive' || r.page === 'revisions') {
    conn?.destroy()
    conn = null
    showConnection(null)
    const Page = r.page === 'archive' ? ArchivePage : RevisionsPage
    current = new Page({ api, me, role, draft: r.draft, container: main })
    await current.mount()
    return
  }
  if (!conn || conn.draft !== r.draft || conn.token !== token) {
    conn?.destroy()
    conn = new DraftConnection(r.draft, token, me.id)
    conn.on('status', showConnection)
    conn.on('ended', () => { if (conn.ended.code === 4401) { signInMessage = conn.ended.message } })
  }
  showConnection(conn.state)
  const Page = { chair: ChairPage, meetings: MeetingPage, translate: TranslationPage }[r.page] || DraftPage
  current = new Page({ api, me, role, draft: r.draft, conn, container: main, meeting: r.meeting, language: r.language, target: r.target })
  await current.mount()
}

window.addEventListener('hashchange', () => {
  render()
  main.focus({ preventScroll: true })
})
render()
