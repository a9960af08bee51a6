// Public configuration (GET /api/v1/public/config/), fetched once and cached.
const DEFAULTS = {
  GOOGLE_CLIENT_ID: '',
  GOOGLE_LOGIN_REDIRECT_URI: '',
  STRIPE_PUBLIC_KEY: '',
  CREDIT_MULTIPLIER: 50,
  DEV_MODE: false,
}

let pending = null

/** Resolves the public config; on failure the defaults (features off). */
export function getPublicConfig() {
  if (!pending) {
    pending = fetch('/api/v1/public/config/', { headers: { Accept: 'application/json' } })
      .then((res) => (res.ok ? res.json() : {}))
      .catch(() => ({}))
      .then((data) => ({ ...DEFAULTS, ...(data && typeof data === 'object' ? data : {}) }))
  }
  return pending
}
