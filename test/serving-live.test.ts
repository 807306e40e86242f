import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { Reading } from '../src/core/types.js'
import { IAQ_SIGNATURE, syntheticIaq, syntheticIaqBatch } from './helpers/forecast-data.js'
import {
  fitIaqModel,
  openServingRuntime,
  registerIaqModel,
  type ServingRuntime,
} from './helpers/serving-runtime.js'

const MIN = 60_000
/** Minute 0 of the test series: a whole minute three hours ago (readings are stored as backfill). */
const BASE = Math.floor(Date.now() / MIN) * MIN - 3 * 60 * MIN
const at = (minute: number) => BASE + minute * MIN

/** The vendor reading of `device` at `minute`: IAQ from the synthetic series, the rest steady. */
function vendorReading(device: string, minute: number) {
  return {
    devid: device,
    ts: at(minute) / 1000,
    readings: [1, 22.5, 45, 100.9, Number(syntheticIaq(minute).toFixed(3)), 600, 1.1],
  }
}

describe('real-time forecasts on the real runtime', () => {
  let s: ServingRuntime
  const settle = async () => {
    await s.runtime.app.bus.drain()
    await s.runtime.forecaster.idle()
  }

  before(async () => {
    s = await openServingRuntime()
    const model = await fitIaqModel(s.runtime)
    await registerIaqModel(s.runtime, { name: 'dev1.iaq.ridge', model, alias: 'champion' })
  })
  after(async () => {
    await s?.close()
  })

  it('writes iaq~1..15 at the next 15 minutes for readings PUT minute by minute', async () => {
    for (let minute = -59; minute <= 5; minute++) {
      const answer = await s.call('PUT', '/sensorsdata', vendorReading('dev1', minute))
      assert.equal(answer.status, 201, JSON.stringify(answer.body))
      await settle()
    }
    // The newest forecast: from the window ending at minute 5.
    const page = await s.call('GET', `/predictions?device=dev1&from=${at(6) / 1000}&to=${at(20) / 1000}`)
    assert.equal(page.status, 200)
    assert.deepEqual(Object.keys(page.body), ['Records', 'Metadata', 'ExecutionInfo'])
    const columns: string[] = page.body.Metadata.ColumnName
    for (let h = 1; h <= 15; h++)
      assert.ok(columns.includes(`iaq~${h}`), `column iaq~${h} in ${columns.join(',')}`)
    const records: Array<Array<string | null>> = page.body.Records
    assert.equal(records.length, 15, 'one record per predicted minute 6..20')
    for (let h = 1; h <= 15; h++) {
      // Newest first: the record of minute 5 + h is at index 15 − h.
      const record = records[15 - h]!
      assert.equal(Date.parse(record[0]!), at(5 + h))
      const value = Number(record[columns.indexOf(`iaq~${h}`)])
      assert.ok(
        Math.abs(value - syntheticIaq(5 + h)) < 8,
        `iaq~${h} = ${value}, actual ${syntheticIaq(5 + h)}`,
      )
    }
    const rows = await s.runtime.app.store.predictionsPage({
      deviceId: 'dev1',
      from: at(20),
      to: at(20),
      measures: ['iaq~15'],
      limitTimes: 100,
    })
    assert.deepEqual(
      rows.map((row) => [row.time, row.modelVersion]),
      [[at(20), 'dev1.iaq.ridge@1']],
    )
    const metrics = s.runtime.forecaster.metrics()
    assert.equal(metrics.errors, 0)
    // A window may start at most 15 steps before the first reading (minute -59): forecasts from minute -15 on.
    assert.equal(metrics.forecasts, 21)
    assert.ok(metrics.skipped >= 40)
    const prometheus = await fetch(`${s.runtime.url}/metrics`).then((r) => r.text())
    assert.match(prometheus, /^airlake_forecaster_forecasts_total 21$/m)
    assert.match(prometheus, /^airlake_forecaster_errors_total 0$/m)
  })

  it('interpolates a short gap and forecasts from the reading just stored', async () => {
    // Minutes 6..8 are missing: the window ending at 9 interpolates them.
    const answer = await s.call('PUT', '/sensorsdata', vendorReading('dev1', 9))
    assert.equal(answer.status, 201)
    await settle()
    const rows = await s.runtime.app.store.predictionsPage({
      deviceId: 'dev1',
      from: at(10),
      to: at(10),
      measures: ['iaq~1'],
      limitTimes: 1,
    })
    assert.equal(rows.length, 1)
    assert.ok(Math.abs(rows[0]!.value - syntheticIaq(10)) < 8)
  })

  it('coalesces a burst of one device into few forecasts made from the newest reading', async () => {
    const { store } = s.runtime.app
    const readings: Reading[] = []
    for (let minute = 10; minute <= 29; minute++) {
      readings.push({
        time: at(minute),
        deviceId: 'dev1',
        measure: 'iaq',
        value: syntheticIaq(minute),
        source: 'test',
      })
    }
    await store.writeReadings(readings)
    const before = s.runtime.forecaster.metrics()
    // A burst: all 20 messages arrive while the first forecast is running (the bus may deliver them one
    // at a time, each after the last forecast has finished, when forecasting is quicker than delivery).
    const accepted = readings.map((reading) =>
      s.runtime.forecaster.accept({ source: 'test', readings: [reading] }),
    )
    await Promise.all(accepted)
    await settle()
    const done = s.runtime.forecaster.metrics()
    assert.equal(done.readings - before.readings, 20)
    assert.ok(done.jobs - before.jobs <= 3, `jobs ${done.jobs - before.jobs}`)
    assert.ok(done.coalesced - before.coalesced >= 17, `coalesced ${done.coalesced - before.coalesced}`)
    const newest = await store.predictionsPage({
      deviceId: 'dev1',
      from: at(44),
      to: at(44),
      measures: ['iaq~15'],
      limitTimes: 1,
    })
    assert.equal(newest.length, 1, 'the forecast from minute 29 is written')
  })

  it('never fails ingestion when forecasting fails; counts and survives the error', async () => {
    // A co2 model whose artifact has gone: every co2 forecast fails to load it.
    const trainer = s.runtime.trainers.ridge!
    const co2 = await trainer.fit(syntheticIaqBatch({ stride: 4 }), {
      signature: { ...IAQ_SIGNATURE, measure: 'co2' },
      seed: 1,
    })
    const record = await registerIaqModel(s.runtime, { name: 'dev1.co2.ridge', model: co2 })
    await s.runtime.app.lake.delete(`${record.artifactKey}artifact.json`)
    const { store, lake, bus, clock } = s.runtime.app
    const { promoteModel } = await import('../src/pipeline/registry.js')
    await promoteModel({ store, lake, bus, clock }, { name: 'dev1.co2.ridge', version: 1, alias: 'champion' })
    await bus.drain()

    // co2 readings of the minutes the burst above only sent iaq for, so the co2 window is complete.
    const co2History: Reading[] = []
    for (let minute = 10; minute <= 29; minute++)
      co2History.push({ time: at(minute), deviceId: 'dev1', measure: 'co2', value: 600, source: 'test' })
    await store.writeReadings(co2History)
    const errors = s.runtime.forecaster.metrics().errors
    const answer = await s.call('PUT', '/sensorsdata', vendorReading('dev1', 30))
    assert.equal(answer.status, 201)
    await settle()
    assert.ok(s.runtime.forecaster.metrics().errors > errors)
    const iaq = await store.predictionsPage({
      deviceId: 'dev1',
      from: at(31),
      to: at(31),
      measures: ['iaq~1'],
      limitTimes: 1,
    })
    assert.equal(iaq.length, 1, 'the iaq forecast is still written')
    assert.ok(
      iaq[0]!.issuedAt >= Date.now() - 60_000,
      `issued at ${new Date(iaq[0]!.issuedAt).toISOString()}`,
    )
  })

  it('forecasts with the new version as soon as the champion alias moves', async () => {
    const model = await fitIaqModel(s.runtime, { params: { lambda: 1 } })
    const v2 = await registerIaqModel(s.runtime, { name: 'dev1.iaq.ridge', model, alias: 'champion' })
    assert.equal(v2.version, 2)
    const answer = await s.call('PUT', '/sensorsdata', vendorReading('dev1', 31))
    assert.equal(answer.status, 201)
    await settle()
    const [row] = await s.runtime.app.store.predictionsPage({
      deviceId: 'dev1',
      from: at(32),
      to: at(32),
      measures: ['iaq~1'],
      limitTimes: 1,
    })
    assert.equal(row?.modelVersion, 'dev1.iaq.ridge@2')
    assert.ok(s.runtime.serving.loadedModels().includes('dev1.iaq.ridge@2'))
    assert.ok(!s.runtime.serving.loadedModels().includes('dev1.iaq.ridge@1'), 'the old champion is unloaded')
  })
})
