// Media URLs are signed and expire (API.md: /media/<key>?exp=<unix>&sig=...,
// one hour by default). A page left open would then show broken images and
// Download would fail, so pages that show media ask the API again a minute
// before the earliest expiry, and once when an image fails to load.
import { watch, onBeforeUnmount } from 'vue'

const MARGIN_S = 60
const MIN_DELAY_MS = 5000
const MAX_DELAY_MS = 2 ** 31 - 1

/** The exp (unix seconds) of a signed media URL, or null. */
export function expiryOf(url) {
  if (typeof url !== 'string') return null
  const m = /[?&]exp=(\d+)/.exec(url)
  return m ? Number(m[1]) : null
}

function earliest(images) {
  let min = null
  for (const img of images || []) {
    if (!img) continue
    for (const u of [img.image, img.thumbnail, img.source]) {
      const e = expiryOf(u)
      if (e !== null && (min === null || e < min)) min = e
    }
  }
  return min
}

/**
 * getImages(): the <image> objects the page shows; refresh(): fetches them
 * again. Returns { onImageError(key) }: call it from an <img>'s error event
 * (key: the image id); each key triggers at most one refresh per URL set.
 */
export function useMediaRefresh(getImages, refresh) {
  let timer = null
  const retried = new Set()

  function arm() {
    if (timer) clearTimeout(timer)
    timer = null
    const exp = earliest(getImages())
    if (exp === null) return
    const delay = Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, (exp - MARGIN_S) * 1000 - Date.now()))
    timer = setTimeout(() => {
      timer = null
      refresh()
    }, delay)
  }

  watch(getImages, arm, { immediate: true })
  onBeforeUnmount(() => {
    if (timer) clearTimeout(timer)
  })

  function onImageError(key, url) {
    const tag = `${key}|${url || ''}`
    if (retried.has(tag)) return
    retried.add(tag)
    refresh()
  }

  return { onImageError }
}
