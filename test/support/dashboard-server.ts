/**
 * The real API server (createServer + DuckdbStore + FsLake + InProcessBus) in a temp dir, serving the
 * built dashboard, for browser tests and for working on the dashboard (`npx tsx test/support/dashboard-server.ts`).
 *
 * Readings go in through the HTTP API like a device's. Forecasts: the server's own forecaster when the
 * composition root wires one; until then `forecast()` here writes a damped-trend forecast for a device
 * through the same store and bus messages the forecaster uses, so the page sees exactly what it would.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { DuckdbStore } from '../../src/adapters/duckdb/duckdb-store.js'
import { FsLake } from '../../src/adapters/fs-lake/fs-lake.js'
import { InProcessBus } from '../../src/adapters/in-process/in-process-bus.js'
import { type ApiDeps, createServer } from '../../src/api/server.js'
import { loadConfig } from '../../src/config.js'
import type { Bus } from '../../src/core/ports/bus.js'
import { systemClock } from '../../src/core/ports/clock.js'
import { silentLogger } from '../../src/core/ports/logger.js'
import type { Store } from '../../src/core/ports/store.js'
import type { Prediction } from '../../src/core/types.js'
import { BronzeWriter } from '../../src/pipeline/bronze.js'
import { devRoutes } from './dashboard-dev-routes.js'

const MINUTE = 60_000

export interface DashboardServer {
  url: string
  key: string
  store: Store
  bus: Bus
  /** Stores readings through `POST /sensorsdata/batch` (vendor objects, one per minute). */
  sendReadings(deviceId: string, readings: Array<{ time: number; values: IndoorValues }>): Promise<void>
  /** Stores one reading through `PUT /sensorsdata`, as a device does. */
  putReading(deviceId: string, time: number, values: IndoorValues): Promise<void>
  /** Writes and publishes the next `horizon` minutes of forecasts of `measure` from the device's last hour. */
  forecast(deviceId: string, measure: string, options?: { horizon?: number; modelVersion?: string }): Promise<Prediction[]>
  close(): Promise<void>
}

/** The vendor's six indoor values. */
export interface IndoorValues {
  temperature: number
  humidity: number
  pressure: number
  iaq: number
  co2: number
  voc: number
}

export async function startDashboardServer(options: { port?: number; webRoot?: string } = {}): Promise<DashboardServer> {
  const dir = await mkdtemp(join(tmpdir(), 'airlake-dashboard-'))
  const key = `al_test_${randomBytes(12).toString('hex')}`
  const config = loadConfig({ AIRLAKE_API_KEY: key, AIRLAKE_LOG_LEVEL: 'silent' }, { home: dir })
  const store = await DuckdbStore.open(join(dir, 'store.duckdb'), { logger: silentLogger })
  await store.migrate()
  const lake = await FsLake.open(join(dir, 'lake'))
  const bus = new InProcessBus(silentLogger)
  const bronze = new BronzeWriter(lake, systemClock)
  const deps: ApiDeps = { store, bus, clock: systemClock, logger: silentLogger, bronze, config, extraRoutes: [devRoutes] }
  let app: FastifyInstance | undefined
  try {
    app = await createServer(deps, { webRoot: options.webRoot ?? resolve('web/dist'), eventsHeartbeatMs: 5_000 })
    await app.listen({ host: '127.0.0.1', port: options.port ?? 0 })
  } catch (error) {
    await app?.close()
    await store.close()
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
  const server = app

  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`)
  }
  const vendor = (deviceId: string, time: number, v: IndoorValues) => ({
    devid: deviceId,
    ts: new Date(time).toUTCString(),
    readings: [1, v.temperature, v.humidity, v.pressure, v.iaq, v.co2, v.voc],
  })

  return {
    url,
    key,
    store,
    bus,
    async sendReadings(deviceId, readings) {
      for (let i = 0; i < readings.length; i += 500) {
        const items = readings.slice(i, i + 500).map((r) => vendor(deviceId, r.time, r.values))
        await call('POST', '/sensorsdata/batch', items)
      }
    },
    async putReading(deviceId, time, values) {
      await call('PUT', '/sensorsdata', vendor(deviceId, time, values))
    },
    async forecast(deviceId, measure, forecastOptions = {}) {
      const horizon = forecastOptions.horizon ?? 15
      const modelVersion = forecastOptions.modelVersion ?? `${deviceId}.${measure}.trend@1`
      const now = Date.now()
      const series = await store.readingSeries(deviceId, measure, now - 6 * 60 * MINUTE, now + MINUTE)
      const last = series[series.length - 1]
      if (!last) return []
      const predictions = dampedTrend(series.map((r) => r.value), horizon).map(
        (value, i): Prediction => ({
          time: last.time + (i + 1) * MINUTE,
          deviceId,
          measureName: `${measure}~${i + 1}`,
          value,
          modelVersion,
          issuedAt: now,
        }),
      )
      await store.writePredictions(predictions)
      await bus.publish('predictions.written', { deviceId, measure, modelVersion, predictions })
      return predictions
    },
    async close() {
      await server.close()
      await bronze.close()
      await bus.close()
      await store.close()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

/**
 * Holt's linear smoothing with a damped trend (alpha 0.5, beta 0.3, phi 0.9): a forecast that bends
 * with the recent slope and flattens out, as a trained model's would.
 */
export function dampedTrend(values: readonly number[], horizon: number): number[] {
  if (values.length === 0) return []
  const alpha = 0.5
  const beta = 0.3
  const phi = 0.9
  let level = values[0]!
  let trend = values.length > 1 ? values[1]! - values[0]! : 0
  for (const value of values.slice(1)) {
    const previous = level
    level = alpha * value + (1 - alpha) * (level + phi * trend)
    trend = beta * (level - previous) + (1 - beta) * phi * trend
  }
  const out: number[] = []
  let damping = 0
  for (let h = 1; h <= horizon; h++) {
    damping += phi ** h
    out.push(level + damping * trend)
  }
  return out
}

/**
 * Plausible indoor air for minute `t` of a room: occupancy raises CO2 and IAQ in working hours, with
 * deterministic wobble from `seed` (the same inputs give the same values).
 */
export function indoorAir(time: number, seed = 1): IndoorValues {
  const hours = (time / 3_600_000) % 24
  const occupancy = Math.max(0, Math.sin(((hours - 7) / 12) * Math.PI))
  const wobble = (k: number) => Math.sin(time / (MINUTE * (7 + k)) + seed * (k + 1)) * 0.5 + Math.sin(time / (MINUTE * (3.3 + k)) + seed) * 0.3
  const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits
  return {
    temperature: round(21 + 2.5 * occupancy + 0.3 * wobble(1), 2),
    humidity: round(45 + 6 * occupancy + 1.5 * wobble(2), 2),
    pressure: round(100.9 + 0.15 * Math.sin(time / (6 * 3_600_000)), 3),
    iaq: Math.round(60 + 90 * occupancy + 18 * wobble(3)),
    co2: round(480 + 520 * occupancy + 40 * wobble(4), 1),
    voc: round(0.6 + 0.9 * occupancy + 0.15 * wobble(5), 3),
  }
}

// Run directly: a server with two devices, live readings every 10 s and forecasts after each.
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startDashboardServer({ port: Number(process.env.PORT ?? 8090) })
  const now = Math.floor(Date.now() / MINUTE) * MINUTE
  for (const [device, seed] of [
    ['7BB92D02D696C5C5', 1],
    ['A1C45E0F9B3D2E77', 2],
  ] as const) {
    const history = Array.from({ length: 24 * 60 }, (_, i) => now - (24 * 60 - 1 - i) * MINUTE).map((time) => ({
      time,
      values: indoorAir(time, seed),
    }))
    await server.sendReadings(device, history)
    await server.forecast(device, 'iaq')
  }
  console.log(`dashboard on ${server.url}  key ${server.key}`)
  setInterval(async () => {
    const time = Math.floor(Date.now() / MINUTE) * MINUTE
    await server.putReading('7BB92D02D696C5C5', time, indoorAir(time + Math.random() * 30_000, 1))
    await server.forecast('7BB92D02D696C5C5', 'iaq')
  }, 10_000)
}
