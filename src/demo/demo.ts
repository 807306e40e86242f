/**
 * `airlake demo` (what `npm start` runs): the whole loop on the embedded default, on real data.
 *
 * 1. Opens the app under AIRLAKE_HOME and starts the server (API, dashboard, live forecaster, scheduler).
 * 2. Uses a demo API key: AIRLAKE_API_KEY when set, else one generated once and kept in
 *    `AIRLAKE_HOME/demo-key.txt`, so the dashboard login survives restarts.
 * 3. Replays the shipped series as devices through the public HTTP API (src/demo/replay.ts): history
 *    first, then live readings.
 * 4. Trains in the background, fast kinds first, so forecasts start within a minute: persistence and
 *    ridge for every series, then XGBoost, then MLP and LSTM. Each run scores the persistence and seasonal-naive
 *    baselines on the same windows and registers its versions (the first of a model becomes its
 *    `champion`, later ones `challenger`); the live loop then forecasts every reading and the UCB1
 *    selector learns which version to serve.
 *
 * A restart resumes the replay where it stopped and trains only the kinds that have no version yet.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type App, openApp } from '../app.js'
import type { Config, SeriesConfig } from '../config.js'
import { isAirlakeError } from '../core/errors.js'
import type { Logger } from '../core/ports/logger.js'
import { HOUR_MS, MINUTE_MS } from '../core/time.js'
import { createLogger, type LogLevel } from '../logger.js'
import { modelName } from '../pipeline/registry.js'
import { startTraining } from '../pipeline/train.js'
import { type Runtime, startRuntime } from '../runtime.js'
import { type DemoSeries, demoSeries } from './fleet.js'
import { Replay } from './replay.js'

export interface DemoOptions {
  /** Replay speed: 1 = real time. */
  speed?: number
  /** Train models in the background (default true). */
  train?: boolean
  /** Model kinds to train (default: every kind of DEMO_PHASES that can run here). */
  kinds?: readonly string[]
  /** Progress lines for a person (the CLI prints them). */
  onLine?: (line: string) => void
  logger?: Logger
}

export interface Demo {
  app: App
  runtime: Runtime
  replay: Replay
  apiKey: string
  /** Where the demo key is kept, when it was generated. */
  keyFile?: string | undefined
  /** Resolves when the background training has tried every kind. */
  training: Promise<void>
  stop(): Promise<void>
}

/** One forecasting task of the demo: which series, on which grid, with which window and horizon. */
export interface DemoTask extends SeriesConfig {
  window: number
  horizon: number
  stepMs: number
}

/**
 * Training order: the fast kinds first, so the first forecasts come within a minute. Persistence is
 * registered too: on slow-moving indoor series it is hard to beat, and as one more arm the bandit serves
 * it wherever the learnt models do worse.
 */
export const DEMO_PHASES: readonly (readonly string[])[] = [
  ['persistence', 'ridge'],
  ['xgboost'],
  ['mlp'],
  ['lstm'],
]

/** The forecasting tasks of the fleet: IAQ of every indoor device (60 -> 15 min), NOx next to the motorway (168 -> 24 h). */
export function demoTasks(series: readonly DemoSeries[]): DemoTask[] {
  return series.map((s) =>
    s.stepMs === MINUTE_MS
      ? { deviceId: s.deviceId, measure: 'iaq', window: 60, horizon: 15, stepMs: MINUTE_MS }
      : { deviceId: s.deviceId, measure: 'nox_ppb', window: 168, horizon: 24, stepMs: HOUR_MS },
  )
}

/** Starts the demo on `config` (the embedded default unless the environment says otherwise). */
export async function startDemo(config: Config, options: DemoOptions = {}): Promise<Demo> {
  const say = options.onLine ?? (() => {})
  const { apiKey, keyFile } = demoKey(config)
  const series = demoSeries()
  const tasks = demoTasks(series)
  const known = new Set(config.series.map((s) => `${s.deviceId}/${s.measure}`))
  const demoConfig: Config = {
    ...config,
    apiKey,
    // The weekly retraining keeps the demo's models current, like any configured series.
    series: [...config.series, ...tasks.filter((t) => !known.has(`${t.deviceId}/${t.measure}`))],
  }
  const logger =
    options.logger ?? createLogger(process.env.AIRLAKE_LOG_LEVEL ? (config.logLevel as LogLevel) : 'warn')
  const app = await openApp(demoConfig, { logger })
  let runtime: Runtime
  try {
    runtime = await startRuntime(app)
  } catch (error) {
    await app.close()
    throw error
  }
  const replay = new Replay({
    url: runtime.url,
    apiKey,
    series,
    store: app.store,
    logger,
    speed: options.speed ?? 1,
    onProgress: say,
  })
  const prepared = await replay.prepare()
  say(
    prepared.resumed
      ? `resumed the replay of ${series.length} devices where it stopped`
      : `loaded the history of ${series.length} devices (${prepared.backfilled.toLocaleString('en-US')} readings)`,
  )
  replay.start()

  const abort = new AbortController()
  const training =
    options.train === false
      ? Promise.resolve()
      : trainFleet(app, runtime, tasks, options.kinds, say, abort.signal)
  return {
    app,
    runtime,
    replay,
    apiKey,
    keyFile,
    training,
    async stop() {
      abort.abort()
      await replay.stop()
      await training.catch(() => {})
      await runtime.stop()
    },
  }
}

/** AIRLAKE_API_KEY, or the demo's own key under AIRLAKE_HOME (made on the first start). */
function demoKey(config: Config): { apiKey: string; keyFile?: string } {
  if (config.apiKey) return { apiKey: config.apiKey }
  const keyFile = join(config.home, 'demo-key.txt')
  if (existsSync(keyFile)) {
    const saved = readFileSync(keyFile, 'utf8').trim()
    if (saved.length >= 16) return { apiKey: saved, keyFile }
  }
  mkdirSync(config.home, { recursive: true })
  const apiKey = `demo-${randomBytes(18).toString('hex')}`
  writeFileSync(keyFile, `${apiKey}\n`, { mode: 0o600 })
  return { apiKey, keyFile }
}

/**
 * Trains every task, phase by phase (see DEMO_PHASES), skipping kinds that already have a version of
 * the task's model or cannot run here. A failed run is reported and the demo goes on.
 */
async function trainFleet(
  app: App,
  runtime: Runtime,
  tasks: readonly DemoTask[],
  wanted: readonly string[] | undefined,
  say: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const existing = new Set((await app.store.listModels()).map((m) => m.name))
  for (const phase of DEMO_PHASES) {
    const kinds = phase.filter((kind) => {
      if (wanted && !wanted.includes(kind)) return false
      const availability = app.trainers[kind]?.available() ?? {
        ok: false as const,
        reason: 'not in this build',
      }
      if (!availability.ok) say(`skipping ${kind}: ${availability.reason}`)
      return availability.ok
    })
    for (const task of tasks) {
      if (signal.aborted) return
      const models = kinds.filter((kind) => !existing.has(modelName(task.deviceId, task.measure, kind)))
      if (models.length === 0) continue
      try {
        const started = await startTraining(runtime.training, {
          deviceId: task.deviceId,
          measure: task.measure,
          window: task.window,
          horizon: task.horizon,
          stepMs: task.stepMs,
          models,
          seed: 42,
        })
        const run = await started.done
        if (run.status !== 'succeeded') {
          say(
            `training ${models.join(', ')} for ${task.measure} of ${task.deviceId} ${run.status}: ${run.error ?? 'see airlake runs show ' + run.id}`,
          )
          continue
        }
        const scores = [...new Set([...models, 'persistence'])].map(
          (kind) => `${kind} MAE ${format(run.metrics[`${kind}.mae`])}`,
        )
        say(`trained ${task.measure} of ${task.deviceId}: ${scores.join(', ')} (run ${run.id})`)
      } catch (error) {
        say(
          `training ${models.join(', ')} for ${task.measure} of ${task.deviceId} failed: ${isAirlakeError(error) ? error.message : String(error)}`,
        )
      }
    }
  }
  say('background training done: every model kind has a version; the UCB1 selector now learns which to serve')
}

function format(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '-' : Number(value.toPrecision(3)).toString()
}
