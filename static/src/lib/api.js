// The one way the SPA talks to the API: relative /api/v1/ URLs, JSON or
// multipart bodies, the bearer token (refreshed shortly before it expires and
// once after a 401, then the request is retried) and errors turned into
// ApiError objects that pages show next to what failed (worded for people
// by lib/messages.js).
import { tokens, setTokens, clearTokens, secondsLeft } from './tokens.js'

const REFRESH_MARGIN_S = 60

export class ApiError extends Error {
  /**
   * status: HTTP status (0 when the server could not be reached)
   * body: the parsed JSON body, or null
   */
  constructor(status, body, fallback) {
    const detail = ApiError.detailOf(status, body, fallback)
    super(detail)
    this.name = 'ApiError'
    this.status = status
    this.body = body && typeof body === 'object' ? body : null
    this.detail = detail
    this.fields = ApiError.fieldsOf(this.body)
  }

  static detailOf(status, body, fallback) {
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      if (typeof body.detail === 'string' && body.detail) return body.detail
      if (typeof body.error === 'string' && body.error) return body.error
      if (typeof body.message === 'string' && body.message) return body.message
    }
    if (Array.isArray(body) && typeof body[0] === 'string') return body[0]
    if (fallback) return fallback
    if (status === 0) return 'Could not reach the server. Check your connection and try again.'
    if (status === 401) return 'Please log in to continue.'
    if (status === 402) return 'Insufficient credits.'
    if (status === 403) return 'You do not have permission to do this.'
    if (status === 404) return 'Not found.'
    if (status === 413) return 'Request body too large.'
    if (status === 429) return 'Too many attempts. Please wait a moment and try again.'
    if (status >= 500) return `The server had a problem (HTTP ${status}). Please try again later.`
    return `Request failed (HTTP ${status}).`
  }

  /** {"field": ["msg", ...]} entries of a 400 body, as field -> [messages]. */
  static fieldsOf(body) {
    const out = {}
    if (!body || typeof body !== 'object' || Array.isArray(body)) return out
    for (const [key, value] of Object.entries(body)) {
      if (key === 'detail' || key === 'code' || key === 'error') continue
      if (Array.isArray(value)) out[key] = value.map(String)
      else if (typeof value === 'string') out[key] = [value]
    }
    return out
  }
}

let refreshing = null
let refreshTimer = null
const listeners = new Set()

/** Registers a callback run when the session ends (refresh failed). */
export function onSessionLost(fn) {
  listeners.add(fn)
  return () => listeners.delete(fn)
}

function sessionLost() {
  clearTokens()
  scheduleRefresh()
  for (const fn of listeners) fn()
}

async function parseBody(res) {
  if (res.status === 204) return null
  const text = await res.text()
  if (!text) return null
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

/**
 * Trades the refresh token for a new access token. Concurrent callers share
 * one request. Resolves true on success; on a rejected refresh token the
 * session is cleared and false is returned. Network failures keep the tokens.
 */
export function refreshAccess() {
  if (refreshing) return refreshing
  if (!tokens.refresh) return Promise.resolve(false)
  refreshing = (async () => {
    let res
    try {
      res = await fetch('/api/v1/token/refresh/', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ refresh: tokens.refresh }),
      })
    } catch {
      return false
    }
    const body = await parseBody(res)
    if (res.ok && body && body.access) {
      setTokens({ access: body.access, refresh: body.refresh || undefined })
      scheduleRefresh()
      return true
    }
    if (res.status === 400 || res.status === 401 || res.status === 403) sessionLost()
    return false
  })().finally(() => {
    refreshing = null
  })
  return refreshing
}

/** (Re)arms the timer that refreshes the access token before its exp. */
export function scheduleRefresh() {
  if (refreshTimer) clearTimeout(refreshTimer)
  refreshTimer = null
  if (!tokens.refresh || !tokens.access) return
  const left = secondsLeft(tokens.access)
  if (!Number.isFinite(left)) return
  const delayMs = Math.max(0, (left - REFRESH_MARGIN_S) * 1000)
  // setTimeout overflows past ~24.8 days; re-arm in that case.
  const capped = Math.min(delayMs, 2 ** 31 - 1)
  refreshTimer = setTimeout(() => {
    if (capped < delayMs) scheduleRefresh()
    else refreshAccess()
  }, capped)
}

async function ensureFreshAccess() {
  if (!tokens.access && !tokens.refresh) return
  if (tokens.refresh && secondsLeft(tokens.refresh) <= 0) {
    sessionLost()
    return
  }
  if (!tokens.access || secondsLeft(tokens.access) < REFRESH_MARGIN_S / 2) await refreshAccess()
}

/**
 * Sends a request to the API.
 *   path: '/api/v1/...'
 *   opts.method, opts.json (object sent as JSON), opts.form (FormData),
 *   opts.query (object of query params), opts.auth (default true: send the
 *   bearer token when logged in), opts.signal.
 * Resolves { status, data } for 2xx; rejects with ApiError otherwise.
 */
export async function request(path, opts = {}) {
  const { method = 'GET', json, form, query, auth = true, signal } = opts
  let url = path
  if (query) {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v))
    const s = qs.toString()
    if (s) url += (url.includes('?') ? '&' : '?') + s
  }
  if (auth) await ensureFreshAccess()

  const send = async () => {
    const headers = { Accept: 'application/json' }
    let body
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(json)
    } else if (form) {
      body = form
    }
    if (auth && tokens.access) headers.Authorization = `Bearer ${tokens.access}`
    try {
      return await fetch(url, { method, headers, body, signal })
    } catch (e) {
      if (e && e.name === 'AbortError') throw e
      throw new ApiError(0, null)
    }
  }

  let res = await send()
  if (res.status === 401 && auth && tokens.refresh) {
    const ok = await refreshAccess()
    if (ok) res = await send()
  }
  const data = await parseBody(res)
  if (!res.ok) throw new ApiError(res.status, data)
  return { status: res.status, data }
}

/** Shorthand for request(...).then(r => r.data). */
export async function api(path, opts) {
  const { data } = await request(path, opts)
  return data
}

function xhrSend(url, form, { onProgress, signal }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    const abort = () => xhr.abort()
    xhr.open('POST', url)
    xhr.setRequestHeader('Accept', 'application/json')
    if (tokens.access) xhr.setRequestHeader('Authorization', `Bearer ${tokens.access}`)
    xhr.upload.onprogress = (event) => {
      if (onProgress && event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total)
    }
    xhr.onload = () => {
      if (signal) signal.removeEventListener('abort', abort)
      let data = null
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null
      } catch {
        data = null
      }
      resolve({ status: xhr.status, data })
    }
    xhr.onerror = () => reject(new ApiError(0, null))
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'))
    if (signal) {
      if (signal.aborted) {
        reject(new DOMException('The upload was cancelled.', 'AbortError'))
        return
      }
      signal.addEventListener('abort', abort, { once: true })
    }
    xhr.send(form)
  })
}

/**
 * Uploads a multipart form with XMLHttpRequest, which (unlike fetch) reports
 * upload progress: opts.onProgress(fraction 0..1), opts.signal (an
 * AbortSignal; aborting rejects with an AbortError). Tokens are handled as
 * request() does (refreshed before, and once after a 401). Resolves
 * { status, data } for 2xx; rejects with ApiError otherwise.
 */
export async function upload(path, form, opts = {}) {
  await ensureFreshAccess()
  let res = await xhrSend(path, form, opts)
  if (res.status === 401 && tokens.refresh) {
    const ok = await refreshAccess()
    if (ok) res = await xhrSend(path, form, opts)
  }
  if (res.status < 200 || res.status >= 300) throw new ApiError(res.status, res.data)
  return res
}
