/**
 * A real airlake server for the dashboard: `startRuntime` over a DuckDB home in a temp dir, serving the
 * built dashboard, fed through the HTTP API with the real 5-second sensor series of data/ (one mote's
 * temperature and humidity, averaged per minute and moved so that the series ends at the current minute).
 *
 * Forecasts are the server's own: a ridge model is trained on the older part of the series with
 * `startTraining` and promoted with `promoteModel`, and a second ridge version (a shorter window) lands as
 * challenger, so the bandit has two arms; the next part of the series is then sent minute by minute, so
 * the live forecaster writes its forecasts beside the actuals and the bandit scores them.
 * The newest minutes are held back for the caller to send (`sendNext`), as a device would.
 *
 * Run directly to work on the dashboard: `npx tsx test/support/dashboard-server.ts` (PORT, default 8090).
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { openApp } from '../../src/app.js'
import { loadConfig } from '../../src/config.js'
import { silentLogger } from '../../src/core/ports/logger.js'
import { loadWsnReadings, wsnDeviceId } from '../../src/pipeline/datasets.js'
import { promoteModel } from '../../src/pipeline/registry.js'
import { startTraining } from '../../src/pipeline/train.js'
import { type Runtime, startRuntime } from '../../src/runtime.js'

const MINUTE = 60_000

/** The device the dashboard is shown with: an outdoor mote of the single-hop deployment (7 h of data). */
export const MAIN_DEVICE = wsnDeviceId('single_hop', 3)
/** The measure the models forecast. */
export const FORECAST_MEASURE = 'temperature'

/** One minute of a device: its measures' mean values. */
export interface MinuteRow {
  time: number
  values: Record<string, number>
}

export interface DashboardServer {
  url: string
  key: string
  runtime: Runtime
  /** Minutes of `MAIN_DEVICE` not sent yet (the newest of the series). */
  readonly heldBack: number
  /** Sends the next held-back minute of `MAIN_DEVICE` and waits for its forecast; answers the minute sent. */
  sendNext(): Promise<MinuteRow>
  /** Sends minutes of another mote of the data set (a device the server has not seen), ending at `endTime`. */
  sendDevice(deviceId: string, minutes: number, endTime: number): Promise<void>
  close(): Promise<void>
}

export interface DashboardServerOptions {
  port?: number
  webRoot?: string
  /** Minutes kept back for `sendNext` (default 5). */
  holdBack?: number
  /** Minutes sent one at a time after training, each forecast live (default 30). */
  replay?: number
}

/** Per-minute means of a mote's readings, oldest first, shifted so the last minute is `endTime`. */
export function moteMinutes(deployment: string, mote: number, endTime: number): MinuteRow[] {
  const deviceId = wsnDeviceId(deployment, mote)
  const sums = new Map<number, Map<string, { sum: number; n: number }>>()
  for (const reading of loadWsnReadings({ devices: [deviceId] })) {
    const minute = Math.floor(reading.time / MINUTE) * MINUTE
    let measures = sums.get(minute)
    if (!measures) {
      measures = new Map()
      sums.set(minute, measures)
    }
    const cell = measures.get(reading.measure) ?? { sum: 0, n: 0 }
    cell.sum += reading.value
    cell.n += 1
    measures.set(reading.measure, cell)
  }
  const minutes = [...sums.keys()].sort((a, b) => a - b)
  const shift = endTime - minutes[minutes.length - 1]!
  return minutes.map((minute) => ({
    time: minute + shift,
    values: Object.fromEntries(
      [...sums.get(minute)!].map(([measure, { sum, n }]) => [measure, Math.round((sum / n) * 100) / 100]),
    ),
  }))
}

export async function startDashboardServer(options: DashboardServerOptions = {}): Promise<DashboardServer> {
  const home = await mkdtemp(join(tmpdir(), 'airlake-dashboard-'))
  const key = `al_test_${randomBytes(12).toString('hex')}`
  const config = loadConfig({ AIRLAKE_HOME: home, AIRLAKE_API_KEY: key, AIRLAKE_LOG_LEVEL: 'silent' })
  let runtime: Runtime | undefined
  try {
    const app = await openApp(config, { logger: silentLogger })
    runtime = await startRuntime(app, {
      port: options.port ?? 0,
      host: '127.0.0.1',
      webRoot: options.webRoot ?? resolve('web/dist'),
      schedule: false,
    })
  } catch (error) {
    await rm(home, { recursive: true, force: true })
    throw error
  }
  const started = runtime
  const url = started.url

  const post = async (rows: Array<{ time: number; device: string; measure: string; value: number }>) => {
    for (let i = 0; i < rows.length; i += 5000) {
      const body = JSON.stringify(
        rows.slice(i, i + 5000).map((r) => ({ ...r, time: new Date(r.time).toISOString() })),
      )
      let response: Response
      // A busy machine can make the server shed load (429, retry-after): wait and send again, as a device would.
      for (let attempt = 1; ; attempt++) {
        response = await fetch(`${url}/sensorsdata/batch`, {
          method: 'POST',
          headers: { 'x-api-key': key, 'content-type': 'application/json' },
          body,
        })
        if (response.status !== 429 || attempt === 10) break
        await response.arrayBuffer()
        await new Promise((resolve) =>
          setTimeout(resolve, 1000 * Number(response.headers.get('retry-after') ?? 1)),
        )
      }
      const answer = (await response.json()) as { stored?: number; rejected?: number }
      if (!response.ok || answer.rejected)
        throw new Error(`POST /sensorsdata/batch answered ${response.status}: ${JSON.stringify(answer)}`)
    }
  }
  // The bus hands `readings.stored` to the forecaster after the answer: wait until its forecasts are written.
  const settle = async () => {
    await started.app.bus.drain()
    await started.forecaster.idle()
  }
  const longRows = (device: string, minutes: MinuteRow[]) =>
    minutes.flatMap((m) =>
      Object.entries(m.values).map(([measure, value]) => ({ time: m.time, device, measure, value })),
    )

  try {
    const now = Math.floor(Date.now() / MINUTE) * MINUTE
    const series = moteMinutes('single_hop', 3, now)
    const holdBack = options.holdBack ?? 5
    const replay = options.replay ?? 30
    const history = series.slice(0, series.length - holdBack - replay)
    const replayed = series.slice(history.length, series.length - holdBack)
    const pending = series.slice(series.length - holdBack)

    await post(longRows(MAIN_DEVICE, history))
    const training = started.training
    const first = await startTraining(training, {
      deviceId: MAIN_DEVICE,
      measure: FORECAST_MEASURE,
      models: ['ridge'],
    })
    const firstRun = await first.done
    if (firstRun.status !== 'succeeded')
      throw new Error(`training run ${first.runId} ended ${firstRun.status}: ${firstRun.error ?? ''}`)
    await promoteModel(training, {
      name: `${MAIN_DEVICE}.${FORECAST_MEASURE}.ridge`,
      version: 1,
      alias: 'champion',
    })
    const second = await startTraining(training, {
      deviceId: MAIN_DEVICE,
      measure: FORECAST_MEASURE,
      models: ['ridge'],
      window: 30,
    })
    const secondRun = await second.done
    if (secondRun.status !== 'succeeded')
      throw new Error(`training run ${second.runId} ended ${secondRun.status}: ${secondRun.error ?? ''}`)

    for (const minute of replayed) {
      await post(longRows(MAIN_DEVICE, [minute]))
      await settle()
    }

    return {
      url,
      key,
      runtime: started,
      get heldBack() {
        return pending.length
      },
      async sendNext() {
        const minute = pending.shift()
        if (!minute) throw new Error('every minute of the series has been sent')
        await post(longRows(MAIN_DEVICE, [minute]))
        await settle()
        return minute
      },
      async sendDevice(deviceId, minutes, endTime) {
        const match = /^wsn-(single|multi)-hop-(\d)$/.exec(deviceId)
        const end = Math.floor(endTime / MINUTE) * MINUTE
        const rows = match ? moteMinutes(`${match[1]}_hop`, Number(match[2]), end) : []
        if (rows.length === 0)
          throw new Error(`${deviceId} is not a mote of the data set (wsn-single-hop-1 … wsn-multi-hop-4)`)
        await post(longRows(deviceId, rows.slice(-minutes)))
        await settle()
      },
      async close() {
        await started.stop()
        await rm(home, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await started.stop()
    await rm(home, { recursive: true, force: true })
    throw error
  }
}

// Run directly: the server above, then one held-back minute every 20 s and a new device after a minute.
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startDashboardServer({ port: Number(process.env.PORT ?? 8090), holdBack: 10 })
  console.log(`dashboard on ${server.url}  key ${server.key}`)
  const timer = setInterval(() => {
    if (server.heldBack === 0) return clearInterval(timer)
    void server.sendNext().then((m) => console.log(`sent ${new Date(m.time).toISOString()}`))
  }, 20_000)
  const arrival = setTimeout(
    () => void server.sendDevice(wsnDeviceId('multi_hop', 1), 120, Date.now()),
    60_000,
  )
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      clearInterval(timer)
      clearTimeout(arrival)
      void server.close().then(() => process.exit(0))
    })
  }
}
