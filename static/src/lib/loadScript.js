// Loads a third-party script (Google Identity Services, Stripe.js) on demand,
// once per URL.
const loaded = new Map()

export function loadScript(src) {
  if (loaded.has(src)) return loaded.get(src)
  const p = new Promise((resolve, reject) => {
    const el = document.createElement('script')
    el.src = src
    el.async = true
    el.onload = () => resolve()
    el.onerror = () => {
      loaded.delete(src)
      el.remove()
      reject(new Error(`Could not load ${src}`))
    }
    document.head.appendChild(el)
  })
  loaded.set(src, p)
  return p
}
