/** What the long-running commands (`serve`, `demo`) share: `--port`/`--host` as settings, and waiting for Ctrl-C. */
import type { Config } from '../config.js'
import { AirlakeError } from '../core/errors.js'

/** `--port` and `--host` as settings overrides; a bad port is an error naming the value. */
export function listenOverrides(options: {
  port?: string | undefined
  host?: string | undefined
}): Partial<Config> {
  const overrides: Partial<Config> = {}
  if (options.port !== undefined) {
    const port = Number(options.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new AirlakeError(
        'PARAMETER_INVALID',
        `--port ${options.port}: use a whole number from 0 to 65535, e.g. --port 8080`,
      )
    }
    overrides.port = port
  }
  if (options.host !== undefined) overrides.host = options.host
  return overrides
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
      resolve()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
