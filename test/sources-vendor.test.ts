import assert from 'node:assert/strict'
import { after, before, beforeEach, describe, it } from 'node:test'
import { VendorApiClient } from '../src/adapters/vendor-api/vendor-api-client.js'
import { isAirlakeError } from '../src/core/errors.js'
import { pollVendorForever, pollVendorOnce } from '../src/pipeline/poll-vendor.js'
import { type FakeVendorServer, startFakeVendorServer } from './support/fake-vendor-server.js'
import { openSourceTestDeps, type SourceTestDeps } from './support/source-deps.js'

const DEVICE_A = '7BB92D02D696C5C5'
const DEVICE_B = '1A2B3C4D5E6F7081'
const T0 = Date.UTC(2023, 1, 7, 11, 29, 19)
const fastRetry = { baseDelayMs: 1, attempts: 4 }

let vendor: FakeVendorServer
let deps: SourceTestDeps

before(async () => {
  deps = await openSourceTestDeps()
})
after(async () => {
  await deps.close()
})
beforeEach(async () => {
  await vendor?.close()
  vendor = await startFakeVendorServer()
})
after(async () => {
  await vendor.close()
})

function client(options: { token?: string; timeoutMs?: number } = {}) {
  return new VendorApiClient({
    url: vendor.url,
    token: options.token ?? vendor.token,
    timeoutMs: options.timeoutMs ?? 2_000,
  })
}

describe('vendor API client', () => {
  it('reads the latest reading of every device with the Bearer token', async () => {
    vendor.addReading({ devid: DEVICE_A, time: T0 - 60_000, values: [25, 50, 101, 100, 800, 1] })
    vendor.addReading({ devid: DEVICE_A, time: T0, values: [25.2173, 51.5724, 100.9, 132, 862.3662, 1.1371] })
    const items = await client().latestReadings()
    assert.equal(items.length, 1)
    assert.deepEqual(items[0]?.body, {
      devid: DEVICE_A,
      id: 630_001,
      readings: [1, 25.2173, 51.5724, 100.9, 132, 862.3662, 1.1371],
      ts: 'Tue, 07 Feb 2023 11:29:19 GMT',
    })
  })

  it('says the token was rejected, and that is not worth retrying', async () => {
    await assert.rejects(client({ token: 'wrong' }).latestReadings(), (e) => {
      assert.ok(isAirlakeError(e, 'UPSTREAM_FAILED'))
      assert.match(e.message, /the vendor rejected the token \(HTTP 401\)/)
      assert.equal(e.details?.retryable, false)
      return true
    })
  })

  it('marks 5xx, garbage, HTML and timeouts as retryable with what happened', async () => {
    const cases: Array<[Parameters<FakeVendorServer['failNext']>[0], RegExp]> = [
      ['503', /HTTP 503/],
      ['garbage', /not JSON/],
      ['html', /not JSON/],
      ['success-false', /"success": false/],
      ['timeout', /did not answer within 0.2 s/],
    ]
    for (const [failure, message] of cases) {
      vendor.failNext(failure)
      await assert.rejects(client({ timeoutMs: 200 }).latestReadings(), (e) => {
        assert.ok(isAirlakeError(e, 'UPSTREAM_FAILED'), failure)
        assert.match(e.message, message)
        assert.equal(e.details?.retryable, true)
        return true
      })
    }
  })
})

describe('pollVendorOnce', () => {
  it('stores six rows per reading through the ingestion path, and nothing twice on later polls', async () => {
    vendor.addDevice(DEVICE_A, 'Reception')
    vendor.addReading({ devid: DEVICE_A, time: T0, values: [25.2, 51.5, 100.9, 132, 862.4, 1.1] })
    vendor.addReading({ devid: DEVICE_B, time: T0, values: [21, 40, 101.2, 80, 600, 0.5] })
    const first = await pollVendorOnce(deps, { client: client(), retry: fastRetry })
    assert.deepEqual(
      { ...first, attempts: undefined },
      { fetched: 2, skipped: 0, received: 2, accepted: 2, rejected: 0, stored: 12, attempts: undefined },
    )

    const minute = Date.UTC(2023, 1, 7, 11, 29)
    const rows = await deps.store.readingsPage({
      deviceId: DEVICE_A,
      from: minute,
      to: minute,
      limitTimes: 1,
    })
    assert.deepEqual(
      rows.map((r) => [r.measure, r.value, r.source]),
      [
        ['co2', 862.4, 'vendor'],
        ['humidity', 51.5, 'vendor'],
        ['iaq', 132, 'vendor'],
        ['pressure', 100.9, 'vendor'],
        ['temperature', 25.2, 'vendor'],
        ['voc', 1.1, 'vendor'],
      ],
    )

    const again = await pollVendorOnce(deps, { client: client(), retry: fastRetry })
    assert.equal(again.skipped, 2)
    assert.equal((await deps.store.getDevice(DEVICE_A))?.name, 'Reception')
    assert.equal(again.received, 0)

    vendor.addReading({ devid: DEVICE_A, time: T0 + 60_000, values: [25.3, 51, 100.9, 140, 870, 1.2] })
    const third = await pollVendorOnce(deps, { client: client(), retry: fastRetry })
    assert.deepEqual([third.fetched, third.skipped, third.stored], [2, 1, 6])
    assert.equal(await deps.store.countReadings({ source: 'vendor' }), 18)
  })

  it('retries 5xx, garbage and timeouts with backoff, then stores once', async () => {
    vendor.addReading({ devid: DEVICE_A, time: T0 + 10 * 60_000, values: [22, 45, 101, 90, 700, 0.8] })
    vendor.failNext('500')
    vendor.failNext('garbage')
    vendor.failNext('timeout')
    const delays: number[] = []
    const report = await pollVendorOnce(deps, {
      client: client({ timeoutMs: 200 }),
      retry: { ...fastRetry, sleep: async (ms) => void delays.push(ms), random: () => 0.5 },
    })
    assert.equal(report.attempts, 4)
    assert.equal(report.stored, 6)
    assert.deepEqual(delays, [1, 2, 3])
  })

  it('fails at once on a rejected token and gives up after the retries on a dead API', async () => {
    vendor.addReading({ devid: DEVICE_A, time: T0 + 20 * 60_000, values: [22, 45, 101, 90, 700, 0.8] })
    const before = vendor.requests.length
    await assert.rejects(
      pollVendorOnce(deps, { client: client({ token: 'expired' }), retry: fastRetry }),
      /rejected the token/,
    )
    assert.equal(vendor.requests.length - before, 1)

    vendor.failNext('503', 4)
    await assert.rejects(pollVendorOnce(deps, { client: client(), retry: fastRetry }), /HTTP 503/)
    const recovered = await pollVendorOnce(deps, { client: client(), retry: fastRetry })
    assert.equal(recovered.stored, 6)
  })

  it('loses nothing: every reading fetched is stored, rejected with a reason, or skipped as already stored', async () => {
    const fresh = await openSourceTestDeps()
    try {
      vendor.addReading({ devid: 'DEVGOOD000000001', time: T0, values: [20, 40, 101, 50, 500, 0.3] })
      vendor.addReading({ devid: 'DEVWET0000000002', time: T0, values: [20, 130, 101, 50, 500, 0.3] })
      vendor.addReading({ devid: 'bad device id!', time: T0, values: [20, 40, 101, 50, 500, 0.3] })
      const report = await pollVendorOnce(fresh, { client: client(), retry: fastRetry })
      assert.equal(report.fetched, 3)
      assert.equal(report.received, 3)
      const rejections = await fresh.store.listRejections({ source: 'vendor' })
      assert.equal(rejections.length, 2)
      assert.ok(
        rejections.some(
          (r) =>
            r.code === 'READING_INVALID' && /devid/.test(r.reason) && r.payload.includes('bad device id!'),
        ),
      )
      assert.ok(rejections.some((r) => r.code === 'READING_IMPOSSIBLE' && /humidity 130/.test(r.reason)))
      // The wet device keeps its five possible values; the bad id is kept whole in `rejected`.
      assert.equal(await fresh.store.countReadings({ source: 'vendor' }), 6 + 5)
      assert.equal(report.accepted + 1, report.fetched)
    } finally {
      await fresh.close()
    }
  })

  it('polls on an interval until stopped, carrying on after a failed poll', async () => {
    vendor.addReading({ devid: DEVICE_B, time: T0 + 30 * 60_000, values: [21, 40, 101.2, 80, 600, 0.5] })
    vendor.failNext('401')
    const controller = new AbortController()
    const results: string[] = []
    await pollVendorForever(deps, {
      client: client(),
      intervalMs: 5,
      retry: fastRetry,
      signal: controller.signal,
      onPoll: ({ report, error }) => {
        results.push(error ? error.code : `stored ${report?.stored}`)
        if (results.length === 3) controller.abort()
      },
    })
    assert.deepEqual(results, ['UPSTREAM_FAILED', 'stored 6', 'stored 0'])
  })
})
