// Helpers for the browser tests: a tiny PNG encoder (no dependencies), JSON
// calls to the API from node, and reading reset and verification links out
// of mail files.
import { deflateSync } from 'node:zlib'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

export function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(td))
  return Buffer.concat([len, td, crc])
}

/* An 8-bit RGB PNG of width x height from raw scanlines (a filter byte,
 * then 3 bytes a pixel), deflated at `level`. */
function pngFile(width, height, raw, level = 6) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 2 // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** A colourful RGB PNG of width x height (a gradient with a red square). */
export function makePng(width = 96, height = 64) {
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1)
    raw[row] = 0
    for (let x = 0; x < width; x++) {
      const i = row + 1 + x * 3
      const inSquare = x > width / 4 && x < width / 2 && y > height / 4 && y < (3 * height) / 4
      raw[i] = inSquare ? 220 : Math.round((x / width) * 255)
      raw[i + 1] = inSquare ? 30 : Math.round((y / height) * 255)
      raw[i + 2] = inSquare ? 40 : 180
    }
  }
  return pngFile(width, height, raw)
}

/** An RGB PNG of random noise: it hardly compresses (about 3 bytes a pixel). */
export function makeNoisyPng(width = 800, height = 600) {
  const raw = Buffer.alloc((width * 3 + 1) * height)
  let seed = 12345
  for (let i = 0; i < raw.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    raw[i] = i % (width * 3 + 1) === 0 ? 0 : seed >>> 24
  }
  return pngFile(width, height, raw, 1)
}

/** A "product photo": a light grey (240) background with a dark blue disc in
 * the middle, so a background removal has a clear subject and clear corners. */
export function makeSubjectPng(width = 600, height = 400) {
  const raw = Buffer.alloc((width * 3 + 1) * height)
  const r2 = (Math.min(width, height) * 0.3) ** 2
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1)
    for (let x = 0; x < width; x++) {
      const i = row + 1 + x * 3
      const inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < r2
      raw[i] = inside ? 20 : 240
      raw[i + 1] = inside ? 40 : 240
      raw[i + 2] = inside ? 140 : 240
    }
  }
  return pngFile(width, height, raw)
}

/** POST/GET JSON to the API from node; resolves { status, body }. */
export async function apiCall(baseUrl, path, { method = 'GET', json, token } = {}) {
  const headers = { Accept: 'application/json' }
  if (json !== undefined) headers['Content-Type'] = 'application/json'
  if (token) headers.Authorization = `Bearer ${token}`
  const res = await fetch(new URL(path, baseUrl), { method, headers, body: json === undefined ? undefined : JSON.stringify(json) })
  const text = await res.text()
  let body = null
  try {
    body = text ? JSON.parse(text) : null
  } catch {
    body = text
  }
  return { status: res.status, body }
}

export function uniqueEmail(tag) {
  const rnd = Math.random().toString(36).slice(2, 8)
  return `ui-${tag}-${Date.now().toString(36)}-${rnd}@example.com`
}

/** Creates an account through the API and returns its tokens. */
export async function createUser(baseUrl, tag, password = 'Correct-Horse-42') {
  const email = uniqueEmail(tag)
  const signup = await apiCall(baseUrl, '/api/v1/users/signup/', { method: 'POST', json: { email, password, first_name: 'Test', last_name: 'User', website: '' } })
  if (signup.status !== 201) throw new Error(`signup via API: HTTP ${signup.status} ${JSON.stringify(signup.body)}`)
  const login = await apiCall(baseUrl, '/api/v1/token/obtain/', { method: 'POST', json: { email, password } })
  if (login.status !== 200) throw new Error(`login via API: HTTP ${login.status} ${JSON.stringify(login.body)}`)
  return { email, password, access: login.body.access, refresh: login.body.refresh }
}

function decodeQuotedPrintable(s) {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)))
}

/** Every readable form of a mail's text: raw, quoted-printable and base64 parts. */
function mailTexts(raw) {
  const out = [raw, decodeQuotedPrintable(raw)]
  for (const m of raw.matchAll(/\r?\n\r?\n([A-Za-z0-9+/=\r\n]{40,})/g)) {
    try {
      out.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64').toString('utf8'))
    } catch {
      /* not base64 */
    }
  }
  return out
}

const RESET_LINK = /https?:\/\/[^\s"'<>]+\/users\/reset\/password\/confirm\/[^\s"'<>/]+\/[^\s"'<>/]+\/?/

/** Finds the reset link in the newest mail for `email` written since `sinceMs`. */
export function findResetLink(mailDir, email, sinceMs) {
  let files = []
  try {
    files = readdirSync(mailDir)
  } catch {
    return null
  }
  const candidates = files
    .map((name) => join(mailDir, name))
    .filter((p) => {
      try {
        const st = statSync(p)
        return st.isFile() && st.mtimeMs >= sinceMs - 2000
      } catch {
        return false
      }
    })
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
  for (const p of candidates) {
    const raw = readFileSync(p, 'utf8')
    if (!raw.toLowerCase().includes(email.toLowerCase())) continue
    for (const text of mailTexts(raw)) {
      const m = text.match(RESET_LINK)
      if (m) return m[0]
    }
  }
  return null
}

const VERIFY_LINK = /https?:\/\/[^\s"'<>]+\/users\/verify\/email\/[^\s"'<>/]+\/[^\s"'<>/]+\/?/

/** Every verification link mailed to `email`, oldest mail first. */
export function findVerifyLinks(mailDir, email) {
  let files = []
  try {
    files = readdirSync(mailDir)
  } catch {
    return []
  }
  const links = []
  const paths = files
    .filter((name) => name.endsWith('.eml'))
    .map((name) => join(mailDir, name))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
  for (const p of paths) {
    const raw = readFileSync(p, 'utf8')
    if (!raw.toLowerCase().includes(email.toLowerCase())) continue
    for (const text of mailTexts(raw)) {
      const m = text.match(VERIFY_LINK)
      if (m) {
        links.push(m[0])
        break
      }
    }
  }
  return links
}
