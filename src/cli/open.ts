/**
 * How commands reach the system: `open()` reads and validates the settings once, then opens the adapters
 * they name (src/app.ts). Commands never pick adapters themselves.
 */
import { type App, openApp } from '../app.js'
import { loadConfig } from '../config.js'
import { createLogger } from '../logger.js'

export type OpenApp = () => Promise<App>

/** An `open` that opens the app once per command run and remembers it, so `close()` can release it. */
export function appOpener(): { open: OpenApp; close: () => Promise<void> } {
  let app: Promise<App> | undefined
  return {
    open: () => {
      app ??= (async () => {
        const config = loadConfig()
        // Commands print their own results on stdout; the log stays quiet on stderr unless asked.
        const logger = createLogger(process.env.AIRLAKE_LOG_LEVEL ? config.logLevel : 'warn')
        return openApp(config, { logger })
      })()
      return app
    },
    close: async () => {
      if (!app) return
      const opened = await app.catch(() => undefined)
      await opened?.close()
    },
  }
}
