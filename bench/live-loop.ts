/**
 * The live loop of seed 002 on the real runtime and the embedded store: N devices each send one vendor
 * reading a second (each a new minute of its series), through the one ingestion path (`ingestRecords`:
 * bronze, store, bus), while a shared ridge champion forecasts every reading's next 15 minutes. Measures
 * the time from a reading acknowledged (ingest resolved) to its 15 forecasts committed (the forecaster's
 * `predictions.written`, published after the store write), after a short warm-up, and counts forecasts
 * lost: readings whose forecast never came, checked against the predictions table at the end.
 *
 * Full: 1,000 readings/s for 5 minutes; --quick: 200 readings/s for 15 s; `LIVE_SECONDS=n` runs n seconds.
 * Baseline in the same run: the bare store commit of 15 prediction rows. Issue 5's target: p99 at most
 * 20 ms, no forecast lost.
 */

import { readingsFromVendor } from '../src/core/readings.js'
import type { Reading } from '../src/core/types.js'
import { ingestRecords } from '../src/pipeline/ingest.js'
import { syntheticIaq } from '../test/helpers/forecast-data.js'
import { fitIaqModel, openServingRuntime, registerIaqModel } from '../test/helpers/serving-runtime.js'
import { type BenchOptions, type BenchResult, quantile } from './types.js'

const MIN = 60_000
const TARGET_P99_MS = 20

export async function run({ quick = false }: BenchOptions): Promise<BenchResult[]> {
  const devices = quick ? 200 : 1000
  const seconds = Number(process.env.LIVE_SECONDS ?? (quick ? 15 : 300))
  const rate = devices
  const total = devices * seconds
  // The first seconds read every device's window from the store once (cold) and warm the JIT: they count
  // for forecasts lost, not for latency.
  const warmupSeconds = quick ? 2 : 10
  const s = await openServingRuntime({ AIRLAKE_RETENTION_DAYS: '0' })
  try {
    const { app } = s.runtime
    const { store, bus } = app
    await registerIaqModel(s.runtime, {
      name: 'fleet.iaq.ridge',
      model: await fitIaqModel(s.runtime),
      alias: 'champion',
    })
    // Minute k of every device's series is BASE + k minutes; live readings are minutes 1..seconds.
    const base = Math.floor(Date.now() / MIN) * MIN - (seconds + 60) * MIN
    const deviceId = (d: number) => `fleet-${String(d).padStart(4, '0')}`
    const warmupUntil = base + warmupSeconds * MIN

    // An hour of history per device, straight into the store (not on the bus: no forecasts from it).
    const history: Reading[] = []
    for (let d = 0; d < devices; d++) {
      for (let minute = -59; minute <= 0; minute++) {
        history.push({
          time: base + minute * MIN,
          deviceId: deviceId(d),
          measure: 'iaq',
          value: syntheticIaq(minute + d),
          source: 'bench',
        })
      }
    }
    for (let i = 0; i < history.length; i += 10_000) await store.writeReadings(history.slice(i, i + 10_000))

    // Baseline: the bare commit of one forecast's 15 rows.
    const bare: number[] = []
    for (let i = 0; i < 300; i++) {
      const rows = Array.from({ length: 15 }, (_, h) => ({
        time: base + (i + h + 1) * MIN,
        deviceId: 'baseline',
        measureName: `iaq~${h + 1}`,
        value: 100,
        modelVersion: 'baseline@1',
        issuedAt: Date.now(),
      }))
      const started = performance.now()
      await store.writePredictions(rows)
      bare.push(performance.now() - started)
    }

    // When each reading (minute m of device d, index (m - 1) * devices + d) was acknowledged and its
    // forecasts committed. Typed arrays, not maps of strings: 300,000 entries of bookkeeping in the
    // collected heap made the old generation's marking (and its pauses) the bench's own.
    const acked = new Float64Array(total).fill(Number.NaN)
    const committed = new Float64Array(total).fill(Number.NaN)
    const deviceIndex = new Map(Array.from({ length: devices }, (_, d) => [deviceId(d), d]))
    const indexOf = (device: string, readingTime: number): number => {
      const d = deviceIndex.get(device)
      const minute = (readingTime - base) / MIN
      return d === undefined || minute < 1 || minute > seconds ? -1 : (minute - 1) * devices + d
    }
    const ingestMs = new Float64Array(total).fill(Number.NaN)
    const unsubscribe = bus.subscribe('predictions.written', (message) => {
      const at = performance.now()
      const first = message.predictions[0]
      if (first === undefined) return
      const i = indexOf(message.deviceId, first.time - MIN)
      if (i >= 0) committed[i] = at
    })
    const before = s.runtime.forecaster.metrics()

    let sent = 0
    let failedIngests = 0
    const inflight = new Set<Promise<void>>()
    const send = (i: number): void => {
      const d = i % devices
      const minute = Math.floor(i / devices) + 1
      const body = {
        devid: deviceId(d),
        ts: (base + minute * MIN) / 1000,
        readings: [1, 22.5, 45, 100.9, Number(syntheticIaq(minute + d).toFixed(3)), 600, 1.1],
      }
      const started = performance.now()
      const work = ingestRecords(app, {
        source: 'bench',
        records: [{ raw: JSON.stringify(body), readings: readingsFromVendor(body, 'bench') }],
      })
        .then(() => {
          const at = performance.now()
          ingestMs[i] = at - started
          acked[i] = at
        })
        .catch(() => {
          failedIngests++
        })
      inflight.add(work)
      void work.finally(() => inflight.delete(work))
    }
    const started = performance.now()
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate))
      while (sent < due) send(sent++)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await Promise.all([...inflight])
    const sendSeconds = (performance.now() - started) / 1000
    await bus.drain()
    await s.runtime.forecaster.idle()
    await bus.drain()
    unsubscribe()

    const latencies: number[] = []
    // A reading without its own forecast was either merged into a newer reading's forecast of the same
    // device (coalesced: the newer forecast covers the series) or lost (no later forecast came either).
    const newestForecast = new Float64Array(devices).fill(-1)
    committed.forEach((at, i) => {
      if (!Number.isNaN(at)) newestForecast[i % devices] = Math.floor(i / devices)
    })
    let superseded = 0
    let lost = 0
    let ackedCount = 0
    acked.forEach((ack, i) => {
      if (Number.isNaN(ack)) return
      ackedCount++
      const at = committed[i]!
      const minute = Math.floor(i / devices) + 1
      if (!Number.isNaN(at)) {
        if (base + minute * MIN > warmupUntil) latencies.push(Math.max(0, at - ack))
      } else if (newestForecast[i % devices]! > minute - 1) superseded++
      else lost++
    })
    const stored = (await store.countPredictions()) - (await store.countPredictions({ deviceId: 'baseline' }))
    const storedForecasts = stored / 15
    const after = s.runtime.forecaster.metrics()
    const p99 = quantile(latencies, 0.99)
    const p99Bare = quantile(bare, 0.99)
    const notes = `${devices} devices x ${seconds} s (first ${warmupSeconds} s not timed); forecaster: ${after.jobs - before.jobs} jobs, ${after.coalesced - before.coalesced} coalesced, ${after.errors - before.errors} errors, ${after.skipped - before.skipped} skipped; ${failedIngests} ingests failed`
    return [
      {
        name: `live loop p99, reading acknowledged -> 15 forecasts committed (${rate}/s)`,
        figure: p99,
        unit: 'ms',
        baseline: { name: 'bare commit of 15 prediction rows p99', figure: p99Bare },
        ratio: p99 / p99Bare,
        target: `<= ${TARGET_P99_MS} ms`,
        met: p99 <= TARGET_P99_MS,
        notes,
      },
      {
        name: 'live loop p50, reading acknowledged -> 15 forecasts committed',
        figure: quantile(latencies, 0.5),
        unit: 'ms',
        baseline: { name: 'bare commit of 15 prediction rows p50', figure: quantile(bare, 0.5) },
        ratio: quantile(latencies, 0.5) / quantile(bare, 0.5),
      },
      {
        name: 'forecasts lost',
        figure: lost,
        unit: 'readings',
        baseline: { name: 'readings acknowledged', figure: ackedCount },
        ratio: lost / Math.max(1, ackedCount),
        target: '0',
        met: lost === 0 && storedForecasts === ackedCount - superseded,
        notes: `predictions table holds ${storedForecasts} forecasts of 15 rows for ${ackedCount} readings`,
      },
      {
        name: 'forecasts superseded (reading merged into a newer one of its device while the forecaster was behind)',
        figure: superseded,
        unit: 'readings',
        baseline: { name: 'readings acknowledged', figure: ackedCount },
        ratio: superseded / Math.max(1, ackedCount),
        notes: 'coalescing by design; 0 when the forecaster keeps up with one reading per device per second',
      },
      {
        name: 'readings/s sustained',
        figure: ackedCount / sendSeconds,
        unit: 'readings/s',
        baseline: { name: 'offered', figure: rate },
        ratio: ackedCount / sendSeconds / rate,
      },
      {
        name: 'ingest p99, reading -> acknowledged (6 rows, bronze, store, bus)',
        figure: quantile(
          Array.from(ingestMs).filter((ms) => !Number.isNaN(ms)),
          0.99,
        ),
        unit: 'ms',
      },
    ]
  } finally {
    await s.close()
  }
}
