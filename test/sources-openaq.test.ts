import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { OpenaqClient, parseFound } from '../src/adapters/openaq/openaq-client.js'
import { isAirlakeError } from '../src/core/errors.js'
import { HOUR_MS } from '../src/core/time.js'
import { importOpenaq, openaqCursorKey } from '../src/pipeline/import-openaq.js'
import {
  DEFAULT_LOCATION,
  type FakeOpenaqServer,
  startFakeOpenaqServer,
} from './support/fake-openaq-server.js'
import { openSourceTestDeps, type SourceTestDeps } from './support/source-deps.js'

const PM25_SENSOR = 3917
const START = Date.UTC(2024, 0, 1)
const fastRetry = { baseDelayMs: 1 }

let openaq: FakeOpenaqServer
let deps: SourceTestDeps
const waits: number[] = []

before(async () => {
  openaq = await startFakeOpenaqServer()
  // 2,500 hours: three pages of 1,000; every 100th hour has no value.
  openaq.addHours(PM25_SENSOR, START, 2_500, (i) => (i % 100 === 99 ? null : 5 + (i % 24)))
  deps = await openSourceTestDeps()
})
after(async () => {
  await openaq.close()
  await deps.close()
})

function api(options: { apiKey?: string | undefined; baseUrl?: string } = {}) {
  return new OpenaqClient({
    baseUrl: options.baseUrl ?? openaq.url,
    apiKey: 'apiKey' in options ? options.apiKey : openaq.apiKey,
    timeoutMs: 1_000,
    sleep: async (ms) => void waits.push(ms),
  })
}

describe('parseFound', () => {
  it('reads numbers, numeric strings and ">N" lower bounds; anything else is unknown', () => {
    assert.deepEqual(parseFound(12), { found: 12, lowerBound: false })
    assert.deepEqual(parseFound('12'), { found: 12, lowerBound: false })
    assert.deepEqual(parseFound('>1000'), { found: 1000, lowerBound: true })
    assert.deepEqual(parseFound('lots'), { found: undefined, lowerBound: false })
    assert.deepEqual(parseFound(null), { found: undefined, lowerBound: false })
  })
})

describe('OpenAQ client', () => {
  it('reads a location with its sensors, undefined for an unknown one', async () => {
    const location = await api().getLocation(DEFAULT_LOCATION.id)
    assert.equal(location?.name, 'Del Norte')
    assert.deepEqual(
      location?.sensors.find((s) => s.parameterId === 2),
      { id: PM25_SENSOR, parameterId: 2, parameterName: 'pm25' },
    )
    assert.equal(await api().getLocation(999_999), undefined)
  })

  it('explains a missing or refused key, retired versions and validation errors', async () => {
    await assert.rejects(
      api({ apiKey: undefined }).getLocation(DEFAULT_LOCATION.id),
      (e) => isAirlakeError(e, 'UPSTREAM_FAILED') && /needs an API key/.test(e.message),
    )
    await assert.rejects(
      api({ apiKey: 'nope' }).getLocation(DEFAULT_LOCATION.id),
      (e) => isAirlakeError(e, 'UPSTREAM_FAILED') && /refused the API key/.test(e.message),
    )
    await assert.rejects(
      api({ baseUrl: `${openaq.url}/v2` }).getLocation(1),
      (e) => isAirlakeError(e, 'UPSTREAM_FAILED') && /410 Gone/.test(e.message),
    )
    await assert.rejects(
      api().sensorHours(PM25_SENSOR, { from: START, to: START + HOUR_MS, page: 1, limit: 5000 }),
      (e) =>
        isAirlakeError(e, 'UPSTREAM_FAILED') &&
        /422\): query.limit: Input should be less than or equal to 1000/.test(e.message),
    )
  })

  it('waits out a 429 for retry-after, or x-ratelimit-reset alone, then carries on', async () => {
    waits.length = 0
    openaq.failNext('429', 1, { retryAfterSeconds: 3 })
    openaq.failNext('429', 1, { retryAfterSeconds: 2, resetOnly: true })
    const page = await api().sensorHours(PM25_SENSOR, {
      from: START,
      to: START + 10 * HOUR_MS,
      page: 1,
      limit: 100,
    })
    assert.equal(page.hours.length, 10)
    assert.deepEqual(waits, [3_000, 2_000])
  })

  it('waits for the reset before the next request when an answer leaves no requests in the window', async () => {
    waits.length = 0
    openaq.failNext('last-allowed', 1, { retryAfterSeconds: 7 })
    const client = api()
    await client.getLocation(DEFAULT_LOCATION.id)
    assert.deepEqual(waits, [])
    await client.sensorHours(PM25_SENSOR, { from: START, to: START + HOUR_MS, page: 1, limit: 10 })
    assert.equal(waits.length, 1)
    assert.ok((waits[0] ?? 0) > 6_000 && (waits[0] ?? 0) <= 7_000, String(waits[0]))
  })

  it('pages by found as a number, a string or a lower bound', async () => {
    for (const style of ['number', 'string', 'gt'] as const) {
      openaq.foundStyle = style
      const query = { from: START, to: START + 250 * HOUR_MS, limit: 100 }
      const pages = []
      for (let page = 1; ; page++) {
        const result = await api().sensorHours(PM25_SENSOR, { ...query, page })
        pages.push(result.hours.length)
        if (!result.hasMore) break
      }
      assert.deepEqual(pages, [100, 100, 50], style)
    }
    openaq.foundStyle = 'number'
  })
})

describe('importOpenaq', () => {
  it('walks location -> PM2.5 sensor -> every page of hours, through a 429, storing each hour at its start', async () => {
    waits.length = 0
    openaq.failNext('429', 1, { retryAfterSeconds: 1 })
    const requestsBefore = openaq.requests.length
    const progress: number[] = []
    const report = await importOpenaq(deps, {
      api: api(),
      locationId: DEFAULT_LOCATION.id,
      from: START,
      to: START + 2_500 * HOUR_MS,
      retry: fastRetry,
      onProgress: (p) => progress.push(p.page),
    })
    assert.equal(report.sensorId, PM25_SENSOR)
    assert.equal(report.deviceId, 'openaq-2178')
    assert.equal(report.pages, 3)
    assert.deepEqual(progress, [1, 2, 3])
    assert.equal(report.hours, 2_500)
    assert.equal(report.stored, 2_475)
    assert.equal(report.rejected, 25)
    assert.match(
      report.firstRejections[0]?.reason ?? '',
      /no PM2.5 value for the hour 2024-01-05T03:00:00.000Z/,
    )
    assert.deepEqual(waits, [1_000])
    const hourRequests = openaq.requests.slice(requestsBefore).filter((r) => r.includes('/hours'))
    assert.ok(hourRequests.every((r) => r.includes('limit=1000')))
    assert.ok(hourRequests.some((r) => r.includes('page=3')))

    const series = await deps.store.readingSeries('openaq-2178', 'pm25', START, START + 3 * HOUR_MS)
    assert.deepEqual(
      series.map((r) => [new Date(r.time).toISOString(), r.value, r.source]),
      [
        ['2024-01-01T00:00:00.000Z', 5, 'openaq'],
        ['2024-01-01T01:00:00.000Z', 6, 'openaq'],
        ['2024-01-01T02:00:00.000Z', 7, 'openaq'],
        ['2024-01-01T03:00:00.000Z', 8, 'openaq'],
      ],
    )
    // Nothing lost: every hour received is stored or kept in `rejected` with its reason.
    assert.equal(await deps.store.countReadings({ source: 'openaq' }), report.stored)
    assert.equal(await deps.store.countRejections({ source: 'openaq' }), report.rejected)
    assert.equal(report.stored + report.rejected, report.hours)
    assert.equal(
      await deps.store.getState(openaqCursorKey(DEFAULT_LOCATION.id)),
      String(START + 2_499 * HOUR_MS),
    )
  })

  it('resumes after the last stored hour: a re-run asks only for the new hours', async () => {
    openaq.addHours(PM25_SENSOR, START + 2_500 * HOUR_MS, 30, () => 12)
    const before = openaq.requests.length
    const report = await importOpenaq(deps, {
      api: api(),
      locationId: DEFAULT_LOCATION.id,
      from: START,
      to: START + 2_530 * HOUR_MS,
      retry: fastRetry,
    })
    assert.equal(report.resumed, true)
    assert.equal(report.from, START + 2_500 * HOUR_MS)
    assert.equal(report.pages, 1)
    assert.equal(report.hours, 30)
    const asked = openaq.requests.slice(before).find((r) => r.includes('/hours')) ?? ''
    assert.match(decodeURIComponent(asked), /datetime_from=2024-04-14T04:00:00.000Z/)
    assert.equal(await deps.store.countReadings({ source: 'openaq' }), 2_475 + 30)
    assert.equal(await deps.store.countRejections({ source: 'openaq' }), 25)
  })

  it('loses nothing: every hour received is stored or kept in `rejected` with its reason, impossible values included', async () => {
    const fresh = await openSourceTestDeps()
    try {
      openaq.addLocation({
        id: 88,
        name: 'Odd values',
        sensors: [{ id: 8801, parameter: { id: 2, name: 'pm25', units: 'µg/m³', displayName: 'PM2.5' } }],
      })
      const values = [10, null, -5, 12.5, -0.1, 40]
      openaq.addHours(8801, START, values.length, (i) => values[i] ?? null)
      const report = await importOpenaq(fresh, {
        api: api(),
        locationId: 88,
        from: START,
        to: START + values.length * HOUR_MS,
        retry: fastRetry,
      })
      assert.deepEqual([report.hours, report.stored, report.rejected], [6, 3, 3])
      assert.equal(await fresh.store.countReadings({ source: 'openaq' }), report.stored)
      const rejections = await fresh.store.listRejections({ source: 'openaq' })
      assert.equal(rejections.length, report.rejected)
      assert.equal(
        rejections.filter((r) => r.code === 'READING_IMPOSSIBLE' && /pm25 -/.test(r.reason)).length,
        2,
      )
      assert.ok(rejections.some((r) => r.code === 'READING_INVALID' && /no PM2.5 value/.test(r.reason)))
    } finally {
      await fresh.close()
    }
  })

  it('retries a failing page and says when a location has no PM2.5 sensor', async () => {
    openaq.addHours(PM25_SENSOR, START + 2_530 * HOUR_MS, 5, () => 9)
    openaq.failNext('500')
    openaq.failNext('garbage')
    const report = await importOpenaq(deps, {
      api: api(),
      locationId: DEFAULT_LOCATION.id,
      to: START + 2_535 * HOUR_MS,
      retry: fastRetry,
    })
    assert.equal(report.stored, 5)

    openaq.addLocation({
      id: 77,
      name: 'Ozone only',
      sensors: [{ id: 1, parameter: { id: 10, name: 'o3', units: 'ppm', displayName: 'O₃' } }],
    })
    await assert.rejects(
      importOpenaq(deps, { api: api(), locationId: 77, retry: fastRetry }),
      (e) => isAirlakeError(e, 'NOT_FOUND') && /no PM2.5 sensor \(it measures o3\)/.test(e.message),
    )
    await assert.rejects(
      importOpenaq(deps, { api: api(), locationId: 12345, retry: fastRetry }),
      (e) => isAirlakeError(e, 'NOT_FOUND') && /no location 12345/.test(e.message),
    )
  })
})
