// What the SPA knows about each service: its page, its upload parameters
// (defaults, limits, labels) and its documented default cost. Names, costs and
// the enabled flag come from GET /api/v1/services/ and override these.
import { reactive } from 'vue'
import { api } from './api.js'

const FORMAT_PARAM = {
  name: 'format',
  label: 'Output format',
  kind: 'select',
  default: 'png',
  options: [
    { value: 'png', label: 'PNG' },
    { value: 'jpeg', label: 'JPEG' },
    { value: 'webp', label: 'WebP' },
  ],
}

const dim = (name, label, def, extra = {}) => ({
  name,
  label,
  kind: 'int',
  min: 1,
  max: 8192,
  required: true,
  default: def,
  ...extra,
})

export const SERVICE_DEFS = [
  {
    code: 1,
    slug: 'greyscale',
    name: 'Greyscale',
    path: '/create/grayscale/',
    tokens: 1,
    blurb: 'Turn a colour photo into a clean black-and-white image.',
    params: [],
  },
  {
    code: 2,
    slug: 'remove-background',
    name: 'Remove Background',
    path: '/remove/background/',
    tokens: 3,
    blurb: 'Cut out the subject and get a PNG with a transparent background.',
    params: [],
    forcePng: true,
  },
  {
    code: 3,
    slug: 'resize',
    name: 'Resize',
    path: '/process/resize/',
    tokens: 1,
    blurb: 'Scale an image to an exact width and height in pixels.',
    params: [dim('width', 'Width (px)', 1024, { fromImage: 'width' }), dim('height', 'Height (px)', 768, { fromImage: 'height' })],
  },
  {
    code: 4,
    slug: 'thumbnail',
    name: 'Thumbnail',
    path: '/process/thumbnail/',
    tokens: 1,
    blurb: 'Shrink an image to fit a box, keeping its aspect ratio. Never enlarges.',
    params: [dim('max_width', 'Maximum width (px)', 1280, { required: false }), dim('max_height', 'Maximum height (px)', 720, { required: false })],
  },
  {
    code: 5,
    slug: 'cropping',
    name: 'Cropping',
    path: '/process/cropping/',
    tokens: 0,
    blurb: 'Cut out a rectangle of the image by its position and size.',
    params: [
      { name: 'x', label: 'Left (x, px)', kind: 'int', min: 0, max: 8191, required: true, default: 0 },
      { name: 'y', label: 'Top (y, px)', kind: 'int', min: 0, max: 8191, required: true, default: 0 },
      dim('width', 'Width (px)', 256),
      dim('height', 'Height (px)', 256),
    ],
    cropCheck: true,
  },
  {
    code: 6,
    slug: 'enhancement',
    name: 'Enhancement',
    path: '/process/enhancement/',
    tokens: 3,
    blurb: 'Upscale an image 2× or 4× and sharpen its details.',
    params: [
      {
        name: 'scale',
        label: 'Scale',
        kind: 'select',
        default: '4',
        options: [
          { value: '2', label: '2×' },
          { value: '4', label: '4×' },
        ],
      },
      { name: 'prompt', label: 'Prompt (optional)', kind: 'text', maxLength: 2000, default: '', hint: 'Describe the image to guide the upscaler.' },
    ],
  },
  {
    code: 7,
    slug: 'generate',
    name: 'Generate image',
    path: '/generate/image/',
    tokens: 9,
    blurb: 'Describe a picture in words and get a new image.',
    params: null,
  },
  {
    code: 8,
    slug: 'outline',
    name: 'Image Outline',
    path: '/create/outline/',
    tokens: 2,
    blurb: 'Trace the edges of an image as black lines on white.',
    params: [
      { name: 'low_threshold', label: 'Low threshold', kind: 'int', min: 0, max: 255, required: false, default: 50, hint: 'Weaker edges above this are kept when connected.' },
      { name: 'high_threshold', label: 'High threshold', kind: 'int', min: 0, max: 255, required: false, default: 150, hint: 'Edges stronger than this are always kept.' },
    ],
    thresholdCheck: true,
  },
  {
    code: 9,
    slug: 'avatar',
    name: 'Avatar Creation',
    path: '/process/avatar/',
    tokens: 5,
    blurb: 'Make a square profile picture from a portrait.',
    params: [],
  },
]

export const FORMAT = FORMAT_PARAM

export function serviceDef(slug) {
  return SERVICE_DEFS.find((s) => s.slug === slug) || null
}

/** Live service list from the API, merged over SERVICE_DEFS. */
export const catalog = reactive({
  loaded: false,
  error: null,
  bySlug: {},
})

let pending = null

export function loadServices(force = false) {
  if (pending && !force) return pending
  pending = api('/api/v1/services/', { auth: false })
    .then((list) => {
      const map = {}
      for (const s of Array.isArray(list) ? list : []) if (s && s.slug) map[s.slug] = s
      catalog.bySlug = map
      catalog.loaded = true
      catalog.error = null
      return map
    })
    .catch((e) => {
      catalog.error = e
      pending = null
      throw e
    })
  return pending
}

/**
 * A service name as people write it: the server's "GenerateImage" (the
 * original's name, kept in the API) becomes "Generate image"; names with
 * spaces are kept as they are.
 */
export function displayName(name) {
  if (typeof name !== 'string' || !name || /\s/.test(name) || !/[a-z][A-Z]/.test(name)) return name
  const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').split(' ')
  return [words[0], ...words.slice(1).map((w) => w.toLowerCase())].join(' ')
}

/** The service as the server describes it, falling back to SERVICE_DEFS. */
export function liveService(slug) {
  const def = serviceDef(slug) || { slug, name: slug, tokens: 0 }
  const live = catalog.bySlug[slug]
  return {
    ...def,
    name: displayName((live && live.name) || def.name),
    description: (live && live.description) || def.blurb,
    tokens: live && typeof live.tokens === 'number' ? live.tokens : def.tokens,
    free: Boolean(live && live.free),
    enabled: live ? live.enabled !== false : true,
    known: Boolean(live),
  }
}

/** Credits a job costs (0 when the service is free). */
export function costOf(slug) {
  const s = liveService(slug)
  return s.free ? 0 : s.tokens
}

/** Display name of an image's service, which may be a code or a name. */
export function serviceLabel(service) {
  if (service === null || service === undefined || service === '') return 'Image'
  if (typeof service === 'number' || /^\d+$/.test(String(service))) {
    const code = Number(service)
    const live = Object.values(catalog.bySlug).find((s) => s.code === code)
    if (live) return displayName(live.name)
    const def = SERVICE_DEFS.find((s) => s.code === code)
    return def ? def.name : `Service ${code}`
  }
  if (typeof service === 'object') return displayName(service.name) || service.slug || 'Image'
  const def = serviceDef(String(service))
  return def ? liveService(def.slug).name : String(service)
}

const FORMAT_LABELS = { png: 'PNG', jpeg: 'JPEG', webp: 'WebP', gif: 'GIF' }

function humanize(name) {
  const words = String(name).replace(/_/g, ' ')
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** One published parameter ({name, type, required, default, min, max, choices, max_length}) as a form field. */
function fieldFromServer(slug, p, known) {
  const base = known.find((d) => d.name === p.name) || (p.name === 'format' ? FORMAT_PARAM : null) || {}
  const field = { name: p.name, label: base.label || humanize(p.name), hint: base.hint, fromImage: base.fromImage, required: Boolean(p.required) }
  if (p.type === 'integer') {
    field.kind = 'int'
    if (typeof p.min === 'number') field.min = p.min
    if (typeof p.max === 'number') field.max = p.max
  } else if (p.type === 'choice' && Array.isArray(p.choices)) {
    field.kind = 'select'
    field.options = p.choices.map((c) => {
      const value = String(c)
      const old = base.options && base.options.find((o) => o.value === value)
      return { value, label: old ? old.label : p.name === 'format' ? FORMAT_LABELS[value] || value.toUpperCase() : value }
    })
  } else {
    field.kind = 'text'
    if (typeof p.max_length === 'number') field.maxLength = p.max_length
  }
  const def = p.default !== undefined && p.default !== null ? p.default : base.default
  field.default = def === undefined || def === null ? (field.kind === 'select' && field.options.length ? field.options[0].value : '') : String(def)
  return field
}

/**
 * The form fields of an upload service: built from the server's published
 * `params` (and `formats`) when GET /services/ has them, so the form can
 * never disagree with the server's checks; otherwise SERVICE_DEFS.
 */
export function formParams(slug) {
  const def = serviceDef(slug)
  const known = (def && def.params) || []
  const live = catalog.bySlug[slug]
  let list
  if (live && Array.isArray(live.params)) {
    list = live.params.filter((p) => p && typeof p.name === 'string' && p.name !== 'image').map((p) => fieldFromServer(slug, p, known))
  } else {
    list = [...known]
  }
  if (!list.some((p) => p.name === 'format')) {
    if (live && Array.isArray(live.formats) && live.formats.length) {
      list.push(fieldFromServer(slug, { name: 'format', type: 'choice', choices: live.formats, default: live.formats.includes('png') ? 'png' : live.formats[0] }, known))
    } else if (!def || !def.forcePng) {
      list.push(FORMAT_PARAM)
    }
  }
  return list
}
