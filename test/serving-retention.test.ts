import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Lake } from '../src/core/ports/lake.js'
import { DAY_MS } from '../src/core/time.js'
import { applyRetention } from '../src/pipeline/retention.js'
import { openServingRuntime, type ServingRuntime } from './helpers/serving-runtime.js'

const MIN = 60_000

/** Every lake object under `prefix` with its bytes, as text. */
async function lakeSnapshot(lake: Lake, prefix: string): Promise<Map<string, string>> {
  const objects = new Map<string, string>()
  for await (const object of lake.list(prefix))
    objects.set(object.key, Buffer.from((await lake.get(object.key)) ?? []).toString('utf8'))
  return objects
}

describe('store retention on the real runtime', () => {
  let s: ServingRuntime
  const now = Math.floor(Date.now() / MIN) * MIN
  const old = now - 5 * DAY_MS
  const recent = now - 60 * MIN

  before(async () => {
    s = await openServingRuntime({ AIRLAKE_RETENTION_DAYS: '2' })
  })
  after(async () => {
    await s?.close()
  })

  it('deletes readings, predictions and shadow forecasts older than AIRLAKE_RETENTION_DAYS, never the lake', async () => {
    const { store, lake } = s.runtime.app
    const rows = [old, old + MIN, recent].map((time) => ({
      time: new Date(time).toISOString(),
      device: 'dev1',
      measure: 'iaq',
      value: 50,
    }))
    const batch = await s.call('POST', '/sensorsdata/batch', rows)
    assert.equal(batch.status, 200)
    assert.equal(batch.body.stored, 3)
    const prediction = (time: number) => ({
      time,
      deviceId: 'dev1',
      measureName: 'iaq~1',
      value: 51,
      modelVersion: 'm@1',
      issuedAt: time - MIN,
    })
    await store.writePredictions([prediction(old), prediction(recent)])
    const shadow = (time: number) => ({
      selector: 'dev1/iaq',
      deviceId: 'dev1',
      measure: 'iaq',
      time,
      horizon: 1,
      arm: 'm@1',
      value: 51,
      issuedAt: time,
    })
    await store.writeShadowForecasts([shadow(old), shadow(recent)])
    const lakeBefore = await lakeSnapshot(lake, '')
    assert.ok(
      [...lakeBefore.keys()].some((key) => key.startsWith('bronze/http/')),
      'bronze holds the batch',
    )

    // The runtime scheduled it from the setting; run it now rather than wait for 03:40 UTC.
    assert.ok(s.runtime.scheduler.status().some((job) => job.name === 'retention'))
    await s.runtime.scheduler.runNow('retention')
    assert.equal(s.runtime.scheduler.status().find((job) => job.name === 'retention')?.lastError, undefined)

    assert.equal(await store.countReadings({ deviceId: 'dev1' }), 1)
    const kept = await store.readingSeries('dev1', 'iaq', 0, now)
    assert.deepEqual(
      kept.map((r) => r.time),
      [recent],
    )
    assert.equal(await store.countPredictions({ deviceId: 'dev1' }), 1)
    assert.deepEqual(await store.takeShadowForecasts('dev1', 'iaq', old), [])
    assert.equal((await store.takeShadowForecasts('dev1', 'iaq', recent)).length, 1)
    assert.deepEqual(await lakeSnapshot(lake, ''), lakeBefore, 'the lake is untouched')

    // Idempotent: a second pass deletes nothing more.
    const again = await applyRetention(
      { store, clock: s.runtime.app.clock, logger: s.runtime.app.logger },
      { days: 2 },
    )
    assert.deepEqual([again.readings, again.predictions, again.shadowForecasts], [0, 0, 0])
  })

  it('refuses a retention of no days, which means keep forever and is not scheduled', async () => {
    const { store, clock, logger } = s.runtime.app
    await assert.rejects(applyRetention({ store, clock, logger }, { days: 0 }), { code: 'PARAMETER_INVALID' })
    const forever = await openServingRuntime({ AIRLAKE_RETENTION_DAYS: '0' })
    try {
      assert.equal(
        forever.runtime.scheduler.status().some((job) => job.name === 'retention'),
        false,
      )
    } finally {
      await forever.close()
    }
  })
})
