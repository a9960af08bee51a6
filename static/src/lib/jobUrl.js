// Keeps a page's job in its URL (?job=ID) so that a reload, a bookmark or a
// link from the recent-jobs tray shows the job again and polling resumes.
import { watch } from 'vue'
import { useRoute, useRouter } from 'vue-router'

/**
 * job: a useJob() instance; slug: the service; onShow(id) is called when the
 * URL names a job this page is not showing yet, onClear() when the URL no
 * longer names one. Returns { set(id) } to put a job in the URL (null: out).
 */
export function useJobInUrl(job, slug, { onShow, onClear } = {}) {
  const route = useRoute()
  const router = useRouter()

  function fromUrl() {
    const q = route.query.job
    return typeof q === 'string' && /^[1-9]\d{0,15}$/.test(q) ? Number(q) : null
  }

  function set(id) {
    const query = { ...route.query }
    if (id) query.job = String(id)
    else delete query.job
    if (query.job === route.query.job) return Promise.resolve()
    return router.replace({ query })
  }

  watch(
    () => route.query.job,
    () => {
      const id = fromUrl()
      if (id && id !== job.imageId.value) {
        job.start(id, slug, { resume: true })
        if (onShow) onShow(id)
      } else if (!id && job.phase.value !== 'idle') {
        job.reset()
        if (onClear) onClear()
      }
    },
    { immediate: true },
  )

  return { set, fromUrl }
}
