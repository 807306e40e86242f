import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const root = fileURLToPath(new URL('.', import.meta.url))

/** The dashboard: a static bundle in web/dist that the API server serves at `/`. */
export default defineConfig({
  root,
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    proxy: Object.fromEntries(
      ['/openapi.json', '/sensorsdata', '/predictions', '/devices', '/events', '/models', '/selection', '/runs', '/quality', '/exports'].map(
        (path) => [path, process.env.AIRLAKE_API_URL ?? 'http://127.0.0.1:8080'],
      ),
    ),
  },
})
