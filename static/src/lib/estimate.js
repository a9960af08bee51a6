// What a job will produce, known before anything is uploaded: the output's
// pixel size from the picked image's size and the form's values, and the
// server's pixel limit (lib/imgio.h IMG_MAX_PIXELS: an upload, a resize
// and an enhancement's output may have at most 50 000 000 pixels).
export const MAX_PIXELS = 50000000

const num = (v, fallback) => {
  const n = Number(String(v ?? '').trim())
  return String(v ?? '').trim() !== '' && Number.isFinite(n) ? n : fallback
}

/** {width, height} of the output of `slug` for an input `size`, or null when unknown. */
export function outputSize(slug, size, values) {
  if (!size) return null
  const { width: W, height: H } = size
  switch (slug) {
    case 'resize':
      return { width: num(values.width, W), height: num(values.height, H) }
    case 'thumbnail': {
      const mw = num(values.max_width, 1280)
      const mh = num(values.max_height, 720)
      if (W <= mw && H <= mh) return { width: W, height: H }
      if (W * mh >= H * mw) return { width: mw, height: Math.max(1, Math.round((H * mw) / W)) }
      return { width: Math.max(1, Math.round((W * mh) / H)), height: mh }
    }
    case 'cropping':
      return { width: num(values.width, W), height: num(values.height, H) }
    case 'enhancement': {
      const s = num(values.scale, 4)
      return { width: W * s, height: H * s }
    }
    case 'avatar': {
      const side = Math.min(W, H, 512)
      return { width: side, height: side }
    }
    default:
      return { width: W, height: H }
  }
}

/** "48.0 MP" */
export function megapixels(w, h) {
  return `${((w * h) / 1e6).toFixed(1)} MP`
}
