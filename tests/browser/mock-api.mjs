// A small in-memory stand-in for the Image Assistant API (a subset of
// shared/API.md) that also serves static/dist with the SPA fallback, as nginx
// does. It exists only to exercise the SPA and these browser tests while the
// real stack is not available; the real tests run against the C stack.
//   node tests/browser/mock-api.mjs [port]   (default 8089)
// Env: MAIL_DIR (reset mails are written there), MOCK_ACCESS_LIFETIME (s),
// MOCK_STRIPE_KEY, MOCK_GOOGLE_CLIENT_ID, MOCK_GENERATE_PROVIDER (local|stability).
import { createServer } from 'node:http'
import { readFileSync, existsSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { join, resolve, extname, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { randomBytes } from 'node:crypto'
import { makePng } from './helpers.mjs'

const here = dirname(fileURLToPath(import.meta.url))
const DIST = resolve(here, '..', '..', 'static', 'dist')
const PORT = Number(process.argv[2] || process.env.PORT || 8089)
const ACCESS_LIFETIME = Number(process.env.MOCK_ACCESS_LIFETIME || 86400)
const MAIL_DIR = process.env.MAIL_DIR || ''
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon' }

const SERVICES = [
  [1, 'greyscale', 'Greyscale', 1], [2, 'remove-background', 'Remove Background', 3], [3, 'resize', 'Resize', 1],
  [4, 'thumbnail', 'Thumbnail', 1], [5, 'cropping', 'Cropping', 0], [6, 'enhancement', 'Enhancement', 3],
  [7, 'generate', 'GenerateImage', 9], [8, 'outline', 'Image Outline', 2], [9, 'avatar', 'Avatar Creation', 5],
].map(([code, slug, name, tokens]) => ({ code, slug, name, description: `${name} service.`, tokens, free: tokens === 0, enabled: true }))

const users = [] // {id, email, password, first_name, last_name, credits, tokenVersion}
const images = [] // {id, user, service, status, polls, bytes(Buffer), source(Buffer), ...}
const ledger = []
const media = new Map()
const resets = new Map()
let nextId = 1

const b64u = (obj) => Buffer.from(JSON.stringify(obj)).toString('base64url')
function jwt(user, type, lifetime) {
  const now = Math.floor(Date.now() / 1000)
  return `${b64u({ alg: 'HS256', typ: 'JWT' })}.${b64u({ token_type: type, exp: now + lifetime, iat: now, jti: randomBytes(8).toString('hex'), user_id: user.id, v: user.tokenVersion })}.mocksig`
}
function verify(token, type) {
  try {
    const p = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
    const u = users.find((x) => x.id === p.user_id)
    if (!u || p.token_type !== type || p.exp < Date.now() / 1000 || p.v !== u.tokenVersion) return null
    return u
  } catch {
    return null
  }
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers })
  res.end(body === null ? '' : JSON.stringify(body))
}

function addLedger(u, delta, reason, imageId = null) {
  u.credits += delta
  ledger.push({ id: nextId++, user: u.id, delta, balance_after: u.credits, reason, image_id: imageId, created: new Date().toISOString() })
}

function mediaUrl(buf, type = 'image/png') {
  if (!buf) return null
  const key = `m/${randomBytes(6).toString('hex')}.png`
  media.set(key, { buf, type })
  return `/media/${key}?exp=${Math.floor(Date.now() / 1000) + 3600}&sig=00`
}

function imageJson(img) {
  const done = img.status === 'done'
  return {
    id: img.id, image: done ? mediaUrl(img.bytes) : null, alternate_url: null, user: img.user, prompt: img.prompt || null,
    processed: img.status === 'done' || img.status === 'failed', aspect_ratio: img.aspect_ratio || null, ai_response: img.ai_response || null,
    payment_made: true, created: img.created, updated: img.created, service: img.service, status: img.status, error: img.error || null,
    width: done ? 96 : null, height: done ? 64 : null, content_type: done ? 'image/png' : null, bytes: done ? img.bytes.length : null,
    cost: img.cost, source: img.source ? mediaUrl(img.source) : null,
  }
}

function paginate(req, res, list) {
  const u = new URL(req.url, 'http://x')
  const page = Math.max(1, parseInt(u.searchParams.get('page') || '1', 10) || 1)
  const size = Math.min(50, Math.max(1, parseInt(u.searchParams.get('page_size') || '10', 10) || 10))
  const pages = Math.max(1, Math.ceil(list.length / size))
  if (page > pages) return send(res, 404, { detail: 'Invalid page.' })
  const link = (p) => (p >= 1 && p <= pages ? `${u.pathname}?page=${p}&page_size=${size}` : null)
  send(res, 200, { count: list.length, next: link(page + 1), previous: link(page - 1), results: list.slice((page - 1) * size, page * size) })
}

function parseMultipart(buf, contentType) {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType || '')
  if (!m) return null
  const boundary = Buffer.from(`--${m[1] || m[2]}`)
  const out = { fields: {}, files: {} }
  let pos = buf.indexOf(boundary)
  while (pos !== -1) {
    const start = pos + boundary.length + 2
    const next = buf.indexOf(boundary, start)
    if (next === -1) break
    const part = buf.subarray(start, next - 2)
    const headEnd = part.indexOf('\r\n\r\n')
    const head = part.subarray(0, headEnd).toString()
    const body = part.subarray(headEnd + 4)
    const name = /name="([^"]*)"/.exec(head)?.[1]
    const filename = /filename="([^"]*)"/.exec(head)?.[1]
    if (name) {
      if (filename !== undefined) out.files[name] = { filename, body }
      else out.fields[name] = body.toString()
    }
    pos = next
  }
  return out
}

async function readBody(req) {
  const chunks = []
  for await (const c of req) chunks.push(c)
  return Buffer.concat(chunks)
}

function auth(req, res) {
  const h = req.headers.authorization || ''
  if (!h.startsWith('Bearer ')) {
    send(res, 401, { detail: 'Authentication credentials were not provided.' })
    return null
  }
  const u = verify(h.slice(7), 'access')
  if (!u) send(res, 401, { detail: 'Given token not valid for any token type', code: 'token_not_valid' })
  return u
}

function startJob(u, service, extra = {}) {
  const cost = service.free ? 0 : service.tokens
  if (u.credits < cost) return null
  const img = { id: nextId++, user: u.id, service: service.code, status: 'pending', polls: 0, cost, created: new Date().toISOString(), ...extra }
  images.push(img)
  addLedger(u, -cost, 'charge', img.id)
  return img
}

async function handleApi(req, res, path) {
  const method = req.method
  const raw = ['POST', 'PUT', 'PATCH'].includes(method) ? await readBody(req) : Buffer.alloc(0)
  let json = {}
  if (raw.length && (req.headers['content-type'] || '').startsWith('application/json')) {
    try {
      json = JSON.parse(raw.toString())
    } catch (e) {
      return send(res, 400, { detail: `JSON parse error - ${e.message}` })
    }
  }
  const p = path.endsWith('/') ? path : path + '/'
  let m
  if (p === '/api/v1/public/config/') return send(res, 200, { GOOGLE_CLIENT_ID: process.env.MOCK_GOOGLE_CLIENT_ID || '', GOOGLE_LOGIN_REDIRECT_URI: '', STRIPE_PUBLIC_KEY: process.env.MOCK_STRIPE_KEY || '', CREDIT_MULTIPLIER: 50, DEV_MODE: true })
  if (p === '/api/v1/services/') return send(res, 200, SERVICES)
  if (p === '/api/v1/users/signup/' && method === 'POST') {
    const errs = {}
    const email = String(json.email || '').trim()
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) errs.email = ['Enter a valid email address.']
    else if (users.some((u) => u.email.toLowerCase() === email.toLowerCase())) errs.email = ['user with this email already exists.']
    if (String(json.password || '').length < 8) errs.password = ['Ensure this field has at least 8 characters.']
    if (Object.keys(errs).length) return send(res, 400, errs)
    if (json.website) return send(res, 400, { detail: 'Error Occurred.' })
    const u = { id: nextId++, email, password: json.password, first_name: json.first_name || '', last_name: json.last_name || '', credits: 0, tokenVersion: 0 }
    users.push(u)
    addLedger(u, 100, 'signup_bonus')
    return send(res, 201, { detail: 'User created successfully.' })
  }
  if ((p === '/api/v1/token/obtain/' || p === '/api/v1/custom/token/obtain/') && method === 'POST') {
    if (!json.email || !json.password) return send(res, 400, { detail: 'Email and password are required.' })
    const u = users.find((x) => x.email.toLowerCase() === String(json.email).toLowerCase() && x.password === json.password)
    if (!u) return send(res, 401, { detail: 'No active account found with the given credentials' })
    return send(res, 200, { refresh: jwt(u, 'refresh', 86400), access: jwt(u, 'access', ACCESS_LIFETIME) })
  }
  if (p === '/api/v1/token/refresh/' && method === 'POST') {
    if (!json.refresh) return send(res, 400, { refresh: ['This field is required.'] })
    const u = verify(json.refresh, 'refresh')
    if (!u) return send(res, 401, { detail: 'Token is invalid or expired', code: 'token_not_valid' })
    return send(res, 200, { access: jwt(u, 'access', ACCESS_LIFETIME) })
  }
  if (p === '/api/v1/users/change/password/' && method === 'POST') {
    const email = String(json.email || '')
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) return send(res, 400, { email: ['Enter a valid email address.'] })
    const u = users.find((x) => x.email.toLowerCase() === email.toLowerCase())
    if (u && MAIL_DIR) {
      const token = randomBytes(10).toString('hex')
      const uid = Buffer.from(String(u.id)).toString('base64url')
      resets.set(`${uid}/${token}`, u)
      mkdirSync(MAIL_DIR, { recursive: true })
      const link = `http://127.0.0.1:8080/users/reset/password/confirm/${uid}/${token}/`
      writeFileSync(join(MAIL_DIR, `${Date.now()}-${token}.eml`), `To: ${u.email}\r\nSubject: Password reset\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nReset your password:\r\n${link}\r\n`)
    }
    return send(res, 200, { detail: 'Password reset email sent successfully.' })
  }
  if (p === '/api/v1/users/password/reset/confirm/' && method === 'POST') {
    if (!json.new_password) return send(res, 400, { detail: 'New password is required.' })
    const key = `${json.uidb64}/${json.token}`
    const u = resets.get(key)
    if (!u) return send(res, 400, { detail: 'Invalid token.' })
    resets.delete(key)
    u.password = json.new_password
    u.tokenVersion += 1
    return send(res, 200, { detail: 'Password reset successfully.' })
  }
  if (p === '/api/v1/contact/' && method === 'POST') {
    const errs = {}
    if (String(json.message || '').length < 50) errs.message = ['Ensure this field has at least 50 characters.']
    if (json.confirmHuman !== true) errs.confirmHuman = ['This field is required.']
    if (Object.keys(errs).length) return send(res, 400, errs)
    return send(res, 200, { success: true, message: 'Your message has been sent successfully.' })
  }
  const u = auth(req, res)
  if (!u) return
  if (p === '/api/v1/user/info/') return send(res, 200, { id: u.id, email: u.email, first_name: u.first_name, last_name: u.last_name, credits: u.credits, feature_flags: ['show_credits'], is_staff: false })
  if (p === '/api/v1/credits/history/') return paginate(req, res, ledger.filter((l) => l.user === u.id).reverse().map(({ user: _u, ...rest }) => rest))
  if (p === '/api/v1/user/images/') return paginate(req, res, images.filter((i) => i.user === u.id && ['done', 'failed'].includes(i.status)).reverse().map(imageJson))
  if ((m = /^\/api\/v1\/images\/(\d+)\/$/.exec(p)) && method === 'DELETE') {
    const i = images.findIndex((x) => x.id === Number(m[1]) && x.user === u.id)
    if (i < 0) return send(res, 404, { detail: 'Not found.' })
    images.splice(i, 1)
    return send(res, 204, null)
  }
  if ((m = /^\/api\/v1\/image\/status\/(\d+)\/$/.exec(p))) {
    const img = images.find((x) => x.id === Number(m[1]) && x.user === u.id)
    if (!img) return send(res, 404, { detail: 'Image not found.' })
    img.polls += 1
    if (img.status === 'pending' && img.polls >= 2) img.status = 'processing'
    if (img.status === 'processing' && img.polls >= 3) img.status = 'done'
    if (img.status === 'pending' || img.status === 'processing') return send(res, 202, { detail: 'Image is still being processed.', status: img.status })
    return send(res, 200, imageJson(img))
  }
  if ((m = /^\/api\/v1\/process\/([a-z-]+)\/$/.exec(p)) && method === 'POST') {
    const service = SERVICES.find((s) => s.slug === m[1] && s.slug !== 'generate')
    if (!service) return send(res, 404, { detail: 'Not found.' })
    const form = parseMultipart(raw, req.headers['content-type'])
    if (!form || !form.files.image) return send(res, 400, { detail: 'Image file is required.' })
    for (const k of ['width', 'height']) {
      if (form.fields[k] !== undefined && Number(form.fields[k]) > 8192) return send(res, 400, { [k]: ['Ensure this value is less than or equal to 8192.'] })
    }
    const img = startJob(u, service, { source: form.files.image.body, bytes: makePng(96, 64) })
    if (!img) return send(res, 402, { detail: 'Insufficient credits.' })
    return send(res, 202, { detail: `${service.name} started.`, image_id: img.id })
  }
  if (p === '/api/v1/create/image/from/prompt/' && method === 'POST') {
    if (!String(json.prompt || '').trim()) return send(res, 400, { detail: 'Prompt is required.' })
    const service = SERVICES.find((s) => s.slug === 'generate')
    const img = startJob(u, service, { prompt: json.prompt, aspect_ratio: json.aspect_ratio || '16:9', bytes: makePng(64, 64), ai_response: { provider: process.env.MOCK_GENERATE_PROVIDER || 'local' } })
    if (!img) return send(res, 402, { detail: 'Insufficient credits.' })
    return send(res, 202, { detail: img.id, image_id: img.id })
  }
  if (p === '/api/v1/stripe/payment/create-intent/' && method === 'POST') {
    const amount = Number(json.amount)
    if (!(amount >= 10)) return send(res, 400, { error: 'Minimum amount is $10.00' })
    if (amount > 1000) return send(res, 400, { error: 'Maximum amount is $1000.00' })
    return send(res, 502, { error: 'Payment provider unavailable' })
  }
  return send(res, 404, { detail: 'Not found.' })
}

const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname)
  try {
    if (path === '/health' || path === '/health/') return send(res, 200, { status: 'ok', db: 'ok' })
    if (path.startsWith('/api/')) return await handleApi(req, res, path)
    if (path.startsWith('/media/')) {
      const item = media.get(path.slice(7))
      if (!item) return send(res, 403, { detail: 'Forbidden' })
      res.writeHead(200, { 'Content-Type': item.type })
      return res.end(item.buf)
    }
    const file = join(DIST, path)
    if (file.startsWith(DIST) && existsSync(file) && statSync(file).isFile()) {
      res.writeHead(200, { 'Content-Type': TYPES[extname(file)] || 'application/octet-stream' })
      return res.end(readFileSync(file))
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    res.end(readFileSync(join(DIST, 'index.html')))
  } catch (e) {
    send(res, 500, { detail: String(e && e.message) })
  }
})
server.listen(PORT, '127.0.0.1', () => console.log(`mock API + SPA on http://127.0.0.1:${PORT}`))
