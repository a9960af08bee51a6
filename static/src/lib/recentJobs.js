// The recent-jobs tray: the jobs this browser started or saw, kept in
// localStorage per user (key ia_recent_jobs:<user_id>) so that a reload, a
// closed tab or another tab finds them again, with their last known status
// and queue position. Jobs still pending or processing are polled here,
// except those a page is already polling itself (useJob marks them watched).
import { reactive, computed, watch } from 'vue'
import { tokens, decodeJwt } from './tokens.js'
import { request } from './api.js'
import { serviceDef } from './services.js'

const KEY_PREFIX = 'ia_recent_jobs:'
const MAX_JOBS = 20
const POLL_FIRST_MS = 1500
const POLL_MAX_MS = 5000

/** jobs: newest first, each { id, slug, status, position, created (ms) }. */
export const tray = reactive({ userId: null, jobs: [] })

const watched = new Set()
let pollTimer = null
let pollDelay = POLL_FIRST_MS

const ACTIVE = ['pending', 'processing']
export const isActive = (status) => ACTIVE.includes(status)

export const activeJobs = computed(() => tray.jobs.filter((j) => isActive(j.status)))

function currentUserId() {
  const payload = decodeJwt(tokens.refresh)
  return payload && payload.user_id !== undefined && payload.user_id !== null ? String(payload.user_id) : null
}

function readStored(userId) {
  if (!userId) return []
  try {
    const list = JSON.parse(window.localStorage.getItem(KEY_PREFIX + userId) || '[]')
    if (!Array.isArray(list)) return []
    return list
      .filter((j) => j && Number.isInteger(j.id) && j.id > 0)
      .slice(0, MAX_JOBS)
      .map((j) => ({ id: j.id, slug: typeof j.slug === 'string' ? j.slug : '', status: typeof j.status === 'string' ? j.status : 'pending', position: null, created: Number(j.created) || 0 }))
  } catch {
    return []
  }
}

function save() {
  if (!tray.userId) return
  const list = tray.jobs.map(({ id, slug, status, created }) => ({ id, slug, status, created }))
  try {
    window.localStorage.setItem(KEY_PREFIX + tray.userId, JSON.stringify(list))
  } catch {
    /* storage full or disabled: the tray then lives in memory only */
  }
}

function reload() {
  tray.userId = currentUserId()
  tray.jobs = readStored(tray.userId)
  kick()
}

/** The page that shows job `job` (its service page with ?job=ID). */
export function jobLink(job) {
  const def = serviceDef(job.slug)
  const path = def ? def.path : '/users/images/'
  return def ? { path, query: { job: String(job.id) } } : { path }
}

/** Adds (or moves to the top) job `id` of service `slug`. */
export function rememberJob(id, slug, status = 'pending') {
  if (!tray.userId) tray.userId = currentUserId()
  if (!tray.userId || !Number.isInteger(id)) return
  const old = tray.jobs.find((j) => j.id === id)
  const entry = old || { id, slug: slug || '', status, position: null, created: Date.now() }
  if (slug) entry.slug = slug
  if (!old) entry.status = status
  tray.jobs = [entry, ...tray.jobs.filter((j) => j.id !== id)].slice(0, MAX_JOBS)
  save()
  kick()
}

/** Records what a status check said about job `id`. */
export function noteStatus(id, status, position = null) {
  const entry = tray.jobs.find((j) => j.id === id)
  if (!entry) return
  const changed = entry.status !== status
  entry.status = status
  entry.position = typeof position === 'number' && position >= 0 ? position : null
  if (changed) save()
}

export function forgetJob(id) {
  const before = tray.jobs.length
  tray.jobs = tray.jobs.filter((j) => j.id !== id)
  if (tray.jobs.length !== before) save()
}

/** A page polls `id` itself (true) or no longer (false). */
export function setWatched(id, on) {
  if (on) watched.add(id)
  else watched.delete(id)
  if (!on) kick()
}

function kick() {
  const todo = activeJobs.value.some((j) => !watched.has(j.id))
  if (!todo) {
    if (pollTimer) clearTimeout(pollTimer)
    pollTimer = null
    pollDelay = POLL_FIRST_MS
    return
  }
  if (!pollTimer) pollTimer = setTimeout(pollOnce, pollDelay)
}

async function pollOnce() {
  pollTimer = null
  const user = tray.userId
  for (const job of activeJobs.value.filter((j) => !watched.has(j.id))) {
    try {
      const res = await request(`/api/v1/image/status/${job.id}/`)
      if (tray.userId !== user) return
      if (res.status === 202) noteStatus(job.id, (res.data && res.data.status) || 'pending', res.data && res.data.position)
      else noteStatus(job.id, (res.data && res.data.status) || 'done')
    } catch (e) {
      if (e && e.status === 404) forgetJob(job.id)
      else break // offline or logged out: try again later
    }
  }
  pollDelay = Math.min(POLL_MAX_MS, Math.round(pollDelay * 1.5))
  kick()
}

/** Called once at start-up: follows logins, logouts and other tabs. */
export function initRecentJobs() {
  reload()
  watch(() => tokens.refresh, reload)
  window.addEventListener('storage', (event) => {
    if (tray.userId && event.key === KEY_PREFIX + tray.userId) {
      const fresh = readStored(tray.userId)
      for (const j of fresh) {
        const mine = tray.jobs.find((m) => m.id === j.id)
        if (mine) j.position = mine.position
      }
      tray.jobs = fresh
      kick()
    }
  })
}
