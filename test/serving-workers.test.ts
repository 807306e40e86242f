/**
 * The scaled-out shape of the live forecaster: two forecasting workers in one `forecast` group, each
 * taking every other `readings.stored` message, without the in-memory series cache (as with NATS and
 * several processes), sharing one store. Every reading must be forecast by one of them and every actual
 * scored exactly once, from the shadow forecasts the other worker may have issued.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DuckdbStore } from '../src/adapters/duckdb/duckdb-store.js'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { InProcessBus } from '../src/adapters/in-process/in-process-bus.js'
import { systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import type { Reading } from '../src/core/types.js'
import { RidgeTrainer } from '../src/models/ridge.js'
import { Forecaster } from '../src/pipeline/forecast.js'
import { loadForecastModel, promoteModel, registerModelVersion } from '../src/pipeline/registry.js'
import { Selector } from '../src/pipeline/select.js'
import { ModelServer } from '../src/pipeline/serving.js'
import { IAQ_SIGNATURE, syntheticIaq, syntheticIaqBatch } from './helpers/forecast-data.js'

const MIN = 60_000
const BASE = Math.floor(Date.now() / MIN) * MIN - 3 * 60 * MIN
const at = (minute: number) => BASE + minute * MIN

describe('two forecasting workers without the series cache', () => {
  let dir: string
  let store: DuckdbStore
  let bus: InProcessBus
  const workers: Array<{ forecaster: Forecaster; serving: ModelServer; selector: Selector }> = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlake-workers-'))
    store = await DuckdbStore.open(join(dir, 'airlake.duckdb'))
    const lake = await FsLake.open(join(dir, 'lake'))
    bus = new InProcessBus()
    const trainers = { ridge: new RidgeTrainer() }
    const registry = { store, lake, bus, clock: systemClock }
    for (const [bias, alias] of [
      [0, 'champion'],
      [12, 'challenger'],
    ] as const) {
      const model = await trainers.ridge.fit(syntheticIaqBatch({ bias, stride: 2 }), {
        signature: IAQ_SIGNATURE,
        seed: 1,
      })
      const record = await registerModelVersion(registry, {
        name: 'dev1.iaq.ridge',
        artifact: await model.save(),
        metrics: {},
      })
      await promoteModel(registry, { name: 'dev1.iaq.ridge', version: record.version, alias })
    }
    const history: Reading[] = []
    for (let minute = -59; minute <= 0; minute++) {
      history.push({
        time: at(minute),
        deviceId: 'dev1',
        measure: 'iaq',
        value: syntheticIaq(minute),
        source: 'test',
      })
    }
    await store.writeReadings(history)
    for (let i = 0; i < 2; i++) {
      const serving = new ModelServer({
        store,
        logger: silentLogger,
        bus,
        loadModel: async (model, version) =>
          (await loadForecastModel({ store, lake, trainers }, { name: model, version })).model,
      })
      const selector = new Selector({ store, clock: systemClock, logger: silentLogger })
      const forecaster = new Forecaster(
        { store, bus, clock: systemClock, logger: silentLogger, serving, selector },
        { cacheSeries: false },
      )
      await forecaster.start()
      workers.push({ forecaster, serving, selector })
    }
  })
  after(async () => {
    for (const { forecaster, serving } of workers) {
      await forecaster.stop()
      await serving.close()
    }
    await bus?.close()
    await store?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('forecasts every reading once and scores every actual once across workers', async () => {
    for (let minute = 1; minute <= 20; minute++) {
      const reading: Reading = {
        time: at(minute),
        deviceId: 'dev1',
        measure: 'iaq',
        value: syntheticIaq(minute),
        source: 'test',
      }
      await store.writeReadings([reading])
      await bus.publish('readings.stored', { source: 'test', readings: [reading] })
      await bus.drain()
      await Promise.all(workers.map(({ forecaster }) => forecaster.idle()))
    }
    const counts = workers.map(({ forecaster }) => forecaster.metrics())
    assert.deepEqual(
      counts.map((m) => m.jobs),
      [10, 10],
      'the group shares the messages',
    )
    for (const m of counts) {
      assert.equal(m.errors, 0)
      assert.equal(m.storeReads, m.jobs, 'no cache: every window is read from the store')
    }
    const forecasts = await store.predictionsPage({
      deviceId: 'dev1',
      from: at(2),
      to: at(21),
      measures: ['iaq~1'],
      limitTimes: 100,
    })
    assert.equal(forecasts.length, 20)

    for (const { selector } of workers) await selector.flush()
    // Minute 1 had no forecast before it (the history was not published); minutes 2..20 are scored.
    const arms = await store.listArms('dev1/iaq')
    assert.deepEqual(arms.map((arm) => [arm.arm, arm.pulls]).sort(), [
      ['dev1.iaq.ridge@1', 19],
      ['dev1.iaq.ridge@2', 19],
    ])
    const [good, bad] = ['dev1.iaq.ridge@1', 'dev1.iaq.ridge@2'].map(
      (name) => arms.find((arm) => arm.arm === name)!,
    )
    assert.ok(good!.rewardSum > bad!.rewardSum)
    // Every scored shadow was taken from the store; the newest ones wait for their actuals.
    assert.deepEqual(await store.takeShadowForecasts('dev1', 'iaq', at(20)), [])
    assert.equal((await store.takeShadowForecasts('dev1', 'iaq', at(21))).length, 2 * 15)
  })
})
