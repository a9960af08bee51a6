// Client-side routes. The original app's paths are kept so bookmarks and
// mailed links (password reset, email verification) keep working; nginx
// serves index.html for all.
import { createRouter, createWebHistory } from 'vue-router'
import { nextTick } from 'vue'
import { isLoggedIn } from './lib/session.js'
import { SERVICE_DEFS } from './lib/services.js'
import HomePage from './pages/HomePage.vue'

const servicePage = () => import('./pages/ServicePage.vue')

const serviceRoutes = SERVICE_DEFS.filter((s) => s.params).map((s) => ({
  path: s.path,
  name: `service-${s.slug}`,
  component: servicePage,
  props: { slug: s.slug },
  meta: { title: s.name, auth: true, service: s.slug },
}))

const routes = [
  { path: '/', name: 'home', component: HomePage, meta: { title: 'Image tools' } },
  { path: '/users/signup', name: 'signup', component: () => import('./pages/SignupPage.vue'), meta: { title: 'Sign up', guest: true } },
  { path: '/users/login', name: 'login', component: () => import('./pages/LoginPage.vue'), meta: { title: 'Log in', guest: true } },
  { path: '/users/logout', name: 'logout', component: () => import('./pages/LogoutPage.vue'), meta: { title: 'Logged out' } },
  { path: '/users/change/password', name: 'forgot', component: () => import('./pages/ForgotPasswordPage.vue'), meta: { title: 'Forgot password' } },
  {
    path: '/users/reset/password/confirm/:uidb64/:token/',
    name: 'reset',
    component: () => import('./pages/ResetPasswordPage.vue'),
    props: true,
    meta: { title: 'Choose a new password' },
  },
  {
    path: '/users/verify/email/:uidb64/:token/',
    name: 'verify-email',
    component: () => import('./pages/VerifyEmailPage.vue'),
    props: true,
    meta: { title: 'Verify your email address' },
  },
  { path: '/dashboard', name: 'dashboard', component: () => import('./pages/DashboardPage.vue'), meta: { title: 'Dashboard', auth: true } },
  ...serviceRoutes,
  { path: '/process/greyscale/', redirect: '/create/grayscale/' },
  { path: '/process/remove-background/', redirect: '/remove/background/' },
  { path: '/process/outline/', redirect: '/create/outline/' },
  { path: '/generate/image/', name: 'generate', component: () => import('./pages/GeneratePage.vue'), meta: { title: 'Generate an image', auth: true, service: 'generate' } },
  { path: '/users/images/', name: 'gallery', component: () => import('./pages/GalleryPage.vue'), meta: { title: 'Your images', auth: true } },
  { path: '/credits/', name: 'credits', component: () => import('./pages/CreditsPage.vue'), meta: { title: 'Credit history', auth: true } },
  { path: '/pricing', name: 'pricing', component: () => import('./pages/PricingPage.vue'), meta: { title: 'Pricing' } },
  { path: '/checkout', name: 'checkout', component: () => import('./pages/CheckoutPage.vue'), meta: { title: 'Checkout', auth: true } },
  { path: '/contact', name: 'contact', component: () => import('./pages/ContactPage.vue'), meta: { title: 'Contact' } },
  { path: '/faq', name: 'faq', component: () => import('./pages/FaqPage.vue'), meta: { title: 'FAQ' } },
  { path: '/privacy-policy', name: 'privacy', component: () => import('./pages/PrivacyPage.vue'), meta: { title: 'Privacy policy' } },
  { path: '/terms-conditions', name: 'terms', component: () => import('./pages/TermsPage.vue'), meta: { title: 'Terms and conditions' } },
  { path: '/:pathMatch(.*)*', name: 'not-found', component: () => import('./pages/NotFoundPage.vue'), meta: { title: 'Page not found' } },
]

export const router = createRouter({
  history: createWebHistory(),
  routes,
  scrollBehavior(to, from, saved) {
    if (saved) return saved
    if (to.hash) return { el: to.hash }
    return { top: 0 }
  },
})

router.beforeEach((to) => {
  if (to.meta.auth && !isLoggedIn.value) {
    // A visitor who picks a service is most likely new: offer the free
    // account first (the sign-up page links to log in, keeping `next`).
    return { path: to.meta.service ? '/users/signup' : '/users/login', query: { next: to.fullPath } }
  }
  if (to.meta.guest && isLoggedIn.value && to.name === 'login' && !to.query.email) {
    return typeof to.query.next === 'string' && to.query.next.startsWith('/') ? to.query.next : '/dashboard'
  }
  return true
})

router.afterEach((to, from) => {
  document.title = to.meta.title ? `${to.meta.title} · Image Assistant` : 'Image Assistant'
  // Move keyboard focus to the new page, as a full page load would.
  if (from.matched.length && to.path !== from.path) {
    nextTick(() => {
      const main = document.getElementById('main')
      if (main) main.focus({ preventScroll: true })
    })
  }
})

// A stale deploy may lack a lazily loaded chunk: reload once to get the new build.
router.onError((error, to) => {
  if (/Failed to fetch dynamically imported module|Importing a module script failed/i.test(String(error && error.message))) {
    window.location.assign(to.fullPath)
  }
})
