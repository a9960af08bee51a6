// Entry point: styles, session start-up, router, mount.
import { createApp } from 'vue'
import './style.css'
import App from './App.vue'
import { router } from './router.js'
import { initSession } from './lib/session.js'

initSession()
createApp(App).use(router).mount('#app')
