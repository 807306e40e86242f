/**
 * A real airlake runtime for the serving tests and benches: `startRuntime` over a DuckDB store and a
 * folder lake in a temp AIRLAKE_HOME (config read by `loadConfig` like a user's), on port 0, without the
 * dashboard or the scheduler; plus registering synthetic IAQ models and calling the API with the key.
 * `restart` stops the runtime and opens a new one on the same home (state must survive).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import type { ForecastModel, TrainingBatch } from '../../src/core/model.js'
import { silentLogger } from '../../src/core/ports/logger.js'
import type { ModelVersionRecord } from '../../src/core/ports/store.js'
import { promoteModel, registerModelVersion } from '../../src/pipeline/registry.js'
import { type Runtime, startRuntime } from '../../src/runtime.js'
import { IAQ_SIGNATURE, syntheticIaqBatch } from './forecast-data.js'

export const TEST_API_KEY = 'serving-test-key-0123456789'

export interface ServingRuntime {
  runtime: Runtime
  home: string
  /** `fetch` on the runtime with the key; JSON body in and out (the answer's JSON shape is the test's to check). */
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on the JSON answers field by field
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>
  /** Stops the runtime and starts a new one on the same home. */
  restart(): Promise<void>
  /** Stops the runtime and removes the home. */
  close(): Promise<void>
}

export async function openServingRuntime(env: Record<string, string> = {}): Promise<ServingRuntime> {
  const home = await mkdtemp(join(tmpdir(), 'airlake-serving-'))
  const start = async (): Promise<Runtime> => {
    const config = loadConfig({
      AIRLAKE_HOME: home,
      AIRLAKE_API_KEY: TEST_API_KEY,
      AIRLAKE_LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      ...env,
    })
    const app = await openApp(config, { logger: silentLogger })
    return startRuntime(app, { port: 0, webRoot: false, schedule: false })
  }
  const handle: ServingRuntime = {
    runtime: await start(),
    home,
    async call(method, path, body) {
      const response = await fetch(`${handle.runtime.url}${path}`, {
        method,
        headers: {
          'x-api-key': TEST_API_KEY,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      })
      const text = await response.text()
      let parsed: unknown = text
      try {
        parsed = JSON.parse(text)
      } catch {}
      return { status: response.status, body: parsed, headers: response.headers }
    },
    async restart() {
      await handle.runtime.stop()
      handle.runtime = await start()
    },
    async close() {
      await handle.runtime.stop()
      await rm(home, { recursive: true, force: true })
    },
  }
  return handle
}

/** Fits a model of `algorithm` on synthetic IAQ windows (targets shifted by `bias` for a worse model). */
export async function fitIaqModel(
  runtime: Runtime,
  options: { algorithm?: string; bias?: number; data?: TrainingBatch; params?: Record<string, unknown> } = {},
): Promise<ForecastModel> {
  const trainer = runtime.trainers[options.algorithm ?? 'ridge']
  if (trainer === undefined) throw new Error(`no ${options.algorithm} trainer in this build`)
  const data = options.data ?? syntheticIaqBatch({ bias: options.bias, stride: 2 })
  return trainer.fit(data, { signature: IAQ_SIGNATURE, seed: 1, params: options.params })
}

/** Registers `model` as a new version of `name` and, when `alias` is given, promotes it there. */
export async function registerIaqModel(
  runtime: Runtime,
  input: { name: string; model: ForecastModel; alias?: string },
): Promise<ModelVersionRecord> {
  const { store, lake, bus, clock } = runtime.app
  const record = await registerModelVersion(
    { store, lake, bus, clock },
    { name: input.name, artifact: await input.model.save(), metrics: {} },
  )
  if (input.alias !== undefined)
    await promoteModel(
      { store, lake, bus, clock },
      { name: input.name, version: record.version, alias: input.alias },
    )
  await bus.drain()
  return record
}
