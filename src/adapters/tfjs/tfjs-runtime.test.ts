import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Logger } from '../../core/ports/logger.js'
import { loadTfjs, tfjsAvailability, wasmDirectory } from './tfjs-runtime.js'

test('TensorFlow.js is installed and its .wasm files sit in the backend package', async () => {
  assert.deepEqual(tfjsAvailability(), { ok: true })
  const { existsSync } = await import('node:fs')
  assert.ok(existsSync(`${wasmDirectory()}tfjs-backend-wasm-simd.wasm`), wasmDirectory())
})

// The backend is chosen once per process, and node:test runs each file in its own process.
test('without its .wasm files the backend falls back to cpu and says so', async () => {
  const warnings: Array<{ message: string; fields?: Record<string, unknown> }> = []
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (message, fields) => warnings.push({ message, fields }),
    error() {},
    child: () => logger,
  }
  const tf = await loadTfjs(logger, '/nonexistent/airlake-wasm/')
  assert.equal(tf.getBackend(), 'cpu')
  assert.equal(warnings.length, 1)
  assert.match(warnings[0]!.message, /WebAssembly backend failed to start; using the slower cpu backend/)
  assert.equal(warnings[0]!.fields?.wasmFiles, '/nonexistent/airlake-wasm/')
  assert.equal(
    tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0]),
    3,
  )
})
