/**
 * `POST /invocations` on the real runtime (embedded store, port 0): per-call p50/p99 of one IAQ window
 * (60 values -> 15 forecasts) and forecasts/s with 64 windows per call, for each model kind this build
 * can train (ridge, XGBoost, …), beside a bare in-process `predict` of the same loaded model in the same
 * run. The HTTP client runs in a separate process with keep-alive (bench/load.ts). Issue 5's target: the
 * HTTP overhead (p99 of the call minus p99 of the bare predict) at most 1 ms for ridge and XGBoost.
 */
import Fastify from 'fastify'
import type { ForecastModel, WindowBatch } from '../src/core/model.js'
import { loadForecastModel } from '../src/pipeline/registry.js'
import { syntheticIaq, syntheticIaqBatch } from '../test/helpers/forecast-data.js'
import {
  fitIaqModel,
  openServingRuntime,
  registerIaqModel,
  TEST_API_KEY,
} from '../test/helpers/serving-runtime.js'
import { type LoadResult, listen, loadTest } from './load.js'
import { type BenchOptions, type BenchResult, median, quantile } from './types.js'

/** Small, quick-to-fit settings per kind: the bench measures serving, not accuracy. */
const FIT_PARAMS: Record<string, Record<string, unknown>> = {
  xgboost: { rounds: 60, maxDepth: 4 },
  mlp: { epochs: 3, hidden: [64] },
  lstm: { epochs: 1, units: 32, sequenceLength: 32, samplesPerEpoch: 256 },
}
/** Kinds measured with --quick (the targets); a full run measures every kind that can train here. */
const QUICK_KINDS = ['ridge', 'xgboost']
const BATCH = 64
const TARGET_OVERHEAD_MS = 1

function windowAt(end: number): number[] {
  return Array.from({ length: 60 }, (_, i) => Number(syntheticIaq(end - 59 + i).toFixed(3)))
}

/** Per-call latencies (ms) of `calls` bare predicts of one window, in turn. */
async function barePredict(model: ForecastModel, windows: number[][], calls: number): Promise<number[]> {
  const batches: WindowBatch[] = windows.map((w) => ({ n: 1, windows: Float64Array.from(w) }))
  const latencies: number[] = []
  for (let i = 0; i < calls; i++) {
    const started = performance.now()
    await model.predict(batches[i % batches.length]!)
    latencies.push(performance.now() - started)
    await yieldToEventLoop()
  }
  return latencies
}

/**
 * A bare Fastify route answering the same body with the same model (no key check, signature check,
 * registry or metrics): what any HTTP call costs on this machine, to tell our overhead from the machine's.
 */
async function bareRoute(model: ForecastModel): Promise<{ port: number; close: () => Promise<void> }> {
  const app = Fastify({ logger: false })
  app.post('/invocations', async (request) => {
    const rows = (request.body as { instances: number[][] }).instances
    const forecasts = await model.predict({ n: rows.length, windows: Float64Array.from(rows.flat()) })
    const H = model.signature.horizon
    return { predictions: rows.map((_, i) => Array.from(forecasts.subarray(i * H, (i + 1) * H))) }
  })
  return { port: await listen(app), close: () => app.close() }
}

/**
 * Lets timers run between bare predicts (outside the timed part): a model whose `predict` never waits
 * would otherwise hold the event loop for the whole loop, and the server's load shedder, sampling the
 * lag, would answer the next HTTP calls with 429.
 */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

function cpuMicros(usage: NodeJS.CpuUsage): number {
  return usage.user + usage.system
}

/** Forecasts per second of bare predicts of `BATCH` windows for `durationMs`. */
async function bareRate(model: ForecastModel, windows: number[][], durationMs: number): Promise<number> {
  const batch: WindowBatch = { n: BATCH, windows: Float64Array.from(windows.slice(0, BATCH).flat()) }
  let done = 0
  const started = performance.now()
  while (performance.now() - started < durationMs) {
    await model.predict(batch)
    done += BATCH
    await yieldToEventLoop()
  }
  return done / ((performance.now() - started) / 1000)
}

export async function run({ quick = false }: BenchOptions): Promise<BenchResult[]> {
  // Short runs, alternated and pooled: every kind of call sees the same moments of a busy machine.
  const calls = quick ? 500 : 1000
  const repeats = quick ? 4 : 10
  const rateMs = quick ? 400 : 3000
  const s = await openServingRuntime({ AIRLAKE_RETENTION_DAYS: '0' })
  const results: BenchResult[] = []
  try {
    const port = Number(new URL(s.runtime.url).port)
    const windows = Array.from({ length: 256 }, (_, i) => windowAt(i * 7))
    const singleBodies = windows.map((w) => JSON.stringify({ instances: [w] }))
    const batchBody = JSON.stringify({ instances: windows.slice(0, BATCH) })
    const headers = { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY }
    const data = syntheticIaqBatch({ minutes: 2000, stride: 4 })

    for (const [kind, trainer] of Object.entries(s.runtime.trainers)) {
      if (quick && !QUICK_KINDS.includes(kind)) continue
      const availability = trainer.available()
      if (!availability.ok) {
        results.push({
          name: `${kind}: not available here`,
          figure: Number.NaN,
          unit: '',
          notes: availability.reason,
        })
        continue
      }
      const name = `bench.iaq.${kind}`
      process.stderr.write(`  ${kind}: fitting\n`)
      let fitted: ForecastModel
      try {
        fitted = await fitIaqModel(s.runtime, { algorithm: kind, data, params: FIT_PARAMS[kind] })
      } catch (error) {
        // ONNX is a loader of models trained elsewhere: nothing to fit here.
        results.push({
          name: `${kind}: not trainable here`,
          figure: Number.NaN,
          unit: '',
          notes: String(error).slice(0, 160),
        })
        continue
      }
      await registerIaqModel(s.runtime, { name, model: fitted })
      fitted.dispose()
      const path = `/invocations?model=${name}@1`
      const { store, lake } = s.runtime.app
      const bare = (await loadForecastModel({ store, lake, trainers: s.runtime.trainers }, `${name}@1`)).model

      const route = await bareRoute(bare)
      const pooled = { http: [] as number[], bare: [] as number[], route: [] as number[] }
      const rate = { http: [] as number[], bare: [] as number[] }
      const cpuPerCall = { http: [] as number[], route: [] as number[] }
      // `requests` single-window calls to `target`, one at a time.
      const singles = (target: number, url: string, requests: number): Promise<LoadResult> =>
        loadTest({
          port: target,
          method: 'POST',
          paths: [url],
          bodies: singleBodies,
          headers,
          concurrency: 1,
          requests,
        })
      // Warm both servers (JIT, connections) by count: a fast client would finish a timed warm-up in no calls.
      await singles(port, path, 300)
      await singles(route.port, '/invocations', 300)
      const started = performance.now()
      for (let r = 0; r < repeats; r++) {
        process.stderr.write(
          `  ${kind}: repeat ${r + 1} of ${repeats} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`,
        )
        // Alternate bare and HTTP in each repeat so both see the same machine load, and take the two HTTP
        // servers in turns: whichever runs right after the bare loop meets the garbage that loop left.
        const bareLatencies = await barePredict(bare, windows, calls)
        // The timed calls to `target`, the server's CPU per call kept in `cpuInto`.
        const single = async (target: number, url: string, cpuInto: number[]): Promise<LoadResult> => {
          const cpu = process.cpuUsage()
          const result = await singles(target, url, calls)
          cpuInto.push(cpuMicros(process.cpuUsage(cpu)) / calls)
          return result
        }
        let http: LoadResult
        let floor: LoadResult
        if (r % 2 === 0) {
          http = await single(port, path, cpuPerCall.http)
          floor = await single(route.port, '/invocations', cpuPerCall.route)
        } else {
          floor = await single(route.port, '/invocations', cpuPerCall.route)
          http = await single(port, path, cpuPerCall.http)
        }
        if (Object.keys(http.statuses).some((status) => status !== '200'))
          throw new Error(`${kind}: answers ${JSON.stringify(http.statuses)}`)
        pooled.route.push(...floor.latenciesMs)
        pooled.bare.push(...bareLatencies)
        pooled.http.push(...http.latenciesMs)
        rate.bare.push(await bareRate(bare, windows, rateMs))
        const batched = await loadTest({
          port,
          method: 'POST',
          paths: [path],
          bodies: [batchBody],
          headers,
          concurrency: 2,
          durationMs: rateMs,
          warmupMs: 200,
        })
        const answered = Object.values(batched.statuses).reduce((a, b) => a + b, 0)
        // Only answered forecasts count (a slow model can make the server shed load with 429).
        rate.http.push(batched.rate * BATCH * ((batched.statuses['200'] ?? 0) / Math.max(1, answered)))
      }
      await route.close()
      bare.dispose()
      const p50 = { http: quantile(pooled.http, 0.5), bare: quantile(pooled.bare, 0.5) }
      const p99 = {
        http: quantile(pooled.http, 0.99),
        bare: quantile(pooled.bare, 0.99),
        route: quantile(pooled.route, 0.99),
      }
      const overhead = p99.http - p99.bare
      results.push(
        {
          name: `${kind}: POST /invocations p50, 1 window`,
          figure: p50.http,
          unit: 'ms',
          baseline: { name: 'bare predict p50', figure: p50.bare },
          ratio: p50.http / p50.bare,
          notes: 'lower is better; ratio = HTTP / bare',
        },
        {
          name: `${kind}: POST /invocations p99, 1 window`,
          figure: p99.http,
          unit: 'ms',
          baseline: { name: 'bare predict p99', figure: p99.bare },
          ratio: p99.http / p99.bare,
          target: `overhead <= ${TARGET_OVERHEAD_MS} ms (is ${overhead.toFixed(3)} ms)`,
          met: overhead <= TARGET_OVERHEAD_MS,
          notes: `overhead = HTTP p99 - bare p99, each over ${repeats} x ${calls} calls`,
        },
        {
          name: `${kind}: POST /invocations p99 beside a bare Fastify route`,
          figure: p99.http,
          unit: 'ms',
          baseline: { name: 'bare Fastify route, same model, p99', figure: p99.route },
          ratio: p99.http / p99.route,
          notes: "the machine's own HTTP floor: no key check, signature check, registry or metrics",
        },
        {
          name: `${kind}: CPU per call (server)`,
          figure: median(cpuPerCall.http),
          unit: 'µs',
          baseline: { name: 'bare Fastify route', figure: median(cpuPerCall.route) },
          ratio: median(cpuPerCall.http) / median(cpuPerCall.route),
          notes:
            "the server process's CPU time (the client runs in its own process), less sensitive to a busy machine than p99",
        },
        {
          name: `${kind}: forecasts/s, ${BATCH} windows per call`,
          figure: median(rate.http),
          unit: 'windows/s',
          baseline: { name: 'bare predict', figure: median(rate.bare) },
          ratio: median(rate.http) / median(rate.bare),
        },
      )
    }
  } finally {
    await s.close()
  }
  return results
}
