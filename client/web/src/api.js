// The REST API: JSON, `Authorization: Bearer`, errors as application/problem+json.

export class ApiError extends Error {
  constructor (status, title, detail) {
    super(detail || title || `HTTP ${status}`)
    this.status = status
    this.title = title
    this.detail = detail
  }
}

export class Api {
  /**
   * @param {() => string | null} token
   * @param {(error: ApiError) => void} [onUnauthorized] called on 401 (expired or bad token)
   */
  constructor (token, onUnauthorized) {
    this.token = token
    this.onUnauthorized = onUnauthorized
    this._openapi = null
  }

  async raw (method, path, body, { accept } = {}) {
    const headers = { Authorization: `Bearer ${this.token()}` }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    if (accept) headers.Accept = accept
    let response
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store'
      })
    } catch (error) {
      throw new ApiError(0, 'Offline', 'The server could not be reached. Check the connection and try again.')
    }
    if (!response.ok) {
      let title = response.statusText
      let detail = ''
      try {
        const problem = await response.json()
        title = problem.title || title
        detail = problem.detail || ''
      } catch {}
      const error = new ApiError(response.status, title, detail)
      if (response.status === 401 && this.onUnauthorized) this.onUnauthorized(error)
      throw error
    }
    return response
  }

  async json (method, path, body) {
    const response = await this.raw(method, path, body)
    if (response.status === 204) return null
    return response.json()
  }

  get (path) { return this.json('GET', path) }
  post (path, body = undefined) { return this.json('POST', path, body) }
  put (path, body) { return this.json('PUT', path, body) }

  /** The OpenAPI document (no token needed), to see which optional endpoints this server has. */
  async openapi () {
    if (!this._openapi) {
      this._openapi = fetch('/api/openapi.json', { cache: 'no-store' })
        .then((r) => (r.ok ? r.json() : { paths: {} }))
        .catch(() => { this._openapi = null; return { paths: {} } })
    }
    return this._openapi
  }

  async has (path) {
    const doc = await this.openapi()
    return Object.prototype.hasOwnProperty.call(doc.paths || {}, path)
  }
}

export const draftPath = (draft, rest = '') => `/api/drafts/${encodeURIComponent(draft)}${rest}`
