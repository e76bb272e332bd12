// The participant's access token: from `/?token=…` (then kept in sessionStorage and removed from
// the address bar) or pasted. The payload is decoded here for display only: the server checks the
// signature of every request and decides what anyone may do.

const KEY = 'plenary.token'

/** Move a `?token=` from the URL into sessionStorage, and remove it from the address bar. */
export function takeTokenFromUrl () {
  const url = new URL(window.location.href)
  const token = url.searchParams.get('token')
  if (token == null) return
  url.searchParams.delete('token')
  window.history.replaceState(null, '', url.pathname + url.search + url.hash)
  if (token.trim()) setToken(token.trim())
}

export function getToken () {
  try {
    return window.sessionStorage.getItem(KEY)
  } catch {
    return null
  }
}

export function setToken (token) {
  window.sessionStorage.setItem(KEY, token)
}

export function clearToken () {
  window.sessionStorage.removeItem(KEY)
}

function base64url (text) {
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4)
  const binary = window.atob(padded)
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0))
  return new TextDecoder().decode(bytes)
}

/** The claims of a JWT (unverified), or null if it is not one. */
export function decodeToken (token) {
  if (typeof token !== 'string') return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  try {
    const claims = JSON.parse(base64url(parts[1]))
    return claims && typeof claims === 'object' ? claims : null
  } catch {
    return null
  }
}

/** Who the token says the participant is, or null. */
export function whoIs (token) {
  const claims = decodeToken(token)
  if (!claims || typeof claims.sub !== 'string') return null
  return {
    id: claims.sub,
    name: String(claims.name || claims.sub),
    delegation: String(claims.delegation || ''),
    group: String(claims.group || ''),
    roles: claims.roles && typeof claims.roles === 'object' ? claims.roles : {},
    expires: typeof claims.exp === 'number' ? new Date(claims.exp * 1000) : null
  }
}

/** The role for one draft: the draft's own, else the one for all drafts (`*`). */
export function roleFor (me, draft) {
  if (!me) return null
  return me.roles[draft] ?? me.roles['*'] ?? null
}

/** The README's permission table, for enabling controls (the server enforces it). */
const PERMISSIONS = {
  edit: ['chair', 'secretariat', 'delegate'],
  annotate: ['chair', 'secretariat', 'delegate', 'observer'],
  propose: ['delegate'],
  position: ['delegate'],
  manage: ['chair', 'secretariat'],
  decide: ['chair'],
  history: ['chair', 'secretariat', 'archivist']
}

export function may (role, action) {
  return (PERMISSIONS[action] || []).includes(role)
}
