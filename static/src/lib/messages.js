// Server answers in words for people. The server keeps the texts of the HTTP
// contract (docs/API.md: DRF-style "Ensure this value is less than or equal
// to 8192.", "Request was throttled. Expected available in 37 seconds." ...)
// because older clients rely on them; this module is the one place the SPA
// turns them, and the status they came with, into sentences for people.
// Texts it does not know are shown unchanged: nothing the server says is
// hidden. It has no Vue dependency (tests import it in plain Node).

export const NETWORK_MESSAGE = "We couldn't reach Image Assistant. Check your connection and try again."
export const MAX_UPLOAD_MB = 10

/** "1 credit", "3 credits". */
function count(n, word) {
  return `${n} ${n === 1 ? word : `${word}s`}`
}

/** A form label without its unit or aside: "Width (px)" -> "Width". */
export function bareLabel(label) {
  const s = String(label || '')
    .replace(/\s*\([^)]*\)\s*$/, '')
    .trim()
  return s || 'This value'
}

/** A field's own name, humanized, when the form has no label for it. */
function labelFor(field, labels) {
  if (labels && labels[field]) return bareLabel(labels[field])
  if (!field || field === 'non_field_errors') return ''
  const s = field.replace(/[_-]+/g, ' ').trim()
  return s ? s[0].toUpperCase() + s.slice(1) : ''
}

function extensionOf(name) {
  const m = /\.([A-Za-z0-9]+)$/.exec(String(name || ''))
  return m ? m[1].toLowerCase() : ''
}

// Texts that need no label: [pattern, (match, ctx) => words].
const TEXTS = [
  [/^No active account found with the given credentials\.?$/, () => "That email and password don't match. Check them or reset your password."],
  [/^Email and password are required\.?$/, () => 'Enter your email and your password.'],
  [/^Invalid email format\.?$/, () => 'Enter a valid email address, like name@example.com.'],
  [/^Enter a valid email address\.?$/, () => 'Enter a valid email address, like name@example.com.'],
  [/^user with this email already exists\.?$/i, () => 'An account with this email already exists. Log in, or reset your password if you forgot it.'],
  [/^Request was throttled\. Expected available in (\d+) seconds?\.?$/, (m) => `Too many attempts. Try again in ${count(Number(m[1]), 'second')}.`],
  [/^Request was throttled\.?$/, () => 'Too many attempts. Wait a minute and try again.'],
  [/^Too many images in progress\.?$/, () => 'You have too many images in progress. Wait for some of them to finish, then try again.'],
  [/^Insufficient credits\.?$/, (m, ctx) => notEnoughCredits(ctx)],
  [/^Request body too large\.?$/, (m, ctx) => tooLarge(ctx)],
  [/^File extension does not match content type\.?$/, (m, ctx) => extensionMismatch(ctx)],
  [/^Upload a valid image\./, () => 'This file is not an image we can read. Use a JPEG, PNG, WebP or GIF file.'],
  [/^Image is too large: at most (\d+) pixels\.?$/, (m) => `This image has too many pixels: the limit is ${Number(m[1]).toLocaleString('en-US')} (${Math.round(Number(m[1]) / 1e6)} MP).`],
  [/^Image file is required\.?$/, () => 'Choose an image to upload.'],
  [/^Malformed multipart body\.?$/, () => 'The upload arrived damaged. Try again.'],
  [/^Could not store the image, try again\.?$/, () => "We couldn't save your image. Try again in a moment."],
  [/^Service not available\.?$/, () => 'This service is switched off right now. Try again later.'],
  [/^Service temporarily unavailable\.?$/, () => NETWORK_MESSAGE],
  [/^Invalid token\.?$/, () => 'This link is no longer valid: it was already used or it has expired.'],
  [/^Failed to verify token\.?$/, () => "Google sign-in didn't work. Try again, or use your email and password."],
  [/^Account is suspended\.?$/, () => 'This account is suspended. Contact us if you think this is a mistake.'],
  [/^You do not have permission to perform this action\.?$/, () => "You don't have permission to do this."],
  [/^Authentication credentials were not provided\.?$/, () => 'Your session ended. Log in again to continue.'],
  [/^Given token not valid for any token type$/, () => 'Your session ended. Log in again to continue.'],
  [/^Token is invalid or expired$/, () => 'Your session ended. Log in again to continue.'],
  [/^Image not found\.?$/, () => 'This image no longer exists.'],
  [/^Not found\.?$/, () => "We couldn't find what you asked for."],
  [/^Invalid page\.?$/, () => 'That page of results does not exist.'],
  [/^JSON parse error - /, () => "The server couldn't read what this page sent. Reload the page and try again."],
  [/^Invalid data\. Expected a dictionary/, () => "The server couldn't read what this page sent. Reload the page and try again."],
  [/^Unsupported media type /, () => "The server couldn't read what this page sent. Reload the page and try again."],
  [/^Minimum amount is \$([\d.]+)$/, (m) => `The smallest amount you can buy is $${Number(m[1])}.`],
  [/^Maximum amount is \$([\d.]+)$/, (m) => `The largest amount you can buy at once is $${Number(m[1])}.`],
  [/^Payment provider unavailable$/, () => 'Payments are not working right now. Try again later; you have not been charged.'],
  [/^New password is required\.?$/, () => 'Enter a new password.'],
  [/^Please confirm that you are human\.?$/, () => 'Tick the box to confirm that you are not a robot.'],
]

// Field texts in DRF wording: [pattern, (match, label) => words].
const FIELD_TEXTS = [
  [/^This field is required\.?$/, (m, l) => `${l} is required.`],
  [/^This field may not be blank\.?$/, (m, l) => `${l} can't be empty.`],
  [/^A valid integer is required\.?$/, (m, l) => `${l} must be a whole number.`],
  [/^A valid number is required\.?$/, (m, l) => `${l} must be a number.`],
  [/^Must be a valid boolean\.?$/, (m, l) => `${l} must be yes or no.`],
  [/^Not a valid string\.?$/, (m, l) => `${l} contains characters that can't be read.`],
  [/^Null characters are not allowed\.?$/, (m, l) => `${l} contains characters that are not allowed.`],
  [/^Ensure this value is less than or equal to (-?\d+(?:\.\d+)?)\.?$/, (m, l) => `${l} can be at most ${m[1]}.`],
  [/^Ensure this value is greater than or equal to (-?\d+(?:\.\d+)?)\.?$/, (m, l) => `${l} must be at least ${m[1]}.`],
  [/^Ensure this field has no more than (\d+) characters?\.?$/, (m, l) => `${l} can be at most ${count(Number(m[1]), 'character')} long.`],
  [/^Ensure this field has at least (\d+) characters?\.?$/, (m, l) => `${l} needs at least ${count(Number(m[1]), 'character')}.`],
  [/^"(.*)" is not a valid choice\.?$/, (m, l) => `“${m[1]}” is not one of the choices for ${l.toLowerCase()}.`],
  [/^The output would exceed (\d+) pixels\.?$/, (m) => `The result would have more than ${Number(m[1]).toLocaleString('en-US')} pixels (${Math.round(Number(m[1]) / 1e6)} MP): choose a smaller scale.`],
]

function notEnoughCredits(ctx = {}) {
  const { cost, balance } = ctx
  if (typeof cost === 'number' && cost > 0 && typeof balance === 'number') {
    return `This needs ${count(cost, 'credit')} and your balance is ${count(balance, 'credit')}.`
  }
  return "You don't have enough credits for this."
}

function tooLarge(ctx = {}) {
  if (ctx.upload) return `${ctx.fileName ? ctx.fileName : 'This file'} is larger than ${MAX_UPLOAD_MB} MB, the largest file you can upload.`
  return 'What you sent is too large.'
}

function extensionMismatch(ctx = {}) {
  const ext = extensionOf(ctx.fileName)
  if (ctx.fileName && ext) return `The name of ${ctx.fileName} ends in .${ext}, but the file is a different type of image. Rename it with the right ending (.jpg, .png, .webp or .gif) and try again.`
  return "The file's name does not match its type of image. Rename it with the right ending (.jpg, .png, .webp or .gif) and try again."
}

/**
 * One server text (a "detail" or one field message) in words for people.
 * label: the form's label of the field the text is about ('' for none);
 * ctx: { cost, balance, upload, fileName } for the texts that use them.
 * Unknown texts come back unchanged.
 */
export function peopleText(text, label = '', ctx = {}) {
  const s = String(text ?? '').trim()
  if (!s) return s
  for (const [re, fn] of TEXTS) {
    const m = re.exec(s)
    if (m) return fn(m, ctx)
  }
  const l = label ? bareLabel(label) : 'This value'
  for (const [re, fn] of FIELD_TEXTS) {
    const m = re.exec(s)
    if (m) return fn(m, l)
  }
  return s
}

/** What the server said in its body: detail, error or message, else ''. */
function bodyText(body) {
  if (!body || typeof body !== 'object') return ''
  if (Array.isArray(body)) return typeof body[0] === 'string' ? body[0] : ''
  for (const k of ['detail', 'error', 'message']) if (typeof body[k] === 'string' && body[k]) return body[k]
  return ''
}

/**
 * The general message for an error: an ApiError ({status, body, detail}),
 * another Error or a plain string. ctx as for peopleText.
 */
export function errorMessage(err, ctx = {}) {
  if (!err) return ''
  if (typeof err === 'string') return peopleText(err, '', ctx)
  const status = typeof err.status === 'number' ? err.status : undefined
  if (status === undefined) return peopleText(err.detail || err.message || 'Something went wrong.', '', ctx)
  if (status === 0) return NETWORK_MESSAGE
  const said = bodyText(err.body)
  if (said) {
    const words = peopleText(said, '', ctx)
    // A server or gateway failure worded for machines: say what it means.
    if (status >= 500 && words === said && /^(internal server error|bad gateway|gateway time-?out|service unavailable)\.?$/i.test(said)) return NETWORK_MESSAGE
    return words
  }
  if (status >= 500) return NETWORK_MESSAGE
  if (status === 401) return 'Your session ended. Log in again to continue.'
  if (status === 402) return notEnoughCredits(ctx)
  if (status === 403) return "You don't have permission to do this."
  if (status === 404) return "We couldn't find what you asked for."
  if (status === 413) return tooLarge(ctx)
  if (status === 429) return 'Too many attempts. Wait a minute and try again.'
  // Field errors only: the fields say it; otherwise whatever the error knows.
  if (err.fields && Object.keys(err.fields).length) return ''
  return peopleText(err.detail || err.message || `Request failed (HTTP ${status}).`, '', ctx)
}

/** The messages of one field of an error, in words for people. */
export function fieldMessages(err, field, label, ctx = {}) {
  const list = (err && err.fields && err.fields[field]) || []
  return list.map((m) => peopleText(m, label || labelFor(field), ctx))
}

/**
 * Field messages of an error for the fields a form does not show:
 * "Label: words" (non_field_errors without a label), for the general alert.
 * known: the field names the form shows itself; labels: name -> label.
 */
export function otherMessages(err, known = [], labels = {}, ctx = {}) {
  const out = []
  const fields = (err && err.fields) || {}
  for (const [key, list] of Object.entries(fields)) {
    if (known.includes(key)) continue
    const label = labelFor(key, labels)
    for (const m of list) {
      const words = peopleText(m, label, ctx)
      // A field text that names its field already needs no prefix.
      out.push(!label || words !== m ? words : `${label}: ${words}`)
    }
  }
  return out
}
