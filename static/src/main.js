// Entry point: styles, session and recent-jobs start-up, router, mount.
import { createApp } from 'vue'
import './style.css'
import App from './App.vue'
import { router } from './router.js'
import { initSession } from './lib/session.js'
import { initRecentJobs } from './lib/recentJobs.js'

initSession()
initRecentJobs()
createApp(App).use(router).mount('#app')
