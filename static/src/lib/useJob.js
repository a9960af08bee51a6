// Polls GET /api/v1/image/status/<id>/ with backoff until the job is done or
// failed: 202 while pending/processing, 200 with the <image> when finished.
import { ref, onBeforeUnmount } from 'vue'
import { request } from './api.js'
import { refreshUser } from './session.js'

const FIRST_DELAY_MS = 1000
const MAX_DELAY_MS = 5000
const GROWTH = 1.5
const MAX_WAIT_MS = 15 * 60 * 1000
const MAX_NETWORK_ERRORS = 6

export function useJob() {
  const phase = ref('idle') // idle | polling | done | failed | error | timeout
  const status = ref('') // pending | processing while polling
  const image = ref(null)
  const error = ref(null)
  const imageId = ref(null)
  let timer = null
  let startedAt = 0
  let delay = FIRST_DELAY_MS
  let networkErrors = 0
  let generation = 0

  function stop() {
    generation += 1
    if (timer) clearTimeout(timer)
    timer = null
  }

  function reset() {
    stop()
    phase.value = 'idle'
    status.value = ''
    image.value = null
    error.value = null
    imageId.value = null
  }

  function schedule(gen) {
    if (gen !== generation) return
    if (Date.now() - startedAt > MAX_WAIT_MS) {
      phase.value = 'timeout'
      return
    }
    timer = setTimeout(() => tick(gen), delay)
    delay = Math.min(MAX_DELAY_MS, Math.round(delay * GROWTH))
  }

  async function tick(gen) {
    if (gen !== generation) return
    try {
      const res = await request(`/api/v1/image/status/${imageId.value}/`)
      if (gen !== generation) return
      networkErrors = 0
      if (res.status === 202) {
        status.value = (res.data && res.data.status) || 'pending'
        schedule(gen)
        return
      }
      image.value = res.data
      phase.value = res.data && res.data.status === 'failed' ? 'failed' : 'done'
      refreshUser()
    } catch (e) {
      if (gen !== generation) return
      const transient = e && (e.status === 0 || e.status === 502 || e.status === 503 || e.status === 504 || e.status === 429)
      if (transient && ++networkErrors < MAX_NETWORK_ERRORS) {
        schedule(gen)
        return
      }
      error.value = e
      phase.value = 'error'
    }
  }

  /** Starts polling the job of image `id`. */
  function start(id) {
    stop()
    imageId.value = id
    image.value = null
    error.value = null
    status.value = 'pending'
    phase.value = 'polling'
    startedAt = Date.now()
    delay = FIRST_DELAY_MS
    networkErrors = 0
    const gen = generation
    timer = setTimeout(() => tick(gen), 600)
  }

  /** Polls again after an error or a time-out. */
  function resume() {
    if (imageId.value) start(imageId.value)
  }

  onBeforeUnmount(stop)
  return { phase, status, image, error, imageId, start, resume, reset, stop }
}
