/**
 * End to end on real data through the real store: two months of the shipped hourly NOx series are
 * ingested (the one ingestion path, DuckDB in a temp home), trained (ridge and xgboost beside the
 * persistence and seasonal-naive baselines), registered, promoted and loaded back for a forecast; the gold
 * snapshot is read back with DuckDB; a rerun with the same seed gives the same metrics.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { DuckDBInstance } from '@duckdb/node-api'
import { type App, openApp } from '../src/app.js'
import { trainingDeps } from '../src/cli/commands/training-deps.js'
import { loadConfig } from '../src/config.js'
import { silentLogger } from '../src/core/ports/logger.js'
import type { RunRecord } from '../src/core/ports/store.js'
import { HOUR_MS } from '../src/core/time.js'
import { loadNoxReadings, NOX_DEVICE } from '../src/pipeline/datasets.js'
import { ingestRecords } from '../src/pipeline/ingest.js'
import type { GoldManifest } from '../src/pipeline/matrix.js'
import { loadForecastModel, promoteModel } from '../src/pipeline/registry.js'
import { startTraining, type TrainRequest } from '../src/pipeline/train.js'

const FROM = Date.UTC(2004, 3, 1)
const TO = Date.UTC(2004, 4, 31, 23)
const MODELS = ['ridge', 'xgboost']

let home = ''
let app: App
let first: RunRecord

const request: TrainRequest = {
  deviceId: NOX_DEVICE,
  measure: 'nox_ppb',
  window: 48,
  horizon: 12,
  stepMs: HOUR_MS,
  models: MODELS,
  from: FROM,
  to: TO,
  seed: 7,
  // Fewer boosting rounds keep the test in seconds on a shared machine; the benchmark uses the defaults.
  modelParams: { xgboost: { rounds: 60 } },
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'airlake-train-e2e-'))
  app = await openApp(loadConfig({ AIRLAKE_HOME: home }), { logger: silentLogger })
  const slice = loadNoxReadings({ measures: ['nox_ppb', 'wind_speed_ms'] }).filter(
    (r) => r.time >= FROM && r.time <= TO,
  )
  // One record per hour, as a device would send them: the raw text goes to bronze.
  const byHour = new Map<number, typeof slice>()
  for (const r of slice) byHour.set(r.time, [...(byHour.get(r.time) ?? []), r])
  const report = await ingestRecords(app, {
    source: 'file',
    records: [...byHour.values()].map((readings) => ({ raw: JSON.stringify(readings), readings })),
  })
  assert.equal(report.stored, slice.length)
})

after(async () => {
  await app?.close()
  await rm(home, { recursive: true, force: true })
})

describe('airlake train on the hourly NOx series', () => {
  it('runs the six stages and registers every requested model beside the baselines', async () => {
    const deps = trainingDeps(app)
    if (!deps.trainers.xgboost?.available().ok) MODELS.pop()
    const progress: string[] = []
    const started = await startTraining(deps, request, { onProgress: (e) => progress.push(e.stage) })
    first = await started.done
    assert.equal(first.status, 'succeeded', first.error)
    assert.deepEqual(
      first.steps.map((s) => [s.name, s.status]),
      ['time-series', 'dataset', 'features', 'matrix', 'train', 'evaluate', 'register'].map((n) => [
        n,
        'succeeded',
      ]),
    )
    assert.deepEqual(
      [...new Set(progress)],
      first.steps.map((s) => s.name),
    )
    const dataset = first.steps.find((s) => s.name === 'dataset')!.outputs!
    // The slice holds two whole missing days (28-29 April, 26-27 May): windows across them are dropped and counted.
    assert.ok((dataset.droppedTotal as number) > 0)
    for (const a of [...MODELS, 'persistence', 'seasonal-naive']) {
      assert.ok(Number.isFinite(first.metrics[`${a}.mae`]), `${a} scored`)
    }
    assert.ok(
      first.metrics['ridge.mae']! < first.metrics['persistence.mae']!,
      'ridge beats persistence on NOx',
    )
    assert.ok(first.artifacts.report && first.artifacts.snapshot && first.artifacts.matrix)
  })

  it('registers versions whose metrics match the report and whose snapshot DuckDB can read', async () => {
    const snapshotId = first.steps.find((s) => s.name === 'matrix')!.outputs!.snapshotId as string
    const html = new TextDecoder().decode(await app.lake.get(first.artifacts.report!))
    const embedded = JSON.parse(/id="airlake-metrics">(.*)<\/script>/.exec(html)![1]!) as Record<
      string,
      { mae: number; rmse: number; maeByHorizon: number[] }
    >
    for (const algorithm of MODELS) {
      const model = await app.store.getModel(`${NOX_DEVICE}.nox_ppb.${algorithm}`)
      assert.equal(model?.aliases.champion, 1)
      const version = (await app.store.getModelVersion(model.name, 1))!
      assert.equal(version.algorithm, algorithm)
      assert.equal(version.snapshotId, snapshotId)
      assert.equal(version.runId, first.id)
      assert.deepEqual(version.signature, {
        task: 'forecast',
        measure: 'nox_ppb',
        window: 48,
        horizon: 12,
        stepMs: HOUR_MS,
        seasonSteps: 24,
      })
      assert.equal(version.metrics.mae, embedded[algorithm]!.mae)
      assert.equal(version.metrics.rmse, embedded[algorithm]!.rmse)
      assert.equal(version.metrics.mae_h12, embedded[algorithm]!.maeByHorizon[11])
      assert.equal(version.metrics.mae, first.metrics[`${algorithm}.mae`])
    }

    const manifest = JSON.parse(
      new TextDecoder().decode(await app.lake.get(first.artifacts.snapshot!)),
    ) as GoldManifest
    assert.equal(manifest.snapshotId, snapshotId)
    const duck = await DuckDBInstance.create(':memory:')
    const connection = await duck.connect()
    try {
      const path = app.lake.localPath(first.artifacts.matrix!)!
      const reader = await connection.runAndReadAll(
        `SELECT split, count(*)::INTEGER AS n, max(time) AS last, min(x_1) AS low, avg(y_12) AS mean FROM read_parquet('${path}') GROUP BY split ORDER BY split`,
      )
      const rows = reader.getRowObjects() as Array<{ split: string; n: number }>
      assert.deepEqual(
        rows.map((r) => [r.split, r.n]),
        [
          ['test', manifest.rows.test],
          ['train', manifest.rows.train],
          ['validation', manifest.rows.validation],
        ],
      )
      const columns = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${path}')`))
        .getRowObjects()
        .map((r) => String(r.column_name))
      assert.deepEqual(columns.slice(0, 4), ['time', 'split', 'x_1', 'x_2'])
      assert.ok(
        columns.includes('x_48') &&
          columns.includes('y_12') &&
          columns.includes('f_level') &&
          columns.includes('f_other_wind_speed_ms'),
      )
      // No leakage: every training row's last target lies before the test part.
      const leak = await connection.runAndReadAll(
        `SELECT count(*)::INTEGER AS n FROM read_parquet('${path}') WHERE split <> 'test' AND epoch_ms(time) + 12 * ${HOUR_MS} >= ${manifest.testStartMs}`,
      )
      assert.equal(leak.getRowObjects()[0]!.n, 0)
    } finally {
      connection.closeSync()
      duck.closeSync()
    }
  })

  it('gives the same metrics on a rerun with the same seed, and promotes the new version to champion', async () => {
    const again = await (await startTraining(trainingDeps(app), request)).done
    assert.equal(again.status, 'succeeded', again.error)
    for (const algorithm of MODELS)
      assert.equal(again.metrics[`${algorithm}.mae`], first.metrics[`${algorithm}.mae`], algorithm)
    const matrix = (run: RunRecord) => run.steps.find((s) => s.name === 'matrix')!.outputs!
    assert.equal(matrix(again).snapshotId, matrix(first).snapshotId, 'the same rows make the same snapshot')
    assert.equal(matrix(again).reused, true)
    const name = `${NOX_DEVICE}.nox_ppb.ridge`
    assert.deepEqual((await app.store.getModel(name))?.aliases, { champion: 1, challenger: 2 })
    await promoteModel(app, { name, version: 2, alias: 'champion' })
    assert.equal((await app.store.getModel(name))?.aliases.champion, 2)

    const champion = await loadForecastModel({ ...app, trainers: app.trainers }, `${name}@champion`)
    const previous = await loadForecastModel({ ...app, trainers: app.trainers }, `${name}@1`)
    try {
      assert.equal(champion.version.version, 2)
      const last = (await app.store.readingSeries(NOX_DEVICE, 'nox_ppb', TO - 200 * HOUR_MS, TO)).slice(-48)
      const batch = {
        n: 1,
        windows: Float64Array.from(last.map((r) => r.value)),
        times: Float64Array.from([last.at(-1)!.time]),
      }
      const forecast = await champion.model.predict(batch)
      assert.equal(forecast.length, 12)
      for (const v of forecast)
        assert.ok(Number.isFinite(v) && v > 0 && v < 2000, `plausible NOx forecast ${v}`)
      assert.deepEqual(
        Array.from(await previous.model.predict(batch)),
        Array.from(forecast),
        'same seed, same model',
      )
    } finally {
      champion.model.dispose()
      previous.model.dispose()
    }
  })
})
