// Polls GET /api/v1/image/status/<id>/ until the job is done or failed: 202
// while pending/processing (with "position", the jobs ahead of it, when the
// server tells), 200 with the <image> when finished. Checks come quickly at
// first, since most jobs take well under a second, then back off to 5 s.
// Every job polled is kept in the recent-jobs tray.
import { ref, onBeforeUnmount } from 'vue'
import { request } from './api.js'
import { refreshUser } from './session.js'
import { rememberJob, noteStatus, forgetJob, setWatched } from './recentJobs.js'

// Delays before each check after a submit; the last one repeats.
export const POLL_DELAYS_MS = [60, 90, 100, 150, 200, 300, 500, 800, 1300, 2000, 3000, 5000]
const MAX_WAIT_MS = 15 * 60 * 1000
const MAX_NETWORK_ERRORS = 6

export function useJob() {
  const phase = ref('idle') // idle | polling | done | failed | error | timeout
  const status = ref('') // pending | processing while polling
  const position = ref(null) // jobs ahead in the queue, when known
  const image = ref(null)
  const error = ref(null)
  const imageId = ref(null)
  let timer = null
  let startedAt = 0
  let step = 0
  let networkErrors = 0
  let generation = 0

  function stop() {
    generation += 1
    if (timer) clearTimeout(timer)
    timer = null
    if (imageId.value) setWatched(imageId.value, false)
  }

  function reset() {
    stop()
    phase.value = 'idle'
    status.value = ''
    position.value = null
    image.value = null
    error.value = null
    imageId.value = null
  }

  function nextDelay() {
    const d = POLL_DELAYS_MS[Math.min(step, POLL_DELAYS_MS.length - 1)]
    step += 1
    return d
  }

  function schedule(gen) {
    if (gen !== generation) return
    if (Date.now() - startedAt > MAX_WAIT_MS) {
      phase.value = 'timeout'
      setWatched(imageId.value, false)
      return
    }
    timer = setTimeout(() => tick(gen), nextDelay())
  }

  async function tick(gen) {
    if (gen !== generation) return
    const id = imageId.value
    try {
      const res = await request(`/api/v1/image/status/${id}/`)
      if (gen !== generation) return
      networkErrors = 0
      if (res.status === 202) {
        status.value = (res.data && res.data.status) || 'pending'
        position.value = res.data && typeof res.data.position === 'number' ? res.data.position : null
        noteStatus(id, status.value, position.value)
        schedule(gen)
        return
      }
      image.value = res.data
      phase.value = res.data && res.data.status === 'failed' ? 'failed' : 'done'
      noteStatus(id, phase.value)
      setWatched(id, false)
      refreshUser()
    } catch (e) {
      if (gen !== generation) return
      const transient = e && (e.status === 0 || e.status === 502 || e.status === 503 || e.status === 504 || e.status === 429)
      if (transient && ++networkErrors < MAX_NETWORK_ERRORS) {
        schedule(gen)
        return
      }
      if (e && e.status === 404) forgetJob(id)
      setWatched(id, false)
      error.value = e
      phase.value = 'error'
    }
  }

  /**
   * Starts polling the job of image `id` (of service `slug`, for the tray).
   * opts.resume: the job was started earlier (a reload): check at once.
   */
  function start(id, slug = '', opts = {}) {
    stop()
    imageId.value = id
    image.value = null
    error.value = null
    status.value = 'pending'
    position.value = null
    phase.value = 'polling'
    startedAt = Date.now()
    step = 0
    networkErrors = 0
    rememberJob(id, slug)
    setWatched(id, true)
    const gen = generation
    timer = setTimeout(() => tick(gen), opts.resume ? 0 : nextDelay())
  }

  /** Polls again after an error or a time-out. */
  function resume() {
    if (imageId.value) start(imageId.value, '', { resume: true })
  }

  /** Fetches a finished job again (fresh signed media URLs); keeps the old one on failure. */
  async function refreshImage() {
    const id = imageId.value
    if (!id || (phase.value !== 'done' && phase.value !== 'failed')) return
    try {
      const res = await request(`/api/v1/image/status/${id}/`)
      if (id === imageId.value && res.status === 200 && res.data) image.value = res.data
    } catch {
      /* the page keeps what it shows */
    }
  }

  onBeforeUnmount(stop)
  return { phase, status, position, image, error, imageId, start, resume, reset, stop, refreshImage }
}
