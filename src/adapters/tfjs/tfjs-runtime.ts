/**
 * Loads TensorFlow.js on first use (a dynamic import, so commands that train nothing start fast) and
 * picks its backend once per process: WebAssembly (XNNPACK, single thread, deterministic), falling back
 * to the pure-JavaScript cpu backend with a warning when the .wasm files cannot be loaded.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { AirlakeError } from '../../core/errors.js'
import type { Logger } from '../../core/ports/logger.js'

/** The TensorFlow.js namespace (`@tensorflow/tfjs`). */
export type Tf = typeof import('@tensorflow/tfjs')

const require = createRequire(import.meta.url)
const PACKAGES = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'] as const

/** What to tell a user when TensorFlow.js is missing. */
export const TFJS_INSTALL_HINT =
  'reinstall airlake with its dependencies (npm ci) to get @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm'

/** Whether both TensorFlow.js packages can be found (without loading them). */
export function tfjsAvailability(): { ok: true } | { ok: false; reason: string } {
  const missing = PACKAGES.filter((name) => {
    try {
      require.resolve(name)
      return false
    } catch {
      return true
    }
  })
  return missing.length === 0
    ? { ok: true }
    : { ok: false, reason: `${missing.join(' and ')} not installed: ${TFJS_INSTALL_HINT}` }
}

/** The folder holding the backend's .wasm files, as a file path ending in a separator. */
export function wasmDirectory(): string {
  return `${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`
}

let loading: Promise<Tf> | undefined

/**
 * TensorFlow.js with its backend ready (`wasm`, or `cpu` after a logged warning when the .wasm files in
 * `wasmFiles` cannot be loaded). Throws DEPENDENCY_MISSING when the packages are not installed. The first
 * call decides for the process.
 */
export function loadTfjs(logger: Logger, wasmFiles?: string): Promise<Tf> {
  loading ??= (async () => {
    let tf: Tf
    let wasm: typeof import('@tensorflow/tfjs-backend-wasm')
    try {
      tf = await import('@tensorflow/tfjs')
      wasm = await import('@tensorflow/tfjs-backend-wasm')
    } catch (error) {
      loading = undefined
      throw new AirlakeError('DEPENDENCY_MISSING', `cannot load TensorFlow.js: ${TFJS_INSTALL_HINT}`, {
        cause: error,
      })
    }
    try {
      wasm.setWasmPaths(wasmFiles ?? wasmDirectory())
      if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false')
      await tf.ready()
    } catch (error) {
      logger.warn('TensorFlow.js WebAssembly backend failed to start; using the slower cpu backend', {
        error: error instanceof Error ? error.message : String(error),
        wasmFiles: wasmFiles ?? wasmDirectory(),
      })
      await tf.setBackend('cpu')
      await tf.ready()
    }
    return tf
  })()
  return loading
}
