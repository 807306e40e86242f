import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { openApp } from '../src/app.js'
import { type Config, loadConfig } from '../src/config.js'
import { type Clock, ManualClock, systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { floorToStep, formatRecordTime, HOUR_MS } from '../src/core/time.js'
import { type Runtime, startRuntime } from '../src/runtime.js'
import {
  DEFAULT_LOCATION,
  type FakeOpenaqServer,
  startFakeOpenaqServer,
} from './support/fake-openaq-server.js'
import { type FakeVendorServer, startFakeVendorServer } from './support/fake-vendor-server.js'
import { type PrivateMosquitto, startPrivateMosquitto } from './support/private-mosquitto.js'

const API_KEY = 'sources-runtime-key-0123456789'
const T0 = Date.UTC(2023, 1, 7, 11, 29, 19)

async function start(
  home: string,
  env: Record<string, string>,
  overrides: Partial<Config> = {},
  clock: Clock = systemClock,
): Promise<Runtime> {
  const config = loadConfig(
    { AIRLAKE_HOME: home, AIRLAKE_API_KEY: API_KEY, HOST: '127.0.0.1', ...env },
    overrides,
  )
  const app = await openApp(config, { logger: silentLogger, clock })
  return startRuntime(app, { port: 0, webRoot: false, schedule: false })
}

/** GET /sensorsdata for one device over all time: the envelope's records as objects by column name. */
async function records(runtime: Runtime, device: string): Promise<Array<Record<string, string | null>>> {
  const response = await fetch(
    `${runtime.url}/sensorsdata?device=${device}&from=0&to=4102444800&limit=1000`,
    { headers: { 'x-api-key': API_KEY } },
  )
  assert.equal(response.status, 200)
  const body = (await response.json()) as {
    Records: Array<Array<string | null>>
    Metadata: { ColumnName: string[] }
  }
  return body.Records.map((record) =>
    Object.fromEntries(body.Metadata.ColumnName.map((name, i) => [name, record[i] ?? null])),
  )
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function publish(url: string, messages: Array<[topic: string, payload: string]>): Promise<void> {
  const client = await mqtt.connectAsync(url, {
    clientId: `airlake-test-pub-${randomBytes(4).toString('hex')}`,
  })
  try {
    for (const [topic, payload] of messages) await client.publishAsync(topic, payload, { qos: 1 })
  } finally {
    await client.endAsync()
  }
}

const vendorReading = (devid: string, minute: number, humidity = 45) =>
  JSON.stringify({
    devid,
    id: 1 + minute,
    readings: [1, 22.5, humidity, 101.1, 100, 650, 0.9],
    ts: new Date(T0 + minute * 60_000).toUTCString(),
  })

describe('MQTT through the running server (MQTT_URL set)', () => {
  let broker: PrivateMosquitto
  let home: string
  let runtime: Runtime
  before(async () => {
    broker = await startPrivateMosquitto()
    home = await mkdtemp(join(tmpdir(), 'airlake-sources-runtime-'))
    runtime = await start(home, { MQTT_URL: broker.url })
  })
  after(async () => {
    await runtime?.stop()
    await broker?.close()
    await rm(home, { recursive: true, force: true })
  })

  it('stores what devices publish on airlake/<device>/readings once, rejects the rest with reasons, and resubscribes after the broker restarts', async () => {
    const device = 'MQTTRUN000000001'
    const first = vendorReading(device, 0)
    await publish(broker.url, [
      [`airlake/${device}/readings`, first],
      [`airlake/${device}/readings`, first],
      [
        'airlake/room-7/readings',
        JSON.stringify({ time: '2023-02-07T11:30:00Z', measure: 'co2', value: 700 }),
      ],
      [
        'airlake/room-7/readings',
        JSON.stringify({ time: '2023-02-07T11:31:00Z', measure: 'humidity', value: 150 }),
      ],
      ['airlake/room-7/readings', '{"oops"'],
    ])
    await waitFor(
      'the readings through GET /sensorsdata',
      async () => (await records(runtime, device)).length === 1,
    )
    await waitFor('the long row', async () => (await records(runtime, 'room-7')).length === 1)
    const [record] = await records(runtime, device)
    assert.equal(Number(record?.humidity), 45)
    const store = runtime.app.store
    assert.equal(await store.countReadings({ source: 'mqtt', deviceId: device }), 6)
    await waitFor('the rejections', async () => (await store.countRejections({ source: 'mqtt' })) === 2)
    // Four distinct records in (one sent twice): two stored (6 + 1 rows), two kept in `rejected`.
    assert.equal(await store.countReadings({ source: 'mqtt' }), 7)
    const reasons = (await store.listRejections({ source: 'mqtt' })).map((r) => `${r.code} ${r.reason}`)
    assert.ok(reasons.some((r) => /READING_IMPOSSIBLE .*humidity 150/.test(r)))
    assert.ok(reasons.some((r) => /BAD_REQUEST .*not valid JSON/.test(r)))

    await broker.stop()
    await broker.start()
    // The broker forgot nothing (persistence) but dropped the connection; the subscriber reconnects by itself.
    await waitFor(
      'the reading published after the restart',
      async () => {
        await publish(broker.url, [[`airlake/${device}/readings`, vendorReading(device, 1)]]).catch(() => {})
        return (await records(runtime, device)).length === 2
      },
      30_000,
    )
    assert.equal(await store.countReadings({ source: 'mqtt', deviceId: device }), 12)
  })
})

describe('configured sources, scheduled by the running server', () => {
  let vendor: FakeVendorServer
  let openaq: FakeOpenaqServer
  let home: string
  let runtime: Runtime
  const hourNow = floorToStep(Date.now(), HOUR_MS)
  const clock = new ManualClock(hourNow + 20 * 60_000)
  before(async () => {
    vendor = await startFakeVendorServer()
    openaq = await startFakeOpenaqServer()
    home = await mkdtemp(join(tmpdir(), 'airlake-sources-runtime-'))
    runtime = await start(
      home,
      {},
      {
        sources: [
          { kind: 'vendor', name: 'office', url: vendor.url, token: vendor.token },
          {
            kind: 'openaq',
            name: 'del-norte',
            locationId: DEFAULT_LOCATION.id,
            baseUrl: openaq.url,
            apiKey: openaq.apiKey,
          },
        ],
      },
      clock,
    )
  })
  after(async () => {
    await runtime?.stop()
    await vendor?.close()
    await openaq?.close()
    await rm(home, { recursive: true, force: true })
  })

  it('polls the vendor every minute: new readings stored through the ingestion path, nothing twice', async () => {
    const job = runtime.scheduler.status().find((j) => j.name === 'poll-vendor:office')
    assert.equal(job?.cron, '* * * * *')
    vendor.addReading({ devid: 'VENDRUN000000001', time: T0, values: [21, 40, 101.2, 80, 600, 0.5] })
    vendor.addReading({ devid: 'VENDRUN000000002', time: T0, values: [21, 130, 101.2, 80, 600, 0.5] })
    await runtime.scheduler.runNow('poll-vendor:office')
    await runtime.scheduler.runNow('poll-vendor:office')
    assert.equal(
      runtime.scheduler.status().find((j) => j.name === 'poll-vendor:office')?.lastError,
      undefined,
    )
    const [record] = await records(runtime, 'VENDRUN000000001')
    assert.deepEqual([Number(record?.co2), Number(record?.temperature)], [600, 21])
    const store = runtime.app.store
    // Two readings in: one stored whole, one stored without its impossible humidity (kept in `rejected`).
    assert.equal(await store.countReadings({ source: 'vendor' }), 6 + 5)
    assert.equal(await store.countRejections({ source: 'vendor' }), 1)
  })

  it('keeps the OpenAQ location current: hourly values through every page and a 429, then only new hours', async () => {
    const sensor = DEFAULT_LOCATION.sensors.find((s) => s.parameter.id === 2)?.id ?? 0
    openaq.addHours(sensor, hourNow - 1_200 * HOUR_MS, 1_200, (i) => (i === 1_000 ? null : 8 + (i % 10)))
    openaq.failNext('429', 1, { retryAfterSeconds: 1 })
    await runtime.scheduler.runNow('import-openaq:del-norte')
    assert.equal(
      runtime.scheduler.status().find((j) => j.name === 'import-openaq:del-norte')?.lastError,
      undefined,
    )
    const store = runtime.app.store
    // The default window is the last 30 days (720 hours) before the current hour.
    assert.equal(await store.countReadings({ source: 'openaq' }), 719)
    assert.equal(await store.countRejections({ source: 'openaq' }), 1)
    const newest = (await records(runtime, 'openaq-2178'))[0]
    assert.equal(newest?.time, formatRecordTime(hourNow - HOUR_MS))
    assert.equal(Number(newest?.pm25), 8 + (1_199 % 10))

    // The hour under way is not final: it is fetched on the first run after it ends, alone.
    openaq.addHours(sensor, hourNow, 1, () => 30)
    const before = openaq.requests.length
    await runtime.scheduler.runNow('import-openaq:del-norte')
    assert.equal(openaq.requests.slice(before).filter((r) => r.includes('/hours')).length, 0)
    clock.advance(HOUR_MS)
    await runtime.scheduler.runNow('import-openaq:del-norte')
    const asked = openaq.requests.slice(before).filter((r) => r.includes('/hours'))
    assert.equal(asked.length, 1)
    assert.match(
      decodeURIComponent(asked[0] ?? ''),
      new RegExp(`datetime_from=${new Date(hourNow).toISOString()}`),
    )
    assert.equal(await store.countReadings({ source: 'openaq' }), 720)
    assert.equal(Number((await records(runtime, 'openaq-2178'))[0]?.pm25), 30)
  })
})
