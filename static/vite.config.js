// Vite build of the Image Assistant SPA. The output goes to dist/, which nginx
// serves with index.html as the fallback for client-side routes. In `vite dev`
// the API, media and health paths are proxied to the local stack.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import tailwindcss from '@tailwindcss/vite'

const backend = process.env.IA_BACKEND || 'http://127.0.0.1:8080'
const proxy = {
  '/api/v1/': { target: backend, changeOrigin: false },
  '/media/': { target: backend, changeOrigin: false },
  '/health/': { target: backend, changeOrigin: false },
}

export default defineConfig({
  plugins: [vue(), tailwindcss()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
  },
  server: { host: '127.0.0.1', port: 5173, proxy },
  preview: { host: '127.0.0.1', port: 4173, proxy },
})
