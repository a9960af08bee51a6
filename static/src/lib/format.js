// Small formatting helpers shared by pages.
export function formatDate(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return String(iso)
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

export function formatBytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return ''
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

export function creditsLabel(n) {
  if (!n) return 'Free'
  return plural(n, 'credit')
}

const EXT = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' }

export function downloadName(image) {
  const ext = EXT[image && image.content_type] || 'png'
  return `image-assistant-${image && image.id ? image.id : 'result'}.${ext}`
}

/** ai_response may arrive as an object or as a JSON string. */
export function aiProvider(image) {
  if (!image) return ''
  let r = image.ai_response
  if (typeof r === 'string') {
    try {
      r = JSON.parse(r)
    } catch {
      return ''
    }
  }
  return r && typeof r === 'object' && typeof r.provider === 'string' ? r.provider : ''
}

/**
 * What to show of a result on a page: its preview (`thumbnail`, a WebP of
 * at most 512 px made with the result) when the server gives one, else the
 * full file. Download links keep `image`, the full file.
 */
export function previewSrc(image) {
  if (!image) return ''
  return image.thumbnail || image.image || ''
}
