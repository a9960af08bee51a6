// Access/refresh token storage. Tokens live in localStorage (as the original
// app kept them) and are mirrored in a reactive object so the UI follows
// logins, logouts and refreshes, also those made in another tab.
import { reactive } from 'vue'

const ACCESS_KEY = 'access_token'
const REFRESH_KEY = 'refresh_token'

function read(key) {
  try {
    return window.localStorage.getItem(key) || ''
  } catch {
    return ''
  }
}

function write(key, value) {
  try {
    if (value) window.localStorage.setItem(key, value)
    else window.localStorage.removeItem(key)
  } catch {
    /* storage disabled: tokens then only live in memory */
  }
}

export const tokens = reactive({
  access: read(ACCESS_KEY),
  refresh: read(REFRESH_KEY),
})

/** Decodes the payload of a JWT without checking it; null when malformed. */
export function decodeJwt(token) {
  if (!token || typeof token !== 'string') return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/')
    const padded = b64 + '='.repeat((4 - (b64.length % 4)) % 4)
    const json = decodeURIComponent(
      Array.from(atob(padded), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
    )
    const payload = JSON.parse(json)
    return payload && typeof payload === 'object' ? payload : null
  } catch {
    return null
  }
}

/** Seconds until the token's exp claim (negative when expired, -Infinity when unknown). */
export function secondsLeft(token) {
  const payload = decodeJwt(token)
  if (!payload || typeof payload.exp !== 'number') return -Infinity
  return payload.exp - Date.now() / 1000
}

export function setTokens({ access, refresh }) {
  if (access !== undefined) {
    tokens.access = access || ''
    write(ACCESS_KEY, tokens.access)
  }
  if (refresh !== undefined) {
    tokens.refresh = refresh || ''
    write(REFRESH_KEY, tokens.refresh)
  }
}

export function clearTokens() {
  setTokens({ access: '', refresh: '' })
}

/** True when a refresh token that has not yet expired is stored. */
export function hasSession() {
  return Boolean(tokens.refresh) && secondsLeft(tokens.refresh) > 0
}

window.addEventListener('storage', (event) => {
  if (event.key === ACCESS_KEY) tokens.access = event.newValue || ''
  if (event.key === REFRESH_KEY) tokens.refresh = event.newValue || ''
})
