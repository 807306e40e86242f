/**
 * The training pipeline on the scaled-out store: a month of the hourly NOx series trained with ridge
 * beside the baselines on PostgreSQL (a fresh schema, dropped at the end), registered, promoted and
 * loaded back; the run record and its log live in PostgreSQL.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { FsLake } from '../src/adapters/fs-lake/fs-lake.js'
import { InProcessBus } from '../src/adapters/in-process/in-process-bus.js'
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js'
import { systemClock } from '../src/core/ports/clock.js'
import { silentLogger } from '../src/core/ports/logger.js'
import { HOUR_MS } from '../src/core/time.js'
import { loadNoxReadings, NOX_DEVICE } from '../src/pipeline/datasets.js'
import { loadForecastModel, promoteModel } from '../src/pipeline/registry.js'
import { startTraining, type TrainingDeps } from '../src/pipeline/train.js'
import { forecastTrainers } from '../src/trainers.js'
import { POSTGRES_URL, skipUnless } from './support/services.js'

const skip = await skipUnless('PostgreSQL', 5432)
const schema = `airlake_train_test_${process.pid}`
const FROM = Date.UTC(2004, 6, 1)
const TO = Date.UTC(2004, 6, 31, 23)
let dir = ''
let deps: TrainingDeps & { store: PostgresStore }

describe('training on PostgreSQL', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlake-train-pg-'))
    const store = await PostgresStore.open(POSTGRES_URL, { schema, poolSize: 4 })
    await store.migrate()
    const trainers = await forecastTrainers(silentLogger)
    deps = {
      store,
      lake: await FsLake.open(join(dir, 'lake')),
      bus: new InProcessBus(),
      clock: systemClock,
      logger: silentLogger,
      trainers,
    }
    await store.writeReadings(
      loadNoxReadings({ measures: ['nox_ppb'] }).filter((r) => r.time >= FROM && r.time <= TO),
    )
  })

  after(async () => {
    await deps?.store.close()
    await rm(dir, { recursive: true, force: true })
    const client = new pg.Client({ connectionString: POSTGRES_URL })
    await client.connect()
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
    } finally {
      await client.end()
    }
  })

  it('trains, registers, promotes and loads a model', async () => {
    const request = {
      deviceId: NOX_DEVICE,
      measure: 'nox_ppb',
      window: 24,
      horizon: 6,
      stepMs: HOUR_MS,
      models: ['ridge'],
      from: FROM,
      to: TO,
    }
    const first = await (await startTraining(deps, request)).done
    assert.equal(first.status, 'succeeded', first.error)
    const json = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown
    assert.deepEqual(json(await deps.store.getRun(first.id)), json(first))
    assert.ok(
      (await deps.store.listRunLogs(first.id)).some((l) => /stage register succeeded/.test(l.message)),
    )
    const second = await (await startTraining(deps, request)).done
    assert.equal(second.metrics['ridge.mae'], first.metrics['ridge.mae'])

    const name = `${NOX_DEVICE}.nox_ppb.ridge`
    assert.deepEqual((await deps.store.getModel(name))?.aliases, { champion: 1, challenger: 2 })
    await promoteModel(deps, { name, version: 2, alias: 'champion' })
    const { model, version } = await loadForecastModel(deps, `${name}@champion`)
    try {
      assert.equal(version.version, 2)
      assert.equal(version.metrics.mae, second.metrics['ridge.mae'])
      const forecast = await model.predict({ n: 1, windows: new Float64Array(24).fill(80) })
      assert.equal(forecast.length, 6)
    } finally {
      model.dispose()
    }
  })
})
