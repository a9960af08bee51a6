// The logged-in user: login, logout, the cached /user/info/ record (with the
// credit balance shown in the header) and the token refresh timer.
import { reactive, computed, watch } from 'vue'
import { tokens, setTokens, clearTokens, hasSession } from './tokens.js'
import { api, scheduleRefresh, onSessionLost } from './api.js'

export const session = reactive({
  user: null,
  loadingUser: false,
})

export const isLoggedIn = computed(() => Boolean(tokens.refresh || tokens.access) && hasSession())

/** Fetches /user/info/ into session.user; clears it on failure. */
export async function loadUser() {
  if (!isLoggedIn.value) {
    session.user = null
    return null
  }
  session.loadingUser = true
  try {
    session.user = await api('/api/v1/user/info/')
    return session.user
  } catch (e) {
    if (e && (e.status === 401 || e.status === 403)) session.user = null
    throw e
  } finally {
    session.loadingUser = false
  }
}

/** Refreshes the user record, ignoring errors (used after spending credits). */
export function refreshUser() {
  return loadUser().catch(() => null)
}

/** Stores a {refresh, access} pair from login and loads the user. */
export async function startSession(pair) {
  setTokens({ access: pair.access, refresh: pair.refresh })
  scheduleRefresh()
  if (pair.user) session.user = pair.user
  await refreshUser()
}

export async function login(email, password) {
  const pair = await api('/api/v1/token/obtain/', {
    method: 'POST',
    json: { email, password },
    auth: false,
  })
  await startSession(pair)
}

export async function googleLogin(credential) {
  const data = await api('/api/v1/google/login/', {
    method: 'POST',
    json: { credential },
    auth: false,
  })
  await startSession(data)
}

export function logout() {
  clearTokens()
  scheduleRefresh()
  session.user = null
}

/** Called once at start-up. */
export function initSession() {
  if (!hasSession()) {
    if (tokens.access || tokens.refresh) clearTokens()
  } else {
    scheduleRefresh()
    refreshUser()
  }
  onSessionLost(() => {
    session.user = null
  })
  // Another tab logged in or out.
  watch(
    () => tokens.refresh,
    (now, before) => {
      if (!now) session.user = null
      else if (now !== before && !session.user) refreshUser()
      scheduleRefresh()
    },
  )
}
